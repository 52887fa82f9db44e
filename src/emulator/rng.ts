/** A small seeded PRNG (mulberry32) so fault decisions repeat run after run. */
export class SeededRandom {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** A float in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** True with probability `rate`; rate ≥ 1 is always, ≤ 0 never (without consuming a draw). */
  chance(rate: number): boolean {
    if (rate >= 1) return true;
    if (rate <= 0) return false;
    return this.next() < rate;
  }
}
