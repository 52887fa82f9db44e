import type {FileHandle} from 'node:fs/promises';
import type {Readable} from 'node:stream';
import type {ReuploadOf} from './reupload-hint.js';

/**
 * The generic backend contract the host programs against. Keys are relative to the
 * backend's own root (for B2: the profile prefix); a backend adds and strips that root
 * and never touches a name outside it.
 */
export interface StorageBackend {
  /** Target type, e.g. "b2" or "memory". */
  readonly type: string;
  /** Validates credentials, bucket, permissions and prefix; never throws for a failed check. */
  check(opts?: {signal?: AbortSignal}): Promise<CheckReport>;
  /** Stores body under key, replacing what was there; resolves once the object is complete and verified. */
  put(key: string, body: Body, opts?: PutOptions): Promise<StoredObject>;
  /**
   * True when get() of a whole object fails its stream with `checksum_mismatch` unless the
   * bytes match the SHA1 that get() reports in its info (callers need not hash again).
   */
  readonly verifiesGet?: boolean;
  /**
   * True when put() of a stream reports in `sha1` the SHA1 of exactly the bytes it read
   * from that stream (to its end), so a caller need not hash the stream a second time.
   */
  readonly hashesPut?: boolean;
  /**
   * Optional: names what this backend can read that another over the same root may not
   * (B2: SSE-C files, which only the same key decrypts); a short file-name-safe tag, never
   * a secret. What it read is cached for readers of the same scope alone.
   */
  readonly readScope?: string;
  /** Optional: how a line names the key this backend acts with ("the key of profile home"), to say which key B2 refused a removal for. */
  readonly keyName?: string;
  /** Streams an object (or a byte range of it). Rejects with a `not_found` BackupError if absent. */
  get(key: string, opts?: GetOptions): Promise<{info: ObjectInfo; stream: Readable}>;
  /**
   * Optional: the whole object written into an open file at its own offsets (B2: ranges
   * in parallel), for callers that want a file rather than a stream. Resolves with what
   * was written, its size and SHA1 in byte order; rejects with `checksum_mismatch` when
   * the backend's own checksum of the object differs.
   */
  getToFile?(key: string, file: FileHandle, opts?: GetToFileOptions): Promise<{info: ObjectInfo; size: number; sha1: string}>;
  /** Object info without the body, or undefined if absent. */
  stat(key: string): Promise<ObjectInfo | undefined>;
  /** Every current object whose key starts with opts.prefix, in UTF-8 byte order, paged lazily. */
  list(opts?: ListOptions): AsyncIterable<ObjectInfo>;
  /**
   * Removes every version of key; false if there was nothing to remove. A version under
   * a retention (Object Lock) is refused with a `locked` BackupError, unless its mode is
   * governance and `bypassGovernance` is asked for (with a key allowed to).
   */
  delete(key: string, opts?: DeleteOptions): Promise<boolean>;
  /**
   * Optional (B2: b2_hide_file): hides key, so that get(), stat() and list() no longer see
   * it while its versions stay stored; resolves with the id of the hide marker, which
   * unhide() takes. Undefined when there is nothing visible to hide (absent, or hidden
   * already: someone else's marker, not this caller's to remove). Object Lock does not
   * stop a hide.
   */
  hide?(key: string, opts?: {signal?: AbortSignal}): Promise<string | undefined>;
  /** Optional, with hide(): removes the hide marker `markerId` of key, so that key is visible again; done already is no error. */
  unhide?(key: string, markerId: string, opts?: {signal?: AbortSignal}): Promise<void>;
  /**
   * Optional (B2: Object Lock): sets the retention of the object version `id` of key.
   * Lengthening is always allowed; shortening or removing a governance retention needs
   * `bypassGovernance`, a compliance one is refused (`locked`).
   */
  setRetention?(key: string, id: string, retention: Retention, opts?: DeleteOptions): Promise<void>;
  /** Optional: the backend's own clock (B2: the server's Date), which decides when a retention ends. */
  now?(): Date;
  /** Releases sockets, timers and embedded servers. */
  close(): Promise<void>;
  /**
   * Optional: the SHA1 and size of a file from one read, together with whatever else the
   * backend needs to upload it (B2: each part's SHA1), so that a put() of the same path
   * with this sha1 right after does not read the file again to checksum it. Progress is
   * reported with phase 'hashing'.
   */
  hashFile?(path: string, opts?: {signal?: AbortSignal; onProgress?: (p: TransferProgress) => void}): Promise<{sha1: string; size: number}>;
  /**
   * Optional, for backends that keep interrupted uploads so that they can resume (B2:
   * unfinished large files, billed as storage): those whose keys start with opts.prefix.
   */
  listUnfinished?(opts?: ListOptions): AsyncIterable<UnfinishedUpload>;
  /** Optional: cancels one unfinished upload as listUnfinished yielded it. */
  cancelUnfinished?(upload: Pick<UnfinishedUpload, 'fileId' | 'key'>, opts?: {signal?: AbortSignal}): Promise<void>;
  /**
   * Optional: a server-side copy of key into `to.backend` (another backend of the same
   * kind that can take one from this: B2, the same account), stored there under `to.key`;
   * no byte of it passes through this process. Each backend keeps to its own root. It
   * resolves once the copy is stored and checked: its size is the source's, and its
   * SHA1 as the backend records it is `opts.sha1` (or the source's). It keeps the
   * object's metadata and content type; it is encrypted as `to.backend` writes. A
   * `bad_input` rejection means the two backends cannot copy between them.
   */
  copyTo?(key: string, to: {backend: StorageBackend; key: string}, opts?: CopyOptions): Promise<StoredObject>;
  /**
   * Optional, with copyTo(): throws now, as copyTo() would, for the copies into `to` that
   * copyTo() refuses whatever their bytes (B2: another account or endpoint, a key of `to`
   * that cannot read the source, a SHA1 expected that is not the one on record). Each is
   * the source as list() yielded it and the SHA1 copyTo() is to be given. No request, no
   * change: for callers that change the destination before they copy (a lock lengthened).
   * `backup`: as CopyOptions.backup.
   */
  assertCanCopyTo?(to: StorageBackend, copies: Array<{source: Pick<ObjectInfo, 'key' | 'sha1'>; sha1?: string; backup?: string}>): void;
  /**
   * Optional, with copyTo(): why no file at all can be copied into `to` (B2: another
   * account or endpoint), and what to do instead; undefined when copies can go there. No
   * request. For a caller that found nothing to copy: the files already there are the
   * answer, but the next copy there would be refused. `instead` names the backup's values
   * when given one (see reuploadHint), else placeholders.
   */
  copyBarrier?(to: StorageBackend): {reason: string; instead: (backup?: ReuploadOf) => string} | undefined;
  /**
   * Optional, for dry runs: what put() of this body would do (one request or parts, the
   * calls, what an interrupted upload already stored), reading and writing nothing but
   * listings. A stream body is not read.
   */
  planPut?(key: string, body: Body, opts?: Pick<PutOptions, 'size' | 'sha1' | 'contentType' | 'metadata' | 'replaces' | 'signal'>): Promise<PutPlan>;
  /** Optional, for dry runs: what delete(key) would remove (every version, unfinished uploads included), removing nothing. */
  planDelete?(key: string, opts?: {signal?: AbortSignal}): Promise<DeletePlan>;
}

/** What a put() would do (see planPut). Call counts leave out retries. */
export interface PutPlan {
  /** single: one request; parts: a large file in parts; stream: one request if the stream ends within one part, else parts. */
  kind: 'single' | 'parts' | 'stream';
  size?: number;
  /** Bytes per part (parts and stream). */
  partSize?: number;
  /** Parts in all, when the size is known. */
  parts?: number;
  /** Parts sent at once. */
  concurrency?: number;
  /**
   * An interrupted upload of the same object to continue: its parts that match this body are
   * kept. `partSizeAsked`: the part size asked for, when the upload continues with its own.
   */
  resume?: {started: Date; partsStored: number; partsKept: number; bytesKept: number; partSizeAsked?: number};
  /** Unfinished uploads of the same object that cannot be continued: cancelled once the object is stored. */
  supersedes?: SupersededUpload[];
  /** API calls the upload would make, by name. */
  calls: Record<string, number>;
}

/** What a delete(key) would remove. */
export interface DeletePlan {
  key: string;
  /** Stored versions (uploads and hide markers). */
  versions: number;
  /** Of those, the uploads: stored bytes, a hidden one too (B2 keeps it behind its hide marker). */
  uploads: number;
  /** The newest version is a hide marker: the name is hidden, not deleted (its uploads stay behind it). */
  hidden: boolean;
  /** Unfinished uploads of the name (B2: large files started, not finished). */
  unfinished: number;
  /** Bytes of the stored versions. */
  bytes: number;
}

export interface CopyOptions {
  /** The source version as list() yielded it (its `id`), to save looking it up. */
  id?: string;
  /** Lowercase hex SHA1 the copy must have (a backup's own record of its archive). */
  sha1?: string;
  /** The id of the backup the object belongs to, for messages: a refusal of its records names the `verify` that reads it. */
  backup?: string;
  /** Object Lock for the copy (a retention is not copied by itself). */
  retention?: Retention;
  signal?: AbortSignal;
}

/** What put() stored. */
/**
 * An unfinished upload an earlier run of the same object left (same name) that a put cannot
 * continue, and cancels once it has stored the object: its stored parts would stay billed,
 * and no later run could use them either (they follow this run's layout, content and key).
 */
export interface SupersededUpload {
  /** The key it was uploading to: the put's own, or one it `replaces`. */
  key: string;
  parts: number;
  bytes: number;
  /**
   * Why it cannot be continued: its parts are of another size (`partSize`), it holds another content (or other file
   * info: the file's modification time), another SSE-C key or encryption, or an SSE-C key it holds no record of
   * (`keyUnrecorded`: begun by a version of this tool before the key's digest was stored, so no one can tell it is the same).
   */
  why: 'partSize' | 'content' | 'info' | 'key' | 'keyUnrecorded' | 'encryption';
  /** Its parts' size (its first part's), for `why: 'partSize'`. */
  partSize: number;
  /** When the cancel failed: what remains and what removes it. */
  remains?: string;
}

export interface StoredObject extends ObjectInfo {
  /**
   * Bytes that an interrupted upload of the same object had already stored and that were
   * kept instead of sent again (0 or absent: everything was sent).
   */
  reusedBytes?: number;
  /**
   * True when `modified` is when the upload started, not when it was stored (B2: a large
   * file keeps its start time): the object can look older than it is, e.g. to a cleanup
   * that judges by age whether an upload may still be running.
   */
  datedFromStart?: boolean;
  /**
   * What the store left beside the object that stays billed and that the caller is to
   * tell (B2: older versions of it that answers lost on the way stored, which could not
   * be deleted), as a line that says what removes it.
   */
  leftover?: string;
  /** Unfinished uploads of it that earlier runs left and that this put could not continue: cancelled (or told what removes them). */
  superseded?: SupersededUpload[];
}

/** An upload that started and did not finish (B2: an unfinished large file). */
export interface UnfinishedUpload {
  /** Backend-specific id (B2: fileId). */
  fileId: string;
  key: string;
  started: Date;
  /** The object metadata it was started with. */
  metadata: Record<string, string>;
}

/** A Readable may have unknown size (stdin); a path is read (and re-read for retries) from disk. */
export type Body = Buffer | Readable | {path: string};

export interface PutOptions {
  /** Known size of a Readable body; required for nothing, but lets uploads plan part sizes. */
  size?: number;
  contentType?: string;
  /**
   * Lowercase hex SHA1 of the whole body when the caller already knows it. The backend
   * checks it against the bytes it stores: a mismatch rejects with `checksum_mismatch`
   * and stores nothing. (A file hashed with hashFile() just before is not read again.)
   */
  sha1?: string;
  /** Small string key/values stored with the object (B2: X-Bz-Info-*). */
  metadata?: Record<string, string>;
  /** Object Lock: the object cannot be deleted or overwritten-away until then (B2: file retention). */
  retention?: Retention;
  /**
   * Keys of earlier attempts of this same upload, known to the caller: its own key (an
   * interrupted run may have left parts there: a put that would go in one request then
   * looks, and continues them where it can) and other keys (its content changed since).
   * What is unfinished under them and cannot be continued goes once this put has stored
   * its object (superseded). Exactly these keys (B2: parts no run can use).
   */
  replaces?: string[];
  signal?: AbortSignal;
  onProgress?: (p: TransferProgress) => void;
}

/**
 * A retention (B2 Object Lock): until `retainUntil` the object cannot be deleted.
 * governance yields to a key with the bypassGovernance capability that asks to bypass
 * it; compliance yields to nobody.
 */
export interface Retention {
  mode: RetentionMode;
  retainUntil: Date;
}

export type RetentionMode = 'governance' | 'compliance';

export interface DeleteOptions {
  /** Delete (or shorten the retention of) a version under a governance retention; needs the capability. */
  bypassGovernance?: boolean;
  /**
   * delete() only: the version of key (the caller's own hide marker) removed after every
   * other, so that the name stays hidden until nothing is left behind it.
   */
  lastVersion?: string;
  signal?: AbortSignal;
}

export interface TransferProgress {
  /**
   * 'hashing': the source is read to checksum it before anything is sent (a large file);
   * 'transfer' (also when absent): bytes moving. Each phase counts from 0 to its total.
   */
  phase?: 'hashing' | 'transfer';
  /**
   * Bytes done in this phase: hashed, or sent. Sent bytes count as they go out; when an
   * attempt fails, its bytes are taken back (loaded goes down) and count again when resent.
   */
  loaded: number;
  /** Of loaded, bytes sent but not yet confirmed by the server. */
  inFlight?: number;
  /** Total bytes when known. */
  total?: number;
}

export interface GetOptions {
  /** Inclusive byte range; end defaults to the last byte. */
  range?: {start: number; end?: number};
  signal?: AbortSignal;
  /**
   * What list() or stat() said of the object (ObjectInfo.encryptedWithCustomerKey): a
   * backend that sends a key only to objects stored with it (B2: SSE-C) need not find
   * out with a request of its own.
   */
  encryptedWithCustomerKey?: boolean;
  /**
   * The version to read (ObjectInfo.id, as list() gave it), not the newest of the key:
   * what a caller listed and checked is what it gets, though a newer version arrive
   * meanwhile. `not_found` once that version is gone.
   */
  version?: string;
}

export interface GetToFileOptions extends Pick<GetOptions, 'encryptedWithCustomerKey' | 'version'> {
  signal?: AbortSignal;
  onProgress?: (p: TransferProgress) => void;
}

export interface ListOptions {
  prefix?: string;
  signal?: AbortSignal;
}

export interface ObjectInfo {
  key: string;
  size: number;
  modified: Date;
  /** Lowercase hex SHA1 of the whole object when the backend knows it. */
  sha1?: string;
  metadata: Record<string, string>;
  /** Backend-specific immutable version id (B2: fileId). */
  id?: string;
  contentType?: string;
  /** The object's retention when the backend has one and may say so (B2: readFileRetentions); past dates included. */
  retention?: Retention;
  /** True while the object is under a legal hold (B2: readFileLegalHolds): nobody may delete it until the hold is removed. */
  legalHold?: boolean;
  /** True when the object is stored encrypted with a customer's key (B2: SSE-C), which every read of it must carry. */
  encryptedWithCustomerKey?: boolean;
  /**
   * The version id (`id`) of the object this one is a server-side copy of (copyTo), when
   * the copy records it: its bytes are that version's, which are immutable. What proves a
   * copy of an object whose SHA1 nobody recorded.
   */
  copiedFrom?: string;
}

export type CheckStatus = 'ok' | 'warn' | 'fail';

export interface CheckItem {
  /** Stable identifier: credentials, bucket, capabilities, prefix, key_expiry, foreign_files … */
  id: string;
  title: string;
  status: CheckStatus;
  /** What was found. */
  message: string;
  /** How to fix it, when status is not ok. */
  fix?: string;
}

export interface CheckReport {
  /** False when any item failed (warnings keep it true). */
  ok: boolean;
  items: CheckItem[];
}

/** What a storage plugin answers to the host's `backup:targets` hook. */
export interface TargetRegistration<P = Record<string, unknown>> {
  type: string;
  title: string;
  /** JSON Schema of the profile the target takes. */
  profileSchema: Record<string, unknown>;
  create(profile: P): Promise<StorageBackend>;
}

export function checkReport(items: CheckItem[]): CheckReport {
  return {ok: items.every((i) => i.status !== 'fail'), items};
}
