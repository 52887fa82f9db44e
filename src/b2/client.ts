import B2 from 'backblaze-b2';
import b2Request from 'backblaze-b2/lib/request.js';
import type {Readable} from 'node:stream';
import {toBackupError, type ErrorContext, type FailedCall} from './errors.js';
import {lostAnswerWatch, type Failure} from './failure.js';
import {RetryPolicy, type CallKind, type RunHooks} from './retry-policy.js';
import type {UploadUrlPool} from './upload-url-pool.js';
import {HEX_DIGITS_AT_END, HEX_SHA1_LENGTH, writeBody, type BodyData} from './request-body.js';
import {postUpload} from './upload-request.js';
import {limited, type BandwidthLimits} from './bandwidth.js';
import {encryptionField, keyHeaders, uploadFileHeaders} from './encryption-headers.js';
import {retentionField, retentionHeaders} from './retention.js';
import type {Retention} from '../backend.js';
import type {Encryption} from '../profiles/types.js';
import {isBackupError} from '../errors.js';
import {scrub} from '../redact.js';
import {safeListener, type TransferEvent, type TransferEventListener} from './events.js';
import {connectTimeoutAgents, type Agents} from './connect-timeout.js';
import {clockSkewFromDate} from './clock-skew.js';
import type {B2Allowed, B2AuthorizeV2, B2AuthorizeV3, B2Bucket, B2File, B2ListFileNames, B2ListFileVersions, B2ListParts, B2ListUnfinished, B2Part, B2UploadUrl} from './wire-types.js';

/** What authorization tells us about the key and the server. */
export interface AuthInfo {
  accountId: string;
  apiUrl: string;
  downloadUrl: string;
  recommendedPartSize: number;
  absoluteMinimumPartSize: number;
  allowed: B2Allowed;
  /** The key's expiry, when it has one (v3+ answers carry it). */
  expiresAt?: Date;
}

export interface ClientConfig {
  keyId: string;
  applicationKey: string;
  /** The realm to authorize at, e.g. https://api.backblazeb2.com or an emulator's URL. */
  endpoint: string;
  userAgent: string;
  /** Idle timeout of a JSON call. */
  requestTimeoutMs: number;
  /** Idle timeout of an upload or download (no bytes moving for this long fails it). */
  transferTimeoutMs: number;
  /** How long making a TCP connection may take (a host that drops packets fails fast). */
  connectTimeoutMs: number;
  retry: RetryPolicy;
  /** Where failures happened, for messages; `allowed` is filled in by authorize. */
  context: ErrorContext;
  /** Bandwidth limits shared by every transfer of this client (all parallel parts). */
  bandwidth?: BandwidthLimits;
  /** Server-side encryption of what this client writes (and, for SSE-C, reads of SSE-C files). */
  encryption?: Encryption;
  /** Told of parts, retries and re-authorizations (a verbose display). */
  onEvent?: TransferEventListener;
}

export interface DownloadResponse {
  status: number;
  headers: Record<string, string | undefined>;
  data: Readable;
}

/** A file by name (its newest version), or one version by id (named too, for messages). */
export type DownloadTarget = {fileName: string} | {fileId: string; fileName: string};

export interface DownloadOptions {
  range?: string;
  method?: 'GET' | 'HEAD';
  signal?: AbortSignal;
  /** Send the profile's SSE-C key (only to a file stored with SSE-C). */
  withKey?: boolean;
}

/** The JSON API version the library speaks; authorization uses v3 to learn the key's expiry. */
const API = '/b2api/v2';

/**
 * The wire: a thin wrapper around the `backblaze-b2` library. Every call runs under the
 * retry policy, with per-call axios options (timeout, User-Agent, abort signal, the
 * library's own axios-retry turned off) because instance settings are module-wide in
 * the library. Upload and download attempts are single-shot here; their callers own
 * the attempt loop (a fresh body and a fresh URL for each).
 */
export class B2Client {
  readonly policy: RetryPolicy;
  private readonly b2: B2;
  private info?: AuthInfo;
  private generation = 0;
  private reauthorizing?: Promise<void>;
  private readonly reauthListeners = new Set<() => void>();
  /** The server's clock minus ours, from the Date of the last sign-in (0 until then or without one). */
  private clockSkewMs = 0;
  /** Tells the observer (if any) what happens; never throws. */
  readonly event: (e: TransferEvent) => void;
  private readonly agents: Agents;

  constructor(private readonly cfg: ClientConfig) {
    this.policy = cfg.retry;
    this.agents = connectTimeoutAgents(cfg.connectTimeoutMs);
    this.event = safeListener(cfg.onEvent);
    this.b2 = new B2({applicationKeyId: cfg.keyId, applicationKey: cfg.applicationKey, retry: {retries: 0}});
  }

  get auth(): AuthInfo {
    if (!this.info) throw new Error('B2Client used before authorize()');
    return this.info;
  }

  /** Now by the server's clock (to the second), as far as the last sign-in's Date header tells. */
  serverNow(): Date {
    return new Date(Date.now() + this.clockSkewMs);
  }

  /** The encryption of what this client writes. */
  get encryption(): Encryption | undefined {
    return this.cfg.encryption;
  }

  get context(): ErrorContext {
    return this.cfg.context;
  }

  /** First sign-in: a 401 here means wrong credentials. */
  async authorize(signal?: AbortSignal): Promise<AuthInfo> {
    await this.signIn('authorize', signal);
    return this.auth;
  }

  /** Called after every re-authorization (upload URL pools drop their tokens). */
  onReauthorized(listener: () => void): () => void {
    this.reauthListeners.add(listener);
    return () => this.reauthListeners.delete(listener);
  }

  private async signIn(phase: 'authorize' | 'reauthorize', signal?: AbortSignal): Promise<void> {
    let sentAt = Date.now();
    const res = await this.policy.run('api', () => {
      sentAt = Date.now();
      return this.b2.authorize({axios: this.axios('api', signal), axiosOverride: {url: `${this.cfg.endpoint}/b2api/v3/b2_authorize_account`}});
    }, {
      signal,
      onRetry: (f, attempt, waitMs) => this.retrying(f, 'b2_authorize_account', undefined, attempt, waitMs),
      fail: (f, attempts, end) => this.fail(f, {call: 'b2_authorize_account', attempts, phase, ...end}),
    });
    const receivedAt = Date.now();
    const info = parseAuthorize(res.data as B2AuthorizeV2 | B2AuthorizeV3);
    // retentions end, and what B2 stored ages, by B2's clock, not this machine's (which may be off, or a test's emulator moved on)
    const serverDate = Date.parse(String((res as {headers?: Record<string, unknown>}).headers?.date ?? ''));
    if (!Number.isNaN(serverDate)) this.clockSkewMs = clockSkewFromDate(serverDate, sentAt, receivedAt);
    // The library saved the token; the URLs of a v3 answer are nested, so set them here.
    this.b2.apiUrl = info.apiUrl;
    this.b2.downloadUrl = info.downloadUrl;
    this.info = info;
    this.cfg.context.allowed = info.allowed;
    // a message quoting a request must not show the token either
    const token = this.b2.authorizationToken;
    if (token && !this.cfg.context.secrets.includes(token)) this.cfg.context.secrets.push(token);
    this.generation++;
  }

  /** Single-flight: every caller that saw the same stale token waits on one sign-in. */
  private async reauthorize(seenGeneration: number, f: Failure): Promise<void> {
    if (seenGeneration !== this.generation) return;
    if (!this.reauthorizing) this.event({kind: 'reauth', reason: this.reason(f)});
    this.reauthorizing ??= this.signIn('reauthorize')
      .then(() => this.reauthListeners.forEach((l) => l()))
      .finally(() => (this.reauthorizing = undefined));
    await this.reauthorizing;
  }

  fail(f: Failure, call: FailedCall): Error {
    return toBackupError(f, call, this.cfg.context);
  }

  /** A failed attempt that will be retried, told to the observer. */
  retrying(f: Failure, call: string, name: string | undefined, attempt: number, waitMs: number): void {
    this.event({kind: 'retry', call, name, attempt, reason: this.reason(f), waitMs});
  }

  /** A failure in a few words for the observer: status, code, message, without any secret. */
  private reason(f: Failure): string {
    return scrub(`${f.status === undefined ? '' : `${f.status} `}${f.code}${f.message && f.message !== f.code ? `: ${f.message}` : ''}`, this.cfg.context.secrets);
  }

  /** Per-call axios options; `api` calls and transfers differ only in their idle timeout. */
  private axios(kind: 'api' | 'transfer', signal?: AbortSignal): Record<string, unknown> {
    return {
      timeout: kind === 'api' ? this.cfg.requestTimeoutMs : this.cfg.transferTimeoutMs,
      headers: {'User-Agent': this.cfg.userAgent},
      signal,
      ...this.agents,
      // B2 never redirects. Without this axios sends through follow-redirects, which keeps
      // every body chunk referenced in case it must resend (a whole part, until the answer)
      // and, under DEBUG, logs each request's headers: the Basic credentials and tokens.
      maxRedirects: 0,
      maxBodyLength: Infinity,
      maxContentLength: Infinity,
      transitional: {clarifyTimeoutError: true},
      // the library's retry is off (retries: 0 at construction); say so per call too,
      // since another `new B2()` elsewhere replaces the module-wide instance
      'axios-retry': {retries: 0},
    };
  }

  private run<T>(kind: CallKind, call: string, name: string | undefined, op: (axios: Record<string, unknown>) => Promise<T>, signal?: AbortSignal, more: Pick<RunHooks, 'progress' | 'refine'> = {}): Promise<T> {
    return this.policy.run(kind, () => op(this.axios(kind === 'api' ? 'api' : 'transfer', signal)), {
      ...more,
      signal,
      generation: () => this.generation,
      reauthorize: (seen, f) => this.reauthorize(seen, f),
      onRetry: (f, attempt, waitMs) => this.retrying(f, call, name, attempt, waitMs),
      fail: (f, attempts, end) => this.fail(f, {call, name, attempts, ...end}),
    });
  }

  private async api<T>(call: string, name: string | undefined, op: (axios: Record<string, unknown>) => Promise<{data: T}>, signal?: AbortSignal, hooks: Pick<RunHooks, 'refine'> = {}): Promise<T> {
    return this.run('api', call, name, async (axios) => (await op(axios)).data, signal, hooks);
  }

  async findBucket(bucketName: string, signal?: AbortSignal): Promise<B2Bucket | undefined> {
    const res = await this.api<{buckets: B2Bucket[]}>('b2_list_buckets', undefined, (axios) => this.b2.getBucket({bucketName, axios}), signal);
    return res.buckets.find((b) => b.bucketName === bucketName);
  }

  getUploadUrl(bucketId: string, signal?: AbortSignal): Promise<B2UploadUrl> {
    return this.api('b2_get_upload_url', undefined, (axios) => this.b2.getUploadUrl({bucketId, axios}), signal);
  }

  /** `name`: the large file's, for messages. */
  getUploadPartUrl(fileId: string, name: string, signal?: AbortSignal): Promise<B2UploadUrl> {
    return this.api('b2_get_upload_part_url', name, (axios) => this.b2.getUploadPartUrl({fileId, axios}), signal);
  }

  /**
   * `findStarted`: after an attempt whose answer was lost (B2 may have made the file), it
   * is asked before the next attempt for the file that attempt made; what it finds is the
   * answer, so that a retry does not leave a second, unfinished file behind.
   */
  startLargeFile(args: {bucketId: string; fileName: string; contentType: string; fileInfo: Record<string, string>; retention?: Retention}, signal?: AbortSignal, findStarted?: () => Promise<B2File | undefined>): Promise<B2File> {
    const {fileInfo, retention, ...rest} = args;
    const serverSideEncryption = encryptionField(this.cfg.encryption);
    const fileRetention = retentionField(retention);
    const data = {fileInfo, ...(serverSideEncryption ? {serverSideEncryption} : {}), ...(fileRetention ? {fileRetention} : {})};
    const lost = lostAnswerWatch();
    const start = async (axios: Record<string, unknown>) => ((lost.seen() && (await findStarted?.())) || (await this.b2.startLargeFile({...rest, axios, axiosOverride: {data}})).data) as B2File;
    return this.run('api', 'b2_start_large_file', args.fileName, start, signal, {refine: lost.refine});
  }

  finishLargeFile(fileId: string, partSha1Array: string[], name: string, signal?: AbortSignal): Promise<B2File> {
    return this.api('b2_finish_large_file', name, (axios) => this.b2.finishLargeFile({fileId, partSha1Array, axios}), signal);
  }

  cancelLargeFile(fileId: string, name?: string, signal?: AbortSignal): Promise<unknown> {
    return this.api('b2_cancel_large_file', name, (axios) => this.b2.cancelLargeFile({fileId, axios}), signal);
  }

  /** Every part of an unfinished large file (pages of 1000). */
  async listAllParts(fileId: string, signal?: AbortSignal): Promise<B2Part[]> {
    const parts: B2Part[] = [];
    for (let start: number | null = 1; start !== null; ) {
      const startPartNumber: number = start;
      const page: B2ListParts = await this.api('b2_list_parts', undefined, (axios) => this.b2.listParts({fileId, startPartNumber, maxPartCount: 1000, axios}), signal);
      parts.push(...page.parts);
      start = page.nextPartNumber;
    }
    return parts;
  }

  /**
   * b2_copy_file, which the library lacks: a server-side copy into `destinationBucketId`,
   * content type and file info kept (metadataDirective COPY), or the ones in `replace`
   * (metadataDirective REPLACE). The copy is encrypted as
   * this client writes; `sourceKey` is the source's SSE-C key when the source is SSE-C.
   */
  copyFile(args: {sourceFileId: string; fileName: string; destinationBucketId: string; sourceKey?: Encryption; retention?: Retention; replace?: {contentType: string; fileInfo: Record<string, string>}}, signal?: AbortSignal, hooks: Pick<RunHooks, 'refine'> = {}): Promise<B2File> {
    const destinationServerSideEncryption = encryptionField(this.cfg.encryption);
    const sourceServerSideEncryption = encryptionField(args.sourceKey);
    const fileRetention = retentionField(args.retention);
    const data = {
      ...(fileRetention ? {fileRetention} : {}),
      sourceFileId: args.sourceFileId,
      fileName: args.fileName,
      destinationBucketId: args.destinationBucketId,
      ...(args.replace ? {metadataDirective: 'REPLACE', contentType: args.replace.contentType, fileInfo: args.replace.fileInfo} : {metadataDirective: 'COPY'}),
      ...(sourceServerSideEncryption ? {sourceServerSideEncryption} : {}),
      ...(destinationServerSideEncryption ? {destinationServerSideEncryption} : {}),
    };
    return this.api('b2_copy_file', args.fileName, (axios) => this.post('b2_copy_file', axios, data), signal, hooks);
  }

  /** b2_copy_part, which the library lacks: bytes `range` of a file as part `partNumber` of an unfinished large file. */
  copyPart(args: {sourceFileId: string; largeFileId: string; partNumber: number; range: {start: number; end: number}; sourceKey?: Encryption}, name: string, signal?: AbortSignal): Promise<B2Part> {
    // B2: the destination's key goes only with a large file started with SSE-C
    const destinationServerSideEncryption = this.cfg.encryption?.mode === 'SSE-C' ? encryptionField(this.cfg.encryption) : undefined;
    const sourceServerSideEncryption = encryptionField(args.sourceKey);
    const data = {
      sourceFileId: args.sourceFileId,
      largeFileId: args.largeFileId,
      partNumber: args.partNumber,
      range: `bytes=${args.range.start}-${args.range.end}`,
      ...(sourceServerSideEncryption ? {sourceServerSideEncryption} : {}),
      ...(destinationServerSideEncryption ? {destinationServerSideEncryption} : {}),
    };
    return this.api('b2_copy_part', name, (axios) => this.post('b2_copy_part', axios, data), signal);
  }

  listFileNames(args: {bucketId: string; prefix: string; startFileName?: string; maxFileCount: number}, signal?: AbortSignal): Promise<B2ListFileNames> {
    return this.api('b2_list_file_names', args.prefix, (axios) => this.b2.listFileNames({...args, axios}), signal);
  }

  listFileVersions(args: {bucketId: string; prefix: string; startFileName?: string; startFileId?: string; maxFileCount: number}, signal?: AbortSignal): Promise<B2ListFileVersions> {
    const {prefix, ...rest} = args;
    // the library does not pass a prefix; a key restricted to a name prefix needs one
    return this.api('b2_list_file_versions', prefix, (axios) => this.b2.listFileVersions({...rest, axios, axiosOverride: {data: {prefix}}}), signal);
  }

  /**
   * b2_list_unfinished_large_files, which the library lacks: the same request path,
   * axios instance and authorization as its own calls.
   */
  listUnfinishedLargeFiles(args: {bucketId: string; namePrefix: string; startFileId?: string; maxFileCount: number}, signal?: AbortSignal): Promise<B2ListUnfinished> {
    return this.api('b2_list_unfinished_large_files', args.namePrefix, (axios) => this.post('b2_list_unfinished_large_files', axios, args), signal);
  }

  getFileInfo(fileId: string, name?: string, signal?: AbortSignal): Promise<B2File> {
    return this.api('b2_get_file_info', name, (axios) => this.b2.getFileInfo({fileId, axios}), signal);
  }

  /**
   * `bypassGovernance`: delete a version under a governance retention (the key needs the
   * capability). Once an attempt's answer was lost, B2 may have carried it out: a retry that
   * then finds the version gone (file_not_present) is answered as this call's delete, not as
   * another command's (the not_found every caller reads as "someone else removed it").
   */
  deleteFileVersion(fileId: string, fileName: string, signal?: AbortSignal, opts: {bypassGovernance?: boolean} = {}): Promise<unknown> {
    const axiosOverride = opts.bypassGovernance ? {data: {bypassGovernance: true}} : {};
    const lost = lostAnswerWatch();
    return this.api('b2_delete_file_version', fileName, (axios) => this.b2.deleteFileVersion({fileId, fileName, axios, axiosOverride}), signal, {refine: lost.refine}).catch((err: unknown) => {
      if (lost.seen() && isBackupError(err, 'not_found')) return undefined;
      throw err;
    });
  }

  /**
   * b2_hide_file: a hide marker becomes the newest version of fileName. `findHidden`, asked
   * before a retry once an answer may have been lost, finds the marker that request may
   * have made (a resend would meet it as already_hidden).
   */
  hideFile(bucketId: string, fileName: string, signal?: AbortSignal, findHidden?: () => Promise<B2File | undefined>): Promise<B2File> {
    const lost = lostAnswerWatch();
    const hide = async (axios: Record<string, unknown>) => ((lost.seen() && (await findHidden?.())) || (await this.post<B2File>('b2_hide_file', axios, {bucketId, fileName})).data);
    return this.run('api', 'b2_hide_file', fileName, hide, signal, {refine: lost.refine});
  }

  /** b2_update_file_retention, which the library lacks (same request path as its own calls). */
  updateFileRetention(args: {fileId: string; fileName: string; retention: Retention; bypassGovernance?: boolean}, signal?: AbortSignal): Promise<unknown> {
    const data = {fileId: args.fileId, fileName: args.fileName, fileRetention: retentionField(args.retention), ...(args.bypassGovernance ? {bypassGovernance: true} : {})};
    return this.api('b2_update_file_retention', args.fileName, (axios) => this.post('b2_update_file_retention', axios, data), signal);
  }

  /** A JSON call the library lacks: its request path, axios instance and authorization. */
  private post<T>(call: string, axios: Record<string, unknown>, data: object): Promise<{data: T}> {
    return b2Request.sendRequest({
      ...axios,
      url: `${this.auth.apiUrl}${API}/${call}`,
      method: 'POST',
      headers: {...(axios.headers as Record<string, string>), Authorization: this.b2.authorizationToken},
      data,
    });
  }

  /**
   * One upload on one pooled URL per attempt, under the upload policy: a failed URL is
   * dropped, the next attempt gets a fresh one and a fresh body. `hooks` lets a large
   * file count only attempts without progress, and look closer at a refused SHA1.
   */
  upload<T>(call: 'b2_upload_file' | 'b2_upload_part', name: string, pool: UploadUrlPool, attempt: (url: B2UploadUrl, axios: Record<string, unknown>) => Promise<T>, signal?: AbortSignal, hooks: Pick<RunHooks, 'progress' | 'refine'> = {}): Promise<T> {
    return this.run('upload', call, name, async (axios) => {
      const url = await pool.acquire(signal);
      const result = await attempt(url, axios); // a URL that failed is not released: dropped
      pool.release(url);
      return result;
    }, signal, hooks);
  }

  /**
   * One b2_upload_file attempt, sent like a part (uploadPartOnce) with the file's name,
   * content type, info (X-Bz-Info-*, values URI-encoded as B2 wants), encryption and
   * retention headers. Answers the stored file and the SHA1 of what was sent.
   */
  async uploadFileOnce(url: B2UploadUrl, axios: Record<string, unknown>, args: {fileName: string; data: BodyData; sha1?: string; expect?: {sha1: string; source: string}; contentType: string; info: Record<string, string>; retention?: Retention; onBytes: (n: number) => void}): Promise<{file: B2File; sha1: string}> {
    const info = Object.fromEntries(Object.entries(args.info).map(([k, v]) => [`X-Bz-Info-${k}`, encodeURIComponent(v)]));
    const {data: file, sha1} = await this.sendUpload<B2File>(url, axios, {
      ...uploadFileHeaders(this.cfg.encryption),
      ...retentionHeaders(args.retention),
      ...info,
      'Content-Type': args.contentType || 'b2/x-auto',
      'X-Bz-File-Name': args.fileName.split('/').map(encodeURIComponent).join('/'),
    }, args);
    return {file, sha1};
  }

  /**
   * One b2_upload_part attempt: the part's bytes written by the uploads' own sender
   * (upload-request.ts, request-body.ts), hashed on the way when their SHA1 is not known.
   * Answers the stored part and the SHA1 of what was sent.
   */
  async uploadPartOnce(url: B2UploadUrl, axios: Record<string, unknown>, args: {partNumber: number; data: BodyData; sha1?: string; onBytes: (n: number) => void}): Promise<{part: B2Part; sha1: string}> {
    const {data: part, sha1} = await this.sendUpload<B2Part>(url, axios, {...keyHeaders(this.cfg.encryption), 'X-Bz-Part-Number': String(args.partNumber)}, args);
    return {part, sha1};
  }

  /**
   * An upload's POST: the body written by the uploads' own sender (upload-request.ts,
   * request-body.ts), hashed on the way when its SHA1 is not known (hex_digits_at_end);
   * the per-call options (User-Agent, idle timeout, abort signal) as every call has them.
   */
  private async sendUpload<T>(url: B2UploadUrl, axios: Record<string, unknown>, headers: Record<string, string>, args: {data: BodyData; sha1?: string; expect?: {sha1: string; source: string}; onBytes: (n: number) => void}): Promise<{data: T; sha1: string}> {
    const signal = axios.signal as AbortSignal | undefined;
    const {data, body: sha1} = await postUpload<T, string>({
      url: url.uploadUrl,
      headers: {
        ...(axios.headers as Record<string, string>),
        ...headers,
        Authorization: url.authorizationToken,
        'Content-Length': String(args.data.length + (args.sha1 ? 0 : HEX_SHA1_LENGTH)),
        'X-Bz-Content-Sha1': args.sha1 ?? HEX_DIGITS_AT_END,
      },
      agents: this.agents,
      timeoutMs: axios.timeout as number,
      signal,
      body: (req) => writeBody(req, args.data, {sha1: args.sha1, expect: args.expect, onBytes: args.onBytes, bucket: this.cfg.bandwidth?.upload, signal}),
    });
    return {data, sha1};
  }

  /** The profile has an SSE-C key, which reads of SSE-C files carry (see FileReads). */
  get hasCustomerKey(): boolean {
    return this.cfg.encryption?.mode === 'SSE-C';
  }

  /**
   * GET or HEAD of a file by name, or of one version by id, retried until the server
   * answers with headers. A download by id names its file too: messages name what the
   * user knows, not the id. `withKey`: the SSE-C key goes with it (a file stored with
   * SSE-C; FileReads decides).
   */
  download(target: DownloadTarget, opts: DownloadOptions): Promise<DownloadResponse> {
    const call = 'fileId' in target ? 'b2_download_file_by_id' : 'b2_download_file_by_name';
    return this.run('download', call, target.fileName, async (axios) => {
      const perCall = {
        axios: {...axios, headers: {...(axios.headers as Record<string, string>), ...(opts.withKey ? keyHeaders(this.cfg.encryption) : {}), ...(opts.range ? {Range: opts.range} : {})}},
        // maxContentLength -1: with a limit (even Infinity) axios re-wraps the body in
        // Readable.from(an async generator), one more layer and buffer for every chunk
        axiosOverride: {method: opts.method ?? 'GET', decompress: false, maxContentLength: -1},
        responseType: 'stream',
      };
      const res = 'fileId' in target
        ? await this.b2.downloadFileById({fileId: target.fileId, ...perCall})
        : await this.b2.downloadFileByName({bucketName: this.cfg.context.bucket, fileName: target.fileName, ...perCall});
      const answer = res as DownloadResponse;
      return answer.data ? {...answer, data: limited(answer.data, this.cfg.bandwidth?.download)} : answer;
    }, opts.signal);
  }
}

export function parseAuthorize(data: B2AuthorizeV2 | B2AuthorizeV3): AuthInfo {
  const expiry = data.applicationKeyExpirationTimestamp;
  const expiresAt = typeof expiry === 'number' ? new Date(expiry) : undefined;
  if ('apiInfo' in data) {
    const s = data.apiInfo.storageApi;
    return {
      accountId: data.accountId,
      apiUrl: s.apiUrl,
      downloadUrl: s.downloadUrl,
      recommendedPartSize: s.recommendedPartSize,
      absoluteMinimumPartSize: s.absoluteMinimumPartSize,
      allowed: {bucketId: s.bucketId ?? null, bucketName: s.bucketName ?? null, capabilities: s.capabilities ?? [], namePrefix: s.namePrefix ?? null},
      expiresAt,
    };
  }
  return {
    accountId: data.accountId,
    apiUrl: data.apiUrl,
    downloadUrl: data.downloadUrl,
    recommendedPartSize: data.recommendedPartSize,
    absoluteMinimumPartSize: data.absoluteMinimumPartSize,
    allowed: data.allowed,
    expiresAt,
  };
}
