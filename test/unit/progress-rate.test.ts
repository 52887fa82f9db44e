import {afterEach, describe, expect, jest, test} from '@jest/globals';
import type {TransferProgress} from '../../src/backend.js';
import {progressDisplay} from '../../src/cli/progress.js';

// Progress that tells the truth (issue 8): the rate shown is the current one (a moving
// window of a few seconds), not the average since the start, and the hashing phase has
// its own label, amount and rate. The clock is jest's fake one: no real time is measured.

const MiB = 1024 * 1024;

/** A log-mode display (a plain line per interval) writing into `lines`. */
function logDisplay(total: number | undefined) {
  const lines: string[] = [];
  const stream = {write: (s: string) => lines.push(s.trimEnd())} as unknown as NodeJS.WriteStream;
  const display = progressDisplay({label: 'Uploading', total, mode: 'log', stream, intervalMs: 1000});
  return {lines, display};
}

/** Feeds `seconds` of progress at `perSecond`, ten updates a second, from `start` bytes. */
function feed(display: {update(p: TransferProgress): void}, p: Omit<TransferProgress, 'loaded'>, start: number, perSecond: number, seconds: number): number {
  let loaded = start;
  for (let i = 0; i < seconds * 10; i++) {
    jest.advanceTimersByTime(100);
    loaded += perSecond / 10;
    display.update({...p, loaded});
  }
  return loaded;
}

const rateOf = (line: string) => Number(/([\d.]+) MiB\/s/.exec(line)?.[1]);

describe('progress rate and phases', () => {
  afterEach(() => {
    jest.useRealTimers();
  });

  test('the rate follows a change of speed within seconds (moving window), it is not the average since the start', () => {
    jest.useFakeTimers({now: new Date('2026-11-30T09:00:00Z')});
    const total = 1024 * MiB;
    const {lines, display} = logDisplay(total);
    const at = feed(display, {phase: 'transfer', total}, 0, 1 * MiB, 30); // 30 s at 1 MiB/s
    expect(rateOf(lines.at(-1)!)).toBeCloseTo(1, 0);
    feed(display, {phase: 'transfer', total}, at, 20 * MiB, 10); // then 10 s at 20 MiB/s
    const last = lines.at(-1)!;
    // the average since the start would be 230 MiB / 40 s = 5.75 MiB/s
    expect(rateOf(last)).toBeGreaterThan(15);
    expect(last).toMatch(/^Uploading, 230 MiB of 1\.0 GiB, 22%/);
  });

  test('the hashing phase is labelled "Checking" with its own amount and rate; the transfer then starts from its own zero', () => {
    jest.useFakeTimers({now: new Date('2026-11-30T09:00:00Z')});
    const total = 1000 * MiB;
    const {lines, display} = logDisplay(total);
    feed(display, {phase: 'hashing', total}, 0, 50 * MiB, 6);
    const checking = lines.at(-1)!;
    expect(checking).toMatch(/^Checking, [\d.]+ MiB of 1000 MiB, \d+%/);
    expect(rateOf(checking)).toBeCloseTo(50, -1);
    feed(display, {phase: 'transfer', total}, 0, 2 * MiB, 6);
    const uploading = lines.at(-1)!;
    expect(uploading).toMatch(/^Uploading, [\d.]+ MiB of 1000 MiB/);
    // the hashing phase's speed does not leak into the transfer's rate
    expect(rateOf(uploading)).toBeCloseTo(2, 0);
  });

  test('the first lines show no made-up rate: "--/s" until it is measured, then the real one, though the first MiB are counted at once', () => {
    jest.useFakeTimers({now: new Date('2026-11-30T09:00:00Z')});
    const total = 100 * MiB;
    const {lines, display} = logDisplay(total);
    // as a limited upload reports it: 7 MiB in the first 200 ms (the request buffers fill), then 4 MB/s on the wire
    let loaded = 0;
    for (let i = 0; i < 7; i++) {
      jest.advanceTimersByTime(30);
      display.update({phase: 'transfer', total, loaded: (loaded += MiB)});
    }
    feed(display, {phase: 'transfer', total}, loaded, 4_000_000, 12);
    const limit = 4_000_000 / MiB;
    expect(lines.length).toBeGreaterThanOrEqual(10);
    for (const line of lines) {
      expect(line).toMatch(/, (--|[\d.]+ MiB)\/s, ETA /);
      if (!line.includes('--/s')) expect(Math.abs(rateOf(line) - limit) / limit).toBeLessThan(0.1);
    }
    expect(lines[0]).toMatch(/, --\/s, ETA --$/);
    expect(lines.filter((l) => !l.includes('--/s')).length).toBeGreaterThanOrEqual(5);
  });

  test('a stream of unknown size: the line has only the fields it knows, no empty ones between commas', () => {
    jest.useFakeTimers({now: new Date('2026-11-30T09:00:00Z')});
    const {lines, display} = logDisplay(undefined);
    feed(display, {phase: 'transfer'}, 0, 1 * MiB, 6);
    expect(lines[0]).toMatch(/^Uploading, [\d.]+ (KiB|MiB), --\/s$/);
    expect(lines.at(-1)).toMatch(/^Uploading, [\d.]+ MiB, [\d.]+ (KiB|MiB)\/s$/);
  });

  test('a rate under 1 KiB/s is a whole number of bytes, never "896.0350013672409 B/s"', () => {
    jest.useFakeTimers({now: new Date('2026-11-30T09:00:00Z')});
    const total = 100 * MiB;
    const {lines, display} = logDisplay(total);
    feed(display, {phase: 'transfer', total}, 0, 896.035, 12); // a stalled link: ~896 B/s
    const rated = lines.filter((l) => !l.includes('--/s'));
    expect(rated.length).toBeGreaterThanOrEqual(5);
    for (const line of rated) expect(line).toMatch(/, \d+ B\/s, ETA /);
  });

  test('when bytes stop moving, the rate shown falls to 0 within the window (the bar is redrawn), and log lines keep coming every interval', () => {
    jest.useFakeTimers({now: new Date('2026-11-30T09:00:00Z')});
    const total = 100 * MiB;
    const {lines, display} = logDisplay(total);
    const frames: string[] = [];
    const tty = {isTTY: true, columns: 120, on() {}, off() {}, write: (s: string) => frames.push(s)} as unknown as NodeJS.WriteStream;
    const bar = progressDisplay({label: 'Uploading', total, mode: 'bar', stream: tty});
    const both = {update: (p: TransferProgress) => (display.update(p), bar.update(p))};
    feed(both, {phase: 'transfer', total}, 0, 1 * MiB, 10); // 10 MiB in 10 s
    expect(rateOf(lines.at(-1)!)).toBeCloseTo(1, 0);
    const before = lines.length;
    jest.advanceTimersByTime(20_000); // a stall: B2 slow to answer, a retry's backoff
    // a line per second (the interval) through the stall, saying that nothing moves now
    expect(lines.length - before).toBeGreaterThanOrEqual(15);
    expect(lines.at(-1)).toMatch(/^Uploading, 10\.0 MiB of 100 MiB, \d+%, 0 B\/s, ETA --$/);
    expect(frames.at(-1)).toMatch(/ 0 B\/s {2}ETA --/);
    display.stop();
    bar.stop();
  });
});
