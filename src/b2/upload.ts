import type {Retention, SupersededUpload, TransferProgress} from '../backend.js';
import type {BodySource} from '../body.js';
import {BackupError, abortError, isBackupError} from '../errors.js';
import {assertFileUnchanged, digestFile, sha1Of, type FileDigest} from '../hash.js';
import {timing} from '../timing.js';
import {PartBuffers, StreamPartReader, bufferParts, fileParts, streamParts, type PartSource} from './chunkers.js';
import type {B2Client} from './client.js';
import {WireMismatch, lostAnswerWatch} from './failure.js';
import {deleteLostDuplicates, deleteLostVersions, failAfterLostAnswers} from './lost-duplicates.js';
import {LargeFileUpload} from './large-file-upload.js';
import {removeStoppedUpload} from './stopped-store.js';
import {MAX_SINGLE_UPLOAD, planParts, type PartPlan} from './part-plan.js';
import {assertStreamFits} from './stream-limits.js';
import type {BodyData} from './request-body.js';
import type {UploadUrlPool} from './upload-url-pool.js';
import {readScopeOf} from './encryption-headers.js';
import {cancelSuperseded, storedUnfinished, type StoredUnfinished} from './stored-unfinished.js';
import {LARGE_FILE_SHA1, SRC_LAST_MODIFIED, SSE_C_KEY_DIGEST, type B2File} from './wire-types.js';
import type {Encryption} from '../profiles/types.js';

export interface UploadSettings {
  /** Largest size sent as one b2_upload_file. */
  uploadCutoff: number;
  /** Profile part size; undefined means the server's recommendation. */
  partSize?: number;
  concurrency: number;
}

export interface UploadTarget {
  client: B2Client;
  bucketId: string;
  /** Upload URLs for small files, shared by every put of a backend. */
  pool: UploadUrlPool;
  settings: UploadSettings;
}

export interface UploadRequest {
  fileName: string;
  contentType: string;
  /** User metadata (already validated); the provider's own info keys are added here. */
  metadata: Record<string, string>;
  source: BodySource;
  /** The caller's SHA1 of the whole body (PutOptions.sha1), already checked to be 40 hex digits. */
  sha1?: string;
  /** A hashing pass over this file done just before (hashFile); used when it still fits the file and the plan. */
  digest?: UploadDigest;
  /** Object Lock: retention until then (headers of b2_upload_file, fileRetention of b2_start_large_file). */
  retention?: Retention;
  /** File names of earlier attempts of this upload (PutOptions.replaces). */
  replaces?: string[];
  signal?: AbortSignal;
  onProgress?: (p: TransferProgress) => void;
}

export interface UploadOutcome {
  file: B2File;
  /** SHA1 of the whole object, when known (always, except a stream's is known only after reading it). */
  sha1: string;
  /** Bytes of parts an interrupted upload had stored that were kept, not sent again. */
  reusedBytes?: number;
  /** What the store left beside the file that stays billed (deleteLostDuplicates), as a line to warn. */
  leftover?: string;
  /** Unfinished uploads of the name earlier runs left that this one could not continue: cancelled once it was stored. */
  superseded?: SupersededUpload[];
}

/**
 * put(): one b2_upload_file at or below the cutoff, a large-file upload (of two parts or
 * more) above it. A stream is read one part ahead: if it ends within that, it is a small
 * file; otherwise its first part starts a large file (so memory stays within parts).
 */
export async function uploadObject(t: UploadTarget, r: UploadRequest): Promise<UploadOutcome> {
  const src = r.source;
  const plan = planFor(t, src.size);
  switch (src.kind) {
    case 'buffer': {
      const sha1 = sha1Of(src.buffer); // in memory: hashing reads nothing twice
      assertCallerSha1(r, sha1);
      if (!isLarge(src.size, plan, t.settings)) return single(t, r, {kind: 'memory', chunks: [src.buffer], length: src.size}, sha1);
      return large(t, r, plan, bufferParts(src.buffer, plan), {info: largeInfo(t, src, sha1), wholeSha1: () => sha1});
    }
    case 'file': {
      // one read: hashed while sent (hex_digits_at_end), a caller's SHA1 checked against that
      const oneRequest = () => single(t, r, {kind: 'file', path: src.path, offset: 0, length: src.size, whole: true}, undefined, providerInfo(src), r.sha1 === undefined ? undefined : {sha1: r.sha1, source: src.path});
      const small = !isLarge(src.size, plan, t.settings);
      // small enough for one request, unless earlier attempts of this upload (the caller knows of them) left parts: continued, or cancelled after
      if (small && !r.replaces?.length) return oneRequest();
      // The whole file's SHA1 goes in the start call, so the file is hashed first; the same
      // pass records each part's SHA1, and each part is sent with it: B2 refuses a part
      // whose bytes changed since, so the stored file is always the one that was hashed.
      const hashed = usableDigest(r.digest, src, plan) ?? (await hashForUpload(t, src, r));
      assertCallerSha1(r, hashed.sha1);
      const info = largeInfo(t, src, hashed.sha1);
      const stored = await storedUnfinished({client: t.client, bucketId: t.bucketId, fileName: r.fileName, contentType: r.contentType, fileInfo: {...r.metadata, ...info}, plan, relayout: (partSize) => relayout(t, src.size, partSize), replaces: r.replaces, signal: r.signal});
      if (small && !stored.resumable) {
        const out = await oneRequest();
        const superseded = await cancelSuperseded(t.client, stored.superseded, r.signal);
        return superseded.length > 0 ? {...out, superseded} : out;
      }
      const {plan: used, digest} = await layoutToContinue(t, src, r, {plan, digest: hashed}, stored.resumable?.plan);
      return large(t, r, used, fileParts(src.path, used, digest.pieceSha1s), {info, stored, wholeSha1: () => digest.sha1, beforeFinish: () => assertFileUnchanged(src)});
    }
    case 'stream': {
      assertStreamFits(plan, t.settings.concurrency); // before a byte is read
      // one buffer per part in flight: the next part is read into the first one B2 confirms
      // (meanwhile the others keep the connection busy), so memory stays concurrency × part size
      const reader = new StreamPartReader(src.stream, new PartBuffers(t.settings.concurrency));
      // a pipe that never ends must not outlive an abort
      const onAbort = () => src.stream.destroy(abortError(r.signal));
      r.signal?.addEventListener('abort', onAbort, {once: true});
      try {
        // at most one part goes up in one b2_upload_file: a large file needs at least two parts
        const first = await reader.read(plan.sizeOf(1));
        timing('first part read');
        if (await reader.atEnd()) {
          if (src.size !== undefined && src.size !== first.data.length) {
            throw new BackupError('bad_input', `the stream was declared as ${src.size} bytes but has ${first.data.length}; pass the right size or none`);
          }
          assertCallerSha1(r, first.sha1);
          return await single(t, r, {kind: 'memory', chunks: [first.data], length: first.data.length}, first.sha1);
        }
        return await large(t, r, plan, streamParts(reader, plan, src.size, first), {
          info: largeInfo(t, src, r.sha1),
          wholeSha1: () => reader.wholeSha1(),
          resumable: src.size !== undefined,
          beforeFinish: async () => assertCallerSha1(r, await reader.wholeSha1()),
        });
      } catch (err) {
        src.stream.destroy();
        throw err;
      } finally {
        r.signal?.removeEventListener('abort', onAbort);
        await reader.close();
      }
    }
  }
}

/**
 * From this size on, a large file's hashing pass computes the whole file's SHA1 on a
 * second thread beside its parts' SHA1s (half the time on two cores); below it, starting
 * the thread would cost about what it saves.
 */
export const PARALLEL_HASH_FROM = 64 * 1024 * 1024;

/** A hashing pass over a file, for the upload plan it was made for. */
export interface UploadDigest extends FileDigest {
  path: string;
  partSize: number;
}

/**
 * The hashing pass of a file upload: the whole file's SHA1 and, when it goes up as a
 * large file, each part's, in one read (progress with phase 'hashing').
 */
export async function hashForUpload(t: UploadTarget, src: {path: string; size: number}, r: {signal?: AbortSignal; onProgress?: (p: TransferProgress) => void}): Promise<UploadDigest> {
  const plan = planFor(t, src.size);
  const large = isLarge(src.size, plan, t.settings);
  const total = src.size;
  r.onProgress?.({phase: 'hashing', loaded: 0, total});
  timing('hashing started');
  const digest = await digestFile(src.path, {pieceLength: large ? plan.sizeOf : undefined, parallel: src.size >= PARALLEL_HASH_FROM, signal: r.signal, onBytes: (loaded) => r.onProgress?.({phase: 'hashing', loaded, total})});
  timing(large ? 'hashed (the whole file and its parts)' : 'hashed');
  if (digest.size !== src.size) throw new BackupError('checksum_mismatch', `${src.path} changed while it was being hashed (${src.size} bytes before, ${digest.size} read); nothing was stored, upload it again when it is no longer being written`);
  return {...digest, path: src.path, partSize: plan.partSize};
}

/** A digest made for this very file and plan (same size and mtime, same parts), else undefined. */
function usableDigest(d: UploadDigest | undefined, src: {path: string; size: number; mtimeMs: number}, plan: PartPlan): UploadDigest | undefined {
  if (!d || d.path !== src.path || d.size !== src.size || d.mtimeMs !== src.mtimeMs || d.partSize !== plan.partSize) return undefined;
  return d.pieceSha1s.length === plan.partCount ? d : undefined;
}

/** A SHA1 not computed yet, for counting: every SHA1 is 40 hex digits. */
const SHA1_SIZED = '0'.repeat(40);

/**
 * The file info uploadObject() sends with this request (the user's metadata and the
 * provider's own), known before a byte is read: a large file's SHA1 not yet computed is
 * counted by its length. A stream may turn out small (then it sends no SHA1): counted as
 * the large file it may become.
 */
export function sentInfo(t: UploadTarget, r: Pick<UploadRequest, 'metadata' | 'source' | 'sha1'>): Record<string, string> {
  const src = r.source;
  const large = src.kind !== 'stream' && isLarge(src.size, planFor(t, src.size), t.settings);
  const sha1 = src.kind === 'stream' ? r.sha1 : large ? (r.sha1 ?? SHA1_SIZED) : undefined;
  return {...r.metadata, ...(src.kind === 'stream' || large ? largeInfo(t, src, sha1) : providerInfo(src, sha1))};
}

/** The provider's own file info of a large file: providerInfo's, and the SSE-C key's digest (SSE_C_KEY_DIGEST). */
export function largeInfo(t: UploadTarget, src: BodySource, largeFileSha1?: string): Record<string, string> {
  return {...providerInfo(src, largeFileSha1), ...keyDigestInfo(t.client.encryption)};
}

function keyDigestInfo(e: Encryption | undefined): Record<string, string> {
  const digest = readScopeOf(e);
  return digest ? {[SSE_C_KEY_DIGEST]: digest} : {};
}

/**
 * This file's layout with another part size (an interrupted upload's), when planning with
 * that part size keeps it, in parts (a large file: even one this run would send in one request).
 */
export function relayout(t: UploadTarget, size: number, partSize: number): PartPlan | undefined {
  const plan = planFor({...t, settings: {...t.settings, partSize}}, size);
  return plan.partSize === partSize && (plan.partCount ?? 0) > 1 ? plan : undefined;
}

/**
 * The layout and hashing pass the upload goes with: the planned ones, or, to continue an
 * interrupted upload of another part size (`stored`), that layout, its parts hashed again.
 */
async function layoutToContinue(t: UploadTarget, src: {path: string; size: number}, r: UploadRequest, planned: {plan: PartPlan; digest: UploadDigest}, stored: PartPlan | undefined): Promise<{plan: PartPlan; digest: UploadDigest}> {
  if (!stored || stored === planned.plan) return planned;
  const digest = await hashForUpload({...t, settings: {...t.settings, partSize: stored.partSize}}, src, r);
  if (digest.sha1 !== planned.digest.sha1) throw new BackupError('checksum_mismatch', `${src.path} changed while it was being hashed; nothing was stored, upload it again when it is no longer being written`);
  return {plan: stored, digest};
}

/**
 * The provider's own file info of an upload: a file's modification time, and
 * `large_file_sha1` when given (a large file's whole SHA1, known at its start).
 */
export function providerInfo(src: BodySource, largeFileSha1?: string): Record<string, string> {
  return {...(src.kind === 'file' ? {[SRC_LAST_MODIFIED]: String(Math.floor(src.mtimeMs))} : {}), ...(largeFileSha1 ? {[LARGE_FILE_SHA1]: largeFileSha1} : {})};
}

export function planFor(t: UploadTarget, size: number | undefined): PartPlan {
  const {auth} = t.client;
  return planParts({size, partSize: t.settings.partSize, recommendedPartSize: auth.recommendedPartSize, absoluteMinimumPartSize: auth.absoluteMinimumPartSize});
}

/** A SHA1 the caller gave must be the body's; nothing is stored under a wrong one. */
function assertCallerSha1(r: UploadRequest, actual: string): void {
  if (r.sha1 !== undefined && r.sha1 !== actual) {
    throw new BackupError('checksum_mismatch', `${r.fileName}: the body's SHA1 is ${actual}, but the caller gave ${r.sha1}; nothing was stored`);
  }
}

export function isLarge(size: number, plan: PartPlan, s: UploadSettings): boolean {
  return size > MAX_SINGLE_UPLOAD || (size > s.uploadCutoff && (plan.partCount ?? 0) > 1);
}

async function single(t: UploadTarget, r: UploadRequest, data: BodyData, knownSha1?: string, info: Record<string, string> = {}, expect?: {sha1: string; source: string}): Promise<UploadOutcome> {
  const size = data.length;
  let sent = 0;
  const emit = (loaded: number, inFlight: number) => r.onProgress?.({phase: 'transfer', loaded, inFlight, total: size});
  const lost = lostAnswerWatch();
  const fileInfo = {...r.metadata, ...info};
  // a second of slack: B2 stamps to the millisecond, our idea of its clock is the Date header's
  const since = t.client.serverNow().getTime() - 1000;
  const file = await t.client.upload('b2_upload_file', r.fileName, t.pool, async (url, axios) => {
    if (sent > 0) emit((sent = 0), 0); // a failed attempt's bytes are taken back
    const res = await t.client.uploadFileOnce(url, axios, {fileName: r.fileName, data, sha1: knownSha1, expect, contentType: r.contentType, info: fileInfo, retention: r.retention, onBytes: (n) => emit((sent += n), sent)});
    if (res.file.contentLength !== size || res.file.contentSha1 !== res.sha1) {
      throw new WireMismatch(`B2 stored ${r.fileName} as ${res.file.contentLength} bytes with SHA1 ${res.file.contentSha1}; sent ${size} bytes with SHA1 ${res.sha1}`);
    }
    return res.file;
  }, r.signal, {refine: lost.refine}).catch(async (err: unknown) => {
    const like = async () => ({fileName: r.fileName, contentLength: size, sha1: knownSha1 ?? expect?.sha1 ?? (await sentSha1(data)), contentType: r.contentType, fileInfo});
    // a stream cannot be uploaded again: what B2 stored of it as the stop came is nobody's
    if (r.signal?.aborted && r.source.kind === 'stream' && (sent === size || lost.seen())) throw await removeStoppedUpload(t.client, t.bucketId, await like(), since, isBackupError(err) ? err : abortError(r.signal));
    // the versions the lost answers stored would stay billed, and a put again would keep them beside its own
    return failAfterLostAnswers(err, lost, r.signal, async () => deleteLostVersions(t.client, t.bucketId, 'upload', await like(), since));
  });
  const leftover = lost.seen() ? await deleteLostDuplicates(t.client, t.bucketId, 'upload', file, r.signal) : undefined;
  emit(size, 0);
  return {file, sha1: file.contentSha1 as string, ...(leftover ? {leftover} : {})};
}

/**
 * The SHA1 of a file body whose SHA1 went after it (hex_digits_at_end), read again: the
 * bytes the lost attempts sent, unless the file changed since (then it matches none of
 * them, and they stay). Undefined when it cannot be read.
 */
async function sentSha1(data: BodyData): Promise<string | undefined> {
  if (data.kind !== 'file') return undefined;
  const digest = await digestFile(data.path).catch(() => undefined);
  return digest?.size === data.length ? digest.sha1 : undefined;
}

interface LargeOptions {
  /** The provider's own file info (large_file_sha1, src_last_modified_millis). */
  info: Record<string, string>;
  /** The whole object's SHA1, asked once every part is sent. */
  wholeSha1: () => string | Promise<string>;
  resumable?: boolean;
  /** What earlier runs left under this name, looked up already (storedUnfinished). */
  stored?: StoredUnfinished;
  beforeFinish?: () => Promise<void>;
}

async function large(t: UploadTarget, r: UploadRequest, plan: PartPlan, parts: Iterable<PartSource> | AsyncIterable<PartSource>, o: LargeOptions): Promise<UploadOutcome> {
  const upload = new LargeFileUpload({
    client: t.client,
    bucketId: t.bucketId,
    fileName: r.fileName,
    contentType: r.contentType,
    fileInfo: {...r.metadata, ...o.info},
    retention: r.retention,
    plan,
    parts,
    resumable: (o.resumable ?? true) && plan.partCount !== undefined,
    stored: o.stored,
    concurrency: t.settings.concurrency,
    signal: r.signal,
    onProgress: r.onProgress,
    beforeFinish: o.beforeFinish,
  });
  const file = await upload.run();
  return {file, sha1: await o.wholeSha1(), reusedBytes: upload.reusedBytes, ...(upload.superseded.length > 0 ? {superseded: upload.superseded} : {})};
}
