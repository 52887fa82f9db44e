import PQueue from 'p-queue';
import type {ObjectInfo, Retention, StorageBackend} from '../backend.js';
import {BackupError, failedAfterChange, isBackupError, kindAfterChange, leftoverOf, throwIfAborted, withoutLeftover, type ErrorKind} from '../errors.js';
import {compareUtf8} from '../keys.js';
import {describeArchive} from './archive-info.js';
import {afterStopBound} from '../after-stop.js';
import {BackupCatalog} from './catalog.js';
import {CLEANUP_AGE, commandHint, shellWord} from '../command-hint.js';
import {byCleanup} from '../removal-refusal.js';
import {leftByFailedRemoval, leftStoredLine, wholeBackupLine} from './left-stored.js';
import {knownSha1} from './checksum.js';
import {strongerRetention} from './lock.js';
import {ARCHIVE_SUFFIX, METADATA_SUFFIX, baseOf} from './layout.js';

/**
 * Moving every backup of one location to another (a profile's new prefix) with the
 * backend's server-side copy: nothing is downloaded. The two locations themselves are
 * the journal, so a run killed at any point is finished by the next one:
 *
 * 1. list both; a backup whose archive and metadata file are already at the destination
 *    with the same size and SHA1, or (no SHA1 on record on one side) that is the server-
 *    side copy of that very version of the archive (copiedFrom), is not copied again (an
 *    earlier run copied it). A file there of the same name that is not proven the same
 *    stops the move before anything is copied;
 * 2. copy what is missing, archive before metadata file (at the destination a backup
 *    exists once its metadata file does, as after an upload); a large archive goes in
 *    parts, and an interrupted large copy is continued;
 * 3. list the destination again and check every copy: the same SHA1 as the backup's
 *    record, or (a backup with none on record) the copy of that very version, or one
 *    this run made, of the same size;
 * 4. only then delete the originals, metadata file first, and the archives an
 *    interrupted run of this step left without theirs (their copies proven as above).
 *
 * Anything else under the old location (foreign files, an interrupted upload's archive)
 * is left there and reported. The caller switches the profile to the new location after
 * the last step.
 */

/**
 * What to do about a backup whose current metadata file is not its own (catalog.recognise's
 * `damaged`): put a valid one back. Not for one that could not be read (`unreadable`): that
 * says nothing of its content, and deleting it could delete the only valid one.
 */
export function damagedMetadataHint(recognised: {unreadable?: true}): string {
  return recognised.unreadable ? 'it is left as it is until it can be read' : 'put a valid one back first (e.g. delete the newer version in the B2 web console)';
}

/** One backup as the move sees it: the two objects at the source, what is still to copy. */
export interface MoveItem {
  base: string;
  /** The backup's id as list shows it: the archive's own description's, else its metadata file's (Home Assistant's, a stream's). */
  id?: string;
  name?: string;
  size: number;
  archive: ObjectInfo;
  metadataFile: ObjectInfo;
  /** The archive's SHA1 when any record has it (recordedSha1: its info, B2's, its metadata file's); copies are checked against it. */
  sha1?: string;
  /** Copies still to make (an earlier run may have made some). */
  copy: {archive: boolean; metadataFile: boolean};
}

export interface MovePlan {
  items: MoveItem[];
  /** Archives at the source whose backup is whole at the destination: left by an interrupted run's deletes. */
  leftovers: ObjectInfo[];
  /** What is not a backup, or not a whole one, at the source: never touched, reported. */
  staying: string[];
}

export interface MoveReport extends MovePlan {
  /** Objects copied by this run (a rerun copies only what is missing). */
  copied: number;
  /** Originals deleted. */
  deleted: number;
  /**
   * Originals B2 refused to delete because of Object Lock that the listing did not show
   * (a key without readFileRetentions): they stay under the old location, their copies
   * are whole at the new one. A backup whose metadata file was refused keeps its archive too.
   */
  refused: string[];
}

export interface MoveOptions {
  signal?: AbortSignal;
  /**
   * What removes an archive without its metadata file that stays at the source, as the
   * plan's line says it: by default a cleanup there run before the location changes
   * (`hint`), which after a move would look at the new one.
   */
  strayRemover?: string;
  /** The catalogs of the two locations (their metadata caches), for the SHA1s that only metadata files record. */
  catalogs?: {from: BackupCatalog; to: BackupCatalog};
  /** Backups copied (or deleted) at once. */
  concurrency?: number;
  onCopied?: (item: MoveItem) => void;
  /**
   * Told when the copies stop on a failure (not an interruption) with nothing of the plan at
   * the destination: none was there before (no earlier run's copy), none made now stays.
   */
  onFailedUnchanged?: () => void;
  /** The destination profile's own lock (its `lock:`, dated from the start of the move), set on every copy: see copyRetention. */
  destinationLock?: Retention;
  /** Taken for each backup while its files are copied, released after (one copy of a backup to a location at a time). */
  lockItem?: (item: MoveItem) => Promise<() => Promise<void>>;
  /** A command of this plugin acting on the location moved from, for fix hints (commandHint). */
  hint?: (words: string) => string;
  /** Told what a copy left billed beside it that the backend could not remove (StoredObject.leftover). */
  onWarning?: (line: string) => void;
  /** How a command acts at the destination, for what removes the files a failed metadata file copy leaves there (BackupCopy.destinationRun). */
  destinationRun?: (words: string) => string;
}

/** What a move would do now: reads both listings, changes nothing. Refuses up front what it cannot finish. */
export async function planMove(from: StorageBackend, to: StorageBackend, opts: MoveOptions = {}): Promise<MovePlan> {
  if (!from.copyTo) throw new BackupError('bad_input', `backups cannot be moved on a ${from.type} backend: it has no server-side copy`);
  const hint = opts.hint ?? ((words: string) => commandHint(undefined, words));
  const [source, destination] = await Promise.all([listAll(from, opts.signal), listAll(to, opts.signal)]);
  const archives = new Map<string, ObjectInfo>();
  const metadataFiles = new Map<string, ObjectInfo>();
  const staying: string[] = [];
  for (const obj of source.values()) {
    const a = baseOf(obj.key, ARCHIVE_SUFFIX);
    const m = baseOf(obj.key, METADATA_SUFFIX);
    if (a !== undefined) archives.set(a, obj);
    else if (m !== undefined) metadataFiles.set(m, obj);
    else staying.push(`${obj.key} (not a backup)`);
  }
  const catalogs = opts.catalogs ?? {from: new BackupCatalog(from), to: new BackupCatalog(to)};
  const items: MoveItem[] = [];
  const leftovers: ObjectInfo[] = [];
  const conflicts: Conflicts = {different: [], unproven: []};
  await Promise.all([...archives].map(async ([base, archive]) => {
    const metadataFile = metadataFiles.get(base);
    const description = describeArchive(archive);
    const metadataKey = archive.key.slice(0, -ARCHIVE_SUFFIX.length) + METADATA_SUFFIX;
    if (!metadataFile) {
      // the rest of a backup whose metadata file an interrupted run already deleted here:
      // its SHA1, if the archive has none, is in the metadata file's copy at the destination
      const copiedMetadata = destination.get(metadataKey);
      const sha1 = copiedMetadata ? await catalogs.to.recordedSha1(archive, copiedMetadata, opts.signal) : undefined;
      if (copiedMetadata && sameObject(destination.get(archive.key), archive.size, sha1, archive.id) === 'same') leftovers.push(archive);
      else staying.push(`${archive.key} (an archive without its metadata file: an interrupted upload; ${opts.strayRemover ?? `"${hint('cleanup')}" run before the prefix changes removes it ${CLEANUP_AGE}`})`);
      return;
    }
    // only what list calls a backup moves: another tool's pair stays as it is
    const recognised = await catalogs.from.recognise(archive, metadataFile, opts.signal);
    if ('notBackup' in recognised) {
      staying.push(`${metadataFile.key} and ${archive.key} (not a backup: ${recognised.notBackup})`);
      return;
    }
    if ('damaged' in recognised) {
      const advice = recognised.unreadable ? damagedMetadataHint(recognised) : `a move would delete the older versions B2 keeps of it: ${damagedMetadataHint(recognised)}`;
      staying.push(`${metadataFile.key} and ${archive.key} (backup ${description?.id}: ${recognised.damaged}; ${advice})`);
      return;
    }
    const sha1 = recognised.sha1;
    const archiveThere = sameObject(destination.get(archive.key), archive.size, sha1, archive.id);
    const metadataThere = sameObject(destination.get(metadataFile.key), metadataFile.size, knownSha1(metadataFile.sha1));
    for (const [obj, there] of [[archive, archiveThere], [metadataFile, metadataThere]] as const) {
      if (there === 'different' || there === 'unproven') conflicts[there].push(obj.key);
    }
    items.push({base, id: description?.id ?? recognised.id, name: description?.name, size: archive.size, archive, metadataFile, sha1, copy: {archive: archiveThere !== 'same', metadataFile: metadataThere !== 'same'}});
  }));
  items.sort((a, b) => compareUtf8(a.archive.key, b.archive.key)); // the listing's order, whatever order the reads ended in
  for (const [base, metadataFile] of metadataFiles) if (!archives.has(base)) staying.push(`${metadataFile.key} (a metadata file without its archive)`);
  refuseLocked(from, items, leftovers, hint);
  const taken = describeConflicts(conflicts, 'backups to move');
  if (taken) throw new BackupError('already_exists', `the new location already holds ${taken}; delete them there (or move them away), or choose another prefix; nothing was moved`);
  // a copy refused after others were made would leave them behind: every copy is asked about first
  assertCanCopy(from, to, items);
  return {items, leftovers, staying};
}

/** Destination files with the names of objects to copy: other content, or content no SHA1 on record proves the same. */
export interface Conflicts {
  different: string[];
  unproven: string[];
}

/** What the destination holds in the way, for a refusal's message; undefined: nothing. */
export function describeConflicts(c: Conflicts, what: string): string | undefined {
  const shown = (keys: string[]) => keys.slice(0, 3).join(', ') + (keys.length > 3 ? ` and ${keys.length - 3} more` : '');
  const parts = [
    ...(c.different.length > 0 ? [`other files with the names of ${what} (${shown(c.different)})`] : []),
    ...(c.unproven.length > 0 ? [`files with the names and sizes of ${what} that no SHA1 on record proves to be the same files (${shown(c.unproven)}: no SHA1 is recorded for the backup, or for the file there)`] : []),
  ];
  return parts.length > 0 ? parts.join(', and ') : undefined;
}

/**
 * A move ends by deleting every original, and B2 refuses to delete a version under Object
 * Lock: before its retention date, or while a legal hold is on. Rather than leave copies
 * and locked originals behind, a move of locked backups is refused before anything is
 * copied. (A key that cannot read retentions or legal holds sees no lock here: the
 * command refuses such a key on a bucket known to have Object Lock, and otherwise
 * executeMove keeps and reports the originals B2 refuses to delete.)
 */
function refuseLocked(from: StorageBackend, items: MoveItem[], leftovers: ObjectInfo[], hint: (words: string) => string): void {
  const now = from.now?.() ?? new Date();
  const retained = (o: ObjectInfo) => (o.retention && o.retention.retainUntil > now ? o.retention.retainUntil : undefined);
  const backups = [...items.map((i) => [i.archive, i.metadataFile]), ...leftovers.map((o) => [o])];
  const locked = backups.filter((objs) => objs.some((o) => retained(o) || o.legalHold));
  if (locked.length === 0) return;
  const held = locked.filter((objs) => objs.some((o) => o.legalHold)).length;
  const latest = Math.max(...backups.flat().map((o) => retained(o)?.getTime() ?? 0));
  const why = [
    ...(latest > 0 ? [`until ${new Date(latest).toISOString()} at the latest`] : []),
    ...(held > 0 ? [`${held === locked.length ? 'a' : `${held} of them a`} legal hold, until it is removed`] : []),
  ];
  const lift = held > 0 ? ', or have the legal hold removed' : '';
  throw new BackupError(
    'locked',
    `${locked.length} backup${locked.length === 1 ? ' is' : 's are'} under Object Lock (${why.join('; ')}): a move deletes the originals, which B2 refuses before then, so nothing was moved; ` +
      `copy them with "${hint('copy ID --to PROFILE')}" (the copies keep ${held > 0 ? 'a retention, not a legal hold' : 'the lock'}), or change the prefix without --move-backups (they stay under the old one)${lift}`,
  );
}

/** The retention a copy keeps: the source's, while it holds. */
function liveRetention(from: StorageBackend, obj: ObjectInfo): ObjectInfo['retention'] {
  return obj.retention && obj.retention.retainUntil > (from.now?.() ?? new Date()) ? obj.retention : undefined;
}

/**
 * The retention a copy of `obj` gets: the source's while it holds (B2 copies none by
 * itself), and the lock the destination gives what is written there (its profile's
 * `lock:`, as its uploads get), the stronger of the two when both (strongerRetention:
 * the later date, compliance when either is).
 */
export function copyRetention(from: StorageBackend, obj: ObjectInfo, destinationLock: Retention | undefined): Retention | undefined {
  const live = liveRetention(from, obj);
  return live && destinationLock ? strongerRetention(live, destinationLock) : live ?? destinationLock;
}

/**
 * One backup's copies to make: what copyBackupObjects needs of a MoveItem, the destination's
 * lock, and how a command of this plugin (`words`: "cleanup", "delete ID --yes") acts at
 * the destination, for what removes the files a failed copy leaves there (`run "…"`, or
 * how to name that location first; by default the command with no profile in particular).
 */
export type BackupCopy = Pick<MoveItem, 'id' | 'archive' | 'metadataFile' | 'sha1' | 'copy'> & {destinationLock?: Retention; destinationRun?: (words: string) => string};

/**
 * Refuses, before anything changes at the destination, every copy of these backups that
 * `from` would refuse whatever the bytes (assertCanCopyTo, and no server-side copy at
 * all): a move or copy that is refused changes nothing, no lock lengthened, nothing copied.
 */
export function assertCanCopy(from: StorageBackend, to: StorageBackend, items: Array<Pick<BackupCopy, 'id' | 'archive' | 'metadataFile' | 'sha1' | 'copy'>>): void {
  if (!from.copyTo) throw new BackupError('bad_input', `backups cannot be copied server-side on a ${from.type} backend; nothing was copied`);
  from.assertCanCopyTo?.(to, items.flatMap((item) => [
    ...(item.copy.archive ? [{source: item.archive, sha1: item.sha1, backup: item.id}] : []),
    ...(item.copy.metadataFile ? [{source: item.metadataFile, sha1: knownSha1(item.metadataFile.sha1), backup: item.id}] : []),
  ]));
}

/** Carries out a plan (see the module comment); rerun after any interruption, it finishes the job. */
export async function executeMove(from: StorageBackend, to: StorageBackend, plan: MovePlan, opts: MoveOptions = {}): Promise<MoveReport> {
  const concurrency = Math.max(1, opts.concurrency ?? 4);
  const copied = new Set<string>();
  await runAll(concurrency, plan.items.map((item) => async () => {
    const release = await opts.lockItem?.(item);
    try {
      for (const key of await copyBackupObjects(from, to, {...item, destinationLock: opts.destinationLock, destinationRun: opts.destinationRun}, opts.signal, undefined, opts.onWarning)) copied.add(key);
    } finally {
      await release?.();
    }
    opts.onCopied?.(item);
  })).catch((err: unknown) => {
    if (!(err instanceof BackupError) || err.kind === 'aborted') throw err;
    if (copied.size === 0 && !leftAnything(err) && nothingThereBefore(plan)) opts.onFailedUnchanged?.();
    // the copies already made are the journal the next run goes on from (module comment);
    // a message that already says what to check (another run moved the backup) keeps that first
    const advised = err instanceof HalfCopiedError && err.advised;
    const next = advised ? 'run the same command again once the destination is checked, to move the rest' : 'run the same command again to finish it';
    throw new BackupError(err.kind, `${err.message}; the move stopped before deleting any original (copies of other backups already made stay at the new prefix): ${next}`, {cause: err.cause, transient: err.transient, resumable: !advised, ...leftoverOf(err)});
  });
  await checkCopies(to, plan, copied, opts.signal);
  let deleted = 0;
  const refused: string[] = [];
  // every backup is whole at the destination by now: an original B2 keeps (Object Lock the
  // listing could not show) is reported and the others still go, so that the caller can
  // switch to the new location, where every backup is listed
  const remove = async (key: string): Promise<boolean> => {
    throwIfAborted(opts.signal);
    try {
      if (await from.delete(key)) deleted++;
      return true;
    } catch (err) {
      if (!isBackupError(err, 'locked')) throw err;
      refused.push(key);
      return false;
    }
  };
  let unlisted = 0; // backups whose metadata file is gone at the source: no longer listed there
  await runAll(concurrency, [
    // the metadata file first: at the source, the backup leaves listings in one step
    ...plan.items.map((item) => async () => {
      if (!(await remove(item.metadataFile.key))) return void refused.push(item.archive.key);
      unlisted++;
      await remove(item.archive.key);
    }),
    ...plan.leftovers.map((archive) => async () => void (await remove(archive.key))),
  ]).catch((err: unknown) => {
    throw failedAfterChange(err, deletesStopped(unlisted, plan.items.length));
  });
  return {...plan, copied: copied.size, deleted, refused: refused.sort(compareUtf8)};
}

/**
 * What a failure while the originals are deleted left: some are gone already, so the old
 * location (which the caller still names) no longer lists every backup, though each is
 * whole at the new one. Said so, with the way on (failedAfterChange: never an exit code
 * that means "nothing was changed").
 */
function deletesStopped(unlisted: number, backups: number): string {
  const state = `every backup is whole at the new prefix, but the move stopped while deleting the originals: ${unlisted} of ${backups} backup${backups === 1 ? ' is' : 's are'} no longer listed under the old prefix, which the profile keeps until the move is finished`;
  return `${state}: run the same command again to finish it`;
}

/**
 * The server-side copies of one backup that are still to make, archive before metadata
 * file (at the destination a metadata file never stands without its archive), each with
 * its copyRetention; answers the keys copied. `beforeMetadataCopy`
 * is called when the archive is at the destination (copied now or by an earlier run)
 * and the metadata file's copy starts: until that copy ends, the archive stands there
 * alone, which an interruption's message must tell. `onWarning` is told what a copy left
 * billed beside it (StoredObject.leftover).
 */
export async function copyBackupObjects(
  from: StorageBackend,
  to: StorageBackend,
  item: BackupCopy,
  signal?: AbortSignal,
  beforeMetadataCopy?: () => void,
  onWarning?: (line: string) => void,
): Promise<string[]> {
  if (!from.copyTo) throw new BackupError('bad_input', `backups cannot be copied server-side on a ${from.type} backend`);
  const copied: string[] = [];
  throwIfAborted(signal);
  if (item.copy.archive) {
    const archive = await from.copyTo(item.archive.key, {backend: to, key: item.archive.key}, {id: item.archive.id, sha1: item.sha1, backup: item.id, retention: copyRetention(from, item.archive, item.destinationLock), signal});
    if (archive.leftover) onWarning?.(archive.leftover);
    copied.push(item.archive.key);
  }
  if (item.copy.metadataFile) {
    beforeMetadataCopy?.();
    try {
      const metadataFile = await from.copyTo(item.metadataFile.key, {backend: to, key: item.metadataFile.key}, {id: item.metadataFile.id, sha1: knownSha1(item.metadataFile.sha1), backup: item.id, retention: copyRetention(from, item.metadataFile, item.destinationLock), signal});
      if (metadataFile.leftover) onWarning?.(metadataFile.leftover);
    } catch (err) {
      // interrupted: the archive copy is what the same command run again completes (the interruption's message says so)
      if (signal?.aborted || isBackupError(err, 'aborted')) throw err;
      throw await withoutLoneArchive(from, to, item, copied.length > 0, err);
    }
    copied.push(item.metadataFile.key);
  }
  return copied;
}

/**
 * The metadata file's copy failed after the archive's: at the destination the archive is
 * no backup without it, only billed, so it is deleted again (the same command run again
 * copies it on the server, nothing downloaded), after whatever stands under the metadata
 * file's name (a copy whose answer was lost), within CANCEL_AFTER_STOP_MS (the failure
 * waited out B2's backoff already). Object Lock may keep it: then it stays, and the same
 * command run again completes the backup with it; a delete that fails otherwise is told as
 * the catalog tells it (leftStoredLine: refused for the key, a cleanup with that key is
 * refused too; given up at the bound, it may remain). When the metadata file's copies its
 * lost answers made stay beside the archive (the copy's error has a leftover, and their
 * delete failed), the two may be a whole backup, which a cleanup leaves alone: the line
 * says so and names its delete (wholeBackupLine), as an upload's does. Answers the error to
 * throw: what was copied and what was not (`resumable` when the archive copy stays).
 */
async function withoutLoneArchive(from: StorageBackend, to: StorageBackend, item: Pick<BackupCopy, 'id' | 'archive' | 'metadataFile' | 'destinationLock' | 'destinationRun'>, copiedNow: boolean, err: unknown): Promise<BackupError> {
  const archive = `its archive ${item.archive.key}, ${copiedNow ? 'copied just before' : 'copied by an earlier run'},`;
  // the copy's own leftover (the versions its lost answers left) is stale once the delete below is tried: what stays is told anew
  const failure = isBackupError(err) ? withoutLeftover(err).message : err instanceof Error ? err.message : String(err);
  const what = `the metadata file ${item.metadataFile.key} was not copied (${failure}); ${archive}`;
  const failed = err instanceof BackupError ? err.kind : 'failure';
  // the archive copy made now and left there is a change: never the exit code of "nothing was changed"
  const kind = copiedNow ? kindAfterChange(failed) : failed;
  // Another run may have moved the backup meanwhile (copied both files, deleted the
  // originals): then the destination holds the only whole copy, and deleting there loses it.
  if (await movedAway(from, item)) {
    const why = 'the source no longer holds the backup as it was (another command may have moved or deleted it meanwhile)';
    return new HalfCopiedError(kind, `${what} was left there: ${why}, so nothing was deleted at the destination, where the backup may now be whole; list the destination to check`, true, err, true);
  }
  const bound = afterStopBound();
  const run = item.destinationRun ?? ((words: string) => `run "${commandHint(undefined, words)}"`);
  const noBackup = 'without its metadata file it is no backup';
  // the file whose delete failed: the metadata file's name first (the archive is not tried then)
  let deleting = item.metadataFile.key;
  // copies of the metadata file that lost answers made (the copy's leftover) stay beside the archive: the two may be the backup
  const metadataStays = () => deleting === item.metadataFile.key && isBackupError(err) && err.leftover !== undefined;
  const left = await to.delete(deleting, {signal: bound}).then(() => to.delete((deleting = item.archive.key), {signal: bound})).then(
    () => undefined,
    async (cleanupErr: unknown): Promise<{said: string; leftover?: string}> => {
      if (!isBackupError(cleanupErr, 'locked')) {
        const left = leftByFailedRemoval(deleting, cleanupErr, bound, to.keyName);
        // the same command run again completes the backup with it (the caller says so); what removes it is the other way (the error's leftover too)
        if (metadataStays() && item.id !== undefined) {
          // maybe a whole backup, which its delete removes, not a cleanup
          const whole = wholeBackupLine(item.id, `its metadata file was copied as answers were lost, beside its archive ${item.archive.key}`, [left], {run: run(`delete ${shellWord(item.id)} --yes`), name: 'delete'});
          return {said: `was not deleted; to drop it rather than complete the backup: ${whole}`, leftover: whole};
        }
        const stays = leftStoredLine(left, byCleanup(run('cleanup')));
        return {said: `was not deleted, and ${noBackup}; to drop it rather than complete the backup: ${stays}`, leftover: stays};
      }
      // the date B2 keeps for it (a bucket's default retention included), else the one the copy asked for
      const until = (await to.stat(item.archive.key).catch(() => undefined))?.retention?.retainUntil ?? copyRetention(from, item.archive, item.destinationLock)?.retainUntil;
      // Object Lock keeps those copies too: the backup, which the same command completes, may be whole
      const beside = metadataStays() ? 'and so are the copies of its metadata file B2 made as answers were lost: the backup may be whole there' : `and ${noBackup}`;
      return {said: `stays there: Object Lock keeps it until ${until?.toISOString() ?? 'its retention date'}, ${beside}`};
    },
  );
  return left === undefined ? new HalfCopiedError(failed, `${what} was deleted again`, false, err) : new HalfCopiedError(kind, `${what} ${left.said}`, true, err, false, left.leftover);
}

/**
 * A backup whose metadata file was not copied after its archive was (withoutLoneArchive):
 * the message says what became of the archive copy; the caller adds what to do.
 * `archiveKept`: it stays at the destination (resumable: the same command completes it).
 */
export class HalfCopiedError extends BackupError {
  /** `advised`: the message already says what to do (the caller adds nothing); `leftover`: what stays that a failed removal left (BackupError.leftover). */
  constructor(kind: ErrorKind, message: string, readonly archiveKept: boolean, cause: unknown, readonly advised = false, leftover?: string) {
    super(kind, message, {cause, resumable: archiveKept && !advised, ...(leftover === undefined ? {} : {leftover})});
  }
}

/**
 * Whether the source provably no longer holds both files as the versions this copy
 * started from. A check that fails (an outage) is no sign of another run: false, and
 * the usual clean-up follows.
 */
async function movedAway(from: StorageBackend, item: Pick<MoveItem, 'archive' | 'metadataFile'>): Promise<boolean> {
  try {
    const [archive, metadataFile] = await Promise.all([from.stat(item.archive.key), from.stat(item.metadataFile.key)]);
    return archive?.id !== item.archive.id || metadataFile?.id !== item.metadataFile.id;
  } catch {
    return false;
  }
}

/** Whether a failed copy of one backup left a file at the destination (an archive kept, or what a failed removal left). */
function leftAnything(err: BackupError): boolean {
  return err.leftover !== undefined || (err instanceof HalfCopiedError && err.archiveKept);
}

/** Whether the plan finds nothing of its own at the destination: every file still to copy, no leftover of an earlier run. */
function nothingThereBefore(plan: MovePlan): boolean {
  return plan.leftovers.length === 0 && plan.items.every((i) => i.copy.archive && i.copy.metadataFile);
}

/** Runs the tasks `concurrency` at a time; the first failure stops the ones not started and is thrown once the running ones end. */
async function runAll(concurrency: number, tasks: Array<() => Promise<void>>): Promise<void> {
  const queue = new PQueue({concurrency});
  let failure: {err: unknown} | undefined;
  for (const task of tasks) {
    // the failure is noted inside the task: p-queue starts the next one as soon as one ends,
    // before a handler on add()'s promise would run; and each task looks before it starts
    void queue.add(async () => {
      if (failure) return;
      try {
        await task();
      } catch (err) {
        failure ??= {err};
        queue.clear();
      }
    });
  }
  await queue.onIdle();
  if (failure) throw failure.err;
}

/**
 * Every backup of the plan is at the destination, by a fresh listing: with the SHA1 on
 * record for it, or, when no record has one, as the copy of that very version (the
 * copy names it: sameObject), or the copy this run made (server-side from that very
 * version, checked by serverCopy), of the same size. Only then may an original be deleted.
 */
async function checkCopies(to: StorageBackend, plan: MovePlan, copied: ReadonlySet<string>, signal?: AbortSignal): Promise<void> {
  const destination = await listAll(to, signal);
  const bad: string[] = [];
  const check = (obj: ObjectInfo, sha1: string | undefined) => {
    const there = sameObject(destination.get(obj.key), obj.size, sha1, obj.id);
    if (there !== 'same' && !(there === 'unproven' && sha1 === undefined && copied.has(obj.key))) bad.push(obj.key);
  };
  for (const item of plan.items) {
    check(item.archive, item.sha1);
    check(item.metadataFile, knownSha1(item.metadataFile.sha1));
  }
  if (bad.length > 0) throw new BackupError('checksum_mismatch', `the copies of ${bad.slice(0, 3).join(', ')}${bad.length > 3 ? ` and ${bad.length - 3} more` : ''} are missing or differ at the new location; no original was deleted, run the same command again`);
}

/**
 * Whether `obj` (at the destination) is the object of this size and SHA1: `same` when
 * both SHA1s are known and equal, or, where a SHA1 is missing, when `obj` is a
 * server-side copy of `sourceVersion` itself (copiedFrom: the backend copied that
 * immutable version's bytes). Equal sizes prove nothing: otherwise it is `unproven`,
 * which no caller may take for a copy already made.
 */
export function sameObject(obj: ObjectInfo | undefined, size: number, sha1: string | undefined, sourceVersion?: string): 'absent' | 'same' | 'different' | 'unproven' {
  if (!obj) return 'absent';
  if (obj.size !== size) return 'different';
  const theirs = knownSha1(obj.sha1) ?? describeArchive(obj)?.sha1; // B2's own record first
  if (sha1 && theirs) return theirs === sha1 ? 'same' : 'different';
  return sourceVersion !== undefined && obj.copiedFrom === sourceVersion ? 'same' : 'unproven';
}

async function listAll(backend: StorageBackend, signal?: AbortSignal): Promise<Map<string, ObjectInfo>> {
  const all = new Map<string, ObjectInfo>();
  for await (const obj of backend.list({signal})) all.set(obj.key, obj);
  return all;
}
