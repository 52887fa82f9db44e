import {readFileSync} from 'node:fs';
import {dirname, join} from 'node:path';
import {fileURLToPath} from 'node:url';
import {BackupError} from '../errors.js';
import {nameProblem} from '../keys.js';
import {DEFAULT_CONCURRENCY, DEFAULT_ENDPOINT, EMBEDDED_ENDPOINT, customerKeyProblem, type Encryption, type ResolvedProfile} from '../profiles/types.js';
import {LIST_PAGE_SIZE} from './lister.js';
import {MAX_COPY_FILE, MAX_PART_SIZE, MAX_SINGLE_UPLOAD} from './part-plan.js';
import type {RetryOptions} from './retry-policy.js';
import type {Clock} from '../token-bucket.js';
import type {TransferEventListener} from './events.js';
import {DEFAULT_CONNECT_TIMEOUT_MS} from './connect-timeout.js';

export interface B2BackendOptions {
  keyId: string;
  applicationKey: string;
  bucket: string;
  /** '' or a name prefix; every key lives under it. A "/" is added if it does not end in one. */
  prefix?: string;
  /** Realm URL; default production. 'embedded' must be resolved to a running emulator's URL first. */
  endpoint?: string;
  /** Bytes per part; default the server's recommendedPartSize. */
  partSize?: number;
  /** Parts in flight per upload; default 4. */
  concurrency?: number;
  /**
   * Largest single-request upload; default 200 MB, or the part size when one is set: a
   * profile that asks for 5 MB parts wants a 150 MB backup in parallel, resumable parts.
   */
  uploadCutoff?: number;
  /**
   * Largest object copied server-side with one b2_copy_file (B2 allows 5 GB); larger ones
   * are copied as parts (b2_copy_part) of `partSize`, which resume. Default 5 GB, or the
   * part size when one is set, as for uploadCutoff.
   */
  copyCutoff?: number;
  /** Bytes per Range request of a parallel download (default: 8 MiB to a stream, 32 MiB to a file); smaller files take one request. */
  downloadRangeSize?: number;
  /** A stream download whose first range arrives at least this fast (bytes/s) takes the rest as one stream; default 160 MiB/s. */
  fastStreamRate?: number;
  /**
   * ...or arrives at least this fast (bytes/s) while it kept this thread busy: this process,
   * not the network, was the limit, and more streams are not received faster; default 32 MiB/s.
   */
  busyStreamRate?: number;
  /** Names per b2_list_file_names call (1..10000); default 10000, B2's largest page: one round trip per 10,000 names. */
  listPageSize?: number;
  requestTimeoutMs?: number;
  stallTimeoutMs?: number;
  /** How long making a connection may take; default 4 s (an endpoint that drops packets fails in about 10 s). */
  connectTimeoutMs?: number;
  retry?: Partial<RetryOptions>;
  /** Names the profile in messages ("<cli> profile update NAME …"). */
  profileName?: string;
  /** How messages tell the user to put in another key (default: profileCommand with the key flags). */
  keyFix?: string;
  /** The command that changes this profile's settings, for fixes (default: "<cli> profile update NAME"; a profile not saved yet is changed by adding it again; null: no saved profile, the fields were handed in). */
  profileCommand?: string | null;
  /** The command prefix fix hints name ("backup-b2 b2" by default, "<host> b2" inside a host; see commandHint). */
  cli?: string;
  /** The flags a fix hint adds to choose this location again ("--profile home"; see locationFlags); none: a host's fields. */
  locationFlags?: string;
  /**
   * How a hint says to remove a leftover here when "<cli> cleanup <locationFlags>" would
   * not reach it (a move's destination: the profile names it only once the move is saved);
   * it is followed by "to remove it". Default: run that cleanup.
   */
  cleanupFix?: string;
  /** How messages name the endpoint instead of its host ("embedded": the embedded store's port is random). */
  endpointName?: string;
  userAgent?: string;
  /** Bytes per second, shared by all parallel parts of this backend; undefined: unlimited. */
  bandwidth?: {upload?: number; download?: number};
  /** The bandwidth limiter's clock (tests move it by hand). */
  clock?: Clock;
  /** Server-side encryption of uploads; SSE-C's key is also sent with every read. */
  encryption?: Encryption;
  /** Uploads will ask for Object Lock retentions: check() verifies the bucket and key can give them. */
  lockUploads?: boolean;
  /** Told of each part started and finished, each retry (reason and wait) and each re-authorization. */
  onEvent?: TransferEventListener;
}

/** A ResolvedProfile works as options as it is (its `name` is the profile name). */
export type B2BackendInput = B2BackendOptions | (ResolvedProfile & Partial<B2BackendOptions>);

export const DEFAULT_UPLOAD_CUTOFF = 200_000_000;
export const DEFAULT_REQUEST_TIMEOUT_MS = 60_000;
export const DEFAULT_STALL_TIMEOUT_MS = 120_000;
export const MAX_CONCURRENCY = 64;

type OptionalSettings = 'partSize' | 'profileName' | 'retry' | 'bandwidth' | 'clock' | 'keyFix' | 'profileCommand' | 'cli' | 'locationFlags' | 'cleanupFix' | 'endpointName' | 'downloadRangeSize' | 'fastStreamRate' | 'busyStreamRate' | 'encryption' | 'onEvent' | 'lockUploads';
export type ResolvedOptions = Required<Omit<B2BackendOptions, OptionalSettings>> & Pick<B2BackendOptions, OptionalSettings>;

/** Validates everything up front, so a bad setting fails before any request with one clear line. */
export function resolveOptions(input: B2BackendInput): ResolvedOptions {
  const profileName = input.profileName ?? ('name' in input ? input.name : undefined);
  const where = profileName ? ` in profile ${profileName}` : '';
  const bad = (field: string, problem: string, expected: string) => new BackupError('bad_input', `${field}${where} ${problem}; expected ${expected}`);
  for (const field of ['keyId', 'applicationKey', 'bucket'] as const) {
    if (typeof input[field] !== 'string' || input[field].trim() === '') throw bad(field, 'is missing', field === 'bucket' ? 'a bucket name' : 'a non-empty string');
  }
  // a prefix is a folder: "backups" must not also cover "backups-old/…" (profiles store it so already)
  const given = input.prefix ?? '';
  const prefix = typeof given !== 'string' || given === '' || given.endsWith('/') ? given : `${given}/`;
  const prefixProblem = prefix === '' ? undefined : nameProblem(prefix, 'prefix');
  if (prefixProblem) throw bad('prefix', `${JSON.stringify(prefix)} is unusable: ${prefixProblem}`, 'a name prefix such as "backups/"');
  const endpoint = (input.endpoint ?? DEFAULT_ENDPOINT).replace(/\/+$/, '');
  if (endpoint === EMBEDDED_ENDPOINT) throw bad('endpoint', 'is "embedded" but no embedded emulator was started for it', 'the URL of a running emulator');
  if (!/^https?:\/\/[^/]+/.test(endpoint)) throw bad('endpoint', `${JSON.stringify(endpoint)} is not a URL`, 'an https:// or http:// URL');
  const int = (field: string, value: number | undefined, min: number, max: number, fallback: number) => {
    if (value === undefined) return fallback;
    if (!Number.isInteger(value) || value < min || value > max) throw bad(field, `is ${value}`, `an integer ${min}..${max}`);
    return value;
  };
  const partSize = input.partSize === undefined ? undefined : int('partSize', input.partSize, 1, MAX_PART_SIZE, 0);
  const rate = (way: 'upload' | 'download') => {
    const value = input.bandwidth?.[way];
    return value === undefined ? undefined : int(`bandwidth.${way}`, value, 1, Number.MAX_SAFE_INTEGER, 0);
  };
  return {
    keyId: input.keyId.trim(),
    applicationKey: input.applicationKey,
    bucket: input.bucket,
    prefix,
    endpoint,
    partSize,
    concurrency: int('concurrency', input.concurrency, 1, MAX_CONCURRENCY, DEFAULT_CONCURRENCY),
    uploadCutoff: int('uploadCutoff', input.uploadCutoff, 1, MAX_SINGLE_UPLOAD, Math.min(DEFAULT_UPLOAD_CUTOFF, partSize ?? DEFAULT_UPLOAD_CUTOFF)),
    copyCutoff: int('copyCutoff', input.copyCutoff, 1, MAX_COPY_FILE, Math.min(MAX_COPY_FILE, partSize ?? MAX_COPY_FILE)),
    downloadRangeSize: input.downloadRangeSize === undefined ? undefined : int('downloadRangeSize', input.downloadRangeSize, 1, MAX_PART_SIZE, 0),
    fastStreamRate: input.fastStreamRate === undefined ? undefined : int('fastStreamRate', input.fastStreamRate, 0, Number.MAX_SAFE_INTEGER, 0),
    busyStreamRate: input.busyStreamRate === undefined ? undefined : int('busyStreamRate', input.busyStreamRate, 0, Number.MAX_SAFE_INTEGER, 0),
    listPageSize: int('listPageSize', input.listPageSize, 1, LIST_PAGE_SIZE, LIST_PAGE_SIZE),
    requestTimeoutMs: int('requestTimeoutMs', input.requestTimeoutMs, 1, 3_600_000, DEFAULT_REQUEST_TIMEOUT_MS),
    stallTimeoutMs: int('stallTimeoutMs', input.stallTimeoutMs, 1, 3_600_000, DEFAULT_STALL_TIMEOUT_MS),
    connectTimeoutMs: int('connectTimeoutMs', input.connectTimeoutMs, 1, 600_000, DEFAULT_CONNECT_TIMEOUT_MS),
    retry: input.retry,
    bandwidth: {upload: rate('upload'), download: rate('download')},
    clock: input.clock,
    encryption: checkedEncryption(input.encryption, bad),
    lockUploads: input.lockUploads === true,
    profileName,
    keyFix: input.keyFix,
    profileCommand: input.profileCommand,
    cli: input.cli,
    locationFlags: input.locationFlags,
    cleanupFix: input.cleanupFix,
    endpointName: input.endpointName,
    onEvent: input.onEvent,
    userAgent: input.userAgent ?? `backup-plugin-b2/${packageVersion()}`,
  };
}

function checkedEncryption(e: Encryption | undefined, bad: (field: string, problem: string, expected: string) => BackupError): Encryption | undefined {
  if (e === undefined) return undefined;
  if (e.mode === 'SSE-B2') return e;
  // never quote the key: the problem says what is wrong with it, not what it is
  const problem = e.mode === 'SSE-C' ? customerKeyProblem(e.key) : 'is not SSE-B2 or SSE-C';
  if (problem) throw bad('encryption', problem, 'SSE-B2, or SSE-C with a 256-bit base64 key');
  return e;
}

let version: string | undefined;

/** This package's version, found from the module's own location (works from src/ and dist/src/). */
export function packageVersion(): string {
  if (version) return version;
  version = '0.0.0';
  try {
    for (let dir = dirname(fileURLToPath(import.meta.url)), i = 0; i < 5; dir = dirname(dir), i++) {
      try {
        const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as {name?: string; version?: string};
        if (pkg.name === 'backup-plugin-b2' && pkg.version) return (version = pkg.version);
      } catch {
        // not here; look one level up
      }
    }
  } catch {
    // no file URL (bundled); keep the fallback
  }
  return version;
}
