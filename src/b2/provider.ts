import type {FileHandle} from 'node:fs/promises';
import type {Readable} from 'node:stream';
import type {Body, CheckReport, DeletePlan, DeleteOptions, PutPlan, CopyOptions, GetOptions, GetToFileOptions, ListOptions, ObjectInfo, PutOptions, Retention, StorageBackend, StoredObject, SupersededUpload, TransferProgress, UnfinishedUpload} from '../backend.js';
import {describeBody} from '../body.js';
import {BackupError, abortError, isBackupError, throwIfAborted} from '../errors.js';
import {LocalFileError} from '../io-errors.js';
import {checkedSha1Option} from '../hash.js';
import {assertValidKey} from '../keys.js';
import {runChecks} from './check.js';
import {bandwidthLimits} from './bandwidth.js';
import {B2Client} from './client.js';
import {commandHint, shellWord} from '../command-hint.js';
import {CopyBarrierError, reuploadHint, type ReuploadOf} from '../reupload-hint.js';
import {assertCopyRecordsAgree} from './copy-records.js';
import {bucketUnavailable, keyFixClause, keyRef, prefixNotAllowed, wrapUnknown, type PlainCause} from './errors.js';
import {download, downloadToFile} from './downloader.js';
import {readScopeOf} from './encryption-headers.js';
import {fileFromHeaders} from './file-headers.js';
import {FileReads} from './file-reads.js';
import {isUnfinished, listFiles, listUnfinished, listVersions} from './lister.js';
import {resolveOptions, type B2BackendInput, type ResolvedOptions} from './options.js';
import {RetryPolicy} from './retry-policy.js';
import {legalHoldOf, retentionOf} from './retention.js';
// the upload and copy engines load on their first use: a download, a listing or a delete never pays for them
import type {UploadDigest, UploadTarget} from './upload.js';
import {UploadUrlPool} from './upload-url-pool.js';
import {MAX_NAME_AND_INFO_BYTES, MAX_NAME_AND_INFO_BYTES_SSE_OR_LOCK, assertNameAndInfoFit, bucketLimitReasons, nameAndInfoBytes, profileLimitReasons} from './file-info-limit.js';
import {COPY_SOURCE, LARGE_FILE_SHA1, RESERVED_INFO_KEYS, plainSha1, type B2Bucket, type B2File} from './wire-types.js';

/** B2 takes at most 10 X-Bz-Info headers; the provider keeps two for itself. */
const MAX_USER_METADATA = 8;
const METADATA_KEY = /^[A-Za-z0-9_-]{1,50}$/;
export const DEFAULT_CONTENT_TYPE = 'application/octet-stream';
const MAX_KEPT_DIGESTS = 4;
/** What a refused new file did not become, and the way out (see assertNameAndInfoFit). */
const UPLOADED = {done: 'uploaded', fix: 'use a shorter name, prefix or metadata'};
const COPIED = {done: 'copied', fix: 'copy it to a location with a shorter prefix, or download it and upload it there with less metadata'};

export type {UnfinishedUpload} from '../backend.js';

export interface KeyInfo {
  capabilities: string[];
  bucketRestriction?: string;
  namePrefix?: string;
  expiresAt?: Date;
  recommendedPartSize: number;
  absoluteMinimumPartSize: number;
}

/**
 * StorageBackend over a B2 bucket. Keys are relative to the prefix, which the backend
 * adds and strips; it never names a file outside the prefix (every list call carries
 * it, every name is built from it).
 */
export class B2Backend implements StorageBackend {
  readonly type = 'b2';
  /** The downloader checks contentSha1 / large_file_sha1 of every whole download. */
  readonly verifiesGet = true;
  /** A stream's put hashes every byte it takes (each part's SHA1 goes to B2 with it). */
  readonly hashesPut = true;
  /** SSE-C: a keyed digest of the key (readScopeOf), so that what this key decrypted is cached for this key alone. */
  readonly readScope: string | undefined;
  private readonly pool: UploadUrlPool;
  /** hashFile() results by path, for the put() that follows (a few at most). */
  private readonly digests = new Map<string, UploadDigest>();
  /** fileId → name of the unfinished large files listUnfinished() yielded (all under the prefix). */
  private readonly unfinished = new Map<string, string>();

  private constructor(
    private readonly client: B2Client,
    private readonly o: ResolvedOptions,
    readonly bucketId: string,
    private bucketSettings?: B2Bucket,
  ) {
    this.readScope = readScopeOf(o.encryption);
    this.pool = new UploadUrlPool((signal) => client.getUploadUrl(bucketId, signal));
    client.onReauthorized(() => this.pool.clear());
  }

  /** Authorizes, finds the bucket and checks the key's prefix restriction; throws a BackupError otherwise. */
  static async open(input: B2BackendInput, opts: {signal?: AbortSignal} = {}): Promise<B2Backend> {
    const o = resolveOptions(input);
    const client = B2Backend.clientFor(o);
    const auth = await client.authorize(opts.signal);
    const {bucketName, bucketId, namePrefix} = auth.allowed;
    if (namePrefix && !o.prefix.startsWith(namePrefix)) throw new BackupError('prefix_not_allowed', prefixNotAllowed(client.context, namePrefix));
    if (bucketName && bucketName !== o.bucket) throw new BackupError('bucket_unavailable', bucketUnavailable(o, bucketName));
    if (bucketName && bucketId) return new B2Backend(client, o, bucketId);
    const found = await client.findBucket(o.bucket, opts.signal);
    if (!found) throw new BackupError('bucket_unavailable', bucketUnavailable(o));
    return new B2Backend(client, o, found.bucketId, found);
  }

  /**
   * The setup checks for a profile that may not open at all (wrong key, missing bucket,
   * prefix outside the key's): each problem becomes a failed item with its fix, as
   * `b2 profile check` and `profile add` need, instead of open()'s first error.
   */
  static async checkProfile(input: B2BackendInput, opts: {signal?: AbortSignal; isOwnKey?: (key: string) => boolean} = {}): Promise<CheckReport> {
    const o = resolveOptions(input);
    return runChecks({client: B2Backend.clientFor(o), bucket: o.bucket, prefix: o.prefix, encryption: o.encryption, lockUploads: o.lockUploads, signal: opts.signal, isOwnKey: opts.isOwnKey});
  }

  private static clientFor(o: ResolvedOptions): B2Client {
    return new B2Client({
      keyId: o.keyId,
      applicationKey: o.applicationKey,
      endpoint: o.endpoint,
      userAgent: o.userAgent,
      requestTimeoutMs: o.requestTimeoutMs,
      transferTimeoutMs: o.stallTimeoutMs,
      connectTimeoutMs: o.connectTimeoutMs,
      retry: new RetryPolicy(o.retry),
      bandwidth: bandwidthLimits(o.bandwidth, o.clock),
      encryption: o.encryption,
      onEvent: o.onEvent,
      // the account token joins these once signed in
      context: {
        profileName: o.profileName,
        keyFix: o.keyFix,
        profileCommand: o.profileCommand,
        cli: o.cli,
        locationFlags: o.locationFlags,
        cleanupFix: o.cleanupFix,
        endpointName: o.endpointName,
        bucket: o.bucket,
        prefix: o.prefix,
        endpoint: o.endpoint,
        encryption: o.encryption?.mode,
        // an SSE-C key travels in headers: no message may quote it either
        secrets: [o.applicationKey, Buffer.from(`${o.keyId}:${o.applicationKey}`).toString('base64'), ...(o.encryption?.mode === 'SSE-C' ? [o.encryption.key] : [])],
      },
    });
  }

  /**
   * The bucket as b2_list_buckets describes it (type, default encryption, Object Lock),
   * looked up once: open() already has it unless the key is restricted to the bucket.
   */
  async bucket(signal?: AbortSignal): Promise<B2Bucket> {
    this.bucketSettings ??= await this.client.findBucket(this.o.bucket, signal);
    if (!this.bucketSettings) throw new BackupError('bucket_unavailable', bucketUnavailable(this.o));
    return this.bucketSettings;
  }

  /** StorageBackend.keyName: the key of this profile. */
  get keyName(): string {
    return keyRef(this.client.context);
  }

  get prefix(): string {
    return this.o.prefix;
  }

  check(opts: {signal?: AbortSignal; isOwnKey?: (key: string) => boolean} = {}): Promise<CheckReport> {
    return runChecks({client: this.client, bucket: this.o.bucket, prefix: this.o.prefix, encryption: this.o.encryption, lockUploads: this.o.lockUploads, signal: opts.signal, isOwnKey: opts.isOwnKey});
  }

  async put(key: string, body: Body, opts: PutOptions = {}): Promise<StoredObject> {
    const fileName = this.nameOf(key);
    const metadata = checkMetadata(fileName, opts.metadata ?? {});
    const sha1 = checkedSha1Option(opts.sha1, key);
    throwIfAborted(opts.signal);
    const source = await describeBody(body, opts.size);
    // a hashing pass just done by hashFile() serves this put (only with the SHA1 it found)
    const digest = source.kind === 'file' ? this.digests.get(source.path) : undefined;
    if (source.kind === 'file') this.digests.delete(source.path);
    return this.guard(opts.signal, async () => {
      const {sentInfo, uploadObject} = await import('./upload.js');
      const target = this.uploadTarget();
      // before a byte is hashed or sent: B2 would refuse it only after (a large file: after the hashing pass)
      await this.assertInfoFits(fileName, sentInfo(target, {metadata, source, sha1}), UPLOADED, opts.signal);
      const out = await uploadObject(target, {
        fileName,
        contentType: opts.contentType ?? DEFAULT_CONTENT_TYPE,
        metadata,
        source,
        sha1,
        digest: digest && digest.sha1 === sha1 ? digest : undefined,
        retention: opts.retention,
        replaces: opts.replaces?.map((k) => this.nameOf(k)),
        signal: opts.signal,
        onProgress: opts.onProgress,
      });
      // a large file (contentSha1 "none") keeps its b2_start_large_file time as uploadTimestamp
      return {...this.infoOf(out.file), sha1: out.sha1, reusedBytes: out.reusedBytes, ...(out.file.contentSha1 === 'none' ? {datedFromStart: true} : {}), ...(out.leftover ? {leftover: out.leftover} : {}), ...(out.superseded ? {superseded: this.supersededKeys(out.superseded)} : {})};
    });
  }

  /** What put() would do with this body (one request or parts, what an interrupted upload stored); sends nothing. */
  async planPut(key: string, body: Body, opts: Pick<PutOptions, 'size' | 'sha1' | 'contentType' | 'metadata' | 'replaces' | 'signal'> = {}): Promise<PutPlan> {
    const fileName = this.nameOf(key);
    const metadata = checkMetadata(fileName, opts.metadata ?? {});
    const sha1 = checkedSha1Option(opts.sha1, key);
    const source = await describeBody(body, opts.size);
    const digest = source.kind === 'file' ? this.digests.get(source.path) : undefined;
    const [{planUpload}, {sentInfo}] = await Promise.all([import('./upload-plan.js'), import('./upload.js')]);
    const target = this.uploadTarget();
    return this.guard(opts.signal, async () => {
      await this.assertInfoFits(fileName, sentInfo(target, {metadata, source, sha1}), UPLOADED, opts.signal); // refused as put() refuses it
      const plan = await planUpload(target, {fileName, contentType: opts.contentType ?? DEFAULT_CONTENT_TYPE, metadata, source, sha1, digest: digest && digest.sha1 === sha1 ? digest : undefined, replaces: opts.replaces?.map((k) => this.nameOf(k)), signal: opts.signal});
      return plan.supersedes ? {...plan, supersedes: this.supersededKeys(plan.supersedes)} : plan;
    });
  }

  /** What delete(key) would remove: every version of the name, unfinished uploads included; removes nothing. */
  async planDelete(key: string, opts: {signal?: AbortSignal} = {}): Promise<DeletePlan> {
    const fileName = this.nameOf(key);
    const plan: DeletePlan = {key, versions: 0, uploads: 0, hidden: false, unfinished: 0, bytes: 0};
    for await (const v of listVersions(this.client, this.bucketId, fileName, opts.signal)) {
      if (v.action === 'start') plan.unfinished++;
      else if (plan.versions++ === 0) plan.hidden = v.action === 'hide'; // B2 lists a name's versions newest first
      if (v.action === 'upload') plan.uploads++;
      plan.bytes += v.contentLength ?? 0;
    }
    return plan;
  }

  /**
   * The SHA1 and size of a file, from the same read that records each part's SHA1 when
   * it will go up as a large file: a put() of this path with this SHA1 that follows does
   * not read the file again before sending it.
   */
  async hashFile(path: string, opts: {signal?: AbortSignal; onProgress?: (p: TransferProgress) => void} = {}): Promise<{sha1: string; size: number}> {
    throwIfAborted(opts.signal);
    const source = await describeBody({path});
    if (source.kind !== 'file') throw new BackupError('bad_input', `${path} is not a regular file`);
    return this.guard(opts.signal, async () => {
      const {hashForUpload} = await import('./upload.js');
      const digest = await hashForUpload(this.uploadTarget(), source, opts);
      this.digests.delete(path);
      this.digests.set(path, digest);
      // the part SHA1s of a 10 TB file are 400 kB; keep only the few that a put may still ask for
      for (const old of this.digests.keys()) if (this.digests.size > MAX_KEPT_DIGESTS) this.digests.delete(old);
      return {sha1: digest.sha1, size: digest.size};
    });
  }

  /**
   * Refuses a new file whose name and file info B2 would refuse (see file-info-limit.ts),
   * before anything is read or sent. This profile's encryption and its bucket decide the
   * limit: the bucket's settings (b2_list_buckets) are asked for only when the size lies
   * between the two limits and the profile's encryption has not decided it already.
   */
  private async assertInfoFits(fileName: string, info: Record<string, string>, outcome: {done: string; fix: string}, signal?: AbortSignal): Promise<void> {
    const bytes = nameAndInfoBytes(fileName, info);
    if (bytes <= MAX_NAME_AND_INFO_BYTES_SSE_OR_LOCK) return;
    let reasons = profileLimitReasons(this.o.encryption);
    if (reasons.length === 0 && bytes <= MAX_NAME_AND_INFO_BYTES) reasons = bucketLimitReasons(this.o.bucket, await this.readableBucket(signal));
    assertNameAndInfoFit(fileName, info, reasons, outcome);
  }

  /** The bucket's settings, or undefined when the key may not list the bucket. */
  private readableBucket(signal?: AbortSignal): Promise<B2Bucket | undefined> {
    return this.bucket(signal).catch((err: unknown) => {
      if (isBackupError(err, 'missing_capabilities')) return undefined;
      throw err;
    });
  }

  private uploadTarget(): UploadTarget {
    return {client: this.client, bucketId: this.bucketId, pool: this.pool, settings: {uploadCutoff: this.o.uploadCutoff, partSize: this.o.partSize, concurrency: this.o.concurrency}};
  }

  async get(key: string, opts: GetOptions = {}): Promise<{info: ObjectInfo; stream: Readable}> {
    const fileName = this.nameOf(key);
    throwIfAborted(opts.signal);
    return this.guard(opts.signal, async () => {
      const d = await download(this.client, {fileName, fileId: opts.version, range: opts.range, signal: opts.signal, storedWithKey: opts.encryptedWithCustomerKey, stallTimeoutMs: this.o.stallTimeoutMs, concurrency: this.o.concurrency, rangeSize: this.o.downloadRangeSize, fastStreamRate: this.o.fastStreamRate, busyStreamRate: this.o.busyStreamRate});
      return {info: this.infoOf(d.file), stream: d.stream};
    });
  }

  /** A large object arrives as `concurrency` parallel ranges written in place; a small one in one request. */
  async getToFile(key: string, file: FileHandle, opts: GetToFileOptions = {}): Promise<{info: ObjectInfo; size: number; sha1: string}> {
    const fileName = this.nameOf(key);
    throwIfAborted(opts.signal);
    return this.guard(opts.signal, async () => {
      const onProgress = opts.onProgress;
      const d = await downloadToFile(this.client, {fileName, fileId: opts.version, signal: opts.signal, storedWithKey: opts.encryptedWithCustomerKey, stallTimeoutMs: this.o.stallTimeoutMs, concurrency: this.o.concurrency, rangeSize: this.o.downloadRangeSize, onBytes: onProgress && ((loaded, total) => onProgress({loaded, total}))}, file);
      return {info: this.infoOf(d.file), size: d.size, sha1: d.sha1};
    });
  }

  async stat(key: string): Promise<ObjectInfo | undefined> {
    const fileName = this.nameOf(key);
    // whether the file is SSE-C is not known here: its first answer tells (FileReads)
    const reads = new FileReads(this.client);
    try {
      const res = await reads.download({fileName}, {method: 'HEAD'}).catch((err: unknown) => {
        if (!bodilessRefusal(err)) throw err;
        // B2 refuses a HEAD with a bare 403 for a cap, a suspended account or an SSE-C key:
        // one byte by GET (also a class B call) brings B2's reason, or the file
        return reads.download({fileName}, {range: 'bytes=0-0'}).catch((again: unknown) => {
          if ((again as {cause?: PlainCause}).cause?.status !== 416) throw again;
          return reads.download({fileName}, {}); // an empty file has no byte 0
        });
      });
      res.data?.destroy();
      return this.infoOf(fileFromHeaders(res.headers));
    } catch (err) {
      if (isBackupError(err, 'not_found')) return undefined;
      throw err;
    }
  }

  async *list(opts: ListOptions = {}): AsyncIterable<ObjectInfo> {
    const prefix = opts.prefix ?? '';
    for await (const file of listFiles(this.client, this.bucketId, this.o.prefix + prefix, opts.signal, this.o.listPageSize)) yield this.infoOf(file);
  }

  /**
   * Deletes every version (uploads, hide markers, unfinished parts) of the name. B2
   * refuses a version under Object Lock (a `locked` error) unless it is governance and
   * bypassGovernance is asked for by a key with that capability.
   */
  async delete(key: string, opts: DeleteOptions = {}): Promise<boolean> {
    const fileName = this.nameOf(key);
    let removed = false;
    const versions: B2File[] = [];
    for await (const v of listVersions(this.client, this.bucketId, fileName, opts.signal)) versions.push(v);
    // newest first, as B2 lists them; the caller's hide marker, if named, last
    const ordered = opts.lastVersion === undefined ? versions : [...versions.filter((v) => v.fileId !== opts.lastVersion), ...versions.filter((v) => v.fileId === opts.lastVersion)];
    for (const v of ordered) {
      try {
        await this.client.deleteFileVersion(v.fileId, v.fileName, opts.signal, {bypassGovernance: opts.bypassGovernance});
        if (v.action === 'upload') removed = true;
      } catch (err) {
        if (!isBackupError(err, 'not_found')) throw err; // file_not_present: someone else removed it
      }
    }
    return removed;
  }

  /**
   * Hides the name (b2_hide_file): the marker's id, or undefined when B2 finds nothing
   * visible to hide (no_such_file, already_hidden). A retry after an answer that may have
   * been lost first looks for the marker that request may have made (the name's newest
   * version, a hide marker made since the hide began, by B2's clock): that one is ours.
   */
  async hide(key: string, opts: {signal?: AbortSignal} = {}): Promise<string | undefined> {
    const fileName = this.nameOf(key);
    // a second of slack: B2 stamps to the millisecond, our idea of its clock is the Date header's
    const since = this.now().getTime() - 1000;
    const findMarker = async (): Promise<B2File | undefined> => {
      for await (const v of listVersions(this.client, this.bucketId, fileName, opts.signal)) {
        return v.action === 'hide' && v.uploadTimestamp >= since ? v : undefined; // the newest version alone
      }
      return undefined;
    };
    try {
      return (await this.client.hideFile(this.bucketId, fileName, opts.signal, findMarker)).fileId;
    } catch (err) {
      const code = (err as {cause?: PlainCause}).cause?.code;
      if (isBackupError(err, 'not_found') || code === 'already_hidden') return undefined;
      throw err;
    }
  }

  /** Unhides the name by deleting its hide marker `markerId` (as Backblaze documents); one already gone is done. */
  async unhide(key: string, markerId: string, opts: {signal?: AbortSignal} = {}): Promise<void> {
    const fileName = this.nameOf(key);
    await this.client.deleteFileVersion(markerId, fileName, opts.signal).catch((err: unknown) => {
      if (!isBackupError(err, 'not_found')) throw err;
    });
  }

  /**
   * Object Lock: the retention of one version of key (b2_update_file_retention). Longer
   * is always allowed; B2 refuses to shorten a compliance retention, and a governance one
   * without bypassGovernance.
   */
  async setRetention(key: string, id: string, retention: Retention, opts: DeleteOptions = {}): Promise<void> {
    const fileName = this.nameOf(key);
    await this.client.updateFileRetention({fileId: id, fileName, retention, bypassGovernance: opts.bypassGovernance}, opts.signal);
  }

  /** Now by B2's clock (from its Date header at sign-in): when a retention ends is B2's to say. */
  now(): Date {
    return this.client.serverNow();
  }

  async close(): Promise<void> {
    this.pool.clear();
  }

  /** Unfinished large files under the prefix (and opts.prefix within it), with the info they were started with. */
  async *listUnfinished(opts: ListOptions = {}): AsyncIterable<UnfinishedUpload> {
    for await (const f of listUnfinished(this.client, this.bucketId, this.o.prefix + (opts.prefix ?? ''), opts.signal)) {
      this.unfinished.set(f.fileId, f.fileName);
      yield {fileId: f.fileId, key: this.keyOf(f.fileName), started: new Date(f.uploadTimestamp), metadata: this.infoOf(f).metadata};
    }
  }

  /**
   * Cancels one unfinished large file under the prefix. A fileId that listUnfinished()
   * yielded is known to be ours (no call to check it: a listing per cancel would make a
   * cleanup of n uploads cost n class C calls); any other is looked up among the
   * unfinished files of its key's name first, and refused unless it is there: a fileId
   * alone could name any file in the bucket.
   */
  async cancelUnfinished(upload: Pick<UnfinishedUpload, 'fileId' | 'key'>, opts: {signal?: AbortSignal} = {}): Promise<void> {
    const fileName = this.nameOf(upload.key);
    if (this.unfinished.get(upload.fileId) !== fileName) {
      if (!(await isUnfinished(this.client, this.bucketId, fileName, upload.fileId, opts.signal))) throw new BackupError('not_found', `no unfinished upload ${upload.fileId} of ${JSON.stringify(upload.key)} under the prefix ${JSON.stringify(this.o.prefix)}; nothing was cancelled`);
    }
    await this.client.cancelLargeFile(upload.fileId, fileName, opts.signal);
    this.unfinished.delete(upload.fileId);
  }

  /**
   * Server-side copy into another B2Backend on the same account (see StorageBackend):
   * the destination's key makes every call, so it must be able to read this backend's
   * names; each side names only files under its own prefix. No byte is downloaded.
   */
  async copyTo(key: string, to: {backend: StorageBackend; key: string}, opts: CopyOptions = {}): Promise<StoredObject> {
    const dest = copyDestination(to.backend);
    const fileName = this.nameOf(key);
    const destName = dest.nameOf(to.key);
    throwIfAborted(opts.signal);
    this.assertReadableBy(dest, fileName);
    return this.guard(opts.signal, async () => {
      const file = await this.sourceFile(fileName, opts.id, opts.signal);
      // the source's own encryption decides, not the profile's (backups made before a switch to SSE-C have none)
      const sourceKey = file.serverSideEncryption?.mode === 'SSE-C' && this.o.encryption?.mode === 'SSE-C' ? this.o.encryption : undefined;
      const target = {
        client: dest.client,
        bucketId: dest.bucketId,
        fileName: destName,
        copyCutoff: dest.o.copyCutoff,
        partSize: dest.o.partSize,
        concurrency: dest.o.concurrency,
        // the destination's encryption and bucket decide its limit; the copy keeps the source's file info
        assertInfoFits: (info: Record<string, string>) => dest.assertInfoFits(destName, info, COPIED, opts.signal),
      };
      const {serverCopy} = await import('./server-copy.js');
      const out = await serverCopy(target, {file, key: sourceKey, sha1: opts.sha1, retention: opts.retention, verify: this.verifyCommand(opts.backup)}, opts.signal);
      return {...dest.infoOf(out.file), sha1: out.sha1, ...(out.leftover ? {leftover: out.leftover} : {})};
    });
  }

  /** copyTo()'s refusals that need no request (see StorageBackend): the records are the listing's, the ones serverCopy checks again. */
  assertCanCopyTo(to: StorageBackend, copies: Array<{source: Pick<ObjectInfo, 'key' | 'sha1'>; sha1?: string; backup?: string}>): void {
    const dest = copyDestination(to);
    for (const {source, sha1, backup} of copies) {
      const fileName = this.nameOf(source.key);
      this.assertReadableBy(dest, fileName);
      assertCopyRecordsAgree(fileName, source.sha1, sha1, this.verifyCommand(backup));
    }
  }

  /** The command that reads backup `id` at this location (its records checked against the bytes), for a hint. */
  private verifyCommand(id: string | undefined): string {
    return commandHint(this.o.cli, `verify ${id === undefined ? 'ID' : shellWord(id)}`, this.o.locationFlags);
  }

  /** Another account or B2 cluster: no server-side copy can go there (see StorageBackend). */
  copyBarrier(to: StorageBackend): {reason: string; instead: (backup?: ReuploadOf) => string} | undefined {
    const dest = copyDestination(to);
    const from = this.client.auth;
    const there = dest.client.auth;
    if (from.accountId === there.accountId && from.apiUrl === there.apiUrl) return undefined;
    const endpoint = (b: B2Backend) => b.o.endpointName ?? b.o.endpoint;
    // a move's two sides are one profile, before and after: named by where they are
    const place = (b: B2Backend) => (this.o.profileName === dest.o.profileName ? `${b.o.bucket}/${b.o.prefix}` : b.locationName());
    return {
      reason: `${place(this)} and ${place(dest)} are on different B2 accounts or endpoints (${endpoint(this)}, ${endpoint(dest)}): a server-side copy works only within one account and endpoint`,
      instead: (backup) => reuploadHint(this.o.cli, this.o.locationFlags, dest.o.locationFlags, backup),
    };
  }

  /** One account and one B2 cluster, and a destination key that may read the source: else one line, nothing copied. */
  private assertReadableBy(dest: B2Backend, fileName: string): void {
    const barrier = this.copyBarrier(dest);
    // only the file is known here: the copy command fills the backup in (CopyBarrierError.of)
    if (barrier) throw new CopyBarrierError(barrier.reason, barrier.instead);
    const a = dest.client.auth.allowed;
    const cannot = !a.capabilities.includes('readFiles')
      ? 'it lacks the readFiles capability'
      : a.bucketName && a.bucketName !== this.o.bucket
        ? `it is restricted to bucket ${a.bucketName}`
        : a.namePrefix && !fileName.startsWith(a.namePrefix)
          ? `it is restricted to names starting with ${JSON.stringify(a.namePrefix)}`
          : undefined;
    if (cannot) {
      throw new BackupError('missing_capabilities', `the key of ${dest.locationName()} makes the copy but cannot read ${this.o.bucket}/${fileName} (${cannot}); give it a key that can read both, nothing was copied`);
    }
  }

  /** This location as messages name it: its profile, else its bucket and prefix. */
  private locationName(): string {
    return this.o.profileName ? `profile "${this.o.profileName}"` : `${this.o.bucket}/${this.o.prefix}`;
  }

  /** The source version as B2 records it now: by its id (checked to be this name), else the newest of the name. */
  private async sourceFile(fileName: string, id: string | undefined, signal?: AbortSignal): Promise<B2File> {
    if (id) {
      const file = await this.client.getFileInfo(id, fileName, signal).catch((err: unknown) => {
        if (isBackupError(err, 'not_found')) return undefined;
        throw err;
      });
      if (file?.fileName === fileName && file.action === 'upload') return file;
    }
    for await (const file of listFiles(this.client, this.bucketId, fileName, signal, 10)) if (file.fileName === fileName) return file;
    throw new BackupError('not_found', `${fileName} is not in bucket ${this.o.bucket} (any more); nothing was copied`);
  }

  keyInfo(): KeyInfo {
    const a = this.client.auth;
    return {
      capabilities: [...a.allowed.capabilities],
      bucketRestriction: a.allowed.bucketName ?? undefined,
      namePrefix: a.allowed.namePrefix ?? undefined,
      expiresAt: a.expiresAt,
      recommendedPartSize: a.recommendedPartSize,
      absoluteMinimumPartSize: a.absoluteMinimumPartSize,
    };
  }

  /** How the user puts in another key, as this backend's own errors say it (for a fix hint of the CLI): "<lead> with: …", or the environment's fix. */
  keyFixClause(lead: string): string {
    return keyFixClause(this.client.context, lead);
  }

  /** Superseded uploads as the upload code tells them (by file name), by key. */
  private supersededKeys(list: SupersededUpload[]): SupersededUpload[] {
    return list.map((s) => ({...s, key: this.keyOf(s.key)}));
  }

  /** The key of a file name under the prefix. */
  private keyOf(fileName: string): string {
    return fileName.slice(this.o.prefix.length);
  }

  private nameOf(key: string): string {
    assertValidKey(key, this.o.prefix);
    return this.o.prefix + key;
  }

  private infoOf(file: B2File & {totalLength?: number}): ObjectInfo {
    const metadata: Record<string, string> = {};
    for (const [k, v] of Object.entries(file.fileInfo ?? {})) if (!RESERVED_INFO_KEYS.includes(k)) metadata[k] = v;
    return {
      key: this.keyOf(file.fileName),
      size: file.totalLength ?? file.contentLength,
      modified: new Date(file.uploadTimestamp),
      sha1: plainSha1(file.contentSha1) ?? plainSha1(file.fileInfo?.[LARGE_FILE_SHA1]),
      metadata,
      id: file.fileId,
      contentType: file.contentType ?? undefined,
      ...(file.serverSideEncryption?.mode === 'SSE-C' ? {encryptedWithCustomerKey: true} : {}),
      ...withRetention(file),
      ...(file.fileInfo?.[COPY_SOURCE] ? {copiedFrom: file.fileInfo[COPY_SOURCE]} : {}),
    };
  }

  /** Errors from below that are not ours yet (an aborted file read) become BackupErrors. */
  private async guard<T>(signal: AbortSignal | undefined, op: () => Promise<T>): Promise<T> {
    try {
      return await op();
    } catch (err) {
      // an abort error from below may say what stayed behind (a cancel that failed on the way out)
      if (signal?.aborted) throw isBackupError(err, 'aborted') ? err : abortError(signal);
      if (err instanceof BackupError) throw err;
      if (err instanceof LocalFileError) throw err.original; // the caller's file: the caller names it
      throw wrapUnknown(err, (err as Error)?.message ?? String(err), this.client.context.secrets);
    }
  }
}

/** Where a server-side copy from B2 can go: another B2Backend. */
function copyDestination(to: StorageBackend): B2Backend {
  if (!(to instanceof B2Backend)) throw new BackupError('bad_input', `a server-side copy goes from B2 to B2 only, not to ${to.type}; nothing was copied`);
  return to;
}

function withRetention(file: B2File): Pick<ObjectInfo, 'retention' | 'legalHold'> {
  const retention = retentionOf(file);
  return {...(retention ? {retention} : {}), ...(legalHoldOf(file) ? {legalHold: true} : {})};
}

function checkMetadata(fileName: string, metadata: Record<string, string>): Record<string, string> {
  const entries = Object.entries(metadata);
  const bad = (problem: string) => new BackupError('bad_input', `metadata for ${JSON.stringify(fileName)}: ${problem}`);
  if (entries.length > MAX_USER_METADATA) throw bad(`${entries.length} entries, B2 keeps at most ${MAX_USER_METADATA} besides its own`);
  for (const [k, v] of entries) {
    if (!METADATA_KEY.test(k)) throw bad(`key ${JSON.stringify(k)} must be 1..50 of A-Z a-z 0-9 _ -`);
    if (RESERVED_INFO_KEYS.includes(k.toLowerCase())) throw bad(`key ${k} is reserved`);
    if (typeof v !== 'string') throw bad(`value of ${k} must be a string`);
  }
  return {...metadata};
}

/** A 403 without B2's error code (the answer to a HEAD has no body). */
function bodilessRefusal(err: unknown): boolean {
  const cause = (err as {cause?: PlainCause}).cause;
  return cause?.status === 403 && cause.code === 'http_403';
}
