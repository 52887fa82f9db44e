import {Flags} from '@oclif/core';
import {assertBackupId} from '../../src/backups/index.js';
import {backupIdArg} from '../../src/backups/command-args.js';
import {backupSummary, displayDate, lockedText, shownName, type BackupSummary} from '../../src/backups/display.js';
import {DEFAULT_LOCK_MODE, activeLock, retentionFor} from '../../src/backups/lock.js';
import {LocationCommand} from '../../src/cli/location-command.js';
import {assertCanBypass, assertCanLock, bypassGovernanceFlag, lockModeFlag, lockOverride} from '../../src/cli/object-lock.js';
import {BackupError, isBackupError} from '../../src/errors.js';

const DAY_MS = 24 * 60 * 60 * 1000;

export default class Lock extends LocationCommand {
  static override summary = 'Lock a backup (B2 Object Lock) for N days from now, or extend its lock.';
  static override description =
    'Sets the retention of the backup\'s archive and metadata file to N days from now: until then B2 refuses to delete it. A lock can always be made longer. A compliance lock can never be shortened or turned into governance; a governance lock only with --bypass-governance (and a key with the bypassGovernance capability). The bucket needs Object Lock and the key writeFileRetentions. Without --mode, the current lock\'s mode is kept (else the profile\'s, else governance).';
  static override examples = ['<%= config.bin %> b2 lock 1a2b3c4d --days 30', '<%= config.bin %> b2 lock latest --days 365 --mode compliance'];
  static override enableJsonFlag = true;
  static override args = {id: backupIdArg};
  static override flags = {
    days: Flags.string({description: 'lock until this many days from now (whole days)', required: true}),
    mode: lockModeFlag,
    'bypass-governance': bypassGovernanceFlag,
  };

  async run(): Promise<BackupSummary> {
    const {args, flags} = await this.parse(Lock);
    assertBackupId(args.id); // before connecting: bad input costs nothing
    const asked = lockOverride({'lock-days': flags.days, 'lock-mode': flags.mode}, '--days', '--mode');
    const bypassGovernance = flags['bypass-governance'];
    return this.withLocation(flags, async ({catalog, backend, profile}, signal) => {
      await assertCanLock(backend, profile, undefined, signal);
      const backup = await catalog.show(args.id, {signal});
      const now = backend.now(); // B2's clock decides when a lock ends
      const current = activeLock(backup, now);
      const mode = asked?.mode ?? current?.mode ?? profile.lock?.mode ?? DEFAULT_LOCK_MODE;
      const retention = retentionFor({mode, days: asked?.days}, now);
      const what = `backup ${backup.id} ${shownName(backup.name, backup.date)}`;
      const weaker = current && (retention.retainUntil.getTime() < Date.parse(current.until) || (current.mode === 'compliance' && mode === 'governance'));
      if (current && weaker) {
        const atLeast = Math.ceil((Date.parse(current.until) - now.getTime()) / DAY_MS);
        if (current.mode === 'compliance') {
          throw new BackupError('locked', `${what} is ${lockedText(current)}: a compliance lock can never be shortened or made governance, not even with --bypass-governance; nothing was changed (to extend it, give --days ${atLeast} or more${mode === 'governance' && asked?.mode ? ' without --mode governance' : ''})`);
        }
        if (!bypassGovernance) {
          throw new BackupError('locked', `${what} is ${lockedText(current)}; --days ${asked?.days} would shorten it to ${displayDate(retention.retainUntil.toISOString())}, which needs --bypass-governance (and a key with the bypassGovernance capability); nothing was changed`);
        }
      }
      // a key without readFileRetentions sees no lock: only B2 knows whether this shortens one, so the bypass asked for goes along
      const blind = !backend.keyInfo().capabilities.includes('readFileRetentions');
      const bypass = bypassGovernance && (weaker === true || blind);
      if (bypass) assertCanBypass(backend, profile);
      const locked = await catalog.lock(backup.id, retention, {signal, bypassGovernance: bypass}).catch((err: unknown) => {
        // B2's refusal speaks of shortening; what was asked may be longer, only in another mode than the lock's
        if (!blind || !isBackupError(err, 'locked')) throw err;
        throw new BackupError('locked', `${err.message}. The key of profile ${profile.name} lacks readFileRetentions, so the backup's lock was not read first: this asked for ${mode} until ${displayDate(retention.retainUntil.toISOString())}; to extend a compliance lock, pass --mode compliance; to shorten a governance lock, --bypass-governance`, {cause: err});
      });
      this.logToStderr(`${current ? (weaker ? 'Shortened the lock of' : 'Extended the lock of') : 'Locked'} ${what}: ${lockedText(locked.lock!)}`);
      this.log(backup.id);
      return backupSummary(locked, now);
    }, {writes: {doing: 'a backup is being locked in', notDone: 'no lock was set'}, interrupted: () => `lock interrupted; the lock may be set on only some of backup ${args.id}'s files: run the same command again`});
  }
}
