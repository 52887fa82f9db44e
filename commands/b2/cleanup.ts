import {Flags} from '@oclif/core';
import {LEGAL_HOLD, displayDate, humanSize, lockedText} from '../../src/backups/display.js';
import {emptyCleanupReport, type CleanupReport} from '../../src/backups/index.js';
import {escapeInvisible} from '../../src/backups/validate.js';
import {parseDuration} from '../../src/cli/format.js';
import {LocationCommand} from '../../src/cli/location-command.js';
import {BackupError, failedAfterChange} from '../../src/errors.js';
import {count, plural} from '../../src/plural.js';
import {table} from '../../src/profiles/display.js';

type CleanupView = CleanupReport & {dryRun: boolean; olderThan: string};

export default class Cleanup extends LocationCommand {
  static override summary = 'Remove what interrupted uploads and deletes left under the prefix: unfinished uploads, archives without a metadata file, metadata files without an archive.';
  static override description =
    'An interrupted upload leaves its parts in the bucket so that running the same upload again resumes it, and B2 bills them as stored data until they are cancelled; an upload or delete interrupted between its two files leaves an archive without its metadata file, which is no backup. A delete or prune interrupted between the two files leaves a metadata file without its archive, which is no backup either. This cancels the unfinished uploads and deletes the orphaned archives that this tool made, and the metadata files without an archive whose content is a backup metadata file of this tool or of Home Assistant, under the profile prefix and older than --older-than (default 24h, so that an upload still running elsewhere is not cut off). Other files are never touched. An orphaned archive or metadata file under Object Lock (a retention or a legal hold) is kept and reported with its date, and the cleanup goes on. So is one whose other file is hidden rather than deleted (by a user, rclone or a lifecycle rule: B2 keeps its versions), which unhiding that file makes a whole backup again. What an upload running on this machine is still storing is kept and reported, whatever its age (an upload on another machine is seen only by its age).';
  static override examples = ['<%= config.bin %> b2 cleanup --dry-run', '<%= config.bin %> b2 cleanup --older-than 0s --json'];
  static override enableJsonFlag = true;
  static override flags = {
    'older-than': Flags.string({description: 'only what was started or stored longer ago than this (e.g. 90s, 30m, 24h, 7d)', default: '24h'}),
    'dry-run': Flags.boolean({description: 'list what would be removed, remove nothing', default: false}),
  };

  async run(): Promise<CleanupView> {
    const {flags} = await this.parse(Cleanup);
    const age = parseDuration(flags['older-than']);
    if ('problem' in age) throw new BackupError('bad_input', `--older-than: ${age.problem}`);
    const dryRun = flags['dry-run'];
    const sofar = emptyCleanupReport(); // filled as it goes: an interrupted cleanup says what it had removed
    const report = await this.withLocation(flags, ({catalog}, signal) => catalog.cleanup({olderThanMs: age.ms, dryRun, signal, report: sofar}), {
      writes: dryRun ? undefined : {doing: 'leftovers are being cleaned up in', notDone: 'nothing was removed'},
      interrupted: () => (dryRun ? 'cleanup interrupted; nothing was changed' : `cleanup interrupted ${removedSoFar(sofar)}; run the same command again to finish`),
    }).catch((err: unknown) => {
      // once something is removed, the failure says what (and --json prints it, with the error)
      if (dryRun || removedSoFar(sofar) === NOTHING_REMOVED) throw err;
      const failed = failedAfterChange(err, `cleanup stopped ${removedSoFar(sofar)}: run the same command again to finish`);
      throw this.printedBeforeFailure(failed, {dryRun, olderThan: flags['older-than'], ...sofar});
    });
    const view: CleanupView = {dryRun, olderThan: flags['older-than'], ...report};
    const rows = [
      ...view.cancelled.map((u) => ['unfinished upload', escapeInvisible(u.key), displayDate(u.started), '']),
      ...view.deleted.map((o) => ['archive without metadata', escapeInvisible(o.key), displayDate(o.stored), `backup ${o.id}, ${humanSize(o.size)}`]),
      ...view.strays.map((o) => ['metadata without archive', escapeInvisible(o.key), displayDate(o.stored), `backup ${o.id} (its archive is gone)`]),
      ...view.hidden.map((o) => ['kept: other file hidden', escapeInvisible(o.key), displayDate(o.stored), `backup ${o.id}: ${escapeInvisible(o.hiddenKey)} is hidden, not deleted`]),
      ...view.uploading.map((o) => ['kept: upload running', escapeInvisible(o.key), displayDate(o.since), `being stored by process ${o.pids.join(', ')} on this machine`]),
      ...view.whole.map((o) => ['kept: backup whole', escapeInvisible(o.key), displayDate(o.stored), `backup ${o.id}: ${escapeInvisible(o.otherKey)} is there now`]),
      ...view.hiddenMeanwhile.map((o) => ['left: hidden meanwhile', escapeInvisible(o.key), displayDate(o.stored), `backup ${o.id}: hidden by something else while this cleanup ran`]),
      ...view.locked.map((o) => ['kept: Object Lock', escapeInvisible(o.key), displayDate(o.stored), `backup ${o.id}, ${humanSize(o.size)}, ${o.legalHold ? LEGAL_HOLD : o.lock ? lockedText(o.lock) : 'locked (B2 refused to delete it)'}`]),
    ];
    if (rows.length > 0) this.log(table([['WHAT', 'KEY', 'SINCE', ''], ...rows]));
    const notes = [
      view.foreign ? `left ${count(view.foreign, 'unfinished upload')} not of this location's backups (another tool's, or under a deeper prefix)` : '',
      view.strays.length ? `${dryRun ? 'would delete' : 'deleted'} ${count(view.strays.length, 'metadata file')} without archive` : '',
      view.uploading.length ? `kept ${count(view.uploading.length, 'file')} that an upload running on this machine is still storing` : '',
      view.locked.length ? `kept ${count(view.locked.length, 'file')} under Object Lock until the lock ends` : '',
      view.hidden.length ? `kept ${count(view.hidden.length, 'file')} whose other file is hidden (B2 keeps hidden files: unhide it to make the backup whole again, or delete the backup by its id to remove both)` : '',
      // found alone by the listing, whole by the time the cleanup looked again: no age would make them go
      view.whole.length ? `kept ${count(view.whole.length, 'file')} whose other file is there now (stored after the listing found it missing: an upload that finished, or a file put back), so that each is part of a whole backup` : '',
      view.hiddenMeanwhile.length ? `left ${count(view.hiddenMeanwhile.length, 'archive')} without metadata file that something else hid while this cleanup ran (a cleanup on another machine deciding about it, or a user)` : '',
    ].filter(Boolean);
    const verbs = dryRun ? ['Would cancel', 'would delete'] : ['Cancelled', 'deleted'];
    this.log(`${verbs[0]} ${count(view.cancelled.length, 'unfinished upload')} and ${verbs[1]} ${count(view.deleted.length, 'archive')} without metadata file${notes.length ? `; ${notes.join('; ')}` : ''}.`);
    if (view.kept) this.log(keptYoungLine(view.kept, view.olderThan, dryRun));
    return view;
  }
}

/**
 * What --older-than kept (those only: what is kept for another reason is no younger, and
 * --older-than 0s would not take it), and how to take it too: a user who knows no upload is running
 * must not be left wondering why the cleanup removed nothing, nor take it without the risk.
 */
function keptYoungLine(kept: number, olderThan: string, dryRun: boolean): string {
  const it = kept === 1 ? 'it' : 'them';
  const what = `${count(kept, 'unfinished upload')} or orphaned ${plural(kept, 'file')} from the last ${olderThan}`;
  return `${dryRun ? 'Would keep' : 'Kept'} ${what}, as ${kept === 1 ? 'an upload' : 'uploads'} elsewhere may still be writing ${it}; run again with --older-than 0s to ${dryRun ? 'include' : 'remove'} ${it} too (an upload still running would be cut off and have to run again).`;
}

/** "after cancelling 1 unfinished upload and deleting 2 archives without metadata file", or "before removing anything". */
function removedSoFar(r: CleanupReport): string {
  const done = [
    r.cancelled.length ? `cancelling ${count(r.cancelled.length, 'unfinished upload')}` : '',
    r.deleted.length ? `deleting ${count(r.deleted.length, 'archive')} without metadata file` : '',
    r.strays.length ? `deleting ${count(r.strays.length, 'metadata file')} without archive` : '',
  ].filter(Boolean);
  return done.length ? `after ${done.join(' and ')}` : NOTHING_REMOVED;
}

const NOTHING_REMOVED = 'before removing anything';
