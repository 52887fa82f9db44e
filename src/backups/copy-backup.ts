import type {ObjectInfo, StorageBackend} from '../backend.js';
import {BackupError} from '../errors.js';
import type {BackupCatalog} from './catalog.js';
import {knownSha1} from './checksum.js';
import {copyBackupObjects, describeConflicts, HalfCopiedError, sameObject} from './move.js';
import {resolveBackupRef} from './resolve-id.js';
import type {BackupInfo} from './types.js';

interface CopyOptions {
  signal?: AbortSignal;
  beforeCopy?: (info: BackupInfo) => Promise<void>;
  beforeMetadataCopy?: (info: BackupInfo) => void;
}

/**
 * `b2 copy ID --to PROFILE`: one backup (an id, a unique prefix of one, or `latest`)
 * copied server-side to another location under the same names, archive before metadata
 * file. Idempotent: what is already there with the same size and SHA1 is not copied
 * again (`existing` when nothing had to be); another file under one of the names, or
 * one that no SHA1 on record proves to be the backup's (sameObject), is refused before
 * anything is copied, as is whatever `beforeCopy` refuses. `beforeMetadataCopy` is told
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
): Promise<{info: BackupInfo; existing: boolean}> {
  const {info} = resolveBackupRef((await catalog.list({signal: opts.signal})).map((b) => ({info: b})), ref, catalog.where);
  const release = await opts.lock?.(info);
  try {
    return await copyLocked(from, to, info, opts);
  } finally {
    await release?.();
  }
}

async function copyLocked(
  from: StorageBackend,
  to: StorageBackend,
  info: BackupInfo,
  opts: CopyOptions,
): Promise<{info: BackupInfo; existing: boolean}> {
  const names = [info.archiveKey, info.metadataKey];
  const [here, there] = await Promise.all([objectsNamed(from, names, opts.signal), objectsNamed(to, names, opts.signal)]);
  const archive = here.get(info.archiveKey);
  const metadataFile = here.get(info.metadataKey);
  if (!archive || !metadataFile) throw new BackupError('not_found', `backup ${info.id} was deleted while it was being copied; nothing was copied`);
  const archiveThere = sameObject(there.get(info.archiveKey), archive.size, info.sha1, archive.id);
  const metadataThere = sameObject(there.get(info.metadataKey), metadataFile.size, knownSha1(metadataFile.sha1));
  const conflicts = {different: [] as string[], unproven: [] as string[]};
  for (const [key, there] of [[info.archiveKey, archiveThere], [info.metadataKey, metadataThere]] as const) {
    if (there === 'different' || there === 'unproven') conflicts[there].push(key);
  }
  const taken = describeConflicts(conflicts, 'the backup\'s files');
  if (taken) throw new BackupError('already_exists', `the other location already holds ${taken}; delete them there (or move them away), or copy to another profile; nothing was copied`);
  // what the caller must check of the backup found (e.g. that its lock can be kept there) before the first copy
  if (archiveThere === 'absent' || metadataThere === 'absent') await opts.beforeCopy?.(info);
  const copied = await copyBackupObjects(from, to, {archive, metadataFile, sha1: info.sha1, copy: {archive: archiveThere === 'absent', metadataFile: metadataThere === 'absent'}}, opts.signal, () => opts.beforeMetadataCopy?.(info)).catch((err: unknown) => {
    if (!(err instanceof HalfCopiedError)) throw err;
    const next = err.advised ? '' : err.archiveKept ? '; run the same command again to complete the backup (it copies only what is missing)' : ', so nothing was copied; run the same command again to copy the backup';
    throw new BackupError(err.kind, err.message + next, {cause: err.cause, resumable: err.archiveKept && !err.advised});
  });
  return {info, existing: copied.length === 0};
}

/** The current objects with exactly these keys (one listing of their common start). */
async function objectsNamed(backend: StorageBackend, keys: string[], signal?: AbortSignal): Promise<Map<string, ObjectInfo>> {
  let prefix = keys[0];
  for (const k of keys) while (!k.startsWith(prefix)) prefix = prefix.slice(0, -1);
  const found = new Map<string, ObjectInfo>();
  for await (const obj of backend.list({prefix, signal})) if (keys.includes(obj.key)) found.set(obj.key, obj);
  return found;
}
