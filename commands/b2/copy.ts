import {Flags} from '@oclif/core';
import {BaseCommand, profileFlag} from '../../src/cli/base-command.js';
import {cliPrefix} from '../../src/cli/cli-prefix.js';
import {lockCopy} from '../../src/cli/copy-lock.js';
import {withInterrupt} from '../../src/cli/interrupt.js';
import {bucketWarning, catalogOf, loadForWriting, locationId} from '../../src/cli/open-backend.js';
import {assertCanLock, assertSeesLocks, lockInstead} from '../../src/cli/object-lock.js';
import {refusePublicBucket} from '../../src/cli/public-bucket.js';
import {dateWithOffset} from '../../src/backups/backup-date.js';
import {assertBackupId} from '../../src/backups/index.js';
import {backupIdArg} from '../../src/backups/command-args.js';
import {copyBackup} from '../../src/backups/copy-backup.js';
import {backupSummary, displayDate, humanSize, lockedText, shownName, type BackupSummary} from '../../src/backups/display.js';
import {activeLock, lockOfRetention, retentionFor} from '../../src/backups/lock.js';
import type {BackupInfo} from '../../src/backups/types.js';
import {escapeInvisible} from '../../src/backups/validate.js';
import {connectB2Pair} from '../../src/connect.js';
import {BackupError} from '../../src/errors.js';
import {loadProfile} from '../../src/profiles/index.js';
import type {ResolvedProfile} from '../../src/profiles/types.js';
import {CopyBarrierError} from '../../src/reupload-hint.js';

export default class Copy extends BaseCommand {
  static override summary = 'Copy a backup to another profile on the same B2 account, on the server (nothing is downloaded).';
  static override description =
    'Copies the archive and the metadata file under the same names into the location of the profile given with --to, with B2\'s server-side copy (b2_copy_file; b2_copy_part for large archives), and checks each copy\'s size and SHA1. The backup keeps its id, name, date and metadata; the copy is encrypted as the other profile encrypts its uploads (an SSE-C source is read with this profile\'s key), and locked as it locks them (its "lock:", or the backup\'s own lock where that holds longer). A --to profile on a public bucket is refused (exit 3) unless --allow-public-bucket. Running it again copies only what is missing. Both profiles must be on the same B2 account (exit 2 otherwise, nothing copied; when the --to profile already holds the backup, with the same SHA1, that is the answer, exit 0, with a warning), and the key of the --to profile must be able to read this one\'s backups (exit 3).';

  static override examples = [
    '<%= config.bin %> b2 copy 1a2b3c4d --to offsite',
    '<%= config.bin %> b2 copy latest --profile home --to archive --json',
  ];

  static override enableJsonFlag = true;
  static override args = {id: backupIdArg};
  static override flags = {
    profile: profileFlag,
    to: Flags.string({required: true, description: 'the profile to copy the backup to (same B2 account)'}),
    'allow-public-bucket': Flags.boolean({description: 'copy even if the --to profile\'s bucket is public (allPublic), where anyone can download files by name', default: false}),
  };

  async run(): Promise<{copied: BackupSummary; to: string; existing: boolean; copiedFiles: string[]}> {
    const {args, flags} = await this.parse(Copy);
    assertBackupId(args.id); // before connecting: a bad id costs nothing
    const configDir = this.config.configDir;
    const cli = cliPrefix(this.config);
    const source = await loadProfile({configFlag: flags.config, profileFlag: flags.profile, configDir, cli});
    const loadTarget = () => loadProfile({configFlag: flags.config, profileFlag: flags.to, configDir, cli, givenBy: '--to'});
    const given = await loadTarget();
    if (source.name === given.name || locationId(source) === locationId(given)) {
      const same = source.name === given.name ? `it is the profile the backup is in` : `it names the same location as profile "${source.name}" (${source.bucket}/${source.prefix})`;
      throw new BackupError('bad_input', `--to ${given.name}: ${same}; give another profile`);
    }
    // the copy writes there: no move of the --to profile runs until it has finished (nor does it start during one)
    const {profile: target, release} = await loadForWriting(loadTarget, this.config.dataDir, {doing: 'a backup is being copied to', notDone: 'nothing was copied'}, this.warnLine, given);
    try {
      return await this.copy(args.id, flags, source, target);
    } finally {
      await release();
    }
  }

  private copy(id: string, flags: {config?: string; 'allow-public-bucket': boolean}, source: ResolvedProfile, target: ResolvedProfile): Promise<{copied: BackupSummary; to: string; existing: boolean; copiedFiles: string[]}> {
    const cli = cliPrefix(this.config);
    let copying: BackupInfo | undefined; // the backup found to copy (its copy lock is taken first)
    let alone: BackupInfo | undefined; // the backup whose archive is at the destination while its metadata file is copied
    return withInterrupt(async (signal) => {
      const [from, to] = await connectB2Pair(source, target, {dataDir: this.config.dataDir, signal, cli, savedProfiles: {configFlag: flags.config}});
      try {
        // the copy is a backup in the --to bucket: refused there as an upload to it would be
        await refusePublicBucket(to, {allow: flags['allow-public-bucket'], warn: this.warnLine, signal, writes: 'copy'});
        await assertSeesLocks(from, source, 'copy', signal); // a copy keeps the backup's lock: it must be able to see it
        const catalog = catalogOf(this.config, source, from, this.warnLine, flags.config);
        // the --to profile's lock:, as its uploads get it (by B2's clock, which decides when it ends)
        const destinationLock = target.lock && retentionFor(target.lock, to.now());
        // a copy keeps a lock that holds and gets the --to profile's: refused up front where it cannot (a bucket without Object Lock, a key that may not set it)
        const canLock = async (b: BackupInfo) => {
          const lock = activeLock(b, from.now());
          const instead = [...(target.lock ? [lockInstead(target, undefined)] : []), ...(lock ? [`copy it once it is no longer ${lockedText(lock)}`] : [])];
          if (instead.length > 0) await assertCanLock(to, target, instead.join(' and '), signal);
        };
        const lock = (b: BackupInfo) => {
          copying = b;
          return lockCopy(this.config.dataDir, locationId(target), b.archiveKey, {backup: `backup ${b.id}`, where: `profile "${target.name}"`}, this.warnLine);
        };
        const {info, existing, copied: copiedKeys, lock: copyLock} = await copyBackup(catalog, from, to, id, {signal, lock, destinationLock, destination: catalogOf(this.config, target, to, this.warnLine, flags.config), beforeCopy: canLock, beforeMetadataCopy: (b) => (alone = b), onWarning: bucketWarning(this.warnLine)}).catch((err: unknown) => {
          // the provider knew the file only: the advice to download and upload it names this backup
          throw err instanceof CopyBarrierError && copying ? err.of({...copying, date: dateWithOffset(copying.date)}) : err;
        });
        const what = `backup ${info.id} ${shownName(info.name)} of ${displayDate(info.date)} (${humanSize(info.size)})`;
        // the copy as it stands there: its own lock when known (the --to profile's, or the backup's own)
        const copied = copyLock ? {...info, lock: lockOfRetention(copyLock)} : info;
        const locked = copied.lock && activeLock(copied, to.now()) ? `; the copy is ${lockedText(copied.lock)}` : '';
        // a run after an interrupted one copies only what is missing: name what this one copied
        const there = [info.archiveKey, info.metadataKey].filter((k) => !copiedKeys.includes(k));
        const already = there.length ? ` (${there.map(escapeInvisible).join(' and ')} was already there)` : '';
        this.log(existing ? `Profile "${target.name}" already holds ${what}; nothing was copied${locked}.` : `Copied ${what} to profile "${target.name}" on the server (no archive downloaded): ${copiedKeys.map(escapeInvisible).join(' and ')}${already}${locked}`);
        // the backup being there already is the answer (exit 0), but a setup tried with it must not pass for one that copies
        const barrier = existing ? from.copyBarrier(to) : undefined;
        if (barrier) this.warnLine(`Warning: ${barrier.reason}, so a backup that profile "${target.name}" does not hold yet cannot be copied there (exit 2); ${barrier.instead()}`);
        return {copied: backupSummary(copied, to.now()), to: target.name, existing, copiedFiles: copiedKeys};
      } finally {
        await Promise.all([from.close(), to.close()]);
      }
    }, {
      // a stopped copy in parts may cancel its unfinished file on B2 on the way out
      notice: this.warnLine,
      interrupted: () =>
        alone
          ? `copy interrupted; the archive copy ${escapeInvisible(alone.archiveKey)} is at profile "${target.name}" without its metadata file, so it is no backup there yet: run the same command again to complete the backup (it copies only what is missing)`
          : 'copy interrupted; run the same command again to finish it (it copies only what is missing)',
    });
  }
}
