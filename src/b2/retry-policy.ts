import {setTimeout as delay} from 'node:timers/promises';
import {abortError} from '../errors.js';
import {CAP_CODES, TOKEN_CODES} from './errors.js';
import {toFailure, type Failure} from './failure.js';

/**
 * The retry and authorization policy, in one place (Backblaze's integration
 * checklist): expired tokens re-authorize once, single-flight; busy servers and broken
 * connections back off exponentially with jitter, honouring Retry-After; uploads never
 * retry on the URL that failed (the caller drops it) and try at least five URLs; caps
 * and permissions stop at once.
 */
export interface RetryOptions {
  /** Attempts per call, the first included. Uploads always get at least MIN_UPLOAD_URLS. */
  maxAttempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
  /** Injectable so tests observe the delays instead of sleeping them. */
  sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** 0..1; injectable for deterministic tests. */
  random: () => number;
}

/** Backblaze: try at least five upload URLs before giving up. */
export const MIN_UPLOAD_URLS = 5;

export const DEFAULT_RETRY: RetryOptions = {
  maxAttempts: 8,
  baseDelayMs: 1000,
  maxDelayMs: 64_000,
  sleep: (ms, signal) => delay(ms, undefined, {signal}).catch(() => undefined),
  random: Math.random,
};

/** api: JSON calls; upload: one upload attempt on one upload URL; download: a GET/HEAD. */
export type CallKind = 'api' | 'upload' | 'download';
export type Decision = 'reauthorize' | 'retry' | 'fatal';

export function shouldRetry(f: Failure, kind: CallKind): Decision {
  if (f.code === 'aborted' || f.error) return 'fatal';
  if (f.status === 403 && CAP_CODES.has(f.code)) return 'fatal';
  if (f.status === 401 && TOKEN_CODES.has(f.code)) return kind === 'upload' ? 'retry' : 'reauthorize';
  if (f.status === 408 || f.status === 429 || (f.status !== undefined && f.status >= 500)) return 'retry';
  if (f.code === 'network' || f.code === 'timeout') return 'retry';
  if (kind === 'upload') {
    // A busy upload token, or bytes that arrived damaged: a fresh URL and a re-read of the data.
    if (f.code === 'auth_token_limit' || f.code === 'bad_answer') return 'retry';
    if (f.status === 400 && /sha1 did not match/i.test(f.message)) return 'retry';
  }
  return 'fatal';
}

/** Full backoff for the n-th failure (1-based): Retry-After when given, else exponential with jitter. */
export function backoffMs(failureCount: number, f: Failure, o: Pick<RetryOptions, 'baseDelayMs' | 'maxDelayMs' | 'random'>): number {
  if (f.retryAfterMs !== undefined) return f.retryAfterMs;
  // a stale or busy upload token needs a fresh URL, not a pause
  if ((f.status === 401 && TOKEN_CODES.has(f.code)) || f.code === 'auth_token_limit') return 0;
  if (f.status === 429) return o.baseDelayMs; // B2: no Retry-After means one second
  const ceiling = Math.min(o.maxDelayMs, o.baseDelayMs * 2 ** (failureCount - 1));
  return Math.round(ceiling / 2 + (ceiling / 2) * o.random());
}

export interface RunHooks {
  signal?: AbortSignal;
  /** Auth generation seen before an attempt, so that one re-authorization serves every waiter. */
  generation?: () => number;
  reauthorize?: (seenGeneration: number) => Promise<void>;
  /** Turns the final failure into the user's error. */
  fail: (f: Failure, attempts: number) => Error;
}

export class RetryPolicy {
  readonly options: RetryOptions;

  constructor(options: Partial<RetryOptions> = {}) {
    this.options = {...DEFAULT_RETRY, ...options};
    if (!(this.options.maxAttempts >= 1)) throw new RangeError('retry.maxAttempts must be at least 1');
  }

  attemptsFor(kind: CallKind): number {
    return kind === 'upload' ? Math.max(this.options.maxAttempts, MIN_UPLOAD_URLS) : this.options.maxAttempts;
  }

  async run<T>(kind: CallKind, op: (attempt: number) => Promise<T>, hooks: RunHooks): Promise<T> {
    const max = this.attemptsFor(kind);
    let failures = 0;
    for (let attempt = 1; ; attempt++) {
      if (hooks.signal?.aborted) throw abortError(hooks.signal);
      const generation = hooks.generation?.() ?? 0;
      try {
        return await op(attempt);
      } catch (err) {
        if (hooks.signal?.aborted) throw abortError(hooks.signal);
        const f = await toFailure(err);
        const decision = shouldRetry(f, kind);
        if (decision === 'fatal' || attempt >= max) throw f.error ?? hooks.fail(f, attempt);
        if (decision === 'reauthorize' && hooks.reauthorize) {
          await hooks.reauthorize(generation);
          continue;
        }
        failures++;
        const wait = backoffMs(failures, f, this.options);
        if (wait > 0) await this.options.sleep(wait, hooks.signal);
      }
    }
  }
}
