import {afterAll, beforeAll, expect, test} from '@jest/globals';
import {createServer, request, type Server} from 'node:http';
import type {AddressInfo} from 'node:net';
import {Readable, Writable} from 'node:stream';
import {pipeline} from 'node:stream/promises';
import {writeBody} from '../../src/b2/request-body.js';
import {TokenBucket, throttled} from '../../src/token-bucket.js';
import {ManualClock} from '../helpers/manual-clock.js';

// README (Bandwidth limits): the bucket "holds at most a quarter second of unused rate, so
// a pause does not turn into a burst". That must hold at a low limit too (rates down to
// 1KB/s are accepted): bytes are let through in pieces no larger than that quarter second,
// in both directions, so that over any second no more than a second's rate (plus the
// quarter second saved) goes out. Measured where the bytes are released, on the limiter's clock.

const RATE = 20_000; // 20 KB/s: a quarter second is 5,000 bytes
const DATA = 200_000;

/** A bucket that records when (on its clock) each grant was released, and the bytes released so far. */
class RecordingBucket extends TokenBucket {
  readonly releases: Array<{t: number; total: number}> = [];
  private total = 0;

  constructor(private readonly manual: ManualClock) {
    super(RATE, manual);
  }

  override async take(bytes: number, signal?: AbortSignal): Promise<void> {
    await super.take(bytes, signal);
    this.releases.push({t: this.manual.t, total: (this.total += bytes)});
  }
}

/** The most bytes released within any span of `windowMs`. */
function busiestWindow(releases: Array<{t: number; total: number}>, windowMs: number): number {
  let most = 0;
  for (let i = 0; i < releases.length; i++) {
    const before = i === 0 ? 0 : releases[i - 1].total;
    for (let j = i; j < releases.length && releases[j].t - releases[i].t <= windowMs; j++) most = Math.max(most, releases[j].total - before);
  }
  return most;
}

/** A second's rate plus the quarter second the bucket may have saved. */
const ALLOWED_PER_SECOND = RATE + RATE / 4;

let sink: Server;
let port: number;

beforeAll(async () => {
  sink = createServer((req, res) => {
    req.resume();
    req.on('end', () => res.end('{}'));
  });
  await new Promise<void>((resolve) => sink.listen(0, '127.0.0.1', resolve));
  port = (sink.address() as AddressInfo).port;
});

afterAll(async () => {
  await new Promise((resolve) => sink.close(resolve));
});

test('a download at 20 KB/s: no second gets more than a second and a quarter of rate (never 64 KiB at once)', async () => {
  const bucket = new RecordingBucket(new ManualClock());
  await pipeline(Readable.from([Buffer.alloc(DATA, 1)]), throttled(bucket), new Writable({write: (_c, _e, done) => done()}));
  expect(bucket.releases.at(-1)?.total).toBe(DATA);
  expect(busiestWindow(bucket.releases, 1000)).toBeLessThanOrEqual(ALLOWED_PER_SECOND);
});

test('an upload body at 20 KB/s, written to a real socket: the same', async () => {
  const bucket = new RecordingBucket(new ManualClock());
  const req = request({host: '127.0.0.1', port, method: 'POST', headers: {'Content-Length': String(DATA)}});
  const answered = new Promise<void>((resolve, reject) => {
    req.on('response', (res) => res.resume().on('end', resolve));
    req.on('error', reject);
  });
  let sent = 0;
  await writeBody(req, {kind: 'memory', chunks: [Buffer.alloc(DATA, 2)], length: DATA}, {sha1: 'x'.repeat(40), bucket, onBytes: (n) => (sent += n)});
  await answered;
  expect(sent).toBe(DATA);
  expect(bucket.releases.at(-1)?.total).toBe(DATA);
  expect(busiestWindow(bucket.releases, 1000)).toBeLessThanOrEqual(ALLOWED_PER_SECOND);
});
