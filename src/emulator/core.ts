import {timingSafeEqual} from 'node:crypto';
import {BlobStore} from './blob-store.js';
import {EmulatorClock} from './clock.js';
import {B2ApiError, badRequest, unauthorized} from './b2-error.js';
import {TOKEN_LIFETIME_MS} from './constants.js';
import {RequestContext} from './context.js';
import {FaultEngine} from './faults.js';
import {SeededRandom} from './rng.js';
import {EmulatorState, hashSecret} from './state.js';
import {StatsCollector} from './stats.js';
import {BucketRecord, FileRecord, KeyRecord, TokenRecord} from './types.js';

export interface CoreSettings {
  baseUrl: string;
  minPartSize: number;
  recommendedPartSize: number;
  expireTokensEvery?: number;
  onRequest?: (call: string) => void | Promise<void>;
  stallTimeoutMs: number;
  /** EmulatorOptions.refuseKeyOnPlainFiles. */
  refuseKeyOnPlainFiles: boolean;
}

const EXPIRE_SOME_TOKENS_RATE = 0.25;

/**
 * The emulator's shared machinery that handlers use: state, blobs, stats, faults, and
 * the token, capability and restriction checks every call makes the same way.
 */
export class EmulatorCore {
  /** Upload tokens with an upload in progress (B2 allows one at a time per token). */
  readonly busyUploadTokens = new Set<string>();
  private authenticatedCalls = 0;

  constructor(
    readonly state: EmulatorState,
    readonly blobs: BlobStore,
    readonly stats: StatsCollector,
    readonly faults: FaultEngine,
    readonly random: SeededRandom,
    readonly settings: CoreSettings,
    readonly clock: EmulatorClock,
  ) {}

  /** The emulator's time, in ms since the epoch (see EmulatorClock). */
  now(): number {
    return this.clock.now();
  }

  get accountId(): string {
    return this.state.accountId;
  }

  // ---- keys and tokens ----

  /** The key behind Basic credentials, or 401 unauthorized. */
  checkCredentials(keyId: string, secret: string): KeyRecord {
    const key = this.state.keys.get(keyId);
    const given = Buffer.from(hashSecret(secret), 'hex');
    const ok = key !== undefined && timingSafeEqual(given, Buffer.from(key.secretHash, 'hex'));
    if (!key || !ok) throw unauthorized('invalid application key id or application key');
    if (key.expirationTimestamp !== null && key.expirationTimestamp <= this.now()) {
      throw unauthorized('application key has expired');
    }
    return key;
  }

  issueToken(kind: TokenRecord['kind'], key: KeyRecord, extra: Partial<TokenRecord> = {}, lifetimeMs = TOKEN_LIFETIME_MS): string {
    const now = this.now();
    let expiresAt = now + lifetimeMs;
    if (key.expirationTimestamp !== null) expiresAt = Math.min(expiresAt, key.expirationTimestamp);
    const token = this.state.newToken(kind === 'account' ? '4_002' : kind === 'download' ? '3_002' : '2_002');
    // kept by hash, as keys are: the data dir (the embedded store's included) never holds a usable token
    this.state.putToken(hashSecret(token), {kind, keyId: key.keyId, issuedAt: now, expiresAt, ...extra});
    return token;
  }

  /**
   * Resolves the Authorization token of a request to its record and key. Account
   * tokens also take the test modes and --expire-tokens-every into account.
   */
  authenticate(ctx: RequestContext, kinds: Array<TokenRecord['kind']>, token = ctx.header('authorization')): {token: string; record: TokenRecord; key: KeyRecord} {
    if (!token) throw new B2ApiError(401, 'missing_auth_token', 'authorization token is missing');
    const record = this.state.tokens.get(hashSecret(token));
    if (!record || !kinds.includes(record.kind)) throw new B2ApiError(401, 'bad_auth_token', 'invalid authorization token');
    const key = this.state.keys.get(record.keyId);
    if (!key) throw new B2ApiError(401, 'bad_auth_token', 'invalid authorization token (its key was deleted)');
    if (record.expired || record.expiresAt <= this.now()) throw expired();
    ctx.key = key;
    if (record.kind === 'account') this.maybeExpire(ctx, token);
    return {token, record, key};
  }

  private maybeExpire(ctx: RequestContext, token: string): void {
    this.authenticatedCalls += 1;
    const every = this.settings.expireTokensEvery;
    const byCount = every !== undefined && every > 0 && this.authenticatedCalls % every === 0;
    const byTestMode = ctx.testModes().has('expire_some_account_authorization_tokens') && this.random.chance(EXPIRE_SOME_TOKENS_RATE);
    if (byCount || byTestMode) {
      this.stats.fault('expire_token');
      this.expireToken(token);
      throw expired();
    }
  }

  /** Marks a token (of any kind) expired: every later use answers 401 expired_auth_token. */
  expireToken(token: string | undefined): void {
    const id = token === undefined ? undefined : hashSecret(token);
    const record = id === undefined ? undefined : this.state.tokens.get(id);
    if (!record || !id) return;
    record.expired = true;
    this.state.changed('token', id);
  }

  expireAllTokens(): void {
    for (const [token, record] of this.state.tokens) {
      if (record.kind !== 'account') continue;
      record.expired = true;
      this.state.changed('token', token);
    }
  }

  /**
   * Commits a change that records new blobs. If it cannot be stored, the blobs no record
   * names are removed now, not left for the next start's clean-up (on a full disk too).
   */
  async commitWithBlobs(refs: string[]): Promise<void> {
    try {
      await this.state.commit();
    } catch (e) {
      for (const ref of refs) if (!this.state.refersTo(ref)) await this.blobs.remove(ref);
      throw e;
    }
  }

  // ---- checks ----

  requireCapability(key: KeyRecord, capability: string): void {
    if (!key.capabilities.includes(capability)) throw unauthorized(`application key does not have the ${capability} capability`);
  }

  /** The bucket a key may use: 401 if the key is restricted elsewhere, 400 if it does not exist. */
  allowedBucket(key: KeyRecord, bucketId: string): BucketRecord {
    if (key.bucketId !== null && key.bucketId !== bucketId) throw unauthorized('application key is restricted to another bucket');
    if (!/^[0-9a-f]{24}$/.test(bucketId)) throw badRequest(`invalid bucketId: ${bucketId}`, 'invalid_bucket_id');
    const bucket = this.state.buckets.get(bucketId);
    if (!bucket) throw badRequest(`bucket does not exist: ${bucketId}`, 'bad_bucket_id');
    return bucket;
  }

  /** A file name (or list prefix) must start with the key's namePrefix. Records the attempt in touchedNames. */
  allowedName(key: KeyRecord, name: string): void {
    this.stats.touch(key.keyId, name);
    if (key.namePrefix !== null && !name.startsWith(key.namePrefix)) {
      throw unauthorized(`application key is restricted to names starting with "${key.namePrefix}"`);
    }
  }

  /** A file a key may touch: its bucket and name must be within the key's restrictions. */
  allowedFile(key: KeyRecord, file: FileRecord): void {
    this.allowedName(key, file.fileName);
    if (key.bucketId !== null && key.bucketId !== file.bucketId) throw unauthorized('application key is restricted to another bucket');
  }

  /** Clients may name the account in a call; a different account is not theirs. */
  checkAccountId(params: Record<string, unknown>): void {
    const accountId = params.accountId;
    if (accountId !== undefined && accountId !== null && accountId !== this.accountId) {
      throw unauthorized('accountId does not match the authorization token');
    }
  }

  touch(ctx: RequestContext, name: string): void {
    if (ctx.key) this.stats.touch(ctx.key.keyId, name);
  }
}

export function expired(): B2ApiError {
  return new B2ApiError(401, 'expired_auth_token', 'authorization token has expired');
}
