import type {Clock} from '../../src/token-bucket.js';

/** A clock that only moves when someone sleeps on it: the limiter's accounting, no real time. */
export class ManualClock implements Clock {
  t = 0;
  sleeps: number[] = [];
  now(): number {
    return this.t;
  }
  async sleep(ms: number): Promise<void> {
    this.sleeps.push(ms);
    // sleepers wake in order of their deadline, as timers do
    const until = this.t + ms;
    await Promise.resolve();
    this.t = Math.max(this.t, until);
  }
}
