import {describe, test, expect} from '@jest/globals';
import fc from 'fast-check';
import {constants as bufferConstants} from 'node:buffer';
import {createHash, randomBytes} from 'node:crypto';
import {Readable} from 'node:stream';
import {readAll} from '../../src/body.js';
import {PartBuffers, StreamPartReader, bufferParts, localSha1, streamParts} from '../../src/b2/chunkers.js';
import {readScopeOf} from '../../src/b2/encryption-headers.js';
import {toBackupError} from '../../src/b2/errors.js';
import {toFailure, type Failure} from '../../src/b2/failure.js';
import {MAX_PARTS, planParts} from '../../src/b2/part-plan.js';
import {RetryPolicy, backoffMs, shouldRetry} from '../../src/b2/retry-policy.js';
import {BackupError, isBackupError} from '../../src/errors.js';

const sha1 = (b: Buffer) => createHash('sha1').update(b).digest('hex');
const server = {recommendedPartSize: 100_000_000, absoluteMinimumPartSize: 5_000_000};
const f = (status: number | undefined, code: string, extra: Partial<Failure> = {}): Failure => ({status, code, message: code, ...extra});

describe('part planning', () => {
  test('uses the profile part size, else the recommendation, never below the minimum', () => {
    expect(planParts({...server, size: 1e9}).partSize).toBe(100_000_000);
    expect(planParts({...server, size: 1e9, partSize: 10_000_000}).partSize).toBe(10_000_000);
    expect(planParts({...server, size: 1e9, partSize: 1000}).partSize).toBe(5_000_000);
  });

  test('grows the part size so a file never needs more than 10,000 parts', () => {
    const size = 2e12; // 2 TB at 100 MB would be 20,000 parts
    const plan = planParts({...server, size});
    expect(plan.partCount).toBeLessThanOrEqual(MAX_PARTS);
    expect(plan.partSize * (plan.partCount! - 1) + plan.sizeOf(plan.partCount!)).toBe(size);
  });

  test('known sizes: parts add up, only the last is short', () => {
    fc.assert(fc.property(fc.integer({min: 1, max: 1e13}), fc.integer({min: 1, max: 5e9}), (size, partSize) => {
      const plan = planParts({...server, size, partSize});
      const count = plan.partCount!;
      expect(count).toBeLessThanOrEqual(MAX_PARTS);
      expect(plan.sizeOf(count)).toBeGreaterThan(0);
      expect(plan.sizeOf(count)).toBeLessThanOrEqual(plan.partSize);
      expect(plan.partSize * (count - 1) + plan.sizeOf(count)).toBe(size);
    }));
  });

  test('property, sizes 0..10 TB and any part size and server minimum: at most 10,000 parts, every part but the last at least the minimum, parts add up to the size', () => {
    fc.assert(fc.property(
      fc.oneof(fc.integer({min: 0, max: 1e13}), fc.constantFrom(0, 1, 5e6, 1e13, 1e13 - 1, 5e10, 5e10 + 1)),
      fc.option(fc.integer({min: 1, max: 5e9}), {nil: undefined}),
      fc.integer({min: 1, max: 1e8}),
      (size, partSize, minimum) => {
        const plan = planParts({size, partSize, recommendedPartSize: 100_000_000, absoluteMinimumPartSize: minimum});
        const count = plan.partCount!;
        expect(count).toBeGreaterThanOrEqual(1);
        expect(count).toBeLessThanOrEqual(MAX_PARTS);
        let sum = 0;
        let smallest = Infinity;
        for (let n = 1; n <= count; n++) {
          const length = plan.sizeOf(n);
          sum += length;
          if (n < count) smallest = Math.min(smallest, length);
        }
        expect(smallest).toBeGreaterThanOrEqual(minimum);
        expect(sum).toBe(size);
        expect(plan.sizeOf(count)).toBeGreaterThanOrEqual(size === 0 ? 0 : 1);
      },
    ), {numRuns: 500});
  });

  test('refuses more than B2 can store', () => {
    expect(() => planParts({...server, size: 1e13 + 1})).toThrow(BackupError);
  });

  test('unknown size: steady for 5,000 parts, then grows, then fails clearly past 10,000', () => {
    const plan = planParts({...server});
    expect(plan.partCount).toBeUndefined();
    expect(plan.sizeOf(1)).toBe(100_000_000);
    expect(plan.sizeOf(5000)).toBe(100_000_000);
    expect(plan.sizeOf(5001)).toBe(200_000_000);
    expect(plan.sizeOf(10_000)).toBeLessThanOrEqual(5e9);
    let total = 0;
    for (let n = 1; n <= MAX_PARTS; n++) total += plan.sizeOf(n);
    expect(total).toBeGreaterThan(5e12); // a 100 MB plan still reaches terabytes
    expect(() => plan.sizeOf(10_001)).toThrow(/larger partSize/);
  });

  test('unknown size: a grown part stays within what one Buffer holds (a stream\'s parts are read into memory)', () => {
    const plan = planParts({...server, partSize: 1e9});
    const sizes = Array.from({length: MAX_PARTS}, (_, i) => plan.sizeOf(i + 1));
    expect(Math.max(...sizes)).toBe(Math.min(5e9, bufferConstants.MAX_LENGTH));
    expect(sizes.filter((s) => s > bufferConstants.MAX_LENGTH)).toEqual([]);
  });
});

describe('chunkers', () => {
  const small = {recommendedPartSize: 1000, absoluteMinimumPartSize: 1000};

  // the whole stream's SHA1: on a thread from 3 cores, as each chunk is read below
  test.each([2, 4])('a stream in arbitrary chunks splits into exact parts that re-read identically, in reused buffers, and its whole SHA1 is right (%i cores)', async (cores) => {
    await fc.assert(fc.asyncProperty(fc.array(fc.integer({min: 1, max: 3000}), {maxLength: 12}), async (sizes) => {
      const data = Buffer.concat(sizes.map((n, i) => Buffer.alloc(n, i)));
      const reader = new StreamPartReader(Readable.from(sizes.map((n, i) => Buffer.alloc(n, i))), new PartBuffers(2), cores);
      try {
        const plan = planParts({...small});
        const parts = [];
        for await (const p of streamParts(reader, plan)) {
          const bytes = await readAll(p.open());
          expect((await readAll(p.open())).equals(bytes)).toBe(true); // opened again for a retry
          expect(await localSha1(p)).toBe(sha1(bytes));
          parts.push({offset: p.offset, length: p.length, partNumber: p.partNumber, bytes});
          p.release?.(); // confirmed: its buffer may hold a later part now
        }
        expect(Buffer.concat(parts.map((p) => p.bytes)).equals(data)).toBe(true);
        parts.slice(0, -1).forEach((p) => expect(p.length).toBe(1000));
        for (const p of parts) {
          expect(p.offset).toBe(1000 * (p.partNumber - 1));
          expect(p.bytes.equals(data.subarray(p.offset, p.offset + p.length))).toBe(true);
        }
        expect(await reader.wholeSha1()).toBe(sha1(data));
      } finally {
        await reader.close();
      }
      // each run of the threaded case starts a thread (tens of ms, seconds on a starved machine): fewer of them
    }), {numRuns: cores > 2 ? 12 : 40});
  });

  test('stream part buffers: at most `count` exist; a taker waits until one is given back', async () => {
    const buffers = new PartBuffers(2);
    const a = await buffers.take(100);
    const b = await buffers.take(100);
    let third: Buffer | undefined;
    const waiting = buffers.take(50).then((c) => (third = c));
    await new Promise((r) => setImmediate(r));
    expect(third).toBeUndefined();
    buffers.give(a);
    await waiting;
    expect(third).toBe(a); // reused, not a new allocation
    buffers.give(b);
    const larger = await buffers.take(200); // parts that grew: the small one is dropped for a larger one
    expect(larger.length).toBe(200);
  });

  test('a declared stream size that is wrong fails clearly', async () => {
    const reader = new StreamPartReader(Readable.from([Buffer.alloc(2500)]), new PartBuffers(2));
    const plan = planParts({...small, size: 3000});
    const run = async () => {
      for await (const p of streamParts(reader, plan, 3000)) p.release?.();
    };
    await expect(run()).rejects.toThrow(/declared as 3000 bytes/);
    await reader.close();
  });

  test('buffer parts are views, not copies', () => {
    const buf = Buffer.alloc(2500, 7);
    const parts = [...bufferParts(buf, planParts({...small, size: 2500}))];
    expect(parts.map((p) => p.length)).toEqual([1000, 1000, 500]);
    expect(parts[2].sha1).toBe(sha1(buf.subarray(2000)));
  });
});

describe('retry policy', () => {
  test('one decision table for every call kind', () => {
    expect(shouldRetry(f(401, 'expired_auth_token'), 'api')).toBe('reauthorize');
    expect(shouldRetry(f(401, 'bad_auth_token'), 'download')).toBe('reauthorize');
    expect(shouldRetry(f(401, 'expired_auth_token'), 'upload')).toBe('retry'); // new upload URL
    expect(shouldRetry(f(401, 'unauthorized'), 'api')).toBe('fatal');
    expect(shouldRetry(f(403, 'cap_exceeded'), 'upload')).toBe('fatal');
    expect(shouldRetry(f(403, 'transaction_cap_exceeded'), 'api')).toBe('fatal');
    expect(shouldRetry(f(400, 'auth_token_limit'), 'upload')).toBe('retry');
    expect(shouldRetry(f(400, 'bad_request', {message: 'Sha1 did not match data received'}), 'upload')).toBe('retry');
    expect(shouldRetry(f(400, 'bad_request'), 'upload')).toBe('fatal');
    for (const s of [408, 429, 500, 503]) expect(shouldRetry(f(s, 'x'), 'api')).toBe('retry');
    expect(shouldRetry(f(undefined, 'network'), 'upload')).toBe('retry');
    expect(shouldRetry(f(undefined, 'timeout'), 'api')).toBe('retry');
    expect(shouldRetry(f(undefined, 'aborted'), 'api')).toBe('fatal');
    expect(shouldRetry(f(404, 'not_found'), 'download')).toBe('fatal');
    expect(shouldRetry(f(401, 'http_401'), 'download')).toBe('reauthorize'); // a HEAD's 401 has no body
  });

  test('backoff: exponential with jitter from ~1 s, capped at 64 s, Retry-After wins', () => {
    const o = {baseDelayMs: 1000, maxDelayMs: 64_000};
    expect(backoffMs(1, f(503, 'x'), {...o, random: () => 0})).toBe(500);
    expect(backoffMs(1, f(503, 'x'), {...o, random: () => 1})).toBe(1000);
    expect(backoffMs(4, f(503, 'x'), {...o, random: () => 1})).toBe(8000);
    expect(backoffMs(30, f(503, 'x'), {...o, random: () => 1})).toBe(64_000);
    expect(backoffMs(3, f(429, 'too_many_requests', {retryAfterMs: 7000}), {...o, random: () => 1})).toBe(7000);
    expect(backoffMs(1, f(503, 'x', {retryAfterMs: 86_400_000}), {...o, random: () => 1})).toBe(86_400_000); // all of it: run() refuses a wait this long
    expect(backoffMs(3, f(429, 'too_many_requests'), {...o, random: () => 1})).toBe(1000);
    expect(backoffMs(3, f(400, 'auth_token_limit'), {...o, random: () => 1})).toBe(0);
    expect(backoffMs(3, f(401, 'expired_auth_token'), {...o, random: () => 1})).toBe(0);
  });

  test('run: bounded attempts, uploads get at least five, fatal errors stop at once', async () => {
    const delays: number[] = [];
    const policy = new RetryPolicy({maxAttempts: 3, sleep: async (ms) => void delays.push(ms), random: () => 1});
    let calls = 0;
    const fail = (x: Failure, n: number) => new BackupError('failure', `${x.code} after ${n}`);
    const busy = Object.assign(new Error('socket hang up'), {code: 'ECONNRESET'});
    await expect(policy.run('api', async () => {
      calls++;
      throw busy;
    }, {fail})).rejects.toThrow('network after 3');
    expect(calls).toBe(3);
    expect(delays).toEqual([1000, 2000]);
    calls = 0;
    await expect(policy.run('upload', async () => {
      calls++;
      throw busy;
    }, {fail})).rejects.toThrow('network after 5');
    expect(calls).toBe(5);
    calls = 0;
    const fatal = new BackupError('cap_exceeded', 'cap');
    await expect(policy.run('upload', async () => {
      calls++;
      throw fatal;
    }, {fail})).rejects.toBe(fatal);
    expect(calls).toBe(1);
  });

  test('run: a stale token re-authorizes with the generation it saw, then retries without sleeping', async () => {
    const delays: number[] = [];
    const policy = new RetryPolicy({sleep: async (ms) => void delays.push(ms)});
    let generation = 1;
    const seen: number[] = [];
    const expired = {isAxiosError: true, response: {status: 401, data: {status: 401, code: 'expired_auth_token', message: 'expired'}, headers: {}}};
    const out = await policy.run('api', async (attempt) => {
      if (attempt === 1) throw expired;
      return 'ok';
    }, {generation: () => generation, reauthorize: async (g) => void seen.push(g, ++generation), fail: () => new Error('no')});
    expect(out).toBe('ok');
    expect(seen).toEqual([1, 2]);
    expect(delays).toEqual([]);
  });

  test('run: the budget counts attempts without progress; progress elsewhere (another part confirmed) renews it', async () => {
    const policy = new RetryPolicy({maxAttempts: 3, sleep: async () => undefined});
    const busy = Object.assign(new Error('socket hang up'), {code: 'ECONNRESET'});
    const fail = (x: Failure, n: number, end?: {transient: boolean}) => new BackupError('failure', `${x.code} after ${n}`, {transient: end?.transient});
    let progress = 0;
    let calls = 0;
    // 12 failures in a row, each after some progress of the upload: never given up
    const out = await policy.run('upload', async () => {
      if (++calls <= 12) {
        progress++;
        throw busy;
      }
      return 'stored';
    }, {progress: () => progress, fail});
    expect(out).toBe('stored');
    // without progress the same failures end after the budget (uploads: at least 5), as a transient error
    calls = 0;
    const err = await policy.run('upload', async () => {
      calls++;
      throw busy;
    }, {progress: () => progress, fail}).catch((e: BackupError) => e);
    expect(err).toMatchObject({message: 'network after 5', transient: true});
    expect(calls).toBe(5);
  });

  test('run: a 401 without a body (HEAD) re-authorizes once; a second one after that is final', async () => {
    const policy = new RetryPolicy({sleep: async () => undefined});
    let generation = 1;
    let signIns = 0;
    let calls = 0;
    const bodiless = {isAxiosError: true, response: {status: 401, headers: {}}};
    const hooks = {generation: () => generation, reauthorize: async () => void (signIns++, generation++), fail: (x: Failure) => new BackupError('missing_capabilities', x.code)};
    expect(await policy.run('download', async () => (++calls === 1 ? Promise.reject(bodiless) : 'ok'), hooks)).toBe('ok');
    expect(signIns).toBe(1);
    calls = 0;
    const err = await policy.run('download', async () => {
      calls++;
      throw bodiless;
    }, hooks).catch((e: BackupError) => e);
    expect(err).toMatchObject({kind: 'missing_capabilities', message: 'http_401'});
    expect(calls).toBe(2);
    expect(signIns).toBe(2);
  });

  test('an unclassified error (a bug, a local fault) is a failure (exit 1), never bad input (exit 2: "nothing was changed")', async () => {
    const ctx = {bucket: 'b', prefix: 'p/', endpoint: 'http://x', secrets: []};
    for (const thrown of [new TypeError('x.y is not a function'), 'a string', Object.assign(new Error('disk'), {code: 'EIO'})]) {
      const e = toBackupError(await toFailure(thrown), {call: 'b2_upload_part', attempts: 1}, ctx);
      expect(e.kind).toBe('failure');
      expect(e.message).not.toMatch(/network|cannot reach/);
    }
  });

  test('run: an abort during a backoff stops with aborted', async () => {
    const ctl = new AbortController();
    const policy = new RetryPolicy({sleep: async () => ctl.abort()});
    const err = await policy.run('api', async () => {
      throw Object.assign(new Error('x'), {code: 'ECONNRESET'});
    }, {signal: ctl.signal, fail: () => new Error('no')}).catch((e) => e);
    expect(isBackupError(err, 'aborted')).toBe(true);
  });
});

describe('read scope (the metadata cache\'s namespace)', () => {
  test('SSE-C only; equal for equal keys, different for others; no piece of the key in any spelling', () => {
    const raw = randomBytes(32);
    const key = raw.toString('base64');
    const scope = readScopeOf({mode: 'SSE-C', key}) as string;
    expect(scope).toMatch(/^sse-c-[0-9a-f]{32}$/);
    expect(readScopeOf({mode: 'SSE-C', key})).toBe(scope);
    expect(readScopeOf({mode: 'SSE-C', key: randomBytes(32).toString('base64')})).not.toBe(scope);
    expect(readScopeOf({mode: 'SSE-B2'})).toBeUndefined();
    expect(readScopeOf(undefined)).toBeUndefined();
    for (const spelling of [key, raw.toString('hex'), raw.toString('base64url')]) {
      for (let i = 0; i + 8 <= spelling.length; i += 4) expect(scope.includes(spelling.slice(i, i + 8))).toBe(false);
    }
    // nor an unkeyed digest of it (as B2's customerKeyMd5 is)
    expect(scope).not.toContain(createHash('sha256').update(raw).digest('hex').slice(0, 16));
  });
});
