/** Public shapes of the emulator's programmatic API, and the records it stores. */

export interface EmulatorOptions {
  port?: number;
  host?: string;
  /** Directory that keeps keys, buckets and files across restarts; default: memory only. */
  dataDir?: string;
  minPartSize?: number;
  recommendedPartSize?: number;
  seed?: number;
  /** Fraction 0..1 of b2_upload_file / b2_upload_part calls answered 503 service_unavailable. */
  failUploads?: number;
  /** Every Nth call authenticated with an account token answers 401 expired_auth_token. */
  expireTokensEvery?: number;
  /**
   * A request whose headers take longer than this, or whose body stops arriving for this
   * long, is answered 408 request_timeout and its connection closed (default 60 000 ms).
   */
  stallTimeoutMs?: number;
  /** The bootstrap key and bucket (generated when not given). */
  bootstrap?: BootstrapOptions;
  /**
   * Test hook: runs as each request arrives (with its API name), before fault rules are
   * decided and before the request is handled, which waits for a returned promise. Crash
   * tests use it to kill a client at an exact request, or to add a fault for that request.
   */
  onRequest?: (call: string) => void | Promise<void>;
  /**
   * Refuse SSE-C key headers on a download (by name or id, GET or HEAD, ranged or not) of
   * a file not stored with SSE-C: 400 bad_request, as S3 servers (AWS S3, MinIO,
   * Cloudian) refuse SSE-C parameters on such an object. Backblaze documents the key
   * headers only for SSE-C files and says nothing of what B2 does with them on another
   * file; off by default (they are ignored), this lets tests prove that a client never
   * depends on B2 ignoring them.
   */
  refuseKeyOnPlainFiles?: boolean;
}

export interface BootstrapOptions {
  keyId?: string;
  applicationKey?: string;
  bucket?: string;
  /** The bucket has Object Lock, as b2_create_bucket's fileLockEnabled gives it. */
  fileLockEnabled?: boolean;
  /**
   * The bucket is one B2 has enabled for default encryption, as every bucket
   * b2_create_bucket makes now: new files get SSE-B2 unless they ask for SSE-C. Without
   * it, the bucket stands for an existing bucket B2 has not migrated yet: no default encryption.
   */
  encryptedByDefault?: boolean;
}

export interface FaultRule {
  /** API name (e.g. 'b2_upload_part'), 'uploads' (upload_file + upload_part) or '*'. */
  call: string;
  /** Answer the next N matching requests (default: unlimited while `rate` applies). */
  count?: number;
  /** Seeded fraction 0..1 of matching requests (default 1). */
  rate?: number;
  status?: number;
  code?: string;
  message?: string;
  retryAfter?: number;
  /** Destroy the connection after this many request body bytes arrived (a cut mid-request). */
  cutRequestAfterBytes?: number;
  /** Destroy the connection after this many response body bytes were sent (a cut mid-response). */
  cutResponseAfterBytes?: number;
  /** Wait this long before the call is carried out; a client that leaves meanwhile ends it, and it is not carried out. */
  latencyMs?: number;
  /**
   * Carry the call out, then hold its answer this long: a client that leaves meanwhile
   * never gets it (B2 acted, the answer was lost), e.g. a stop that lands as B2 finishes.
   */
  answerLatencyMs?: number;
  bytesPerSecond?: number;
  /** Expire the request's authorization token and answer 401 expired_auth_token (the client must re-authorize). */
  expireToken?: boolean;
  /**
   * Flip one byte of the request body in flight (at a seeded offset): the server receives
   * other bytes than were sent, so a body sent with its SHA1 is refused 400 bad_request.
   */
  corruptRequestBody?: boolean;
  /** Replace these fields of a successful JSON answer: a server or proxy that misreports what it did. */
  answerFields?: Record<string, unknown>;
  /**
   * Answer a ranged download from this many bytes after the byte asked for, saying so in
   * Content-Range: a cache or proxy in front of B2 that serves another range than was
   * asked (a test facility, not B2 behaviour).
   */
  shiftRangeBytes?: number;
}

/**
 * The fault kinds counted in `stats().faults`: `http_<status>` for injected error answers
 * (rules, --fail-uploads, test modes), and the others by name.
 */
export type FaultKind = `http_${number}` | 'expire_token' | 'cut_request' | 'cut_response' | 'latency' | 'throttle' | 'corrupt_body' | 'answer_fields' | 'shift_range';

export interface EmulatorStats {
  calls: Record<string, number>;
  transactions: {A: number; B: number; C: number};
  bytesIn: number;
  bytesOut: number;
  touchedNames: Record<string, string[]>;
  errors: Record<string, number>;
  /** Faults actually injected, by kind (a cut or corruption counts once it happened). */
  faults: Partial<Record<FaultKind, number>>;
}

export interface CreateKeyOptions {
  capabilities: string[];
  bucketName?: string;
  namePrefix?: string;
  validDurationSeconds?: number;
  keyName?: string;
}

export interface SeedFile {
  fileName: string;
  data: Buffer;
  contentType?: string;
  fileInfo?: Record<string, string>;
  /**
   * Stored as a finished large file of parts this big (the last one smaller), as
   * b2_finish_large_file leaves it: contentSha1 "none" (give large_file_sha1 in fileInfo).
   */
  partSize?: number;
}

export interface RunningEmulator {
  /** 'http://127.0.0.1:PORT': the API realm; clients authorize at `${url}/b2api/vN/b2_authorize_account`. */
  url: string;
  keyId: string;
  applicationKey: string;
  bucket: string;
  bucketId: string;
  createKey(o: CreateKeyOptions): Promise<{keyId: string; applicationKey: string}>;
  deleteKey(keyId: string): Promise<void>;
  /** A private bucket made without HTTP; like the bootstrap bucket, one B2 has not enabled for default encryption. */
  createBucket(name: string): Promise<{bucketId: string; bucketName: string}>;
  faults: {
    add(rule: FaultRule): void;
    clear(): void;
    expireAllTokens(): void;
  };
  stats(): EmulatorStats;
  resetStats(): void;
  /**
   * The emulator's clock: tests move it forward (past a retention date, a token's 24 hours,
   * a key's expiry) instead of sleeping. Every timestamp, expiry and Date header follows it;
   * advance() refuses a negative or non-finite ms.
   */
  clock: {advance(ms: number): void; now(): number};
  /**
   * Stores files directly, without HTTP or billing (cheap setup of large catalogs and
   * large archives for tests and benchmarks); each becomes the newest version of its name.
   */
  putFiles(bucketName: string, files: SeedFile[]): Promise<void>;
  /** Flips a byte of the newest version's stored data, keeping its SHA1 (checksum-mismatch tests). */
  corrupt(bucketName: string, fileName: string): Promise<void>;
  stop(): Promise<void>;
}

// ---- stored records ----

export interface KeyRecord {
  keyId: string;
  /** sha256 of the application key: the secret itself is never stored. */
  secretHash: string;
  keyName: string;
  capabilities: string[];
  bucketId: string | null;
  namePrefix: string | null;
  expirationTimestamp: number | null;
}

export interface BucketRecord {
  bucketId: string;
  bucketName: string;
  bucketType: string;
  bucketInfo: Record<string, string>;
  lifecycleRules: unknown[];
  corsRules: unknown[];
  revision: number;
  /** SSE-B2 for new files that ask for nothing; absent or mode null: the default `encryptedByDefault` gives. */
  defaultServerSideEncryption?: {mode: string | null; algorithm?: string};
  /**
   * B2 has enabled default encryption for the bucket (every bucket b2_create_bucket makes
   * now; existing ones as B2 migrates them): with no mode set, new files get SSE-B2.
   * Absent: a bucket not migrated yet, whose files stay unencrypted unless asked. Never turned off.
   */
  encryptedByDefault?: boolean;
  /** Object Lock: once enabled, never disabled. */
  fileLockEnabled?: boolean;
  defaultRetention?: {mode: 'governance' | 'compliance' | null; period: {duration: number; unit: 'days' | 'years'} | null};
}

/** A stored run of bytes; a file's data is one segment, a large file's one per part. */
export interface Segment {
  ref: string;
  size: number;
}

export interface PartRecord {
  partNumber: number;
  contentLength: number;
  contentSha1: string;
  uploadTimestamp: number;
  ref: string;
}

export type FileAction = 'upload' | 'hide' | 'start';

export interface FileRecord {
  fileId: string;
  bucketId: string;
  fileName: string;
  action: FileAction;
  contentLength: number;
  /** 40 hex, 'unverified:<hex>', or 'none' for large files and hide markers. */
  contentSha1: string;
  contentType: string;
  fileInfo: Record<string, string>;
  uploadTimestamp: number;
  /** SSE-B2 or SSE-C (of which only the key's MD5 is kept), or none. */
  serverSideEncryption: {mode: string | null; algorithm?: string; customerKeyMd5?: string};
  segments: Segment[];
  /** Object Lock retention (absent: none) and legal hold. */
  fileRetention?: {mode: 'governance' | 'compliance' | null; retainUntilTimestamp: number | null};
  legalHold?: 'on' | 'off';
  /** Unfinished large files only: uploaded parts by number. */
  parts?: Record<string, PartRecord>;
}

export interface TokenRecord {
  kind: 'account' | 'upload' | 'part' | 'download';
  keyId: string;
  issuedAt: number;
  expiresAt: number;
  expired?: boolean;
  /** upload: the bucket; part: the large file; download: the bucket. */
  target?: string;
  /** download tokens: names they may read. */
  fileNamePrefix?: string;
}
