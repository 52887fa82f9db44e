import {Flags} from '@oclif/core';
import {askYesNo} from '../../src/cli/ask.js';
import {LocationCommand} from '../../src/cli/location-command.js';
import {assertBackupId, keysToDelete, type BackupCatalog} from '../../src/backups/index.js';
import {afterStopBound} from '../../src/after-stop.js';
import {escapeInvisible} from '../../src/backups/validate.js';
import {backupIdArg} from '../../src/backups/command-args.js';
import {backupSummary, displayDate, humanSize, shownName, type BackupSummary} from '../../src/backups/display.js';
import {BackupError, isBackupError} from '../../src/errors.js';
import {assertCanBypass, bypassGovernanceFlag, lockedRefusal} from '../../src/cli/object-lock.js';
import type {DeletePlan} from '../../src/backend.js';
import {deletableKind, renderDeletePreview} from '../../src/cli/dry-run-view.js';

export default class Delete extends LocationCommand {
  static override summary = 'Delete a backup: its archive and its metadata file, every version of each.';
  static override description =
    'Asks for confirmation first; --yes skips the question and is required when stdin is not a terminal. The archive goes first, then the metadata file (as Home Assistant deletes): the metadata file holds the id of the backup, so an interrupted delete leaves at most that file, which listings skip and "b2 list" reports; a delete by the full id of the backup (the interrupted run prints it) removes it. An archive that an interrupted upload left without its metadata file is deleted by the id "b2 list" names for it. B2 refuses to delete a backup under Object Lock until its date: a governance lock can be lifted with --bypass-governance by a key with the bypassGovernance capability, a compliance lock by nobody.';
  static override examples = ['<%= config.bin %> b2 delete 1a2b3c4d', '<%= config.bin %> b2 delete 1a2b3c4d --yes --json'];
  static override enableJsonFlag = true;
  static override args = {id: backupIdArg};
  static override flags = {
    yes: Flags.boolean({char: 'y', description: 'delete without asking'}),
    'bypass-governance': bypassGovernanceFlag,
    'dry-run': Flags.boolean({description: 'print what would be removed (each name, its versions and unfinished uploads) and remove nothing; needs no --yes', default: false}),
  };

  async run(): Promise<{deleted: BackupSummary | null; alreadyGone?: BackupSummary; complete?: boolean} | {dryRun: true; backup: BackupSummary; complete: boolean; remove: DeletePlan[]}> {
    const {args, flags} = await this.parse(Delete);
    assertBackupId(args.id); // before connecting: a bad id costs nothing
    if (flags['dry-run']) {
      const {preview, now} = await this.withLocation(flags, async ({catalog, backend}, signal) => ({preview: await catalog.previewDelete(args.id, {signal}), now: backend.now()}));
      if (!this.jsonEnabled()) this.log(renderDeletePreview(preview, now));
      return {dryRun: true, backup: backupSummary(preview.info, now), complete: preview.complete, remove: preview.remove};
    }
    if (!flags.yes && !process.stdin.isTTY) {
      throw new BackupError('bad_input', `refusing to delete backup ${args.id} without confirmation: stdin is not a terminal; pass --yes`);
    }
    const bypassGovernance = flags['bypass-governance'];
    let deleting: string | undefined; // the full id being deleted: `latest` or a prefix would find another backup once it is unlisted
    let leftAfterStop: Awaited<ReturnType<BackupCatalog['leftOf']>>; // what an interruption left of it, looked at on the way out
    return this.withLocation(flags, async ({catalog, backend, profile}, signal) => {
      if (bypassGovernance) assertCanBypass(backend, profile);
      const target = await catalog.deletable(args.id, {signal});
      const backup = target.info;
      const what = `${deletableKind(target)} ${backup.id} ${shownName(backup.name)} of ${displayDate(backup.date)} (${humanSize(backup.size)})`;
      if (!flags.yes && !(await askYesNo(`Delete ${what}?`))) {
        this.logToStderr(`Kept ${what}; nothing was deleted.`); // a "no" is an answer, not a failure
        return {deleted: null};
      }
      deleting = backup.id;
      const {info, alreadyGone} = await catalog.delete(target, {signal, bypassGovernance}).catch(async (err: unknown) => {
        if (isBackupError(err, 'aborted')) leftAfterStop = await catalog.leftOf(target, afterStopBound());
        throw isBackupError(err, 'locked') ? lockedRefusal(backup, err, bypassGovernance) : err;
      });
      if (alreadyGone) {
        this.log(`${what[0].toUpperCase()}${what.slice(1)} was already gone: another command deleted it meanwhile`);
        return {deleted: null, alreadyGone: backupSummary(info), complete: target.complete};
      }
      this.log(`Deleted ${what}: ${keysToDelete(target).map(escapeInvisible).join(' and ')}`);
      return {deleted: backupSummary(info), complete: target.complete};
    }, {
      writes: {doing: 'a backup is being deleted from', notDone: 'nothing was deleted'},
      // the archive goes first: at most its metadata file is left, which a delete by the full id removes
      interrupted: (_err, hint) => {
        if (!deleting || leftAfterStop === 'whole') return 'delete interrupted; nothing was deleted';
        if (leftAfterStop === 'gone') return `delete interrupted; backup ${deleting} was deleted all the same: nothing of it is left`;
        return `delete interrupted; backup ${deleting} may be partly deleted: run "${hint(`delete ${deleting} --yes`)}" to finish`;
      },
    });
  }
}
