import {describe, expect, test} from '@jest/globals';
import {getEventListeners} from 'node:events';
import {Readable, Writable} from 'node:stream';
import {pipeline} from 'node:stream/promises';
import {SLICE_BYTES, TokenBucket, systemClock, throttled} from '../../src/token-bucket.js';
import {ManualClock} from '../helpers/manual-clock.js';

const MB = 1_000_000;

describe('TokenBucket', () => {
  test('starts empty: 20 MB at 4 MB/s is 5 s of waiting, whatever the chunking', async () => {
    const clock = new ManualClock();
    const bucket = new TokenBucket(4 * MB, clock);
    for (let sent = 0; sent < 20 * MB; sent += 65_536) await bucket.take(Math.min(65_536, 20 * MB - sent));
    expect(bucket.granted).toBe(20 * MB);
    expect(clock.t).toBeCloseTo(5000, 6);
  });

  test('parallel takers share one budget: 4 parts of 5 MB together still take 5 s, not 1.25 s', async () => {
    const clock = new ManualClock();
    const bucket = new TokenBucket(4 * MB, clock);
    const part = async () => {
      for (let sent = 0; sent < 5 * MB; sent += SLICE_BYTES) await bucket.take(Math.min(SLICE_BYTES, 5 * MB - sent));
    };
    await Promise.all([part(), part(), part(), part()]);
    expect(bucket.granted).toBe(20 * MB);
    expect(clock.t).toBeGreaterThanOrEqual(5000 - 1e-6);
    expect(clock.t).toBeLessThanOrEqual(5000 + (4 * SLICE_BYTES * 1000) / (4 * MB));
  });

  test('an idle pause saves at most a quarter second of rate', async () => {
    const clock = new ManualClock();
    const bucket = new TokenBucket(4 * MB, clock);
    clock.t = 60_000; // a minute idle
    await bucket.take(MB); // within the burst: no wait
    expect(clock.sleeps).toEqual([]);
    await bucket.take(MB); // the burst is spent: wait for the whole MB
    expect(clock.sleeps).toEqual([250]);
  });

  test('never grants more than rate × time + burst at any moment', async () => {
    const clock = new ManualClock();
    const rate = 1 * MB;
    const bucket = new TokenBucket(rate, clock);
    for (let i = 0; i < 200; i++) {
      await bucket.take(7_919 * (1 + (i % 13)));
      expect(bucket.granted).toBeLessThanOrEqual((rate * clock.t) / 1000 + rate / 4 + 1e-6);
    }
  });
});

describe('throttled stream', () => {
  test('passes the bytes through unchanged, in slices, taking each from the bucket', async () => {
    const clock = new ManualClock();
    const bucket = new TokenBucket(2 * MB, clock);
    const data = Buffer.alloc(3 * MB, 7);
    data[12_345] = 1;
    const out: Buffer[] = [];
    await pipeline(Readable.from([data]), throttled(bucket), new Writable({write: (c: Buffer, _e, done) => (out.push(c), done())}));
    expect(Buffer.concat(out).equals(data)).toBe(true);
    expect(Math.max(...out.map((c) => c.length))).toBeLessThanOrEqual(SLICE_BYTES);
    expect(bucket.granted).toBe(3 * MB);
    expect(clock.t).toBeCloseTo(1500, 6);
  });
});

describe('systemClock.sleep under one signal', () => {
  test('16 parallel waits hold one abort listener, none once they end; an abort still cancels every wait', async () => {
    const done = new AbortController();
    const waits = Array.from({length: 16}, () => systemClock.sleep(5, done.signal));
    expect(getEventListeners(done.signal, 'abort')).toHaveLength(1);
    await Promise.all(waits);
    expect(getEventListeners(done.signal, 'abort')).toHaveLength(0);

    const stop = new AbortController();
    const bucket = new TokenBucket(1000); // 1 KB/s: each 500-byte take waits
    const takers = Array.from({length: 16}, () => bucket.take(500, stop.signal));
    expect(getEventListeners(stop.signal, 'abort')).toHaveLength(1);
    stop.abort();
    const outcomes = await Promise.allSettled(takers);
    expect(outcomes.map((o) => o.status)).toEqual(Array(16).fill('rejected'));
    expect(getEventListeners(stop.signal, 'abort')).toHaveLength(0);
  });
});
