import {join} from 'node:path';
import {Writable, pipeline as pipelineCb, type Readable} from 'node:stream';
import {pipeline} from 'node:stream/promises';
import {setTimeout as sleep} from 'node:timers/promises';
import type PQueue from 'p-queue';
import type {Body, GetOptions, ObjectInfo, Retention, StorageBackend, StoredObject, UnfinishedUpload} from '../backend.js';
import {CANCEL_AFTER_STOP_MS, afterStopBound} from '../after-stop.js';
import {describeBody, readAll, type BodySource} from '../body.js';
import {BackupError, abortError, failedAfterChange, failureCode, isBackupError, throwIfAborted, withLeftover, withoutLeftover, type ErrorKind} from '../errors.js';
import {CLEANUP_AGE, commandHint} from '../command-hint.js';
import {byCleanup, whatCancels, type Remover} from '../removal-refusal.js';
import {compareUtf8} from '../keys.js';
import {archiveInfoMetadata, archiveMarker, describeArchive, describedBy, provisionalArchiveInfo, recordedSha1, type ArchiveDescription} from './archive-info.js';
import {assertFileUnchanged, sha1Of, sha1OfFile} from '../hash.js';
import {HashingStream, knownSha1, mismatch, type Expected} from './checksum.js';
import {prepareDestination, writeAtomically, writeStreamToFile} from './file-output.js';
import {ARCHIVE_SUFFIX, METADATA_SUFFIX, archiveKeyOf, baseOf, clashBaseName, isoDateWithOffset, metadataKeyOf, safeBaseName} from './layout.js';
import {assertNotEmpty, nonEmptySource} from './empty-archive.js';
import {isOwnUnfinished} from './own-unfinished.js';
import {MetadataCache} from './metadata-cache.js';
import {PendingUploads, sourceOf, type PendingUpload, type UploadKey} from './pending-uploads.js';
import {UploadLocks, type Release} from './upload-locks.js';
import {HidingRecords, type HidingRecord} from './hiding-records.js';
import {leftByFailedRemoval, leftLocked, leftStoredLine, wholeBackupLine, type LeftStored} from './left-stored.js';
import {activeLock, deleteRefused, lengthenRetention, lockOfRetention, strongerRetention} from './lock.js';
import {LATEST, resolveBackupRef} from './resolve-id.js';
import {timing} from '../timing.js';
import {MAX_METADATA_FILE_BYTES, buildMetadataFile, parseMetadataFile} from './metadata-file.js';
import {agreementProblem, disagreement, metadataAgreement, type Agreement, type MetadataReader} from './metadata-agreement.js';
import type {BackupInfo, BackupLock, CatalogOptions, CleanupReport, Deletable, DeleteOutcome, DeletePreview, DownloadedFile, DownloadResult, TransferOptions, UploadMeta, UploadPlan, UploadResult, VerifyResult} from './types.js';
import {assertBackupId, assertBackupName, assertUserMetadata, newBackupId} from './validate.js';
import {assertArchiveAgrees, assertKeptIdentity, hasKeptIdentity} from './kept-identity.js';
import {datedAfterNow} from './retention.js';
import {WRONG_CLOCK, datedAfterNowText, nameAndDate} from './display.js';
import {supersededLine} from './superseded-line.js';

/** A listed backup together with the two objects it is made of. */
interface Entry {
  info: BackupInfo;
  archive: ObjectInfo;
  metadataFile: ObjectInfo;
}

/** An archive of ours whose metadata file is missing: what an interrupted upload or delete leaves. */
interface Orphan {
  info: BackupInfo;
  archive: ObjectInfo;
}

/** What a new backup's file names are made of (safeBaseName; clashBaseName when that is taken). */
interface NewBackupName {
  name: string;
  date: string;
  id: string;
}

/** An interrupted upload that can be continued, and how far it got. */
type Resumable = {id: string; date: string; base: string; sha1: string; lock?: BackupLock} & (
  | {stored: 'nothing'}
  | {stored: 'archive'; archive: ObjectInfo}
  | {stored: 'backup'; entry: Entry}
);

const DEFAULT_NAME = 'Backup';
/**
 * How long an upload waits, and re-checks, while its archive is hidden by a cleanup
 * elsewhere that is deciding about it (one stat, then an unhide or a delete: a few calls):
 * about 8 s in all before it takes the archive as lost.
 */
const HIDDEN_ARCHIVE_WAITS_MS = [250, 500, 1000, 2000, 4000];

/**
 * Base names this process gave backups dated by its own clock (see claimUnusedBase): one
 * given twice (two uploads in one millisecond, or a clock set back) is looked up again.
 */
const freshBasesGiven = new Set<string>();

/**
 * Backups over any StorageBackend, in the bucket layout of Home Assistant's Backblaze B2
 * integration: `<base>.tar` plus `<base>.metadata.json`. A backup exists once both do.
 * Archives made here describe themselves in their object info, so listing them costs one
 * listing pass; HA's are described only by their metadata files, which are downloaded
 * with bounded parallelism and cached by immutable object id.
 */
export class BackupCatalog {
  private readonly cache: MetadataCache;
  private readonly pending: PendingUploads;
  private readonly locks: UploadLocks;
  private readonly hiding: HidingRecords;
  /** Metadata file reads, at most `concurrency` at once (p-queue loads when a listing first needs one). */
  private queue?: Promise<PQueue>;
  private readonly concurrency: number;
  private readonly warn: (msg: string) => void;
  /** What warnOnce() has said. */
  private readonly warned = new Set<string>();
  /** The last listing's backups by archive key: what verify and download read beside an archive (its metadata file). */
  private readonly listed = new Map<string, Entry>();
  /**
   * Keys of the archives the latest listing saw encrypted with a customer's key (SSE-C):
   * a download of one says so to the backend, which then sends the key at once.
   */
  private readonly archivesWithCustomerKey = new Set<string>();
  private readonly now: () => Date;
  private readonly createdBy: string;
  /** The command prefix its hints name (CatalogOptions.cli). */
  private readonly cli?: string;
  /** The flags its hints add to act on this location (CatalogOptions.locationFlags). */
  private readonly locationFlags?: string;
  /** The location in words (CatalogOptions.where). */
  readonly where?: string;

  constructor(
    private readonly backend: StorageBackend,
    opts: CatalogOptions = {},
  ) {
    this.warn = opts.onWarning ?? (() => undefined);
    this.now = opts.now ?? (() => new Date());
    this.createdBy = opts.createdBy ?? 'backup-plugin-b2';
    this.cli = opts.cli;
    this.locationFlags = opts.locationFlags;
    this.where = opts.where;
    const dir = opts.cacheDir;
    this.cache = new MetadataCache(dir, backend.readScope, this.warn);
    this.pending = new PendingUploads(dir && join(dir, 'pending-uploads'), this.warn, () => this.now().getTime());
    this.locks = new UploadLocks(opts.lockDir, this.warn);
    this.hiding = new HidingRecords(dir && join(dir, 'hidden-archives'), this.warn);
    this.concurrency = Math.max(1, opts.concurrency ?? 4);
  }

  /** A command of this plugin acting on this location, as a fix hint names it (commandHint). */
  hint(words: string): string {
    return commandHint(this.cli, words, this.locationFlags);
  }

  /**
   * Uploads the archive, then its metadata file; if the second fails, removes the first.
   * Uploading the same file (same content and name) again after an interruption reuses
   * the interrupted upload's id, date and names, so that the backend can resume it; when
   * the interruption came after the archive was stored, only the metadata file is
   * written, and when it came after both were (the answer was lost), the stored backup
   * is the result.
   */
  async upload(source: Body, meta: UploadMeta = {}): Promise<UploadResult> {
    if (meta.name !== undefined) assertBackupName(meta.name);
    assertKeptIdentity(meta);
    const userExtra = meta.metadata ?? {};
    assertUserMetadata(userExtra);
    // a Home Assistant backup tar names, dates and describes itself (its backup.json)
    // (from stdin, one whose backup.json is not its first member says so only once the upload has read it: `later`)
    // a backup is never empty: refused before anything is uploaded (a stream is looked at up to its first byte)
    const {src, backup: early, later} = await readHaArchive(await nonEmptySource(await describeBody(source, meta.size), meta.signal), this.warn);
    if (early) assertArchiveAgrees(early, meta);
    let ha = early;
    let name = meta.name ?? ha?.name ?? DEFAULT_NAME;
    const prepared = await prepareArchiveBody(this.backend, src, meta);
    const known = prepared.known;
    /** This upload's record (the name it was asked for, even if an archive later names itself otherwise). */
    const key = known && {sha1: known.sha1, name};
    const unlock = key ? await this.pending.lock(key) : undefined;
    /** The names and id this upload holds (UploadLocks) until it has answered. */
    const held: Release[] = [];
    try {
      const found = known && key && unlock ? await this.resumable(known, key, meta.signal) : undefined;
      // one begun with another --id or --date is another backup: not continued (a cleanup takes what it left)
      const plan = found && hasKeptIdentity(found, meta) ? found : undefined;
      const abandoned = found && !plan ? this.abandonedAttempt(found) : [];
      if (plan?.stored === 'backup' && key) {
        await this.pending.clear(key);
        return await this.alreadyStored(plan.entry, this.lockToSet(meta.retention, plan), meta.signal);
      }
      /** The id it is to keep: its own (a Home Assistant archive's) or --id. */
      const ownId = meta.id ?? ha?.backup_id;
      if (ownId !== undefined) {
        // an archive that names itself (or --id) is stored once: HA lists one backup per id
        // another upload of it running here stores it first: this one then finds it
        // (a resumed one holds the id too, so that one under another --name waits for it)
        // a resumed one looks too: an upload of it under another --name may have stored it since
        const backupId = ownId;
        const same = await (async () => {
          held.push(await this.locks.id(backupId, meta.signal));
          return this.storedAs(backupId, known, meta.signal);
        })().catch((err: unknown) => {
          (prepared.body as Partial<Readable>).destroy?.();
          throw err;
        });
        if (same) {
          if (plan && key) await this.dropInterrupted(plan, key, same, meta.signal);
          // at least the lock the interrupted run asked for, as its own stored backup would get
          return await this.alreadyStored(same, this.lockToSet(meta.retention, plan), meta.signal);
        }
      }
      let id = plan?.id ?? ownId ?? newBackupId();
      // an archive's own date as its backup.json writes it (a --date that agrees may write it with another offset)
      let date = plan?.date ?? ha?.date ?? meta.date ?? isoDateWithOffset(this.now());
      // dated by this upload's own clock (not an archive's date, not --date, not a resumed run's)
      const fresh = !plan && !ha && meta.date === undefined;
      if (!plan && !fresh) this.warnIfDatedAfterNow({id, name, date}, meta.date !== undefined);
      const base = plan ? await this.holdName(plan.base, held, meta.signal) : await this.claimUnusedBase({name, date, id}, held, {fresh, signal: meta.signal});
      const archiveKey = archiveKeyOf(base);
      const metadataKey = metadataKeyOf(base);
      const source = sourceOf(src);
      if (known && unlock && !plan) await this.pending.record({id, name, date, base, ...known, ...(meta.retention ? {lock: lockOfRetention(meta.retention)} : {}), ...(source ? {source} : {})});
      // resumed, the run that began the upload may have locked its archive: both files end together, as in one run
      const retention = this.lockToSet(meta.retention, plan);

      // earlier attempts of this upload: an interrupted run's (parts maybe stored under these names), and those of another
      // content (the file changed since): what of them this put cannot continue goes once this archive is stored
      const replaces = plan?.stored !== 'archive' && key && unlock ? [...(plan ? [archiveKey] : []), ...abandoned, ...(await this.earlierAttempts(key, source, held))] : [];
      timing('archive upload started (names found, upload recorded)');
      const archive: StoredObject = plan?.stored === 'archive'
        ? {...plan.archive, reusedBytes: plan.archive.size}
        : await this.backend.put(archiveKey, prepared.body, {
          // a stream's length is checked by prepareArchiveBody; told to B2 it would make the upload one that resumes, which stdin cannot
          size: src.kind === 'stream' ? undefined : src.size,
          sha1: known?.sha1,
          contentType: 'application/x-tar',
          // an archive that may turn out to be HA's carries no description its metadata file could
          // contradict, only the provisional one: enough for cleanup and delete to know it as ours
          metadata: later ? provisionalArchiveInfo({id, name, date}) : archiveInfoMetadata({id, name, date, sha1: known?.sha1}),
          retention,
          ...(replaces.length > 0 ? {replaces} : {}),
          signal: meta.signal,
          onProgress: meta.onProgress,
        }).catch(async (err: unknown) => {
          if (key && unlock && leavesNothingToResume(err)) await this.pending.clear(key);
          // another run of this upload holds its record, so none could continue this one when it is run again: what it started goes
          if (known && !unlock && isBackupError(err, 'aborted')) {
            // the user stopped it and waits for the command to end: not through B2's whole backoff
            await this.cancelUnfinishedWithin(archiveKey, id);
          }
          throw err;
        });
      timing('archive stored');
      if (archive.leftover) this.warn(archive.leftover); // billed beside it (older versions lost answers stored): the user is told
      for (const s of archive.superseded ?? []) this.warn(supersededLine(s)); // an earlier attempt's parts, cancelled (or what removes them)
      if (known && unlock) meta.onArchiveStored?.({id, archiveKey}); // what an interruption now leaves: see the catch below
      /** The archive stored is this upload's, intact: a failure after that leaves an archive the same upload can complete. */
      let intact = false;
      /** The metadata file was sent: B2 may have stored it, whatever became of the answer. */
      let metadataSent = false;
      /** Its put failed, and versions of it that lost answers stored may stay (the put's error's leftover). */
      let metadataLeft = false;
      try {
        await prepared.unchanged?.();
        const sent = prepared.sent(archive);
        const problem = mismatch({size: archive.size, sha1: knownSha1(archive.sha1) ?? sent.sha1}, sent);
        if (problem) throw new BackupError('checksum_mismatch', `upload of ${archiveKey} was not stored intact (${problem}); the source may have changed while uploading, try again`);
        ha ??= await later;
        if (ha && later) {
          assertArchiveAgrees(ha, meta); // the archive stored goes (below): it is no backup
          // HA lists one backup per id: the same archive stored before (or by an upload of it running here) stays the backup, and this copy goes
          // (--id, which it agrees with, is held and looked up already)
          if (meta.id === undefined) held.push(await this.locks.id(ha.backup_id, meta.signal));
          const same = meta.id === undefined ? await this.storedAs(ha.backup_id, sent, meta.signal) : undefined;
          if (same) {
            await this.removeArchive(archiveKey, retention, `it is a second copy of backup ${same.info.id} (stored as ${same.info.archiveKey}), not a backup; "${this.hint('cleanup')}" removes it once the lock ends`);
            return await this.alreadyStored(same, retention, meta.signal);
          }
          ({backup_id: id, date} = ha);
          name = meta.name ?? ha.name;
        }
        intact = known !== undefined && unlock !== undefined && !later;
        // an archive an earlier run stored (or started) got that run's lock, or none: lengthened to this one (always
        // allowed) before the metadata file goes up, so that both end together and a refusal leaves no locked metadata file without its archive
        const archiveNow = plan && retention ? await lengthenRetention(this.backend, archive, retention, meta.signal) : archive;
        const extra = {...ha?.extra_metadata, ...userExtra};
        const file = buildMetadataFile({id, name, date, size: archive.size, sha1: sent.sha1, extra, createdBy: this.createdBy, ha});
        const text = JSON.stringify(file);
        metadataSent = true;
        const metadataObj = await this.backend.put(metadataKey, Buffer.from(text, 'utf8'), {
          contentType: 'application/json',
          metadata: {metadata_only: 'true'}, // what HA's integration sets on its metadata files
          retention,
          signal: meta.signal,
        }).catch((err: unknown) => {
          metadataLeft = isBackupError(err) && err.leftover !== undefined;
          throw err;
        });
        timing('metadata file stored');
        if (metadataObj.leftover) this.warn(metadataObj.leftover);
        // an archive dated before it was stored (a large file, or an earlier run's) can look like
        // an interrupted upload's to a cleanup elsewhere until its metadata file exists: still there?
        if (archive.datedFromStart || plan?.stored === 'archive') await this.assertArchiveKept(archive, metadataObj, meta.signal);
        await this.cache.set(metadataObj, text);
        if (key && unlock) await this.pending.clear(key);
        const resumed = (archive.reusedBytes ?? 0) > 0;
        // a tar from stdin may still name itself (its backup.json): its archive leaves that to the metadata file, as the listing does
        return {id, name, date, size: archive.size, sha1: sent.sha1, archiveKey, metadataKey, describedBy: describedBy(archive), metadata: file.backup_metadata, resumed, existing: false, ...lockOf(archiveNow, metadataObj)};
      } catch (err) {
        // an interrupted run's archive is what the next run of the same upload completes
        if (isBackupError(err, 'aborted') && known && unlock) throw err;
        // one that no run completes (from stdin) goes whole, within the stop's bound
        if (isBackupError(err, 'aborted')) throw await this.giveUp(err, metadataSent ? [metadataKey, archiveKey] : [archiveKey], retention, id, 'its metadata file was sent as the upload was stopped');
        if (metadataLeft && isBackupError(err)) {
          // locked as they were stored, neither file can go, and the backup may be whole already: its record is kept, so the
          // same upload run again finds it and answers it stored (or stores the metadata file), instead of a second locked copy
          if (retention && intact && key && unlock) {
            const told = withoutLeftover(err);
            throw new BackupError(told.kind, `${told.message}; the backup may be stored whole already (its metadata file was stored as answers were lost, and Object Lock keeps both files): run the same upload again to complete the backup, or to be told it is stored`, {cause: told.cause, transient: told.transient});
          }
          // with its archive, the metadata file lost answers stored may be a whole backup, which a cleanup leaves alone: both go, or the line names the delete
          if (key && unlock) await this.pending.clear(key);
          throw await this.giveUp(withoutLeftover(err), [metadataKey, archiveKey], retention, id, 'its metadata file was stored as answers were lost');
        }
        // a locked archive that is this upload's stays recorded, so the same upload run again completes the backup with it
        const kept = await this.removeArchive(archiveKey, retention, intact ? 'run the same upload again to complete the backup' : `it is no backup; "${this.hint('cleanup')}" removes it once the lock ends`);
        if (key && unlock && !(kept && intact)) await this.pending.clear(key);
        throw err;
      }
    } finally {
      for (const release of held.reverse()) await release();
      await unlock?.();
    }
  }

  /**
   * An interrupted upload of this file and name begun as another backup (another --id or
   * --date), which this one does not continue: the archive key of its unfinished upload, for
   * the put to cancel once this archive is stored (and say so); an archive it stored whole
   * without its metadata file is told, with what removes it. A whole backup it made stays one.
   */
  private abandonedAttempt(found: Resumable, o: {would?: boolean} = {}): string[] {
    if (found.stored === 'nothing') return [archiveKeyOf(found.base)];
    if (found.stored === 'archive') this.warn(`the interrupted upload of this file as backup ${found.id} left its archive ${archiveKeyOf(found.base)} without a metadata file, and this upload, as another backup, ${o.would ? 'would not use' : 'does not use'} it: "${this.hint('cleanup')}" removes it ${CLEANUP_AGE}`);
    return [];
  }

  /**
   * The archive keys of earlier attempts of this upload (its name, its file `source`) with
   * another content, the file having changed since one was interrupted: no run of this content can continue them.
   * Each one's record lock is held (`held`) until this upload answers, so that no run of
   * that content resumes what this one cancels; one a live run holds is left to it.
   */
  private async earlierAttempts(key: UploadKey, source: string | undefined, held: Release[]): Promise<string[]> {
    const keys: string[] = [];
    for (const p of await this.pending.othersOfName(key, source)) {
      const release = await this.pending.lock({sha1: p.sha1, name: p.name});
      if (!release) continue;
      held.push(release);
      keys.push(archiveKeyOf(p.base));
    }
    return keys;
  }

  /**
   * Fails the upload, removing its metadata file, when the archive version it stored is no
   * longer there: a cleanup running elsewhere took it for what an interrupted upload left.
   * One call, unless the archive is hidden: a cleanup hides an archive before it looks for
   * the metadata file a last time (removeOrphanArchive), and then either unhides it (it
   * saw the metadata file) or deletes it; this waits for that decision, re-checking a few
   * times (HIDDEN_ARCHIVE_WAITS_MS), and fails if the archive stays hidden.
   *
   * Why no backup can be reported that the cleanup then deletes: the upload writes the
   * metadata file, then checks the archive; the cleanup hides the archive, then checks the
   * metadata file. B2 is read-after-write consistent for these calls, so whichever write
   * comes second, the check after it sees the other's write: if this check finds the
   * archive visible, the hide came after it, so the cleanup's check comes after the
   * metadata file was written and finds it (it unhides); if the cleanup's check finds no
   * metadata file, the hide came before this check, which finds the archive hidden or
   * gone and does not report a backup until the archive is visible again.
   *
   * The metadata file just stored (`metadataFile`) is removed within CANCEL_AFTER_STOP_MS
   * (the upload fails either way); one that stays is warned about as leftStoredLine tells it.
   */
  private async assertArchiveKept(archive: StoredObject, metadataFile: StoredObject, signal?: AbortSignal): Promise<void> {
    let hidden = false;
    for (const waitMs of [...HIDDEN_ARCHIVE_WAITS_MS, undefined]) {
      const now = await this.backend.stat(archive.key);
      if (now && (archive.id === undefined || now.id === archive.id)) return;
      hidden = !now && (await this.isHidden(archive.key, signal));
      if (!hidden || waitMs === undefined) break;
      await sleep(waitMs, undefined, {signal}).catch(() => {
        throw abortError(signal);
      });
    }
    const left = await this.removeOrTell(metadataFile.key, metadataFile.retention?.retainUntil.toISOString(), afterStopBound());
    if (left) this.warn(`the metadata file of an archive that is gone: ${leftStoredLine(left, this.cleanupRemoves())}; "${this.hint('list')}" skips it meanwhile`);
    const cleanup = `a "${this.hint('cleanup')}" elsewhere`;
    const how = hidden ? `stayed hidden by ${cleanup}, which took it for an interrupted upload's` : `was deleted while its upload finished (${cleanup} took it for an interrupted upload's)`;
    throw new BackupError('failure', `the archive ${archive.key} ${how}; no backup was stored: run the upload again`);
  }

  /**
   * The retention upload() gives its files: the one asked for, or, when it resumes an upload
   * whose first run asked for a lock that still holds, the stronger of the two (a retention
   * never shortens nor turns from compliance to governance, and a resumed backup is locked
   * at least as a fresh one would be).
   */
  private lockToSet(asked: Retention | undefined, plan: Resumable | undefined): Retention | undefined {
    const earlier = plan?.lock && {mode: plan.lock.mode, retainUntil: new Date(plan.lock.until)};
    if (!earlier || !(earlier.retainUntil.getTime() > (this.backend.now?.() ?? this.now()).getTime())) return asked;
    return asked ? strongerRetention(asked, earlier) : earlier;
  }

  /**
   * Warns of a new backup dated after now by B2's clock (`asked`: by --date, else by a Home
   * Assistant archive's backup.json): stored all the same, as such a backup is listed and
   * kept, but its date is likely wrong, and retention leaves it out (planRetention).
   */
  private warnIfDatedAfterNow(b: {id: string; name: string; date: string}, asked: boolean): void {
    if (datedAfterNow(b.date, this.backend.now?.() ?? this.now())) this.warn(datedAfterNowText(b, asked ? 'is --date right?' : WRONG_CLOCK));
  }

  /**
   * Removes an archive upload() stored but will not complete; says so when it cannot
   * (`whenLocked`: what becomes of one Object Lock keeps; else what remains and what
   * removes it). True when Object Lock kept it. Bounded (CANCEL_AFTER_STOP_MS): the
   * failure that ends the upload waited out B2's backoff already.
   */
  private async removeArchive(archiveKey: string, retention: Retention | undefined, whenLocked: string): Promise<boolean> {
    const bound = afterStopBound();
    return this.deleteUnlessLocked(archiveKey, bound).then((outcome) => {
      if (outcome === 'deleted') return false;
      this.warn(`the archive ${archiveKey} stays stored: Object Lock keeps it until ${retention?.retainUntil.toISOString() ?? 'its retention date'}; ${whenLocked}`);
      return true;
    }, (e: unknown) => {
      this.warn(`the archive ${leftStoredLine(leftByFailedRemoval(archiveKey, e, bound, this.backend.keyName), this.cleanupRemoves())}`);
      return false;
    });
  }

  /**
   * An upload that no run completes (stopped from stdin, or one whose record another run
   * holds; or one whose metadata file lost answers stored): its files are removed (`keys`:
   * the metadata file first, when B2 may have stored it, its answer never read: a metadata
   * file left without its archive would describe a backup that is gone), within the stop's
   * bound (CANCEL_AFTER_STOP_MS). What stays is the error's leftover, which the command's
   * line tells; none left, `err` as it was. When both files stay, they may be a whole
   * backup `id` (`how`: how its metadata file came to be stored), which cleanup never
   * removes: the line says so and names its delete.
   */
  private async giveUp(err: BackupError, keys: string[], retention: Retention | undefined, id: string, how: string): Promise<BackupError> {
    const bound = afterStopBound();
    const stays: LeftStored[] = [];
    for (const key of keys) {
      const stay = await this.removeOrTell(key, retention?.retainUntil.toISOString(), bound);
      if (stay) stays.push(stay);
    }
    if (stays.length === 0) return err;
    if (stays.length === 2) return withLeftover(err, wholeBackupLine(id, how, stays, {run: `run "${this.hint(`delete ${id} --yes`)}"`, name: 'delete'}));
    return withLeftover(err, stays.map((s) => leftStoredLine(s, this.cleanupRemoves())).join('; '));
  }

  /** This location's cleanup as what removes a file a failure left (byCleanup). */
  private cleanupRemoves(): Remover {
    return byCleanup(`run "${this.hint('cleanup')}"`);
  }

  /**
   * The answer of an upload whose backup is already stored: locked at least until
   * `retention` (both files, lengthened where shorter), as a fresh upload would have been.
   */
  private async alreadyStored(entry: Entry, retention: Retention | undefined, signal?: AbortSignal): Promise<UploadResult> {
    if (!retention) return {...entry.info, existing: true, resumed: false};
    const archive = await lengthenRetention(this.backend, entry.archive, retention, signal);
    const metadataFile = await lengthenRetention(this.backend, entry.metadataFile, retention, signal);
    return {...entry.info, ...lockOf(archive, metadataFile), existing: true, resumed: false};
  }

  /**
   * What upload() would do with this source and meta, writing nothing (no upload, no
   * record of a pending upload): the names, size and SHA1 (a file is hashed for it), how
   * the archive would go up and what an interrupted upload of it already stored. A stream
   * is not read.
   */
  async planUpload(source: Body, meta: UploadMeta = {}): Promise<UploadPlan> {
    if (meta.name !== undefined) assertBackupName(meta.name);
    assertKeptIdentity(meta);
    assertUserMetadata(meta.metadata ?? {});
    const described = await describeBody(source, meta.size);
    assertNotEmpty(described); // as upload() refuses it (a stream is not read: only a declared 0 bytes)
    // a Home Assistant tar names, dates and describes itself, as in upload() (stdin is not read for it)
    const {src, backup: ha} = described.kind === 'stream' ? {src: described, backup: undefined} : await readHaArchive(described, this.warn);
    if (ha) assertArchiveAgrees(ha, meta);
    const name = meta.name ?? ha?.name ?? DEFAULT_NAME;
    const signal = meta.signal;
    const known: Sent | undefined = src.kind === 'buffer' ? {size: src.size, sha1: sha1Of(src.buffer)}
      : src.kind === 'file' ? await (this.backend.hashFile ? this.backend.hashFile(src.path, {signal, onProgress: meta.onProgress}) : sha1OfFile(src.path, signal))
      : undefined;
    const interrupted = known ? await this.resumable(known, {sha1: known.sha1, name}, signal, {keepRecord: true}) : undefined;
    const found = interrupted && hasKeptIdentity(interrupted, meta) ? interrupted : undefined; // as upload() continues it
    const abandoned = interrupted && !found ? this.abandonedAttempt(interrupted, {would: true}) : [];
    const ownId = meta.id ?? ha?.backup_id;
    const same = ownId !== undefined && found?.stored !== 'backup' ? (await this.storedAs(ownId, known, signal))?.info : undefined;
    // a stored backup gets the lock asked for where its own is shorter (see alreadyStored)
    const asked = meta.retention ? {lock: lockOfRetention(meta.retention)} : {};
    if (same) return {id: same.id, date: same.date, name, archiveKey: same.archiveKey, metadataKey: same.metadataKey, size: same.size, sha1: same.sha1, resumes: {id: same.id, date: same.date, stored: 'backup'}, calls: {}, ...asked};
    const date = found?.date ?? ha?.date ?? meta.date ?? isoDateWithOffset(this.now());
    const id = found?.id ?? ownId ?? newBackupId();
    const fresh = !found && !ha && meta.date === undefined;
    if (!found && !fresh) this.warnIfDatedAfterNow({id, name, date}, meta.date !== undefined);
    const base = found?.base ?? (await this.unusedBase({name, date, id}, fresh));
    const resumes = found && {id: found.id, date: found.date, stored: found.stored === 'nothing' ? 'parts' as const : found.stored};
    // the lock upload() would set: this run's, or a longer one the interrupted run asked for
    const retention = this.lockToSet(meta.retention, found);
    if (found?.stored === 'backup') return {id, date, name, archiveKey: archiveKeyOf(base), metadataKey: metadataKeyOf(base), size: known?.size ?? src.size, sha1: known?.sha1, resumes, calls: {}, ...(retention ? {lock: lockOfRetention(retention)} : {})};
    const plan = {id, date, name, archiveKey: archiveKeyOf(base), metadataKey: metadataKeyOf(base), size: known?.size ?? src.size, sha1: known?.sha1, ...(retention ? {lock: lockOfRetention(retention)} : {})};
    const metadataCalls = {b2_upload_file: 1};
    if (found?.stored === 'archive') return {...plan, resumes, calls: {b2_get_upload_url: 1, ...metadataCalls}};
    // as upload() passes them (without taking their records' locks: nothing is cancelled)
    const replaces = known ? [...(found ? [archiveKeyOf(base)] : []), ...abandoned, ...(await this.pending.othersOfName({sha1: known.sha1, name}, sourceOf(src))).map((p) => archiveKeyOf(p.base))] : [];
    const archive = this.backend.planPut
      ? await this.backend.planPut(plan.archiveKey, source, {size: src.kind === 'stream' ? meta.size : src.size, sha1: known?.sha1, contentType: 'application/x-tar', metadata: archiveInfoMetadata({id, name, date, sha1: known?.sha1}), ...(replaces.length > 0 ? {replaces} : {}), signal})
      : {kind: 'single' as const, size: plan.size, calls: {}};
    // the metadata file is one small upload; after a single upload it reuses that upload URL
    const calls = {...archive.calls};
    calls.b2_upload_file = (calls.b2_upload_file ?? 0) + 1;
    calls.b2_get_upload_url ??= 1;
    return {...plan, resumes, archive, calls};
  }

  /**
   * What an interrupted upload of this content under this name left that can be used:
   * its names, and whether its archive or the whole backup is already stored. Undefined
   * (and the record dropped) when there is nothing to continue: no record, an expired
   * one, or one whose names now hold something else or nothing at all.
   */
  private async resumable(known: Sent, key: UploadKey, signal?: AbortSignal, opts: {keepRecord?: boolean} = {}): Promise<Resumable | undefined> {
    const p = await this.pending.find(key, known.size);
    if (!p) return undefined;
    const archiveKey = archiveKeyOf(p.base);
    const [archive, metadataFile] = await Promise.all([this.backend.stat(archiveKey), this.backend.stat(metadataKeyOf(p.base))]);
    const ours = archive !== undefined && isArchiveOf(archive, p);
    const names = {id: p.id, date: p.date, base: p.base, sha1: p.sha1, ...(p.lock ? {lock: p.lock} : {})};
    if (ours && metadataFile) {
      const described = describeArchive(archive) as ArchiveDescription;
      const info: BackupInfo = {...described, size: archive.size, sha1: p.sha1, archiveKey, metadataKey: metadataFile.key, describedBy: 'archive', ...lockOf(archive, metadataFile)};
      return {...names, stored: 'backup', entry: {info: await this.withMetadata({info, archive, metadataFile}, signal), archive, metadataFile}};
    }
    if (ours) return {...names, stored: 'archive', archive};
    if (!archive && !metadataFile && (await this.mayResume(archiveKey, p.id, signal))) return {...names, stored: 'nothing'};
    if (!opts.keepRecord) await this.pending.clear(key);
    return undefined;
  }

  /**
   * The stored backup with this id when it holds exactly these bytes (an archive that names
   * itself, uploaded again); undefined when no backup has the id. A backup with the id but
   * other (or unknowable) content is refused: two backups with one id would hide each other.
   */
  private async storedAs(id: string, known: Sent | undefined, signal?: AbortSignal): Promise<Entry | undefined> {
    const entry = (await this.scan(signal, () => undefined)).find((e) => e.info.id === id);
    if (!entry) return undefined;
    const info = await this.withMetadata(entry, signal);
    if (known && info.size === known.size && info.sha1 === known.sha1) return {...entry, info};
    // an archive Home Assistant streamed up has no SHA1 on record: same size, it may well be this very archive
    const how = !known ? ' (an upload from stdin cannot be compared with it)'
      : info.size !== known.size || info.sha1 !== undefined ? ' with other content'
      : ', with no SHA1 on record to compare this archive with (it has the same size)';
    throw new BackupError('bad_input', `backup ${id} ${nameAndDate(info.name, info.date)} is already stored as ${info.archiveKey}${how}; delete it first ("${this.hint(`delete ${id}`)}") to upload this archive again`);
  }

  /** Whether the backend still holds an unfinished upload of this archive (a backend that keeps none may resume anyway). */
  private async mayResume(archiveKey: string, id: string, signal?: AbortSignal): Promise<boolean> {
    if (!this.backend.listUnfinished) return true;
    for await (const _upload of this.unfinishedOf(archiveKey, id, signal)) return true;
    return false;
  }

  /** The backend's unfinished uploads of backup `id`'s archive under archiveKey. */
  private async *unfinishedOf(archiveKey: string, id: string, signal?: AbortSignal): AsyncIterable<UnfinishedUpload> {
    if (!this.backend.listUnfinished) return;
    for await (const u of this.backend.listUnfinished({prefix: archiveKey, signal})) {
      if (u.key === archiveKey && describeArchive(u)?.id === id) yield u;
    }
  }

  /**
   * An interrupted upload not to continue, its backup (`kept`) being stored under other
   * names meanwhile: its record goes, and what it stored (an unfinished large file, or an
   * archive without its metadata file) is removed rather than left to a cleanup.
   */
  private async dropInterrupted(plan: Resumable, key: UploadKey, kept: Entry, signal?: AbortSignal): Promise<void> {
    await this.pending.clear(key);
    const archiveKey = archiveKeyOf(plan.base);
    if (kept.archive.key === archiveKey) return; // completed where it was begun (by another command)
    const what = `it is a second copy of backup ${kept.info.id} (stored as ${kept.info.archiveKey}), not a backup`;
    if (plan.stored === 'archive') {
      await this.removeArchive(archiveKey, this.lockToSet(undefined, plan), `${what}; "${this.hint('cleanup')}" removes it once the lock ends`);
      return;
    }
    await this.cancelUnfinishedWithin(archiveKey, plan.id, what, signal);
  }

  /**
   * cancelUnfinishedOf on a failure's or a stop's way out, or beside a backup stored
   * elsewhere: within CANCEL_AFTER_STOP_MS, not through B2's whole backoff; what it gives
   * up on or cannot look for is warned about, with what removes it (`what`: what it is,
   * when there is more to say than that it is unfinished). `signal`: the caller's own,
   * when it was not stopped yet (a stop is thrown, as it was).
   */
  private async cancelUnfinishedWithin(archiveKey: string, id: string, what?: string, signal?: AbortSignal): Promise<void> {
    const bound = afterStopBound();
    await this.cancelUnfinishedOf(archiveKey, id, what, signal ? AbortSignal.any([signal, bound]) : bound).catch((e: unknown) => {
      if (signal?.aborted) throw e;
      const removes = `${what ? `${what}; ` : ''}${whatCancels(undefined, `run "${this.hint('cleanup')}"`)}`;
      this.warn(bound.aborted
        ? `gave up cancelling the unfinished upload of ${archiveKey} ${CANCEL_AFTER_STOP_MS / 1000} s ${signal ? 'after it began' : 'after the stop'} (B2 busy or unreachable): it may remain; ${removes}`
        : `could not look for the unfinished upload of ${archiveKey} (${(e as Error).message}): it may remain; ${removes}`);
    });
  }

  /**
   * Cancels the backend's unfinished uploads of backup `id`'s archive; one it cannot is
   * warned about (`what`: what it is), with what removes it: a cleanup once it is old
   * enough, not one with a key B2 refused the cancel for (whatCancels).
   */
  private async cancelUnfinishedOf(archiveKey: string, id: string, what?: string, signal?: AbortSignal): Promise<void> {
    const cancel = this.backend.cancelUnfinished?.bind(this.backend);
    if (!cancel) return;
    for await (const upload of this.unfinishedOf(archiveKey, id, signal)) {
      await cancel(upload, {signal}).catch((err: unknown) => {
        if (isBackupError(err, 'aborted')) throw err;
        this.warn(`the unfinished upload of ${archiveKey} remains (cancelling it failed: ${failureCode(err)})${what ? `: ${what}` : ''}; ${whatCancels(err, `run "${this.hint('cleanup')}"`)}`);
      });
    }
  }

  /** Every complete backup, newest first. Skipped files are reported through `onSkipped`, else onWarning. */
  async list(opts: {signal?: AbortSignal; onSkipped?: (msg: string) => void} = {}): Promise<BackupInfo[]> {
    return (await this.listDeletable(opts)).map((d) => d.info);
  }

  /**
   * list(), each backup with what delete() needs to remove it without a lookup of its own:
   * a prune deletes any number of backups from this one listing.
   */
  async listDeletable(opts: {signal?: AbortSignal; onSkipped?: (msg: string) => void} = {}): Promise<Deletable[]> {
    return (await this.scan(opts.signal, opts.onSkipped)).map((e) => ({info: e.info, complete: true, metadataFileId: e.metadataFile.id}));
  }

  /**
   * One backup with its full metadata file. Every method that takes an `id` also takes a
   * unique prefix of one or `latest` (resolveBackupRef); `not_found` when nothing matches.
   */
  async show(id: string, opts: {signal?: AbortSignal} = {}): Promise<BackupInfo> {
    return this.withMetadata(await this.find(id, opts.signal), opts.signal);
  }

  /**
   * The backup a reference names, as a download or verify needs it: with its archive's
   * SHA1, but without the metadata file's contents, which are read only for an archive
   * that does not record its SHA1 (one streamed up). One listing, and nothing more for
   * the archives made here; hand the result to download() or downloadToFile() so that
   * they do not look it up again.
   */
  async locate(ref: string, opts: {signal?: AbortSignal} = {}): Promise<BackupInfo> {
    const entry = await this.find(ref, opts.signal);
    return entry.info.sha1 ? entry.info : this.withMetadata(entry, opts.signal);
  }

  /**
   * The SHA1 on record for the backup of `archive` (see recordedSha1), reading
   * `metadataFile` (an object of this catalog's location; its cache first) unless the
   * archive describes itself and records one. Move and copy prove with it that a file at
   * the destination is the backup's.
   */
  async recordedSha1(archive: Pick<ObjectInfo, 'metadata' | 'sha1'>, metadataFile: ObjectInfo, signal?: AbortSignal): Promise<string | undefined> {
    const known = describeArchive(archive) ? recordedSha1(archive) : undefined;
    if (known) return known;
    const text = await this.readMetadataFile(metadataFile, (why) => this.warn(`${metadataFile.key} could not be read: ${why}`), signal);
    const parsed = text === undefined ? undefined : parseMetadataFile(text);
    return recordedSha1(archive, parsed?.ok ? parsed.file.backup_metadata.sha1 : undefined);
  }

  /**
   * Whether a move or copy may carry this archive and metadata file (of this location)
   * along as a backup: list()'s rule (the archive describes itself, or the metadata file is
   * a backup metadata file: Home Assistant's), and for an archive that describes itself, a
   * metadata file that reads as that backup's own (metadataFileMismatch). list() shows such
   * a backup from its archive alone, but a move deletes every version of the originals, and
   * a valid version may stand behind another tool's garbage. Answers the SHA1 on record
   * (see recordedSha1) and, for an archive that does not describe itself, the backup's id
   * its metadata file gives (as list() shows it), or why it is not a backup (`notBackup`: another tool's
   * X.tar + X.metadata.json, an unreadable file), or not one to carry along (`damaged`;
   * `unreadable` when its metadata file could not be read, which says nothing of its content;
   * `refusal`: the kind of B2's refusal to read it, an SSE-C key's).
   */
  async recognise(archive: ObjectInfo, metadataFile: ObjectInfo, signal?: AbortSignal): Promise<{sha1?: string; id?: string} | {notBackup: string} | {damaged: string; unreadable?: true; refusal?: ErrorKind}> {
    const described = describeArchive(archive);
    if (!described) {
      let why = 'its metadata file cannot be read';
      const entry = await this.entryFromMetadataFile(archive, metadataFile, (msg) => (why = msg.replace(/^skipping .*?: /, '')), signal);
      return entry ? {sha1: entry.info.sha1, id: entry.info.id} : {notBackup: why};
    }
    const found = await this.queued(() => metadataAgreement(this.metadataReader(signal), metadataFile, {id: described.id, size: archive.size, sha1: recordedSha1(archive)}));
    // unreadable (an SSE-C key that is not its own, say) is not damaged: no advice to replace it
    if ('unreadable' in found) return {damaged: `its metadata file cannot be read (${found.unreadable})`, unreadable: true, ...(found.refusal ? {refusal: found.refusal} : {})};
    if ('invalid' in found) return {damaged: `its metadata file is not a backup metadata file (${found.invalid})`};
    if ('mismatch' in found) return {damaged: `its metadata file ${found.mismatch}`};
    return {sha1: recordedSha1(archive, found.file.backup_metadata.sha1)};
  }

  /**
   * The archive as a stream that fails with `checksum_mismatch` at its end unless size and
   * SHA1 match. `target`: a reference, or the backup locate() found (no second lookup).
   */
  async download(target: string | BackupInfo, opts: TransferOptions = {}): Promise<DownloadResult> {
    const {info, stream} = await this.openVerified(target, opts);
    return {info, stream};
  }

  /**
   * Downloads into `path`, which afterwards holds either the complete verified archive or
   * what it held before: never a partial or mismatching file. Refuses an existing path
   * unless `force`.
   */
  async downloadToFile(target: string | BackupInfo, path: string, opts: TransferOptions & {force?: boolean} = {}): Promise<DownloadedFile> {
    if (typeof target === 'string') assertBackupId(target);
    const force = opts.force ?? false;
    const dest = await prepareDestination(path, force);
    const backend = this.backend;
    if (dest.kind === 'file' && backend.getToFile) {
      // in place and in parallel where the backend can; checked against the backup's own record
      const info = await this.located(target, opts.signal);
      const agreement = this.beside(info, opts.signal);
      let got: DownloadedFile | undefined;
      await writeAtomically(dest, force, async (fh) => {
        const r = await backend.getToFile!(info.archiveKey, fh, {signal: opts.signal, onProgress: opts.onProgress, ...this.archiveReadHint(info)});
        const expectedSha1 = info.sha1 ?? knownSha1(r.info.sha1);
        const problem = mismatch(r, {size: r.info.size, sha1: expectedSha1}) ?? (await agreement);
        if (problem) throw new BackupError('checksum_mismatch', `download of backup ${info.id} failed verification: ${problem}`);
        got = {info, path, size: r.size, sha1: r.sha1, expectedSha1, ...sha1Unread(info, expectedSha1)};
      });
      return got!;
    }
    const {info, stream, expected} = await this.openVerified(target, opts);
    await writeStreamToFile(stream, dest, force);
    const {size, sha1} = stream.result();
    return {info, path, size, sha1: sha1 as string, expectedSha1: expected.sha1, ...sha1Unread(info, expected.sha1)};
  }

  /** Reads and hashes the whole archive without writing it anywhere. */
  async verify(id: string, opts: TransferOptions = {}): Promise<VerifyResult> {
    const {info, stream, expected, agreement} = await this.openArchive(id, opts);
    const hashing = new HashingStream({onBytes: progressReporter(opts, expected.size)});
    // A backend that checks checksums itself (B2 does) fails the stream on a mismatch: that is a result here, not an error.
    const backendFound = await pipeline(stream, hashing, discard(), {signal: opts.signal}).then(
      () => false,
      (err: unknown) => {
        if (opts.signal?.aborted) throw abortError(opts.signal);
        if (isBackupError(err, 'checksum_mismatch')) return true;
        throw err;
      },
    );
    const got = hashing.soFar();
    const unread = sha1Unread(info, expected.sha1);
    const disagrees = await agreement;
    const ok = !backendFound && !unread.sha1Unread && mismatch(got, expected) === undefined && disagrees === undefined;
    return {ok, size: got.size, sha1: got.sha1, expectedSize: expected.size, expectedSha1: expected.sha1, ...unread, ...(disagrees ? {disagrees} : {}), info};
  }

  /**
   * What `delete` would remove for this id: a listed backup, or what an interrupted upload
   * or delete left of one (`complete: false`): an archive without its metadata file (by
   * the id its file info carries), or a metadata file without its archive (by the id in
   * it: the only record of a Home Assistant backup's id).
   */
  async deletable(ref: string, opts: {signal?: AbortSignal} = {}): Promise<Deletable> {
    assertBackupId(ref);
    const skipped: string[] = [];
    const {entries, orphans, strays} = await this.scanAll(opts.signal, (msg) => skipped.push(msg));
    try {
      const entry = resolveBackupRef(entries, ref, this);
      return {info: await this.withMetadata(entry, opts.signal), complete: true, metadataFileId: entry.metadataFile.id};
    } catch (err) {
      if (!isBackupError(err, 'not_found')) throw err;
      // what is left of a backup is named by its whole id, as the warning about it prints it
      const orphan = ref === LATEST ? undefined : orphans.find((o) => o.info.id === ref);
      if (orphan) return this.withHiddenPartner({info: orphan.info, complete: false, left: 'archive'}, opts.signal);
      const stray = ref === LATEST ? undefined : await this.strayNamed(strays, ref, opts.signal);
      if (stray) return this.withHiddenPartner(stray, opts.signal);
      for (const msg of skipped) this.warn(msg);
      throw err;
    }
  }

  /** What is left of a backup, marked when its other file is only hidden (see partnerHidden). */
  private async withHiddenPartner(left: Deletable, signal?: AbortSignal): Promise<Deletable> {
    const other = left.left === 'metadata file' ? left.info.archiveKey : left.info.metadataKey;
    return (await this.isHidden(other, signal)) ? {...left, partnerHidden: true} : left;
  }

  /**
   * Whether `key` is hidden (a user, rclone or a lifecycle rule), not deleted: its newest
   * version is a hide marker with stored uploads behind it, which unhiding brings back.
   * One version listing; false where the backend cannot tell.
   */
  private async isHidden(key: string, signal?: AbortSignal): Promise<boolean> {
    if (!this.backend.planDelete) return false;
    const plan = await this.backend.planDelete(key, {signal});
    return plan.hidden && plan.uploads > 0;
  }

  /** The metadata file without its archive that names backup `id` (each read once, then cached by file id). */
  private async strayNamed(strays: ObjectInfo[], id: string, signal?: AbortSignal): Promise<Deletable | undefined> {
    for (const metadataFile of strays) {
      const stray = await this.strayBackup(metadataFile, signal);
      if (stray?.info.id === id) return stray;
    }
    return undefined;
  }

  /**
   * What a metadata file without its archive is left of, read as a backup metadata file
   * (this tool's or Home Assistant's); undefined when it is none (unreadable, or not one).
   */
  private async strayBackup(metadataFile: ObjectInfo, signal?: AbortSignal): Promise<Deletable | undefined> {
    const text = await this.readMetadataFile(metadataFile, () => undefined, signal);
    const parsed = text === undefined ? undefined : parseMetadataFile(text);
    if (!parsed?.ok) return undefined;
    const m = parsed.file.backup_metadata;
    const base = baseOf(metadataFile.key, METADATA_SUFFIX)!;
    // its size is the file's own: the archive it described is gone
    const info: BackupInfo = {id: parsed.file.backup_id, name: m.name, date: m.date, size: metadataFile.size, archiveKey: archiveKeyOf(base), metadataKey: metadataFile.key, describedBy: 'metadata-file', metadata: m, ...lockOf(metadataFile)};
    return {info, complete: false, left: 'metadata file', metadataFileId: metadataFile.id};
  }

  /** What delete() would remove for this reference (every version of each name, unfinished uploads of them too), removing nothing. */
  async previewDelete(ref: string, opts: {signal?: AbortSignal} = {}): Promise<DeletePreview> {
    const found = await this.deletable(ref, opts);
    const remove = await Promise.all(keysToDelete(found).map(async (key) => {
      if (this.backend.planDelete) return this.backend.planDelete(key, opts);
      const stored = await this.backend.stat(key);
      return {key, versions: stored ? 1 : 0, uploads: stored ? 1 : 0, hidden: false, unfinished: 0, bytes: stored?.size ?? 0};
    }));
    return {...found, remove};
  }

  /**
   * Removes the archive first, then the metadata file, as Home Assistant's integration
   * does; the backend removes every version of each. The metadata file holds the
   * backup's id (for a Home Assistant archive, or one uploaded from stdin, the only
   * record of it), so an interrupted delete stays findable by that full id (not by
   * `latest` or a prefix: it is no longer listed), and a delete by it finishes it; in between, listings skip a metadata file without its
   * archive, so the backup is listed whole or not at all. A locked archive is refused
   * before anything is removed. Also removes what an interrupted upload or delete left.
   * `alreadyGone`: this run removed nothing of the first file (another command, such as a
   * prune at the same time, deleted the backup meanwhile), so it did not delete the backup.
   */
  async delete(target: string | Deletable, opts: {signal?: AbortSignal; bypassGovernance?: boolean} = {}): Promise<DeleteOutcome> {
    const found = typeof target === 'string' ? await this.deletable(target, opts) : target;
    throwIfAborted(opts.signal);
    // a lock on either file is refused before anything goes: never half a backup left behind by a refusal
    if (deleteRefused(found.info, this.backend.now?.() ?? this.now(), opts.bypassGovernance)) throw lockedBackup(found.info);
    // what is left of a backup may be what an upload running here has stored so far: its name is held until it has answered
    const lock = found.complete ? {release: async () => undefined} : await this.locks.tryName(baseOf(found.info.archiveKey, ARCHIVE_SUFFIX) as string);
    if ('holders' in lock) throw new BackupError('failure', `the ${found.left ?? 'archive'} of backup ${found.info.id} is what an upload running on this machine (process ${lock.holders.join(', ')}) has stored so far; nothing was deleted: once that upload has finished, it is a backup, or what is left is deleted by running this again`, {transient: true});
    let alreadyGone: boolean;
    try {
      alreadyGone = await this.deleteKeys(found, opts);
    } finally {
      await lock.release();
    }
    if (found.metadataFileId) await this.cache.forget(found.metadataFileId);
    return {info: found.info, alreadyGone};
  }

  /**
   * What is left of `target` now, after a delete of it was stopped midway (its requests may
   * have been carried out, their answers never read): 'whole' (every file it had), 'partly'
   * (what a delete by its full id removes) or 'gone'; undefined when that cannot be told
   * (B2 did not answer within `signal`, or a file of it is hidden: listings do not see it).
   */
  async leftOf(target: Deletable, signal: AbortSignal): Promise<'whole' | 'partly' | 'gone' | undefined> {
    if (target.partnerHidden) return undefined;
    const keys = keysToDelete(target);
    try {
      let left = 0;
      for (const key of keys) {
        for await (const o of this.backend.list({prefix: key, signal})) {
          if (o.key === key) left++;
          break; // names sort: the key itself comes first, if it is there
        }
      }
      return left === 0 ? 'gone' : left === keys.length ? 'whole' : 'partly';
    } catch {
      return undefined;
    }
  }

  /** delete()'s removals, in keysToDelete()'s order; answers whether another command had removed the first file already. */
  private async deleteKeys(found: Deletable, opts: {signal?: AbortSignal; bypassGovernance?: boolean}): Promise<boolean> {
    const how = {bypassGovernance: opts.bypassGovernance, signal: opts.signal};
    const keys = keysToDelete(found);
    let removedFirst = false;
    for (const [i, key] of keys.entries()) {
      const removed = await this.backend.delete(key, how).catch((err: unknown) => {
        // the first file's failure leaves the backup whole; an interruption is the command's to report (by the full id)
        if (i === 0 || isBackupError(err, 'aborted')) throw err;
        // the second file only: the first is gone, so no "kept" may be claimed, and only the full id finds what is left
        const rest = `backup ${found.info.id} is no longer listed, and the same "${this.hint(`delete ${found.info.id}`)}" removes the rest`;
        if (isBackupError(err, 'locked')) {
          // a lock the key could not see
          throw new BackupError('failure', `${keys[0]} was deleted, but B2 refused to delete ${key} (${err.message}); ${rest} once that lock ends`, {cause: err});
        }
        throw new BackupError('failure', `${keys[0]} was deleted, but deleting ${key} failed (${err instanceof Error ? err.message : String(err)}); ${rest}`, {cause: err});
      });
      if (i === 0) removedFirst = removed;
    }
    return !removedFirst;
  }

  /**
   * Object Lock: sets the retention of a backup's metadata file and archive (the current
   * version of each) to `retention`. Lengthening is always allowed; the backend refuses
   * (`locked`) to shorten a compliance retention, and a governance one without
   * `bypassGovernance`. Returns the backup with its new lock.
   */
  async lock(ref: string, retention: Retention, opts: {signal?: AbortSignal; bypassGovernance?: boolean} = {}): Promise<BackupInfo> {
    const setRetention = this.backend.setRetention?.bind(this.backend);
    if (!setRetention) throw new BackupError('bad_input', `the ${this.backend.type} backend has no Object Lock; backups there cannot be locked`);
    const entry = await this.find(ref, opts.signal);
    for (const [i, obj] of [entry.metadataFile, entry.archive].entries()) {
      throwIfAborted(opts.signal);
      if (!obj.id) throw new BackupError('failure', `the backend did not report the version of ${obj.key}; nothing was locked`);
      await setRetention(obj.key, obj.id, retention, opts).catch((err: unknown) => {
        // the metadata file's lock is set already: never the exit code of "nothing was changed"
        throw i === 0 ? err : failedAfterChange(err, `the retention of its metadata file ${entry.metadataFile.key} was set, not its archive's: run the same command again to finish`);
      });
    }
    return {...(await this.withMetadata(entry, opts.signal)), lock: {mode: retention.mode, until: retention.retainUntil.toISOString()}};
  }

  /** How many unfinished uploads cleanup() would take for this location's (whatever their age): what prune reports and leaves to it. */
  async countOwnUnfinished(signal?: AbortSignal): Promise<number> {
    let n = 0;
    if (this.backend.listUnfinished) for await (const u of this.backend.listUnfinished({signal})) if (isOwnUnfinished(u)) n++;
    return n;
  }

  /**
   * What interrupted uploads and deletes left behind, made by this tool and older than
   * `olderThanMs` (younger ones may still be running): unfinished uploads of archives,
   * archives without a metadata file, and metadata files without their archive that
   * read as a backup metadata file (this tool's or Home Assistant's). Removes them unless `dryRun`. Never touches an
   * object that does not carry this tool's archive description or provisional marker (archiveMarker).
   * `report`, when given, is filled as the cleanup goes: an interrupted one still shows what it had removed.
   */
  async cleanup(opts: {olderThanMs: number; dryRun?: boolean; signal?: AbortSignal; report?: CleanupReport}): Promise<CleanupReport> {
    const {signal} = opts;
    // ages by the backend's clock (B2's), which dated what it stores: this machine's may be days off
    const now = this.backend.now?.() ?? this.now();
    const cutoff = now.getTime() - opts.olderThanMs;
    const report = opts.report ?? emptyCleanupReport();
    if (this.backend.listUnfinished && this.backend.cancelUnfinished) {
      const cancel = this.backend.cancelUnfinished.bind(this.backend);
      for await (const u of this.backend.listUnfinished({signal})) {
        const base = baseOf(u.key, ARCHIVE_SUFFIX);
        if (base === undefined || !isOwnUnfinished(u)) {
          report.foreign++;
        } else if (u.started.getTime() > cutoff) {
          report.kept++;
        } else {
          const since = u.started.toISOString();
          const cancelled = await this.unlessUploading(base, {key: u.key, since}, report, async () => {
            if (!opts.dryRun) await cancel(u, {signal});
            return true;
          });
          if (cancelled) report.cancelled.push({key: u.key, started: since, fileId: u.fileId});
        }
      }
    }
    const unhidden = await this.finishHidden({dryRun: opts.dryRun, signal}, report);
    const {orphans, strays} = await this.scanAll(signal, () => undefined);
    const ctx = {cutoff, now, dryRun: opts.dryRun, signal};
    for (const {info, archive} of orphans) {
      // an upload that finished since the listing wrote its metadata file: a backup now, not an orphan
      if (!(await this.clearLeftover(archive, info, info.metadataKey, {...ctx, hideFirst: true}, report))) continue;
      report.deleted.push({key: archive.key, ...leftoverEntry(archive, info)});
    }
    // what an interrupted delete or prune left: a metadata file without its archive (no
    // backup: listings skip it); only one that reads as a backup metadata file
    for (const metadataFile of strays) {
      // its archive is one finishHidden unhid, or in a dry run would unhide (still hidden, so the listing found this file alone): part of that backup
      if (unhidden.has(metadataFile.key)) continue;
      const stray = await this.strayBackup(metadataFile, signal);
      if (!stray) continue; // not a backup metadata file: never touched (listings report it)
      const {info} = stray;
      // an upload under the same name that stored its archive since the listing: a backup now, not a leftover
      if (!(await this.clearLeftover(metadataFile, info, info.archiveKey, ctx, report))) continue;
      if (!opts.dryRun && metadataFile.id) await this.cache.forget(metadataFile.id);
      report.strays.push({key: metadataFile.key, ...leftoverEntry(metadataFile, info)});
    }
    return report;
  }

  /**
   * The backup a reference names: an id, a unique prefix of one, or `latest` (see
   * resolveBackupRef). Files skipped on the way are reported only when nothing is found
   * (one of them may be why); otherwise they are not this operation's business.
   */
  private async find(ref: string, signal?: AbortSignal): Promise<Entry> {
    assertBackupId(ref);
    const skipped: string[] = [];
    const entries = await this.scan(signal, (msg) => skipped.push(msg));
    try {
      return resolveBackupRef(entries, ref, this);
    } catch (err) {
      if (isBackupError(err, 'not_found')) for (const msg of skipped) this.warn(msg);
      throw err;
    }
  }

  /**
   * One file cleanup() found left over (`file`, of backup `info`): kept while younger than
   * the cutoff (counted in `kept`), or once its other file (`partnerKey`) is there again
   * (reported in `whole`: whatever its age, it is part of a backup), kept and reported in
   * `locked` under Object Lock (as far as the key sees, else by B2's refusal; never tried,
   * and the dry run says the same), else deleted (not in a dry run). True: it goes (went).
   * `hideFirst` (an archive): hidden before the last look for its partner (removeOrphanArchive).
   */
  private async clearLeftover(file: ObjectInfo, info: BackupInfo, partnerKey: string, ctx: {cutoff: number; now: Date; dryRun?: boolean; signal?: AbortSignal; hideFirst?: boolean}, report: CleanupReport): Promise<boolean> {
    if (file.modified.getTime() > ctx.cutoff) {
      report.kept++;
      return false;
    }
    const found = {key: file.key, id: info.id, name: info.name, size: file.size, stored: file.modified.toISOString()};
    const locked = {...found, ...lockOf(file)};
    const whole = {...found, otherKey: partnerKey};
    if (deleteRefused(info, ctx.now)) {
      report.locked.push(locked);
      return false;
    }
    // what an upload running here stores is not left over: its name is held until it has answered
    return this.unlessUploading(baseOf(info.archiveKey, ARCHIVE_SUFFIX) as string, {key: file.key, since: file.modified.toISOString()}, report, async () => {
      // a dry run looks again as well (reading only), to report what the real run would do
      if (await this.backend.stat(partnerKey)) {
        report.whole.push(whole); // the upload finished since the listing: a backup now
        return false;
      }
      // B2 keeps a hidden file's versions: unhiding it makes the backup whole again, and this file is then its only copy
      if (await this.isHidden(partnerKey, ctx.signal)) {
        report.hidden.push({...found, hiddenKey: partnerKey});
        return false;
      }
      const outcome = ctx.dryRun
        ? await this.wouldRemove(file.key, ctx.hideFirst, ctx.signal)
        : ctx.hideFirst
          ? await this.removeOrphanArchive({key: file.key, metadataKey: partnerKey, base: baseOf(info.archiveKey, ARCHIVE_SUFFIX) as string, entry: leftoverEntry(file, info)}, ctx.signal)
          : await this.deleteUnlessLocked(file.key, ctx.signal);
      if (outcome === 'locked') report.locked.push(locked);
      if (outcome === 'kept') report.whole.push(whole); // its metadata file came: a backup now
      if (outcome === 'hidden') report.hiddenMeanwhile.push(found); // another cleanup has it in hand, or a user hid it
      return outcome === 'deleted';
    });
  }

  /**
   * What clearLeftover's removal of `key` would come to, changing nothing (a dry run). An
   * archive (`hideFirst`) is hidden first (removeOrphanArchive): when it is no longer
   * visible, that hide finds nothing to hide. Its metadata file looked for again after the
   * hide would be the look just made (a dry run hides nothing in between). Object Lock's
   * refusal of a lock the key cannot see is known only by trying: 'deleted'.
   */
  private async wouldRemove(key: string, hideFirst: boolean | undefined, signal?: AbortSignal): Promise<'deleted' | 'hidden' | 'gone'> {
    if (!hideFirst || !this.backend.hide || (await this.backend.stat(key))) return 'deleted';
    return this.nothingToHide(key, signal);
  }

  /** Why there was nothing visible to hide at `key`: another cleanup (or a user) hid it and has it in hand, or it was removed. */
  private async nothingToHide(key: string, signal?: AbortSignal): Promise<'hidden' | 'gone'> {
    return (await this.isHidden(key, signal)) ? 'hidden' : 'gone';
  }

  /**
   * Removes `key` on a failure's or a stop's way out, within `bound`: undefined once it is
   * gone, else what stays (LeftStored; `until`: when Object Lock lets it go, ISO 8601, when known).
   */
  private async removeOrTell(key: string, until: string | undefined, bound: AbortSignal): Promise<LeftStored | undefined> {
    return this.deleteUnlessLocked(key, bound).then(
      (outcome) => (outcome === 'locked' ? leftLocked(key, until) : undefined),
      (e: unknown) => leftByFailedRemoval(key, e, bound, this.backend.keyName),
    );
  }

  /**
   * Deletes every version of key (`lastVersion`: that one after all others, see DeleteOptions);
   * 'locked' when Object Lock refuses (a lock the key cannot read shows only in B2's refusal).
   */
  private async deleteUnlessLocked(key: string, signal?: AbortSignal, lastVersion?: string): Promise<'deleted' | 'locked'> {
    return this.backend.delete(key, {signal, lastVersion}).then(() => 'deleted' as const, (err: unknown) => {
      if (isBackupError(err, 'locked')) return 'locked' as const;
      throw err;
    });
  }

  /**
   * An archive without its metadata file, removed so that an upload finishing elsewhere
   * cannot lose it (see assertArchiveKept for why the order is safe): hidden first, then
   * its metadata file looked for once more; there now, the archive is unhidden and kept,
   * else deleted ('hidden': something else hid it first, another cleanup has it in hand).
   * Once hiding starts, the rest goes without the signal: an interrupted cleanup still unhides or deletes what it hid before it stops, and one killed meanwhile
   * leaves its record (HidingRecords) for the next cleanup here to finish. A backend that
   * cannot hide deletes at once; an archive hidden already (another cleanup's) is left to it.
   */
  private async removeOrphanArchive(hiding: Omit<HidingRecord, 'markerId'>, signal?: AbortSignal): Promise<'deleted' | 'locked' | 'kept' | 'hidden' | 'gone'> {
    const {hide, unhide} = this.backend;
    if (!hide || !unhide) return this.deleteUnlessLocked(hiding.key, signal);
    // the hide itself goes without the signal too: one cut off midway may have hidden the archive without saying so
    throwIfAborted(signal);
    await this.hiding.record(hiding);
    const markerId = await hide.call(this.backend, hiding.key);
    if (markerId === undefined) {
      // nothing visible to hide: another cleanup has it in hand (hidden), or removed it already
      await this.hiding.clear(hiding.key);
      return this.nothingToHide(hiding.key);
    }
    await this.hiding.record({...hiding, markerId});
    return this.decideHidden({...hiding, markerId});
  }

  /**
   * The decision about an archive a cleanup here hid with the marker `markerId`: unhidden
   * and kept if its metadata file is there, else deleted (unhidden again if Object Lock
   * refuses); its record goes once the decision is made, or undone.
   */
  private async decideHidden(hidden: HidingRecord & {markerId: string}): Promise<'deleted' | 'locked' | 'kept'> {
    const {key, markerId} = hidden;
    const restore = () => (this.backend.unhide as NonNullable<StorageBackend['unhide']>).call(this.backend, key, markerId);
    try {
      let outcome: 'deleted' | 'locked' | 'kept';
      if (await this.backend.stat(hidden.metadataKey)) outcome = (await restore(), 'kept');
      else {
        // our marker goes last: were it first, the archive would be visible again, to an
        // upload's last look (assertArchiveKept), until its own version went
        outcome = await this.deleteUnlessLocked(key, undefined, markerId);
        if (outcome === 'locked') await restore();
      }
      await this.hiding.clear(key);
      return outcome;
    } catch (err) {
      const restored = await restore().then(
        () => true,
        (unhideErr: unknown) => {
          this.warn(`${key} is left hidden, its versions stored behind a hide marker: unhiding it failed (${(unhideErr as Error).message}); the next cleanup on this machine decides about it again, and deleting that marker (e.g. in the B2 web console) restores it`);
          return false;
        },
      );
      if (restored) await this.hiding.clear(key);
      throw err;
    }
  }

  /**
   * What a cleanup killed here between hiding an archive and deciding about it left
   * (HidingRecords), decided now: an archive still hidden is deleted, or unhidden and kept
   * when its metadata file has come (an upload elsewhere that wrote it, then failed to see
   * its archive, removes that file again: then deleted). One visible again only loses its
   * record; a hide marker left alone by a delete cut off before its end is deleted too.
   * A name that an upload or cleanup running here holds is left to it. A dry run decides
   * the same (changing nothing). Answers the metadata files of the archives unhid (in a dry
   * run: that it would unhide), which are part of a backup again, not strays.
   */
  private async finishHidden(ctx: {dryRun?: boolean; signal?: AbortSignal}, report: CleanupReport): Promise<Set<string>> {
    const unhidden = new Set<string>();
    for (const hidden of await this.hiding.all()) {
      throwIfAborted(ctx.signal);
      const lock = await this.locks.tryName(hidden.base);
      if ('holders' in lock) continue;
      try {
        const plan = (await this.backend.stat(hidden.key)) ? undefined : await this.backend.planDelete?.(hidden.key, {signal: ctx.signal});
        if (!plan?.hidden || plan.uploads === 0) {
          // visible (never hidden, or unhidden), or gone but for the marker of a delete that was cut off just before it
          if (!ctx.dryRun && plan && plan.versions > 0) await this.backend.delete(hidden.key);
          if (!ctx.dryRun) await this.hiding.clear(hidden.key);
          continue;
        }
        const comeBack = (await this.backend.stat(hidden.metadataKey)) !== undefined;
        if (comeBack && hidden.markerId === undefined) {
          // killed before its hide answered: which version is the marker is not known here (a dry run says the same)
          this.warn(`${hidden.key} is hidden (by a cleanup here that was stopped) while its metadata file ${hidden.metadataKey} is there: deleting its newest version, the hide marker (e.g. in the B2 web console), restores the backup`);
          continue;
        }
        let outcome: 'deleted' | 'locked' | 'kept';
        if (ctx.dryRun) outcome = comeBack ? 'kept' : 'deleted';
        else if (hidden.markerId !== undefined) outcome = await this.decideHidden({...hidden, markerId: hidden.markerId});
        else {
          outcome = await this.deleteUnlessLocked(hidden.key);
          if (outcome === 'deleted') await this.hiding.clear(hidden.key);
        }
        const found = {key: hidden.key, id: hidden.entry.id, name: hidden.entry.name, size: hidden.entry.size, stored: hidden.entry.stored};
        if (outcome === 'deleted') report.deleted.push({key: hidden.key, ...hidden.entry});
        else if (outcome === 'locked') report.locked.push(found);
        else {
          report.whole.push({...found, otherKey: hidden.metadataKey}); // its metadata file came
          unhidden.add(hidden.metadataKey);
        }
      } finally {
        await lock.release();
      }
    }
    return unhidden;
  }

  /**
   * `clear` (which answers whether the file goes) while holding the name `base`; when an
   * upload running on this machine holds it (it is storing what cleanup would remove),
   * nothing: the file is reported in `uploading`, and false.
   */
  private async unlessUploading(base: string, file: {key: string; since: string}, report: CleanupReport, clear: () => Promise<boolean>): Promise<boolean> {
    const lock = await this.locks.tryName(base);
    if ('holders' in lock) {
      report.uploading.push({...file, pids: lock.holders});
      return false;
    }
    try {
      return await clear();
    } finally {
      await lock.release();
    }
  }

  /**
   * HA's names carry the time to the microsecond; on the rare clash the id makes the name
   * unique (clashBaseName). A `fresh` name (dated now by this process's clock, see
   * claimUnusedBase) is not looked up: it is taken unless this process gave it already.
   */
  private async unusedBase(b: NewBackupName, fresh: boolean): Promise<string> {
    const base = safeBaseName(b.name, b.date);
    const taken = fresh ? freshBasesGiven.has(base) : await this.baseTaken(base);
    return taken ? clashBaseName(b.name, b.date, b.id) : base;
  }

  /**
   * unusedBase(), the name then held (into `held`) by this upload: a name another upload
   * here holds is taken too (it may not have stored anything yet), and the id makes this
   * one's unique.
   *
   * A fresh name (this upload's name and its own clock's time, to the millisecond) is not
   * looked up in the bucket, which saves two calls per upload: another machine can only
   * have used it by uploading the same name in the same millisecond of its clock, and a
   * lookup would race that upload rather than rule it out (a large file is not visible
   * until it finishes); uploads on this machine are kept apart by the name lock. What
   * this process gave before is looked up as any other name.
   */
  private async claimUnusedBase(b: NewBackupName, held: Release[], opts: {fresh: boolean; signal?: AbortSignal}): Promise<string> {
    const base = safeBaseName(b.name, b.date);
    const lock = await this.locks.tryName(base);
    const givenBefore = opts.fresh && freshBasesGiven.has(base);
    if (opts.fresh) freshBasesGiven.add(base);
    if ('release' in lock) {
      const taken = opts.fresh && !givenBefore ? false : await this.baseTaken(base).catch(async (err: unknown) => {
        await lock.release(); // not yet in `held`: released here, or held until the process ends
        throw err;
      });
      if (!taken) return (held.push(lock.release), base);
      await lock.release();
    }
    return this.holdName(clashBaseName(b.name, b.date, b.id), held, opts.signal);
  }

  /** Holds the name `base` (into `held`), waiting while another command here does. */
  private async holdName(base: string, held: Release[], signal?: AbortSignal): Promise<string> {
    held.push(await this.locks.name(base, signal));
    return base;
  }

  private async baseTaken(base: string): Promise<boolean> {
    const found = await Promise.all([this.backend.stat(archiveKeyOf(base)), this.backend.stat(metadataKeyOf(base))]);
    return found.some(Boolean);
  }

  private async scan(signal?: AbortSignal, skip: (msg: string) => void = this.warn): Promise<Entry[]> {
    return (await this.scanAll(signal, skip)).entries;
  }

  /**
   * A warning about one backup's metadata file, once per catalog: a listing that read the
   * file already said it when show() or delete() reads it again.
   */
  private warnOnce(msg: string): void {
    if (this.warned.has(msg)) return;
    this.warned.add(msg);
    this.warn(msg);
  }

  /** Runs `task` in the metadata reads' queue. */
  private async queued<T>(task: () => Promise<T>): Promise<T> {
    this.queue ??= import('p-queue').then(({default: Queue}) => new Queue({concurrency: this.concurrency}));
    return (await this.queue).add(task);
  }

  /**
   * One listing pass: the complete backups, and our archives that have no metadata file
   * (orphans). Metadata files are read only for archives that do not describe themselves.
   */
  private async scanAll(signal?: AbortSignal, skip: (msg: string) => void = this.warn): Promise<{entries: Entry[]; orphans: Orphan[]; strays: ObjectInfo[]}> {
    const archives = new Map<string, ObjectInfo>();
    const metadataFiles = new Map<string, ObjectInfo>();
    for await (const obj of this.backend.list({signal})) {
      const archiveBase = baseOf(obj.key, ARCHIVE_SUFFIX);
      if (archiveBase !== undefined) {
        archives.set(archiveBase, obj);
        if (obj.encryptedWithCustomerKey) this.archivesWithCustomerKey.add(obj.key);
        else this.archivesWithCustomerKey.delete(obj.key);
      }
      const metadataBase = baseOf(obj.key, METADATA_SUFFIX);
      if (metadataBase !== undefined) metadataFiles.set(metadataBase, obj);
    }

    const pending: Promise<Entry | undefined>[] = [];
    const strays: ObjectInfo[] = [];
    for (const [base, metadataFile] of metadataFiles) {
      const archive = archives.get(base);
      if (!archive) {
        strays.push(metadataFile);
        // a listing cannot tell a hidden archive from a deleted one (that takes a version listing per file): say both
        skip(`skipping ${metadataFile.key}: it has no archive ${archiveKeyOf(base)} (what an interrupted delete or prune left, or the archive is hidden): "${this.hint('cleanup')}" removes it once older than its --older-than, unless the archive is hidden (unhiding it restores the backup)`);
        continue;
      }
      const described = describeArchive(archive);
      if (described) {
        const info: BackupInfo = {...described, size: archive.size, sha1: recordedSha1(archive), archiveKey: archive.key, metadataKey: metadataFile.key, describedBy: 'archive', ...lockOf(archive, metadataFile)};
        const entry: Entry = {info, archive, metadataFile};
        // A streamed archive could not carry its SHA1 (unknown until the end): its metadata
        // file has it. Read once, then cached by file id like Home Assistant's.
        pending.push(info.sha1 ? Promise.resolve(entry) : this.queued(async () => (throwIfAborted(signal), {...entry, info: await this.withMetadata(entry, signal, skip)})));
      } else {
        // Each task checks the signal as it starts rather than p-queue listening once per
        // queued task: thousands of HA backups would mean thousands of abort listeners.
        pending.push(this.queued(() => (throwIfAborted(signal), this.entryFromMetadataFile(archive, metadataFile, skip, signal))));
      }
    }
    const orphans: Orphan[] = [];
    for (const [base, archive] of archives) {
      if (metadataFiles.has(base)) continue;
      const described = archiveMarker(archive);
      if (described) {
        const info: BackupInfo = {...described, size: archive.size, sha1: recordedSha1(archive), archiveKey: archive.key, metadataKey: metadataKeyOf(base), describedBy: 'archive', ...lockOf(archive)};
        orphans.push({archive, info});
        skip(`skipping ${archive.key}: backup ${described.id} has no metadata file (an interrupted upload, copy or delete, or the file is hidden); ${this.orphanRemover(info)}`);
      } else {
        skip(`skipping ${archive.key}: it has no metadata file ${metadataKeyOf(base)} (an interrupted upload, or another tool's file)`);
      }
    }

    const settled = await Promise.all(pending).catch((err: unknown) => {
      throw signal?.aborted ? abortError(signal) : err;
    });
    const entries = settled.filter((e): e is Entry => e !== undefined);
    for (const e of entries) this.listed.set(e.info.archiveKey, e);
    entries.sort((a, b) => Date.parse(b.info.date) - Date.parse(a.info.date) || compareUtf8(a.info.archiveKey, b.info.archiveKey));
    return {entries: withoutDuplicateIds(entries, skip), orphans, strays};
  }

  /**
   * What removes an archive without its metadata file: delete or cleanup, unless Object
   * Lock keeps it (as far as the key sees), when neither can before its date and running
   * the interrupted upload or copy again is what makes it a whole backup.
   */
  private orphanRemover(info: BackupInfo): string {
    const now = this.backend.now?.() ?? this.now();
    const removers = `"${this.hint(`delete ${info.id}`)}" removes it, and so does "${this.hint('cleanup')}" unless the metadata file is hidden (unhiding it restores the backup)`;
    if (!deleteRefused(info, now)) return removers;
    const lock = activeLock(info, now);
    const held = info.legalHold ? 'it is under a legal hold' : `it is locked (${lock?.mode}) until ${lock?.until}`;
    const bypass = !info.legalHold && lock?.mode === 'governance' && !lock.complianceUntil ? ` (or "${this.hint(`delete ${info.id} --bypass-governance`)}", with a key that may bypass governance)` : '';
    return `${held}, so neither "${this.hint(`delete ${info.id}`)}" nor "${this.hint('cleanup')}" removes it before then${bypass}; if an interrupted upload or copy left it, running that command again finishes the backup`;
  }

  private async entryFromMetadataFile(archive: ObjectInfo, metadataFile: ObjectInfo, skip: (msg: string) => void, signal?: AbortSignal): Promise<Entry | undefined> {
    const text = await this.readMetadataFile(metadataFile, (why) => skip(`skipping ${metadataFile.key}: ${why}`), signal);
    if (text === undefined) return undefined;
    const parsed = parseMetadataFile(text);
    if (!parsed.ok) {
      skip(`skipping ${metadataFile.key}: not a backup metadata file (${parsed.problem})`);
      return undefined;
    }
    const m = parsed.file.backup_metadata;
    // Like HA, the archive as stored is the authority on size.
    const metadata = {...m, size: archive.size};
    const info: BackupInfo = {
      id: parsed.file.backup_id,
      name: m.name,
      date: m.date,
      size: archive.size,
      sha1: recordedSha1(archive, m.sha1),
      archiveKey: archive.key,
      metadataKey: metadataFile.key,
      describedBy: 'metadata-file',
      metadata,
      ...lockOf(archive, metadataFile),
    };
    return {info, archive, metadataFile};
  }

  /**
   * Adds the metadata file's contents to an entry listed from its archive's info alone.
   * `warn`: where a file that cannot serve goes (a listing that looks for one backup keeps
   * what concerns the others to itself).
   */
  private async withMetadata(entry: Entry, signal?: AbortSignal, warn: (msg: string) => void = (msg) => this.warnOnce(msg)): Promise<BackupInfo> {
    if (entry.info.metadata) return entry.info;
    const found = await this.ownMetadataFile(entry, signal);
    if (!('file' in found)) {
      warn(`${agreementProblem(entry.metadataFile.key, found)}; showing what the archive records`);
      return entry.info;
    }
    const m = found.file.backup_metadata;
    return {...entry.info, sha1: recordedSha1(entry.archive, m.sha1), metadata: {...m, size: entry.archive.size}};
  }

  /** Whether the metadata file of an entry listed from its archive is that backup's own (see metadataAgreement). */
  private ownMetadataFile(entry: Entry, signal?: AbortSignal): Promise<Agreement> {
    return metadataAgreement(this.metadataReader(signal), entry.metadataFile, {id: entry.info.id, size: entry.archive.size, sha1: entry.info.sha1});
  }

  /**
   * Why verify and download must fail although the archive matches its own record (see
   * disagreement()): undefined when the metadata file agrees, or was read already
   * (locate() reads it for an archive that records no SHA1 of its own) or is the only
   * record (Home Assistant's archives). Started now, beside the archive's read (no added
   * latency), and awaited once the archive is read: a failure meanwhile is not left unhandled.
   */
  private beside(info: BackupInfo, signal?: AbortSignal): Promise<string | undefined> {
    const entry = this.listed.get(info.archiveKey);
    // no SHA1 of its own: locate() read the metadata file for one (and warned of it)
    if (!entry?.info.sha1 || info.describedBy !== 'archive' || info.metadata) return Promise.resolve(undefined);
    const check = disagreement(this.ownMetadataFile(entry, signal), entry.metadataFile.key, (msg) => this.warnOnce(msg), signal);
    check.catch(() => undefined);
    return check;
  }

  /** readMetadataFile() as metadataAgreement() takes it. */
  private metadataReader(signal?: AbortSignal): MetadataReader {
    return (metadataFile, unreadable) => this.readMetadataFile(metadataFile, unreadable, signal);
  }

  /**
   * The text of a metadata file: from the cache, else downloaded (and cached). Undefined
   * when it cannot be had, `unreadable` saying why (the file's name is the caller's to
   * add). One that this profile's SSE-C key cannot decrypt (mixed or rotated keys under
   * one prefix) is such a file: the rest of the listing does not fail for it.
   */
  private async readMetadataFile(obj: ObjectInfo, unreadable: (why: string, refusal?: ErrorKind) => void, signal?: AbortSignal): Promise<string | undefined> {
    const cached = await this.cache.get(obj);
    if (cached !== undefined) return cached;
    if (obj.size > MAX_METADATA_FILE_BYTES) {
      unreadable(`${obj.size} bytes is too large for a backup metadata file`);
      return undefined;
    }
    let data: Buffer;
    try {
      const {stream} = await this.backend.get(obj.key, {signal, encryptedWithCustomerKey: obj.encryptedWithCustomerKey});
      data = await readAll(stream, signal);
    } catch (err) {
      if (isBackupError(err, 'not_found')) unreadable('it was deleted while listing');
      else if (isBackupError(err, 'encryption_key')) unreadable(err.message, err.kind);
      else throw err;
      return undefined;
    }
    if (data.length !== obj.size || (knownSha1(obj.sha1) && sha1Of(data) !== obj.sha1)) {
      unreadable('its content changed while listing');
      return undefined;
    }
    const text = data.toString('utf8');
    await this.cache.set(obj, text);
    return text;
  }

  /**
   * How the backend reads the archive the listing found: the very version listed (and
   * checked against its metadata file), not a newer one uploaded meanwhile, and with
   * what the listing said of its encryption.
   */
  private archiveReadHint(info: BackupInfo): Pick<GetOptions, 'encryptedWithCustomerKey' | 'version'> {
    const version = this.listed.get(info.archiveKey)?.archive.id;
    return {...(this.archivesWithCustomerKey.has(info.archiveKey) ? {encryptedWithCustomerKey: true} : {}), ...(version ? {version} : {})};
  }

  /** What locate() gives for a reference; a backup it already gave is taken as it is. */
  private async located(target: string | BackupInfo, signal?: AbortSignal): Promise<BackupInfo> {
    return typeof target === 'string' ? this.locate(target, {signal}) : target;
  }

  /** The archive's stream and what it must add up to. */
  private async openArchive(target: string | BackupInfo, opts: TransferOptions): Promise<{info: BackupInfo; stream: Readable; expected: Expected; backendChecks: boolean; agreement: Promise<string | undefined>}> {
    const info = await this.located(target, opts.signal);
    const agreement = this.beside(info, opts.signal);
    const {info: obj, stream} = await this.backend.get(info.archiveKey, {signal: opts.signal, ...this.archiveReadHint(info)});
    const expected = {size: obj.size, sha1: info.sha1 ?? knownSha1(obj.sha1)};
    // the backend verifies the very SHA1 the backup records: no second hash of every byte
    const backendChecks = this.backend.verifiesGet === true && expected.sha1 !== undefined && knownSha1(obj.sha1) === expected.sha1;
    return {info, stream, expected, backendChecks, agreement};
  }

  private async openVerified(target: string | BackupInfo, opts: TransferOptions): Promise<{info: BackupInfo; stream: HashingStream; expected: Expected}> {
    const {info, stream, expected, backendChecks, agreement} = await this.openArchive(target, opts);
    const hashing = new HashingStream({expect: expected, what: `download of backup ${info.id}`, onBytes: progressReporter(opts, expected.size), trustSha1: backendChecks, agreement});
    pipelineCb(stream, hashing, () => undefined); // errors reach the consumer through `hashing`
    const signal = opts.signal;
    if (signal) {
      const onAbort = () => hashing.destroy(abortError(signal));
      signal.addEventListener('abort', onAbort, {once: true});
      hashing.once('close', () => signal.removeEventListener('abort', onAbort));
    }
    return {info, stream: hashing, expected};
  }
}

type Sent = {size: number; sha1: string};

/**
 * An archive made here that records no SHA1 itself was streamed up: its SHA1 is in its
 * metadata file (always written there), so none to compare means that file could not be
 * read (a warning said why), not that nobody recorded one.
 */
function sha1Unread(info: BackupInfo, expectedSha1: string | undefined): {sha1Unread?: true} {
  return expectedSha1 === undefined && info.describedBy === 'archive' ? {sha1Unread: true} : {};
}

/** ha-archive.ts's reader, loaded on first use: only uploads look into a tar, and a download should not pay to load it. */
async function readHaArchive(...args: Parameters<typeof import('./ha-archive.js').readHaArchive>): ReturnType<typeof import('./ha-archive.js').readHaArchive> {
  return (await import('./ha-archive.js')).readHaArchive(...args);
}

/**
 * A backup's lock: the longest retention among its objects (expired ones too; whoever
 * shows it knows the time), and whether one of them is under a legal hold.
 */
function lockOf(...objects: ObjectInfo[]): {lock?: BackupLock; legalHold?: true} {
  const latest = (mode?: Retention['mode']) => {
    let found: Retention | undefined;
    for (const o of objects) if (o.retention && (!mode || o.retention.mode === mode) && (!found || o.retention.retainUntil > found.retainUntil)) found = o.retention;
    return found;
  };
  const lock = latest();
  // a governance lock is what a bypass lifts; a compliance one on another file stays in the way
  const compliance = lock?.mode === 'governance' ? latest('compliance') : undefined;
  return {...(lock ? {lock: {...lockOfRetention(lock), ...(compliance ? {complianceUntil: compliance.retainUntil.toISOString()} : {})}} : {}), ...(objects.some((o) => o.legalHold) ? {legalHold: true} : {})};
}

/** The refusal delete() gives a backup it can see is locked, before B2 is asked. */
function lockedBackup(b: BackupInfo): BackupError {
  const compliance = b.lock?.complianceUntil ? `, one of its files in compliance mode until ${b.lock.complianceUntil}, which no bypass lifts` : '';
  const why = b.legalHold ? 'is under a legal hold' : `is locked (${b.lock?.mode}) until ${b.lock?.until}${compliance}`;
  return new BackupError('locked', `${b.archiveKey} ${why}: B2 refuses to delete it; nothing was deleted`);
}

/** A cleanup report with nothing in it yet (see cleanup()). */
export function emptyCleanupReport(): CleanupReport {
  return {cancelled: [], deleted: [], kept: 0, foreign: 0, locked: [], strays: [], hidden: [], uploading: [], whole: [], hiddenMeanwhile: []};
}

/** The names delete() removes, in its order: the archive, then the metadata file (see delete()); a hidden one before a visible one. */
export function keysToDelete(found: Deletable): string[] {
  if (found.complete) return [found.info.archiveKey, found.info.metadataKey];
  // the hidden file first: cut off after it, the visible one still finds the backup by its id
  if (found.partnerHidden) return found.left === 'metadata file' ? [found.info.archiveKey, found.info.metadataKey] : [found.info.metadataKey, found.info.archiveKey];
  return [found.left === 'metadata file' ? found.info.metadataKey : found.info.archiveKey];
}

/**
 * Whether an archive put failed for good, keeping nothing a rerun could continue: the
 * source changed, B2 refused, another command ended the unfinished upload (the provider
 * cancels what it started then). An abort, a network failure or a busy B2 may leave parts
 * or a stored archive (an answer lost) for the same upload run again.
 */
function leavesNothingToResume(err: unknown): boolean {
  return err instanceof BackupError && !err.resumable && !err.transient && !['aborted', 'network', 'timeout'].includes(err.kind);
}

/** The archive an interrupted upload recorded in `p`: our description with its id, and its content. */
function isArchiveOf(archive: ObjectInfo, p: PendingUpload): boolean {
  const described = describeArchive(archive);
  return described?.id === p.id && archive.size === p.size && (knownSha1(archive.sha1) ?? described.sha1) === p.sha1;
}

/** The body to upload, its size and SHA1 when they can be known up front, and what was sent once the upload ended. */
async function prepareArchiveBody(backend: StorageBackend, src: BodySource, meta: UploadMeta): Promise<{body: Body; known?: Sent; sent: (stored: StoredObject) => Sent; unchanged?: () => Promise<void>}> {
  const signal = meta.signal;
  switch (src.kind) {
    case 'buffer': {
      const known = {size: src.size, sha1: sha1Of(src.buffer)};
      return {body: src.buffer, known, sent: () => known};
    }
    case 'file': {
      // Hashing first lets the checksum travel in the archive's object info, so listings show it;
      // the backend's own hashing pass (B2: every part's SHA1 too) then serves its put as well.
      const known = await (backend.hashFile ? backend.hashFile(src.path, {signal, onProgress: meta.onProgress}) : sha1OfFile(src.path, signal));
      // the backend takes this SHA1 instead of reading the file for its own: a file
      // rewritten after the hash (before the backend looked at it) is caught here
      return {body: {path: src.path}, known, sent: () => known, unchanged: () => assertFileUnchanged(src)};
    }
    case 'stream': {
      // a producer that failed (a pipe without pipefail) ends the stream early: with a size given, that is no backup
      const expect = src.size === undefined ? undefined : {size: src.size};
      // a backend that hashes what it reads reports the stream's SHA1: hashing it here too would only cost CPU
      const countOnly = backend.hashesPut === true;
      if (countOnly && !expect) {
        // nothing to check as the bytes pass: the backend reads the stream itself (a stage in
        // between costs a call per chunk of the archive) and reports the size and SHA1 it stored
        const stream = src.stream;
        return {body: stream, sent: (stored: StoredObject) => streamSent(stream.readableEnded, stored.size, knownSha1(stored.sha1))};
      }
      const hashing = new HashingStream({expect, what: 'the archive stream', hint: 'its producer may have failed; nothing was stored', countOnly});
      pipelineCb(src.stream, hashing, () => undefined);
      const sent = (stored: StoredObject) => {
        const {size, sha1, ended} = hashing.result();
        return streamSent(ended, size, countOnly ? knownSha1(stored.sha1) : sha1);
      };
      return {body: hashing, sent};
    }
  }
}

/** What an upload from a stream stored: only once the source really ended and its SHA1 is known. */
function streamSent(ended: boolean, size: number, sha1: string | undefined): {size: number; sha1: string} {
  if (!ended || sha1 === undefined) throw new BackupError('failure', 'the backend reported the upload complete before the source stream ended');
  return {size, sha1};
}

function progressReporter(opts: TransferOptions, total: number): ((loaded: number) => void) | undefined {
  const onProgress = opts.onProgress;
  return onProgress ? (loaded) => onProgress({loaded, total}) : undefined;
}

function discard(): Writable {
  return new Writable({write: (_chunk, _enc, cb) => cb()});
}

/** Keeps the newest backup of each id (entries come sorted newest first). */
function withoutDuplicateIds(entries: Entry[], skip: (msg: string) => void): Entry[] {
  const seen = new Map<string, Entry>();
  return entries.filter((e) => {
    const first = seen.get(e.info.id);
    if (first) {
      skip(`skipping ${e.info.metadataKey}: backup id ${e.info.id} is also used by the newer ${first.info.archiveKey}`);
      return false;
    }
    seen.set(e.info.id, e);
    return true;
  });
}

/** A leftover file of backup `info` as a cleanup reports it. */
function leftoverEntry(file: ObjectInfo, info: BackupInfo): {id: string; name: string; date: string; size: number; stored: string} {
  return {id: info.id, name: info.name, date: info.date, size: file.size, stored: file.modified.toISOString()};
}
