import {stat} from 'node:fs/promises';
import {Args, Flags} from '@oclif/core';
import {cliCommand} from '../../src/cli/cli-prefix.js';
import type {Body} from '../../src/backend.js';
import {backupSummary, humanSize, shownName, type BackupSummary} from '../../src/backups/display.js';
import {emptyArchiveError} from '../../src/backups/empty-archive.js';
import {stdinArchive} from '../../src/cli/stdin-archive.js';
import {assertBackupName, assertUserMetadata, assertUserMetadataKey, escapeInvisible} from '../../src/backups/validate.js';
import {assertKeptIdentity} from '../../src/backups/kept-identity.js';
import {LocationCommand} from '../../src/cli/location-command.js';
import {outputChoice, outputFlags, type OutputChoice} from '../../src/cli/output-flags.js';
import {progressDisplay} from '../../src/cli/progress.js';
import {refusePublicBucket} from '../../src/cli/public-bucket.js';
import {limitUploadFlag, concurrencyFlag, partSizeFlag, transferOverrides, type TransferOverrides} from '../../src/cli/transfer-flags.js';
import {BackupError, isBackupError} from '../../src/errors.js';
import {shownValue} from '../../src/redact.js';
import type {BackupCatalog, BackupInfo, UploadPlan} from '../../src/backups/index.js';
import {doomedOldestFirst, executePrune, lockedReason, planPrune} from '../../src/backups/prune.js';
import type {RetentionPolicy} from '../../src/backups/retention.js';
import {errorLine} from '../../src/cli/base-command.js';
import {parseSize} from '../../src/profiles/size.js';
import {assertCanLock, lockForRun, lockInstead, lockModeFlag, lockOverride} from '../../src/cli/object-lock.js';
import {retentionFor} from '../../src/backups/lock.js';
import {lockedText} from '../../src/backups/display.js';
import {count} from '../../src/plural.js';

/** `upload --dry-run` on a profile with retention rules: the prune the real run would do next. */
interface UploadPrunePreview {
  policy: RetentionPolicy;
  /** What it would delete, oldest first (the order it deletes in). */
  delete: BackupSummary[];
  /** How many it would keep (the new backup included). */
  kept: number;
}

export default class Upload extends LocationCommand {
  static override summary = 'Upload a backup archive (a file, or - for stdin).';
  static override description =
    'Uploads the archive, split into parts uploaded in parallel when it is large, with every part and the whole file checksummed; then writes the metadata file that makes it a backup (Home Assistant layout). Prints the backup id. If an upload from a file is interrupted (Ctrl-C, a lost connection), running the same command again resumes it: a multi-part upload keeps the parts already stored once they are checked against the file. An upload from stdin cannot resume and is cancelled. A Home Assistant backup tar names, dates and describes itself from its backup.json, and is stored under Home Assistant\'s own file name.';
  static override examples = [
    '<%= config.bin %> b2 upload ./backup.tar --name "Nightly backup"',
    '<%= config.bin %> b2 upload ./Automatic_backup_2026.4.1_2026-04-08_04.57_43001930.tar',
    '<%= config.bin %> b2 upload ./backup.tar --name "Nightly backup" --id 1a2b3c4d5e6f --date 2026-04-08T04:57:43.001930+00:00 --profile offsite',
    'tar -c /etc | <%= config.bin %> b2 upload - --name etc --meta host=pi4 --json',
    'curl -fsS https://nas.local/backup.tar | <%= config.bin %> b2 upload - --name nas --expect-size 734003200',
  ];
  static override enableJsonFlag = true;
  static override args = {file: Args.string({required: true, description: 'archive to upload, or - to read stdin'})};
  static override flags = {
    name: Flags.string({char: 'n', description: 'backup name (default: a Home Assistant backup\'s own name, else "Backup")'}),
    id: Flags.string({description: 'the backup\'s id, instead of a new one: the one it had where it was downloaded from ("show ID --json" prints it), so that it stays the same backup; an id another backup here has is refused, unless that one holds the same archive (then nothing is uploaded). A Home Assistant archive keeps its own id'}),
    date: Flags.string({description: 'the backup\'s date, instead of now: ISO 8601 with an offset, e.g. 2026-04-08T04:57:43.001930+00:00, the one it had where it was downloaded from ("show ID --json" prints it), which retention counts it by. A Home Assistant archive keeps its own date'}),
    meta: Flags.string({char: 'm', description: 'extra metadata key=value (repeatable)', multiple: true}),
    'expect-size': Flags.string({
      description: 'with - (stdin): the exact length of the stream (e.g. 1048576 or 1GiB); a stream that ends shorter or runs longer fails with exit 5 and nothing is kept (a producer that failed in a pipe without pipefail)',
    }),
    concurrency: concurrencyFlag,
    'part-size': partSizeFlag,
    'limit-upload': limitUploadFlag,
    'lock-days': Flags.string({description: 'lock this backup for N days (B2 Object Lock: it cannot be deleted until then), instead of the profile\'s "lock:"; the bucket needs Object Lock and the key writeFileRetentions'}),
    'lock-mode': lockModeFlag,
    'allow-public-bucket': Flags.boolean({description: 'upload even if the bucket is public (allPublic), where anyone can download files by name', default: false}),
    'dry-run': Flags.boolean({description: 'print the plan (names, size, parts, API calls, what an interrupted upload already stored, and what the profile\'s retention would then prune) and upload nothing; a file is read to hash it, stdin is not read', default: false}),
    prune: Flags.boolean({default: true, allowNo: true, description: 'after a successful upload, prune by the profile\'s "retention:" rules, never deleting the new backup (--no-prune skips it)'}),
    ...outputFlags,
  };

  async run(): Promise<(BackupSummary & {resumed: boolean; existing: boolean; pruned: string[]; lockedKept: string[]}) | (UploadPlan & {dryRun: true; prune?: UploadPrunePreview})> {
    const {args, flags} = await this.parse(Upload);
    // a user who forgot the pipe would wait on a silent terminal, and Ctrl-D would give an empty archive;
    // a dry run reads no stdin, so it may show the plan from a terminal
    if (args.file === '-' && process.stdin.isTTY && !flags['dry-run']) {
      throw new BackupError('bad_input', `stdin is a terminal: "${cliCommand(this.config, 'upload -')}" reads the archive from a pipe; pipe it in (e.g. tar -c DIR | ${this.config.bin} b2 upload -) or give the archive's path`);
    }
    // before connecting: bad input costs nothing (and starts no embedded store)
    const metadata = parseMeta(flags.meta ?? []);
    assertUserMetadata(metadata);
    if (flags.name !== undefined) assertBackupName(flags.name);
    const kept = {id: flags.id, date: flags.date};
    assertKeptIdentity(kept);
    const expectSize = parseExpectSize(flags['expect-size'], args.file);
    const overrides = transferOverrides(flags);
    const lockFlags = lockOverride(flags);
    const body: Body = args.file === '-' ? stdinArchive(process.stdin, `pipe the archive in (e.g. tar -c DIR | ${this.config.bin} b2 upload -) or give its path`) : {path: args.file};
    const total = args.file === '-' ? expectSize : await regularFileSize(args.file);
    const out = outputChoice(flags, this.jsonEnabled());
    if (flags['dry-run']) return this.dryRun(body, {name: flags.name, ...kept, metadata, size: expectSize ?? total}, flags, out, overrides, lockFlags);
    let bar: ReturnType<typeof progressDisplay> | undefined;
    let stored: string | undefined; // the new backup's id once it exists: an interrupt after that only stops the prune
    let archiveOnly: {id: string; archiveKey: string} | undefined; // the archive stored, its metadata file not yet
    try {
      const result = await this.withLocation(
        flags,
        async ({backend, catalog, profile}, signal) => {
          await refusePublicBucket(backend, {allow: flags['allow-public-bucket'], warn: this.warnLine, signal});
          const lock = lockForRun(profile, lockFlags);
          if (lock) await assertCanLock(backend, profile, lockInstead(profile, lockFlags), signal);
          // by B2's clock: that is the one that decides when the lock ends
          const retention = lock && retentionFor(lock, backend.now());
          bar = progressDisplay({label: 'Uploading', total, mode: out.mode, intervalMs: out.intervalMs});
          const uploaded = await catalog.upload(body, {name: flags.name, ...kept, metadata, size: expectSize, retention, signal, onProgress: (p) => bar?.update(p), onArchiveStored: (a) => (archiveOnly = a)}).catch((err: unknown) => {
            // the provider kept the stored parts (B2 stayed busy or unreachable): say how to go on
            if (!isBackupError(err) || !err.resumable) throw err;
            throw new BackupError(err.kind, `${err.message}; run the same command again to resume it ("${catalog.hint('cleanup')}" removes it instead)`, {cause: err.cause, transient: true, resumable: true});
          });
          stored = uploaded.id;
          bar.stop();
          const done = uploaded.existing ? 'Already stored:' : uploaded.resumed ? 'Finished the interrupted' : 'Uploaded';
          if (!out.quiet) this.logToStderr(`${done} backup ${shownName(uploaded.name, uploaded.date)} (${humanSize(uploaded.size)}, sha1 ${uploaded.sha1})${uploaded.lock ? `, ${lockedText(uploaded.lock)}` : ''}`);
          const policy = flags.prune ? profile.retention : undefined;
          const lockedKept: BackupInfo[] = [];
          // --quiet (and --json, which says it in "pruned"): what the prune did is no line of its own; its warnings still are
          const note = out.quiet ? () => undefined : (line: string) => this.logToStderr(line);
          const pruned = policy ? await this.pruneAfterUpload(catalog, policy, {profileName: profile.name, uploadedId: uploaded.id, now: backend.now(), note}, lockedKept, signal) : [];
          return {uploaded, pruned, lockedKept};
        },
        {
          overrides,
          writes: {doing: 'a backup is being uploaded to', notDone: 'nothing was uploaded'},
          verbose: out.verbose,
          onFirst: () => bar?.stop(), // the notice stays on its own line; no bar is drawn over it
          notice: this.warnLine,
          interrupted: (err, hint) =>
            stored
              ? `pruning interrupted; backup ${stored} is stored; run "${hint('prune --yes')}" to finish the prune`
              : args.file === '-'
                ? isBackupError(err) && err.leftover
                  ? `upload interrupted; ${err.leftover}` // its cancel failed: not "nothing was stored"
                  : 'upload interrupted; nothing was stored (an upload from stdin cannot resume: run it again to upload from the start)'
                : archiveOnly
                  ? `upload interrupted after its archive ${escapeInvisible(archiveOnly.archiveKey)} was stored, before its metadata file was confirmed: run the same command again to complete the backup (it uploads only what is missing); to give it up instead, "${hint(`delete ${archiveOnly.id} --yes`)}" removes it (the metadata file may have been stored just before the stop: then that deletes the whole backup)`
                  : `upload interrupted; run the same command again to resume it (a multi-part upload continues from the parts already stored; "${hint('cleanup')}" removes unfinished uploads you will not resume)`,
        },
      );
      const {uploaded, pruned, lockedKept} = result;
      this.log(uploaded.id);
      return {...backupSummary(uploaded), resumed: uploaded.resumed, existing: uploaded.existing, pruned: pruned.map((b) => b.id), lockedKept: lockedKept.map((b) => b.id)};
    } finally {
      bar?.stop();
    }
  }

  /** --dry-run: the plan, from reads only (a file is hashed, with progress); nothing is uploaded or pruned. */
  private async dryRun(body: Body, meta: {name?: string; id?: string; date?: string; metadata: Record<string, string>; size?: number}, flags: {config?: string; profile?: string; 'allow-public-bucket': boolean; prune: boolean}, out: OutputChoice, overrides: TransferOverrides, lockFlags: ReturnType<typeof lockOverride>): Promise<UploadPlan & {dryRun: true; prune?: UploadPrunePreview}> {
    const {plan, prune, profileName} = await this.withLocation(flags, async ({backend, catalog, profile}, signal) => {
      await refusePublicBucket(backend, {allow: flags['allow-public-bucket'], warn: this.warnLine, signal});
      // the lock a real run would set, refused as a real run would refuse it
      const lock = lockForRun(profile, lockFlags);
      if (lock) await assertCanLock(backend, profile, lockInstead(profile, lockFlags), signal);
      const retention = lock && retentionFor(lock, backend.now());
      const bar = progressDisplay({label: 'Checking', total: meta.size, mode: out.mode, intervalMs: out.intervalMs});
      let planned: UploadPlan;
      try {
        planned = await catalog.planUpload(body, {...meta, retention, signal, onProgress: (p) => bar.update(p)});
      } finally {
        bar.stop();
      }
      // the prune a real run does next, with the backup it would store among the others
      const policy = flags.prune ? profile.retention : undefined;
      const stored = planned.resumes?.stored === 'backup'; // listed already
      const adding: BackupInfo = {id: planned.id, name: planned.name, date: planned.date, size: planned.size ?? 0, sha1: planned.sha1, archiveKey: planned.archiveKey, metadataKey: planned.metadataKey, describedBy: 'archive'};
      const prunePlan = policy ? await planPrune(catalog, policy, {protect: planned.id, adding: stored ? undefined : adding, now: backend.now(), signal}) : undefined;
      return {plan: planned, prune: prunePlan, profileName: profile.name};
    }, {overrides});
    const doomed = prune ? doomedOldestFirst(prune) : [];
    const preview = prune && {policy: prune.policy, delete: doomed.map((b) => backupSummary(b)), kept: prune.decisions.length - doomed.length};
    if (!this.jsonEnabled()) {
      // loaded only here: its tables need string-width, which a plain upload never pays to load
      const {renderUploadPlan} = await import('../../src/cli/dry-run-view.js');
      this.log(renderUploadPlan(plan, {id: meta.id !== undefined, date: meta.date !== undefined}));
      if (prune) {
        const {describeBackup, describePolicy} = await import('../../src/cli/prune-view.js');
        this.log(doomed.length === 0
          ? `Then prune (${describePolicy(prune.policy, {profile: profileName})}): nothing would be deleted`
          : [`Then prune (${describePolicy(prune.policy, {profile: profileName})}; --no-prune skips it): would delete ${count(doomed.length, 'backup')}, oldest first:`, ...doomed.map((b) => `  ${describeBackup(b)}`)].join('\n'));
      }
    }
    return {dryRun: true, ...plan, ...(preview ? {prune: preview} : {})};
  }

  /**
   * The profile's retention after a stored upload. The upload stands whatever happens here,
   * so a failed prune is a warning that says how to finish it, not a failed upload.
   */
  private async pruneAfterUpload(catalog: BackupCatalog, policy: RetentionPolicy, run: {profileName: string; uploadedId: string; now: Date; note: (line: string) => void}, lockedKept: BackupInfo[], signal: AbortSignal): Promise<BackupInfo[]> {
    const {profileName, uploadedId, now, note} = run;
    try {
      const {alreadyGoneLine, describeBackup, describePolicy, futureLines} = await import('../../src/cli/prune-view.js'); // with its tables: only a profile with retention rules needs it
      const rules = describePolicy(policy, {profile: profileName}); // upload takes no --keep-* flags: the profile's rules
      const plan = await planPrune(catalog, policy, {protect: uploadedId, now, signal});
      for (const line of futureLines(plan)) this.warnLine(line);
      const keptLocked = (b: BackupInfo) => {
        lockedKept.push(b);
        note(`Kept backup ${describeBackup(b)}: ${lockedReason(b)} (retention alone would prune it)`);
      };
      for (const d of plan.decisions) if (d.locked) keptLocked(d.backup);
      const {deleted, alreadyGone} = await executePrune(catalog, plan, {
        signal,
        onLocked: keptLocked,
        onDeleted: (b) => note(`Pruned backup ${describeBackup(b)} (${rules})`),
        onAlreadyGone: (b) => note(alreadyGoneLine(b)),
      });
      if (deleted.length === 0 && alreadyGone.length === 0) note(`Pruned nothing: every backup is kept by ${rules}`);
      return deleted;
    } catch (err) {
      if (signal.aborted) throw err;
      this.warnLine(`Warning: the backup is stored, but pruning by the profile's retention rules failed (${errorLine(err)}); run "${catalog.hint('prune --yes')}" to finish it`);
      return [];
    }
  }
}

async function regularFileSize(path: string): Promise<number> {
  const st = await stat(path).catch((err: NodeJS.ErrnoException) => {
    throw new BackupError('bad_input', `${path}: ${err.code === 'ENOENT' ? 'no such file' : err.code ?? err.message}; give the path of an archive, or - to read stdin`);
  });
  if (!st.isFile()) throw new BackupError('bad_input', `${path} is not a regular file; give the path of an archive, or - to read stdin`);
  if (st.size === 0) throw emptyArchiveError({kind: 'file', path}); // the catalog refuses it too: here before connecting
  return st.size;
}

/** --expect-size, which only a stream needs (a file's size is known). */
function parseExpectSize(text: string | undefined, file: string): number | undefined {
  if (text === undefined) return undefined;
  if (file !== '-') throw new BackupError('bad_input', `--expect-size is for an upload from stdin (-); ${file} is a file, whose size is known`);
  const size = parseSize(text);
  if ('problem' in size) throw new BackupError('bad_input', `--expect-size ${JSON.stringify(text)}: ${size.problem}; give the stream's length in bytes, e.g. --expect-size 1048576 or 1GiB`);
  // about the flag, not the stream: nothing has been read (and --dry-run reads nothing)
  if (size.bytes === 0) throw new BackupError('bad_input', `--expect-size must be at least 1 (a backup is never empty), got ${JSON.stringify(text)}; give the stream's length in bytes, e.g. --expect-size 1048576 or 1GiB`);
  return size.bytes;
}

/** --meta key=value pairs; each key is checked before it is put in the object, values by assertUserMetadata. */
function parseMeta(pairs: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new BackupError('bad_input', `--meta ${shownValue(pair)}: expected key=value, e.g. --meta host=pi4`);
    const key = pair.slice(0, eq);
    assertUserMetadataKey(key);
    out[key] = pair.slice(eq + 1);
  }
  return out;
}
