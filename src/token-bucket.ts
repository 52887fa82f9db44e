import {Transform, type TransformCallback} from 'node:stream';
import {abortError} from './errors.js';

/** Time as the limiter sees it; tests inject one that they move by hand. */
export interface Clock {
  /** Milliseconds, monotonic. */
  now(): number;
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

export const systemClock: Clock = {
  now: () => performance.now(),
  sleep: (ms, signal) =>
    new Promise((resolve, reject) => {
      if (signal?.aborted) return reject(abortError(signal));
      const stopWaiting = signal ? whenAborted(signal, () => {
        clearTimeout(timer);
        reject(abortError(signal));
      }) : () => {};
      const timer = setTimeout(() => {
        stopWaiting();
        resolve();
      }, ms);
    }),
};

/**
 * The sleeps each signal would cancel, behind one 'abort' listener per signal: every
 * part in flight waits on the bucket under the command's one signal, and a listener per
 * wait piled up past Node's limit of 10 (MaxListenersExceededWarning on stderr).
 */
const sleepsBySignal = new WeakMap<AbortSignal, {cancels: Set<() => void>; onAbort: () => void}>();

/** Calls `cancel` when `signal` aborts; the answer forgets it (and drops the listener once no sleep is left). */
function whenAborted(signal: AbortSignal, cancel: () => void): () => void {
  let sleeps = sleepsBySignal.get(signal);
  if (!sleeps) {
    const cancels = new Set<() => void>();
    const onAbort = () => {
      sleepsBySignal.delete(signal);
      for (const c of cancels) c();
    };
    sleeps = {cancels, onAbort};
    sleepsBySignal.set(signal, sleeps);
    signal.addEventListener('abort', onAbort, {once: true});
  }
  const mine = sleeps;
  mine.cancels.add(cancel);
  return () => {
    mine.cancels.delete(cancel);
    if (mine.cancels.size > 0 || sleepsBySignal.get(signal) !== mine) return;
    sleepsBySignal.delete(signal);
    signal.removeEventListener('abort', mine.onAbort);
  };
}

/**
 * A token bucket: `rate` bytes a second, shared by every transfer of one process that
 * takes from it, so parallel parts together stay under the limit. It starts empty and
 * holds at most `burst` unused bytes (a quarter second's worth), so an idle moment does
 * not let a later burst exceed the rate for long. A taker reserves its bytes at once
 * (the balance may go negative) and waits until the balance is paid back: takers are
 * served in the order they asked, and no bytes are buffered here.
 */
export class TokenBucket {
  private balance = 0;
  private last: number;
  private readonly burst: number;
  /**
   * The most bytes one take should ask for: a large chunk goes through in pieces this big.
   * At most the burst, so that at a low limit (64 KiB is 65 s of 1KB/s) no piece goes out
   * as a burst of many seconds' rate, and parallel parts each get a turn every few seconds.
   */
  readonly slice: number;
  /** Bytes handed out so far (for tests and benchmarks). */
  granted = 0;

  constructor(
    readonly rate: number,
    private readonly clock: Clock = systemClock,
  ) {
    if (!(rate > 0)) throw new Error(`rate must be positive, got ${rate}`);
    this.burst = Math.max(1, rate / 4);
    this.slice = Math.max(1, Math.min(SLICE_BYTES, Math.floor(this.burst)));
    this.last = clock.now();
  }

  /** Waits until `bytes` may be sent. */
  async take(bytes: number, signal?: AbortSignal): Promise<void> {
    const now = this.clock.now();
    this.balance = Math.min(this.burst, this.balance + ((now - this.last) * this.rate) / 1000);
    this.last = now;
    this.balance -= bytes;
    this.granted += bytes;
    if (this.balance < 0) await this.clock.sleep((-this.balance * 1000) / this.rate, signal);
  }
}

/** Large chunks (a whole part in one Buffer) are let through in slices at most this big (see TokenBucket.slice), so the flow stays even. */
export const SLICE_BYTES = 64 * 1024;

/** A pass-through stream whose bytes each wait for the bucket first; data is sliced, never copied. */
export function throttled(bucket: TokenBucket, signal?: AbortSignal): Transform {
  return new Transform({
    transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback) {
      (async () => {
        for (let at = 0; at < chunk.length; at += bucket.slice) {
          const slice = chunk.subarray(at, at + bucket.slice);
          await bucket.take(slice.length, signal);
          this.push(slice);
        }
      })().then(() => done(), (err: Error) => done(err));
    },
  });
}
