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
  /** The longest Retry-After waited (B2 asked it of us); a longer one ends the call, saying so. */
  maxRetryAfterMs: number;
  /** Injectable so tests observe the delays instead of sleeping them. */
  sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** 0..1; injectable for deterministic tests. */
  random: () => number;
}

/** Backblaze: try at least five upload URLs before giving up. */
export const MIN_UPLOAD_URLS = 5;

/**
 * Attempts while no connection to the server has ever worked: a wrong endpoint, a host
 * that does not resolve or a port that refuses fails in about 10 s (backoff 1 + 2 + 4 s),
 * instead of the full policy meant for a network that dropped out under a working upload.
 */
export const UNREACHED_ATTEMPTS = 4;

/**
 * The same while each attempt timed out connecting (a host that drops packets): each
 * already waited the connect timeout, so two attempts without backoff take about 10 s.
 */
export const UNREACHED_TIMEOUT_ATTEMPTS = 2;

export const DEFAULT_RETRY: RetryOptions = {
  maxAttempts: 8,
  baseDelayMs: 1000,
  maxDelayMs: 64_000,
  maxRetryAfterMs: 300_000,
  sleep: (ms, signal) => delay(ms, undefined, {signal}).catch(() => undefined),
  random: Math.random,
};

/** api: JSON calls; upload: one upload attempt on one upload URL; download: a GET/HEAD. */
export type CallKind = 'api' | 'upload' | 'download';
export type Decision = 'reauthorize' | 'retry' | 'fatal';

/** A 401 about the token, or a 401 without a body (a HEAD answer cannot carry B2's error code). */
function staleToken(f: Failure): boolean {
  return f.status === 401 && (TOKEN_CODES.has(f.code) || f.code === 'http_401');
}

/** What to do after one failed attempt: the one decision every call goes through. */
export function shouldRetry(f: Failure, kind: CallKind): Decision {
  if (f.code === 'aborted' || f.error) return 'fatal';
  if (f.status === 403 && CAP_CODES.has(f.code)) return 'fatal';
  // an upload token is the upload URL's own: a fresh URL, not a new sign-in
  if (staleToken(f)) return kind === 'upload' ? 'retry' : 'reauthorize';
  if (f.status === 408 || f.status === 429 || (f.status !== undefined && f.status >= 500)) return 'retry';
  // a download answered with other bytes than asked (a cache or proxy in front of B2): ask again
  if (f.code === 'network' || f.code === 'timeout' || f.code === 'wrong_range') return 'retry';
  if (kind === 'upload') {
    // A busy upload token, or bytes that arrived damaged: a fresh URL and a re-read of the data.
    if (f.code === 'auth_token_limit' || f.code === 'bad_answer') return 'retry';
    if (f.status === 400 && SHA1_MISMATCH.test(f.message)) return 'retry';
  }
  return 'fatal';
}

/** B2's answer when the bytes it received do not have the SHA1 they were sent with. */
export const SHA1_MISMATCH = /sha1 did not match/i;

/**
 * Full backoff for the n-th failure (1-based): Retry-After when given, all of it (B2: the
 * seconds to wait before asking again; run() ends the call when that is more than
 * maxRetryAfterMs), else exponential with jitter.
 */
export function backoffMs(failureCount: number, f: Failure, o: Pick<RetryOptions, 'baseDelayMs' | 'maxDelayMs' | 'random'>): number {
  if (f.retryAfterMs !== undefined) return f.retryAfterMs;
  // a stale or busy upload token needs a fresh URL, not a pause
  if (staleToken(f) || f.code === 'auth_token_limit') return 0;
  if (f.status === 429) return o.baseDelayMs; // B2: no Retry-After means one second
  const ceiling = Math.min(o.maxDelayMs, o.baseDelayMs * 2 ** (failureCount - 1));
  return Math.round(ceiling / 2 + (ceiling / 2) * o.random());
}

/** How a call ended after its last attempt, for the error message. */
export interface GiveUp {
  /** It failed on a condition that may pass (busy server, broken network) after every retry. */
  transient: boolean;
  /** No connection to the server has worked yet in this client: likely a wrong endpoint. */
  unreached: boolean;
  /** B2's Retry-After asked for a longer wait than the policy's longest (maxRetryAfterMs), which is given too. */
  waitAsked?: {retryAfterMs: number; maxRetryAfterMs: number};
}

export interface RunHooks {
  signal?: AbortSignal;
  /** Auth generation seen before an attempt, so that one re-authorization serves every waiter. */
  generation?: () => number;
  reauthorize?: (seenGeneration: number, f: Failure) => Promise<void>;
  /** Told of each failed attempt that will be retried, and how long the wait before the next one is (for -v). */
  onRetry?: (f: Failure, attempt: number, waitMs: number) => void;
  /**
   * A counter that grows while the work this call belongs to moves on (a large file's
   * confirmed parts): the retry budget counts only attempts that failed without progress.
   */
  progress?: () => number;
  /** Looks closer at a failure (e.g. whether the source changed); a failure with `error` set ends the call. */
  refine?: (f: Failure) => Promise<Failure>;
  /** Turns the final failure into the user's error. */
  fail: (f: Failure, attempts: number, end?: GiveUp) => Error;
}

export class RetryPolicy {
  readonly options: RetryOptions;
  /** Whether any request of this client ever reached the server (an answer, even an error). */
  private connected = false;

  constructor(options: Partial<RetryOptions> = {}) {
    this.options = {...DEFAULT_RETRY, ...options};
    if (!(this.options.maxAttempts >= 1)) throw new RangeError('retry.maxAttempts must be at least 1');
  }

  attemptsFor(kind: CallKind): number {
    return kind === 'upload' ? Math.max(this.options.maxAttempts, MIN_UPLOAD_URLS) : this.options.maxAttempts;
  }

  async run<T>(kind: CallKind, op: (attempt: number) => Promise<T>, hooks: RunHooks): Promise<T> {
    const max = this.attemptsFor(kind);
    let fruitless = 0; // failed attempts since the last progress
    let failures = 0; // the backoff's exponent, reset by progress too
    let reauthorizedBodiless = false;
    let mark = hooks.progress?.();
    for (let attempt = 1; ; attempt++) {
      if (hooks.signal?.aborted) throw abortError(hooks.signal);
      const generation = hooks.generation?.() ?? 0;
      try {
        const result = await op(attempt);
        this.connected = true;
        return result;
      } catch (err) {
        if (hooks.signal?.aborted) throw abortError(hooks.signal);
        let f = await toFailure(err);
        if (f.status !== undefined) this.connected = true;
        if (hooks.refine) f = await hooks.refine(f);
        let decision = shouldRetry(f, kind);
        if (decision === 'reauthorize') {
          // without a way to sign in again (the sign-in itself), or a bodiless 401 that a new token did not cure
          if (!hooks.reauthorize || (f.code === 'http_401' && reauthorizedBodiless)) decision = 'fatal';
          else if (f.code === 'http_401') reauthorizedBodiless = true;
        }
        if (decision === 'fatal') throw f.error ?? hooks.fail(f, attempt, {transient: false, unreached: false});
        const now = hooks.progress?.();
        if (now !== mark) {
          mark = now;
          fruitless = 0;
          failures = 0;
        }
        fruitless++;
        const unreached = !this.connected && f.connect === true;
        const limit = unreached ? Math.min(max, f.connectTimeout ? UNREACHED_TIMEOUT_ATTEMPTS : UNREACHED_ATTEMPTS) : max;
        if (fruitless >= limit) throw f.error ?? hooks.fail(f, attempt, {transient: true, unreached});
        if (decision === 'reauthorize' && hooks.reauthorize) {
          await hooks.reauthorize(generation, f);
          continue;
        }
        // asking again before B2 said would only burn an attempt and add to its load: stop and say so
        if (f.retryAfterMs !== undefined && f.retryAfterMs > this.options.maxRetryAfterMs) {
          throw hooks.fail(f, attempt, {transient: true, unreached: false, waitAsked: {retryAfterMs: f.retryAfterMs, maxRetryAfterMs: this.options.maxRetryAfterMs}});
        }
        failures++;
        // a connect timeout has waited already; once a connection has worked, the usual backoff
        const wait = unreached && f.connectTimeout ? 0 : backoffMs(failures, f, this.options);
        hooks.onRetry?.(f, attempt, wait);
        if (wait > 0) await this.options.sleep(wait, hooks.signal);
      }
    }
  }
}
