import type {Readable} from 'node:stream';
import type {DeletePlan, PutPlan, Retention, RetentionMode, TransferProgress} from '../backend.js';
import type {BackupMetadata} from './metadata-file.js';

/** One backup as the catalog lists it. */
export interface BackupInfo {
  id: string;
  name: string;
  /** ISO 8601 with offset, as recorded by whoever made the backup. */
  date: string;
  /** Bytes of the archive as stored. */
  size: number;
  /** Lowercase hex SHA1 of the archive, when known without reading it. */
  sha1?: string;
  archiveKey: string;
  metadataKey: string;
  /**
   * `archive` when the archive describes itself (made by this tool: listed with no
   * download), `metadata-file` when read from the sidecar (made by Home Assistant).
   */
  describedBy: 'archive' | 'metadata-file';
  /** The metadata file's backup_metadata; always set by show() and upload(), and by list() for HA-made backups. */
  metadata?: BackupMetadata;
  /**
   * Object Lock: the latest retention of its objects, when the backend reports one (B2:
   * to a key with readFileRetentions). Past dates included: see isLocked().
   */
  lock?: BackupLock;
  /**
   * Object Lock: one of its objects is under a legal hold (B2: seen by a key with
   * readFileLegalHolds). Nobody can delete it, whatever its retention, until the hold is removed.
   */
  legalHold?: boolean;
}

export interface BackupLock {
  mode: RetentionMode;
  /** ISO 8601 (UTC): until then nobody (compliance) or only a governance bypass can delete the backup. */
  until: string;
  /**
   * A governance lock whose backup also has a file under an earlier compliance retention
   * (files locked apart): until then no bypass can delete the backup either.
   */
  complianceUntil?: string;
}

export interface CatalogOptions {
  /**
   * Directory (per backup location) for the metadata-file cache and the records of
   * interrupted uploads; without one, the cache lives only as long as the catalog and an
   * interrupted upload starts over.
   */
  cacheDir?: string;
  /**
   * Directory (per backup location) where the uploads, cleanups and deletes of this
   * machine lock the names and backup ids they work on (UploadLocks); without one, none
   * are kept apart.
   */
  lockDir?: string;
  /** Parallel metadata-file downloads while listing (default 4). */
  concurrency?: number;
  /** Called for every file skipped while listing (foreign, malformed, orphaned) and other non-fatal problems. */
  onWarning?: (msg: string) => void;
  /** Clock for backup dates (tests). */
  now?: () => Date;
  /** Recorded as created_by in metadata files, e.g. "backup-plugin-b2 0.1.0". */
  createdBy?: string;
  /** The command prefix fix hints name ("backup-b2 b2", "<host> b2"; see commandHint). */
  cli?: string;
  /** The flags fix hints add to act on this location ("--profile home"; see locationFlags). */
  locationFlags?: string;
  /** The location in words, for messages (e.g. `profile "home" (bucket b, prefix "home/")`); default "this location". */
  where?: string;
}

export interface UploadResult extends BackupInfo {
  /**
   * True when this continued an interrupted upload of the same file (same id, date and
   * names) and data it had stored was used: parts of the archive, or the whole archive.
   */
  resumed: boolean;
  /** True when an earlier run had stored the whole backup (its answer was lost): nothing was uploaded. */
  existing: boolean;
}

/** What `upload --dry-run` reports: what upload() would do with the same source and meta. Nothing is written. */
export interface UploadPlan {
  /** The backup's id and date: those of the backup it continues or finds stored, else new ones (a real run makes its own, dated when it runs). */
  id: string;
  date: string;
  name: string;
  /** The names it would write: an interrupted upload's own, or new ones dated now (a real run dates them when it runs). */
  archiveKey: string;
  metadataKey: string;
  /** Unknown for a stream without a declared size. */
  size?: number;
  /** Known for a file (hashed for the plan), not for a stream. */
  sha1?: string;
  /**
   * An interrupted upload of the same content under the same name that the upload would
   * continue (its id and date): `parts` left parts of the archive (see archive.resume),
   * `archive` left the whole archive (only the metadata file is missing), `backup` left the
   * whole backup (nothing would be uploaded).
   */
  resumes?: {id: string; date: string; stored: 'parts' | 'archive' | 'backup'};
  /** How the archive would go up; absent when it is stored already. */
  archive?: PutPlan;
  /** API calls of the whole upload (archive and metadata file), by name, without retries. */
  calls: Record<string, number>;
  /** The Object Lock the upload would set on the archive and the metadata file (dated as if it ran now). */
  lock?: BackupLock;
}

/** What `delete --dry-run` reports: what delete() would remove. */
export interface DeletePreview extends Deletable {
  /** The names it would remove, archive first, with their versions and unfinished uploads. */
  remove: DeletePlan[];
}

/**
 * What `delete` removes: a listed backup, or (`complete: false`) what an interrupted
 * upload or delete left of one, the archive or the metadata file (`left`).
 */
export interface Deletable {
  info: BackupInfo;
  complete: boolean;
  /** With `complete: false`: which of the two files is left. */
  left?: 'archive' | 'metadata file';
  /** The metadata file's version id, forgotten by the cache once deleted. */
  metadataFileId?: string;
  /**
   * With `complete: false`: the other file is not gone but hidden (B2 keeps its versions
   * behind a hide marker: a user or another tool hid it); a delete removes those too.
   */
  partnerHidden?: true;
}

/** What a delete did: `alreadyGone` when another command had removed the backup meanwhile (this run deleted nothing of it). */
export interface DeleteOutcome {
  info: BackupInfo;
  alreadyGone: boolean;
}

/** What `cleanup` removed, or would remove with dryRun. */
export interface CleanupReport {
  /** Unfinished uploads of our archives, cancelled. */
  cancelled: Array<{key: string; started: string; fileId: string}>;
  /** Our archives without a metadata file (an interrupted upload or delete), deleted. */
  deleted: Array<{key: string; id: string; name: string; date: string; size: number; stored: string}>;
  /** Ours, but younger than the age limit (--older-than): possibly still being written, left alone. Only those: what is kept for another reason is in its own list. */
  kept: number;
  /** Unfinished uploads under the prefix that are not this location's (another tool's, or under a deeper prefix): left alone. */
  foreign: number;
  /**
   * Our archives without a metadata file (or backup metadata files without their archive) that Object Lock keeps (a retention or legal hold
   * the key can see, never tried; or B2's refusal): left until the lock ends, with its date when known.
   */
  locked: Array<{key: string; id: string; name: string; size: number; stored: string; lock?: BackupLock; legalHold?: true}>;
  /**
   * Backup metadata files without their archive (an interrupted delete or prune: no
   * backup), deleted. One under Object Lock is in `locked` instead.
   */
  strays: Array<{key: string; id: string; name: string; date: string; size: number; stored: string}>;
  /**
   * An archive or metadata file whose other file is hidden, not deleted (`hiddenKey`: a
   * user, rclone or a lifecycle rule hid it): kept, as the only copy of its half of a
   * backup that unhiding the other file makes whole again.
   */
  hidden: Array<{key: string; id: string; name: string; size: number; stored: string; hiddenKey: string}>;
  /**
   * An unfinished upload, an archive without its metadata file or a metadata file without
   * its archive that an upload running on this machine (process `pids`) is still storing:
   * kept. `since`: when it was started or stored.
   */
  uploading: Array<{key: string; since: string; pids: number[]}>;
  /**
   * An archive without its metadata file, or a metadata file without its archive, old
   * enough to go, whose other file (`otherKey`) was there when the cleanup looked again
   * (an upload that finished since the listing, or a file put back): part of a whole
   * backup, kept. Not in `kept`, which --older-than alone decides.
   */
  whole: Array<{key: string; id: string; name: string; size: number; stored: string; otherKey: string}>;
  /**
   * An archive without its metadata file that something else hid between the listing and
   * this cleanup's own hide (a cleanup on another machine deciding about it, or a user):
   * left alone, as hidden files are.
   */
  hiddenMeanwhile: Array<{key: string; id: string; name: string; size: number; stored: string}>;
}

export interface UploadMeta {
  name?: string;
  /**
   * The backup's id and date (`upload --id --date`), instead of a new id and this run's
   * time: those it had elsewhere. An id goes the way a Home Assistant archive's own does
   * (the same content stored under it is the answer; other content under it is refused);
   * a Home Assistant archive with another id or date in its backup.json is refused.
   */
  id?: string;
  date?: string;
  /**
   * The exact length of a Readable source, when known: a stream that ends shorter or
   * runs longer (a producer that failed) fails the upload with `checksum_mismatch`, and
   * nothing is kept.
   */
  size?: number;
  /** User key/values (--meta key=value), stored in the metadata file's extra_metadata. */
  metadata?: Record<string, string>;
  /** Object Lock: archive and metadata file are both retained until the same date. */
  retention?: Retention;
  signal?: AbortSignal;
  onProgress?: (p: TransferProgress) => void;
  /**
   * The archive is stored (by this run or, resumed, an earlier one) and its metadata file
   * comes next: an interruption from now on leaves that archive alone, which the same
   * upload run again completes by writing the metadata file. Not called for an upload that
   * cannot resume (from stdin): its archive is removed when it is interrupted.
   */
  onArchiveStored?: (stored: {id: string; archiveKey: string}) => void;
}

export interface TransferOptions {
  signal?: AbortSignal;
  onProgress?: (p: TransferProgress) => void;
}

export interface DownloadResult {
  info: BackupInfo;
  /** The archive's bytes; fails with `checksum_mismatch` at its end if size or SHA1 differ. */
  stream: Readable;
}

/** A download into a file: what was written, and what it was checked against. */
export interface DownloadedFile {
  info: BackupInfo;
  path: string;
  size: number;
  /** SHA1 of what was written. */
  sha1: string;
  /** The SHA1 on record that it matched; undefined when none was recorded (only the size was compared). */
  expectedSha1?: string;
  /** No SHA1 compared because its one record, the metadata file of an archive of ours streamed up, cannot be read (not because none was recorded). */
  sha1Unread?: true;
}

export interface VerifyResult {
  ok: boolean;
  /** What was read. */
  size: number;
  sha1: string;
  expectedSize: number;
  /** Undefined when nobody recorded a checksum (e.g. a large archive uploaded by HA): only the size was checked. */
  expectedSha1?: string;
  /** A checksum was recorded but cannot be read (see DownloadedFile): then not ok, as nothing proves the bytes. */
  sha1Unread?: true;
  /** Why the archive is not what the backup's metadata file records (that file's name, what it records): then not ok, whatever the bytes. */
  disagrees?: string;
  info: BackupInfo;
}
