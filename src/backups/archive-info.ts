import type {ObjectInfo} from '../backend.js';
import {knownSha1} from './checksum.js';
import type {BackupInfo} from './types.js';
import {backupIdProblem} from './validate.js';

/**
 * The object metadata (B2: X-Bz-Info-*) our archives carry so that a listing alone
 * describes them. Four keys at most, leaving room within B2's limit of 10 for what the
 * provider adds itself (large_file_sha1, src_last_modified_millis).
 */
const KEYS = {id: 'backup_id', name: 'backup_name', date: 'backup_date', sha1: 'backup_sha1'} as const;
/** In place of `backup_name` for an empty name (see nameInfo): "true". */
const NO_NAME_KEY = 'backup_name_empty';
/**
 * In place of `backup_id` on an archive whose metadata file has the last word on its id,
 * name and date (a tar from stdin whose backup.json, if any, comes after the upload
 * started): the id the upload started with. No other tool writes this key, and without
 * `backup_id` the listing does not take the archive's word for the backup.
 */
const UPLOAD_ID_KEY = 'backup_upload_id';

export interface ArchiveDescription {
  id: string;
  name: string;
  date: string;
  /** Absent when the archive was streamed (its checksum is known only at the end). */
  sha1?: string;
}

export function archiveInfoMetadata(d: ArchiveDescription): Record<string, string> {
  const meta: Record<string, string> = {[KEYS.id]: d.id, ...nameInfo(d.name), [KEYS.date]: d.date};
  if (d.sha1) meta[KEYS.sha1] = d.sha1;
  return meta;
}

/**
 * The name's entry; for an empty name (a Home Assistant backup made without one) a marker
 * saying so: B2 documents no empty X-Bz-Info value, and an empty header is one a proxy
 * may drop, which would leave a file that no longer says it is ours.
 */
function nameInfo(name: string): Record<string, string> {
  return name === '' ? {[NO_NAME_KEY]: 'true'} : {[KEYS.name]: name};
}

/** The name an archive's file info gives, or undefined when it gives none. */
function nameOf(m: Record<string, string>): string | undefined {
  return m[KEYS.name] ?? (m[NO_NAME_KEY] === 'true' ? '' : undefined);
}

/**
 * The file info of an archive whose id, name and date its metadata file may still change
 * (see UPLOAD_ID_KEY): enough for `cleanup` and `delete` to know it as ours if that file
 * never comes (an interrupted upload, or delete).
 */
export function provisionalArchiveInfo(d: Omit<ArchiveDescription, 'sha1'>): Record<string, string> {
  return {[UPLOAD_ID_KEY]: d.id, ...nameInfo(d.name), [KEYS.date]: d.date};
}

/** The description an archive carries, or undefined if it does not carry a complete one (e.g. HA's archives). */
export function describeArchive(obj: Pick<ObjectInfo, 'metadata'>): ArchiveDescription | undefined {
  const m = obj.metadata;
  const id = m[KEYS.id];
  const name = nameOf(m);
  const date = m[KEYS.date];
  if (backupIdProblem(id) !== undefined || name === undefined || !date || Number.isNaN(Date.parse(date))) return undefined;
  return {id, name, date, sha1: knownSha1(m[KEYS.sha1])};
}

/**
 * What a listing takes the backup's id, name and date from (BackupInfo.describedBy): the
 * archive itself when it carries a complete description, else its metadata file (Home
 * Assistant's archives, and ours uploaded from stdin, which carry only the provisional one).
 */
export function describedBy(archive: Pick<ObjectInfo, 'metadata'>): BackupInfo['describedBy'] {
  return describeArchive(archive) ? 'archive' : 'metadata-file';
}

/**
 * The SHA1 of a backup's archive from every record there is, the backup's own first.
 * An archive that describes itself (made here) is the very version the backup made: its
 * backup_sha1, else B2's record of it (contentSha1, or a large file's large_file_sha1),
 * else `metadataFileSha1`, the metadata file's backup_metadata.sha1 (the only record of
 * an archive streamed up). Any other archive (Home Assistant's, or a version another
 * tool uploaded over ours) is the backup's only if the metadata file says so: its SHA1
 * comes first, and B2's record (which only says what is stored now) only where the
 * metadata file has none. Callers read the metadata file only when a self-describing
 * archive records none. Undefined: no record has one (an archive Home Assistant streamed
 * up), and nothing can prove which bytes it should hold.
 */
export function recordedSha1(archive: Pick<ObjectInfo, 'metadata' | 'sha1'>, metadataFileSha1?: string): string | undefined {
  const described = describeArchive(archive);
  if (described) return described.sha1 ?? knownSha1(archive.sha1) ?? knownSha1(metadataFileSha1);
  return knownSha1(metadataFileSha1) ?? knownSha1(archive.sha1);
}

/**
 * Whether this tool started the archive, and under which id, name and date: its full
 * description, or the provisional one. What `cleanup` and `delete` go by for an archive
 * without its metadata file (and for an unfinished upload); never for a listed backup.
 */
export function archiveMarker(obj: Pick<ObjectInfo, 'metadata'>): ArchiveDescription | undefined {
  const full = describeArchive(obj);
  if (full) return full;
  const id = obj.metadata[UPLOAD_ID_KEY];
  if (id === undefined || obj.metadata[KEYS.id] !== undefined) return undefined;
  return describeArchive({metadata: {...obj.metadata, [KEYS.id]: id}});
}
