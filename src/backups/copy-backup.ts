import type {ObjectInfo, Retention, StorageBackend} from '../backend.js';
import {BackupError, isBackupError, leftoverOf} from '../errors.js';
import type {BackupCatalog} from './catalog.js';
import {knownSha1} from './checksum.js';
import {lengthenRetention, retentionCovers} from './lock.js';
import {assertCanCopy, copyBackupObjects, copyRetention, describeConflicts, HalfCopiedError, damagedMetadataHint, sameObject} from './move.js';
import {resolveBackupRef} from './resolve-id.js';
import type {BackupInfo} from './types.js';

interface CopyOptions {
  signal?: AbortSignal;
  /** The --to profile's lock (its `lock:`, dated now): what its uploads get, set on the copy (copyRetention). */
  destinationLock?: Retention;
  beforeCopy?: (info: BackupInfo) => Promise<void>;
  beforeMetadataCopy?: (info: BackupInfo) => void;
  /** The destination's catalog: a backup of the same id stored there under other names is the backup there (or refused when its content differs). */
  destination?: BackupCatalog;
  /** Told what a copy left billed beside it that the backend could not remove (StoredObject.leftover). */
  onWarning?: (line: string) => void;
}

/**
 * `b2 copy ID --to PROFILE`: one backup (an id, a unique prefix of one, or `latest`)
 * copied server-side to another location under the same names, archive before metadata
 * file. Idempotent: what is already there with the same size and SHA1 is not copied
 * again (`existing` when nothing had to be); another file under one of the names, or
 * one that no SHA1 on record proves to be the backup's (sameObject), is refused before
 * anything is copied or locked there, as are the copies the backend refuses whatever their
 * bytes (assertCanCopy) and whatever `beforeCopy` refuses (called when anything is to be
 * copied or locked). A copy gets copyRetention; a backup already there is locked as a
 * fresh copy would be where it holds less (as an upload of a stored backup is).
 * Answers the archive copy's retention there (`lock`) when known. `beforeMetadataCopy` is told
 * when the archive is at the destination and its metadata file's copy starts
 * (copyBackupObjects): an interruption from then on leaves the archive there alone.
 * `lock` is taken for the backup found before anything is looked at there, and held
 * to the end (one copy of a backup to a location at a time).
 */
export async function copyBackup(
  catalog: BackupCatalog,
  from: StorageBackend,
  to: StorageBackend,
  ref: string,
  opts: CopyOptions & {lock?: (info: BackupInfo) => Promise<() => Promise<void>>} = {},
): Promise<CopyResult> {
  const {info} = resolveBackupRef((await catalog.list({signal: opts.signal})).map((b) => ({info: b})), ref, catalog);
  const release = await opts.lock?.(info);
  try {
    return await copyLocked(catalog, from, to, info, opts);
  } finally {
    await release?.();
  }
}

async function copyLocked(
  catalog: BackupCatalog,
  from: StorageBackend,
  to: StorageBackend,
  info: BackupInfo,
  opts: CopyOptions,
): Promise<CopyResult> {
  const names = [info.archiveKey, info.metadataKey];
  const [here, there] = await Promise.all([objectsNamed(from, names, opts.signal), objectsNamed(to, names, opts.signal)]);
  const archive = here.get(info.archiveKey);
  const metadataFile = here.get(info.metadataKey);
  if (!archive || !metadataFile) throw new BackupError('not_found', `backup ${info.id} was deleted while it was being copied; nothing was copied`);
  // as a move does: a metadata file that is not the backup's own is not copied as if it were
  const recognised = await catalog.recognise(archive, metadataFile, opts.signal);
  // B2 refusing to read it (an SSE-C key) is the refusal's exit code, as verify and download give it
  if ('damaged' in recognised) throw new BackupError(recognised.refusal ?? 'failure', `backup ${info.id}: ${recognised.damaged}; ${damagedMetadataHint(recognised)}; nothing was copied`);
  const archiveThere = sameObject(there.get(info.archiveKey), archive.size, info.sha1, archive.id);
  const metadataThere = sameObject(there.get(info.metadataKey), metadataFile.size, knownSha1(metadataFile.sha1));
  const conflicts = {different: [] as string[], unproven: [] as string[]};
  for (const [key, there] of [[info.archiveKey, archiveThere], [info.metadataKey, metadataThere]] as const) {
    if (there === 'different' || there === 'unproven') conflicts[there].push(key);
  }
  const taken = describeConflicts(conflicts, 'the backup\'s files');
  if (taken) throw new BackupError('already_exists', `the other location already holds ${taken}; delete them there (or move them away), or copy to another profile; nothing was copied`);
  // the copies already there that hold less than a fresh copy would get: locked as one
  const lengthen = ([[archive, archiveThere], [metadataFile, metadataThere]] as const).flatMap(([obj, state]) => {
    const wanted = copyRetention(from, obj, opts.destinationLock);
    const copy = there.get(obj.key);
    return state === 'same' && copy && wanted && !retentionCovers(copy.retention, wanted) ? [{copy, wanted}] : [];
  });
  // one backup per id there, as an upload keeps it: a second one under other names would hide one of them
  const twin = archiveThere === 'absent' ? (await opts.destination?.list({signal: opts.signal}))?.find((b) => b.id === info.id) : undefined;
  if (twin) {
    if (info.sha1 !== undefined && twin.sha1 === info.sha1 && twin.size === info.size) return {info: twin, existing: true, copied: []};
    throw new BackupError('already_exists', `the other location already holds a backup with the id ${info.id} under other names (${twin.archiveKey}), ${info.sha1 !== undefined && twin.sha1 !== undefined ? 'with other content' : 'which no SHA1 on record proves to be the same'}: a second one would hide one of them; delete it there, or copy to another profile; nothing was copied`);
  }
  const destination = opts.destination;
  const item = {id: info.id, archive, metadataFile, sha1: info.sha1, copy: {archive: archiveThere === 'absent', metadataFile: metadataThere === 'absent'}, destinationLock: opts.destinationLock, ...(destination ? {destinationRun: (words: string) => `run "${destination.hint(words)}"`} : {})};
  // the copies' own refusals (another account, a key there that cannot read them), before a lock is lengthened there
  if (item.copy.archive || item.copy.metadataFile) assertCanCopy(from, to, [item]);
  // what the caller must check of the backup found (e.g. that its lock can be set there) before the first copy or lock
  if (item.copy.archive || item.copy.metadataFile || lengthen.length > 0) await opts.beforeCopy?.(info);
  const locked = new Map<string, ObjectInfo>();
  for (const {copy, wanted} of lengthen) locked.set(copy.key, await lengthenRetention(to, copy, wanted, opts.signal));
  const copied = await copyBackupObjects(from, to, item, opts.signal, () => opts.beforeMetadataCopy?.(info), opts.onWarning).catch((err: unknown) => {
    // a large copy kept when B2 stayed busy or unreachable: the same command continues it
    if (isBackupError(err) && !(err instanceof HalfCopiedError) && err.resumable) throw new BackupError(err.kind, `${err.message}; run the same command again to continue it`, {cause: err.cause, transient: err.transient, resumable: true, ...leftoverOf(err)});
    if (!(err instanceof HalfCopiedError)) throw err;
    const next = err.advised ? '' : err.archiveKept ? '; run the same command again to complete the backup (it copies only what is missing)' : ', so nothing was copied; run the same command again to copy the backup';
    throw new BackupError(err.kind, err.message + next, {cause: err.cause, resumable: err.archiveKept && !err.advised, ...leftoverOf(err)});
  });
  const lock = item.copy.archive ? copyRetention(from, archive, opts.destinationLock) : (locked.get(archive.key) ?? there.get(archive.key))?.retention;
  return {info, existing: copied.length === 0, copied, ...(lock ? {lock} : {})};
}

/** A copy's outcome: the backup, whether it was all there already, the keys this run copied, and the archive copy's retention there when known. */
export interface CopyResult {
  info: BackupInfo;
  existing: boolean;
  /** The keys this run copied (a run after an interrupted one copies only what is missing). */
  copied: string[];
  lock?: Retention;
}

/** The current objects with exactly these keys (one listing of their common start). */
async function objectsNamed(backend: StorageBackend, keys: string[], signal?: AbortSignal): Promise<Map<string, ObjectInfo>> {
  let prefix = keys[0];
  for (const k of keys) while (!k.startsWith(prefix)) prefix = prefix.slice(0, -1);
  const found = new Map<string, ObjectInfo>();
  for await (const obj of backend.list({prefix, signal})) if (keys.includes(obj.key)) found.set(obj.key, obj);
  return found;
}
