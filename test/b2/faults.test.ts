import {describe, test, expect, beforeAll, afterAll, beforeEach} from '@jest/globals';
import {randomBytes} from 'node:crypto';
import {writeFile} from 'node:fs/promises';
import {join} from 'node:path';
import {PassThrough, Readable} from 'node:stream';
import {readAll} from '../../src/body.js';
import type {B2Backend} from '../../src/b2/index.js';
import {isBackupError} from '../../src/errors.js';
import type {FaultRule, RunningEmulator} from '../../src/emulator/index.js';
import {fastRetry, openBackend, openDescriptors, type PartsFixture, sha1, startPartsFixture, unfinishedCount} from './helpers.js';

const PART = 64 * 1024;
const SIZE = 16 * PART + 1234; // 17 parts

describe('B2 provider under injected faults (multi-part uploads over HTTP)', () => {
  let emu: RunningEmulator;
  let dir: string;
  let path: string;
  let data: Buffer;
  let delays: number[];
  let backend: B2Backend;

  let fixture: PartsFixture;
  beforeAll(async () => {
    fixture = await startPartsFixture({tag: 'faults', part: PART, size: SIZE, emulator: {seed: 7}});
    ({emu, dir, path, data} = fixture);
  });
  afterAll(() => fixture?.stop());

  beforeEach(async () => {
    emu.faults.clear();
    const fast = fastRetry();
    delays = fast.delays;
    backend = await openBackend(emu, {uploadCutoff: 100_000, partSize: PART, concurrency: 4, retry: fast.retry});
    emu.resetStats();
  });

  /** Uploads the file (and a stream of it), checks both round-trip, and that nothing unfinished is left. */
  async function uploadAndVerify(key: string, opts: {onProgress?: (loaded: number) => void} = {}) {
    const info = await backend.put(key, {path}, {onProgress: (p) => opts.onProgress?.(p.loaded)});
    expect(info.size).toBe(SIZE);
    expect(info.sha1).toBe(sha1(data));
    const stats = emu.stats();
    emu.faults.clear();
    const {info: got, stream} = await backend.get(key);
    expect(got.sha1).toBe(sha1(data)); // large_file_sha1, checked again by the download itself
    expect(sha1(await readAll(stream))).toBe(sha1(data));
    expect(await unfinishedCount(backend)).toBe(0);
    expect(await openDescriptors(path)).toBe(0); // failed attempts released their file ranges
    return stats;
  }

  const add = (rule: FaultRule) => emu.faults.add(rule);

  test('30% of upload calls answered 503', async () => {
    add({call: 'uploads', rate: 0.3, status: 503});
    const stats = await uploadAndVerify('f/503.bin');
    expect(stats.errors.service_unavailable).toBeGreaterThan(0);
    expect(stats.calls.b2_start_large_file).toBe(1);
    // each failure dropped its URL: more part URLs than workers
    expect(stats.calls.b2_get_upload_part_url).toBeGreaterThan(4);
    // small files too (one b2_upload_file each)
    for (let i = 0; i < 5; i++) {
      const small = randomBytes(1000 + i);
      const info = await backend.put(`f/small-${i}.bin`, small);
      expect(info.sha1).toBe(sha1(small));
    }
  });

  test('429 with Retry-After is honoured', async () => {
    add({call: 'b2_upload_part', count: 3, status: 429, retryAfter: 3});
    const stats = await uploadAndVerify('f/429.bin');
    expect(stats.errors.too_many_requests).toBe(3);
    expect(delays.filter((d) => d === 3000).length).toBe(3);
  });

  test('all tokens expired mid-upload: one re-authorization serves every worker', async () => {
    let expired = false;
    add({call: 'b2_upload_part', latencyMs: 20}); // keep workers mid-part when the tokens go
    const stats = await uploadAndVerify('f/expired.bin', {
      onProgress: (loaded) => {
        if (!expired && loaded >= PART) {
          expired = true;
          // account tokens expire, and so do the workers' upload tokens (both are 24-hour tokens)
          emu.faults.expireAllTokens();
          add({call: 'b2_upload_part', count: 4, status: 401, code: 'expired_auth_token'});
        }
      },
    });
    expect(expired).toBe(true);
    // upload tokens and the account token all failed at least once …
    expect(stats.errors.expired_auth_token).toBeGreaterThanOrEqual(5);
    expect(stats.calls.b2_get_upload_part_url).toBeGreaterThan(4);
    expect(stats.calls.b2_authorize_account).toBe(1);
  });

  test('connection cut in the middle of parts', async () => {
    add({call: 'b2_upload_part', count: 3, cutRequestAfterBytes: 20_000});
    const stats = await uploadAndVerify('f/cut.bin');
    expect(stats.calls.b2_upload_part).toBeGreaterThanOrEqual(17 + 3);
  });

  test('a part URL reported busy (auth_token_limit)', async () => {
    add({call: 'b2_upload_part', count: 3, status: 400, code: 'auth_token_limit', message: 'more than one upload using auth token'});
    const stats = await uploadAndVerify('f/busy.bin');
    expect(stats.errors.auth_token_limit).toBe(3);
    expect(delays).toEqual([]); // a fresh URL at once, no pause
  });

  test('b2_get_upload_part_url answering 503', async () => {
    add({call: 'b2_get_upload_part_url', count: 5, status: 503});
    const stats = await uploadAndVerify('f/url503.bin');
    expect(stats.errors.service_unavailable).toBe(5);
  });

  test('a stream of unknown size under 30% 503s', async () => {
    add({call: 'uploads', rate: 0.3, status: 503});
    const info = await backend.put('f/stream.bin', Readable.from([data.subarray(0, 300_000), data.subarray(300_000)]));
    expect(info.sha1).toBe(sha1(data));
    emu.faults.clear();
    expect(sha1(await readAll((await backend.get('f/stream.bin')).stream))).toBe(sha1(data));
    expect(await unfinishedCount(backend)).toBe(0);
  });

  test('a failed upload whose cancel fails too says the unfinished upload remains, and "b2 cleanup" removes it', async () => {
    add({call: 'b2_upload_part', status: 403, code: 'cap_exceeded', message: 'Cap exceeded.'});
    add({call: 'b2_cancel_large_file', status: 503, code: 'service_unavailable'}); // the network is as bad for the cancel
    const err = await backend.put('f/uncancelled.bin', {path}).catch((e) => e);
    expect(isBackupError(err, 'cap_exceeded')).toBe(true);
    expect(err.message).toMatch(/; an unfinished upload of backups\/f\/uncancelled\.bin remains \(cancelling it failed: 503 service_unavailable\): run "backup-b2 b2 cleanup --profile test" to remove it once it is 24 hours old \(cleanup's default --older-than\)$/);
    expect(emu.stats().calls.b2_cancel_large_file).toBeGreaterThanOrEqual(1);
    emu.faults.clear();
    const left = [];
    for await (const u of backend.listUnfinished()) left.push(u);
    expect(left.map((u) => u.key)).toEqual(['f/uncancelled.bin']);
    for (const u of left) await backend.cancelUnfinished(u);
    expect(await unfinishedCount(backend)).toBe(0);
  });

  test('403 cap_exceeded stops at once, cancels the large file, no retry storm', async () => {
    add({call: 'b2_upload_part', status: 403, code: 'cap_exceeded', message: 'Cap exceeded.'});
    const err = await backend.put('f/cap.bin', {path}).catch((e) => e);
    expect(isBackupError(err, 'cap_exceeded')).toBe(true);
    expect(err.message).toContain('Caps & Alerts');
    const stats = emu.stats();
    expect(stats.calls.b2_upload_part).toBeLessThanOrEqual(4); // at most one per worker
    expect(stats.calls.b2_start_large_file).toBe(1);
    expect(stats.calls.b2_cancel_large_file).toBe(1);
    expect(delays).toEqual([]);
    emu.faults.clear();
    expect(await unfinishedCount(backend)).toBe(0);
    expect(await backend.stat('f/cap.bin')).toBeUndefined();
  });

  test('retries are bounded: a server that always fails gives up with a clear error', async () => {
    add({call: 'b2_upload_file', status: 503});
    const err = await backend.put('f/never.bin', Buffer.from('x')).catch((e) => e);
    expect(isBackupError(err, 'failure')).toBe(true);
    expect(err.message).toMatch(/after 8 attempt/);
    expect(emu.stats().calls.b2_upload_file).toBe(8);
    expect(emu.stats().calls.b2_get_upload_url).toBe(8); // a fresh URL for every attempt
  });

  test('a download cut mid-body resumes from the last byte (Range, same file id)', async () => {
    await backend.put('f/dl.bin', {path});
    emu.resetStats();
    add({call: 'b2_download_file_by_name', count: 1, cutResponseAfterBytes: 300_000});
    const got = await readAll((await backend.get('f/dl.bin')).stream);
    expect(sha1(got)).toBe(sha1(data));
    const stats = emu.stats();
    expect(stats.calls.b2_download_file_by_id).toBe(1);
    expect(stats.bytesOut).toBeLessThan(SIZE + 100_000); // resumed, not started over
  });

  test('a damaged stored copy fails the download with checksum_mismatch', async () => {
    await backend.put('f/bad.bin', {path});
    await emu.corrupt(emu.bucket, 'backups/f/bad.bin');
    const {stream} = await backend.get('f/bad.bin');
    const err = await readAll(stream).catch((e) => e);
    expect(isBackupError(err, 'checksum_mismatch')).toBe(true);
  });

  test('a server that stops answering fails the attempt after the stall timeout, and the retry succeeds', async () => {
    const fast = fastRetry();
    const impatient = await openBackend(emu, {uploadCutoff: 100_000, partSize: PART, stallTimeoutMs: 300, requestTimeoutMs: 300, retry: fast.retry});
    add({call: 'b2_upload_file', count: 1, latencyMs: 2000});
    add({call: 'b2_download_file_by_name', count: 1, latencyMs: 2000});
    const body = randomBytes(5000);
    expect((await impatient.put('f/stall.bin', body)).sha1).toBe(sha1(body));
    expect(emu.stats().calls.b2_upload_file).toBe(2);
    expect(sha1(await readAll((await impatient.get('f/stall.bin')).stream))).toBe(sha1(body));
    expect(emu.stats().calls.b2_download_file_by_name).toBe(2);
  });

  test('a fatal error while a pipe is stalled fails the put at once and cancels the large file', async () => {
    add({call: 'b2_upload_part', status: 403, code: 'cap_exceeded'});
    const pipe = new PassThrough();
    pipe.write(data.subarray(0, 3 * PART)); // then nothing more, and no end
    const err = await backend.put('f/stalled-pipe.bin', pipe).catch((e) => e);
    expect(isBackupError(err, 'cap_exceeded')).toBe(true);
    expect(pipe.destroyed).toBe(true);
    emu.faults.clear();
    expect(await unfinishedCount(backend)).toBe(0);
  });

  test('a finish whose answer is lost is recognised as finished, not failed', async () => {
    add({call: 'b2_finish_large_file', count: 1, cutResponseAfterBytes: 10});
    const stats = await uploadAndVerify('f/finish-cut.bin');
    // the retry of the finish is refused (already finished); the file's record settles it
    expect(stats.calls.b2_finish_large_file).toBe(2);
    expect(stats.calls.b2_get_file_info).toBe(1);
    expect(stats.calls.b2_cancel_large_file ?? 0).toBe(0);
  });

  test('an attempt that fails half-way releases its file range (no descriptor leak)', async () => {
    const bigPart = 1024 * 1024;
    const big = join(dir, 'big-parts.bin');
    const bigData = randomBytes(3 * bigPart + 7);
    await writeFile(big, bigData);
    const wide = await openBackend(emu, {uploadCutoff: 100_000, partSize: bigPart, retry: fastRetry().retry});
    add({call: 'b2_upload_part', count: 3, cutRequestAfterBytes: 100_000});
    expect((await wide.put('f/big-parts.bin', {path: big})).sha1).toBe(sha1(bigData));
    expect(await openDescriptors(big)).toBe(0);
  });
});
