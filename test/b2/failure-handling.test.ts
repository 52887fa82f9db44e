import {describe, test, expect, beforeAll, afterAll} from '@jest/globals';
import {randomBytes} from 'node:crypto';
import {mkdirSync, unlinkSync} from 'node:fs';
import {rm, writeFile} from 'node:fs/promises';
import {join} from 'node:path';
import {readAll} from '../../src/body.js';
import {B2Backend} from '../../src/b2/index.js';
import {isBackupError} from '../../src/errors.js';
import type {RunningEmulator} from '../../src/emulator/index.js';
import {libraryClient} from '../emulator/helpers.js';
import {refusedPort} from '../helpers/refused-port.js';
import {confirmed, emulator, fastRetry, openBackend, type PartsFixture, sha1, startPartsFixture, unfinishedCount} from './helpers.js';

const PART = 64 * 1024;
const PARTS = 17;
const SIZE = (PARTS - 1) * PART + 1234;


describe('B2 provider: failures are classified, confined and retried as they should be', () => {
  let emu: RunningEmulator;
  let dir: string;
  let path: string;
  let data: Buffer;

  let fixture: PartsFixture;
  beforeAll(async () => {
    fixture = await startPartsFixture({tag: 'failure-handling', part: PART, size: SIZE, emulator: {seed: 11}});
    ({emu, dir, path, data} = fixture);
  });
  afterAll(() => fixture?.stop());

  const open = (delays: number[] = [], more = {}) => openBackend(emu, {uploadCutoff: 100_000, partSize: PART, concurrency: 1, retry: fastRetry(delays).retry, ...more});

  test('a finish that reports another length than was sent fails, and the finished file is deleted', async () => {
    const backend = await open();
    emu.faults.add({call: 'b2_finish_large_file', count: 1, answerFields: {contentLength: SIZE - 1}});
    const err = await backend.put('finish/short.bin', {path}).catch((e: unknown) => e);
    emu.faults.clear();
    expect(isBackupError(err, 'checksum_mismatch')).toBe(true);
    expect((err as Error).message).toContain(`with ${SIZE - 1} bytes, but ${SIZE} were sent; the file was deleted`);
    const b2 = await libraryClient(emu);
    const versions = await b2.listFileVersions({bucketId: emu.bucketId, startFileName: 'backups/finish/', maxFileCount: 100});
    expect(versions.data.files.filter((f: {fileName: string}) => f.fileName.startsWith('backups/finish/'))).toEqual([]);
    expect(await unfinishedCount(backend)).toBe(0);
  });

  test('cancelUnfinished refuses a fileId whose name is outside the prefix (or is another key), and cancels one that is ours', async () => {
    const backend = await open();
    const b2 = await libraryClient(emu);
    const start = async (fileName: string) => (await b2.startLargeFile({bucketId: emu.bucketId, fileName, contentType: 'application/x-tar'})).data.fileId as string;
    const outside = await start('elsewhere/theirs.tar');
    const ours = await start('backups/ours.tar');
    for (const attempt of [{fileId: outside, key: 'theirs.tar'}, {fileId: outside, key: 'ours.tar'}, {fileId: ours, key: 'other.tar'}]) {
      const err = await backend.cancelUnfinished(attempt).catch((e: unknown) => e);
      expect(isBackupError(err, 'not_found')).toBe(true);
    }
    const whole = await openBackend(emu, {prefix: ''});
    const unfinished = async () => {
      const ids = [];
      for await (const u of whole.listUnfinished()) ids.push(u.fileId);
      return ids;
    };
    expect(await unfinished()).toEqual(expect.arrayContaining([outside, ours]));
    await backend.cancelUnfinished({fileId: ours, key: 'ours.tar'}); // not listed by this backend, but found under its name
    expect(await unfinished()).toEqual([outside]);
    await b2.cancelLargeFile({fileId: outside});
  });

  test('a library user\'s prefix "pfx" is the folder "pfx/": "pfx-old/…" is never listed or deleted', async () => {
    const whole = await openBackend(emu, {prefix: ''});
    await whole.put('pfx-old/keep.bin', Buffer.from('not ours'));
    const backend = await openBackend(emu, {prefix: 'pfx'});
    expect(backend.prefix).toBe('pfx/');
    await backend.put('mine.bin', Buffer.from('ours'));
    const keys = [];
    for await (const o of backend.list()) keys.push(o.key);
    expect(keys).toEqual(['mine.bin']);
    expect(await backend.delete('-old/keep.bin')).toBe(false);
    expect(await whole.stat('pfx-old/keep.bin')).toBeDefined();
    expect(await whole.stat('pfx/mine.bin')).toBeDefined();
  });

  test.each([
    ['deleted', 'ENOENT', (p: string) => unlinkSync(p)],
    ['replaced by a directory', 'EISDIR', (p: string) => {
      unlinkSync(p);
      mkdirSync(p);
    }],
  ])('a file %s mid-upload is a local read error (%s), reported at once: no retries, no backoff, the upload cancelled', async (_what, code, breakIt) => {
    const delays: number[] = [];
    const backend = await open(delays);
    const victim = join(dir, `victim-${code}.bin`);
    await writeFile(victim, data);
    emu.resetStats();
    let broken = false;
    const err = await backend.put(`local/${code}.bin`, {path: victim}, {onProgress: (p) => {
      if (!broken && confirmed(p) >= PART) {
        broken = true;
        breakIt(victim); // at once: the next part's read finds the file gone
      }
    }}).catch((e: unknown) => e);
    expect(broken).toBe(true);
    expect(isBackupError(err, 'failure')).toBe(true);
    expect((err as Error).message).toContain(`cannot read ${victim} while uploading it: ${code}`);
    expect((err as Error).message).not.toMatch(/network|cannot reach/);
    expect(delays).toEqual([]);
    expect(emu.stats().calls.b2_upload_part).toBeLessThanOrEqual(3);
    expect(emu.stats().calls.b2_cancel_large_file).toBe(1);
    await rm(victim, {recursive: true, force: true});
  });

  // B2 documents Retry-After as the seconds to wait before asking again; b2sdk and rclone
  // sleep all of it. Asking early burns attempts and ignores B2; a wait beyond 5 minutes ends
  // the call instead (an unattended backup is better told to try later than left hanging).
  test('a Retry-After longer than the policy waits ends the call at once, in one line that says so', async () => {
    const delays: number[] = [];
    const backend = await open(delays);
    emu.faults.add({call: 'b2_upload_file', count: 1, status: 429, retryAfter: 86_400});
    emu.resetStats();
    const err = await backend.put('retry-after/day.bin', randomBytes(1000)).catch((e: unknown) => e);
    expect(isBackupError(err, 'failure')).toBe(true);
    expect((err as {exitCode: number}).exitCode).toBe(1);
    expect((err as Error).message).toMatch(/^B2 asked to wait 86400 s before b2_upload_file for "backups\/retry-after\/day\.bin" is tried again \(B2 answered 429 too_many_requests: .*\), longer than the 300 s this tool waits for B2; try again later$/);
    expect(delays).toEqual([]);
    expect(emu.stats().calls.b2_upload_file).toBe(1);
  });

  test('a 503 with a Retry-After over the limit on a large file: the parts stored are kept to resume', async () => {
    const delays: number[] = [];
    const backend = await open(delays);
    let asked = false;
    const err = await backend.put('retry-after/large.bin', {path}, {onProgress: (p) => {
      if (!asked && confirmed(p) >= 3 * PART) {
        asked = true;
        emu.faults.add({call: 'b2_upload_part', count: 1, status: 503, retryAfter: 301});
      }
    }}).catch((e: unknown) => e);
    expect(isBackupError(err, 'failure')).toBe(true);
    expect((err as Error).message).toMatch(/^B2 asked to wait 301 s before b2_upload_part for "backups\/retry-after\/large\.bin" is tried again \(B2 answered 503 service_unavailable: .*\), longer than the 300 s this tool waits for B2; try again later; the unfinished upload of backups\/retry-after\/large\.bin \(\d+ parts stored\) was kept to be resumed$/);
    expect(delays).toEqual([]);
    expect(await unfinishedCount(backend)).toBe(1);
    expect((await backend.put('retry-after/large.bin', {path})).sha1).toBe(sha1(data));
    expect(await unfinishedCount(backend)).toBe(0);
  });

  test('a Retry-After within the policy is waited in full, never less, also beyond the longest backoff (64 s)', async () => {
    const delays: number[] = [];
    const backend = await open(delays);
    emu.faults.add({call: 'b2_upload_file', count: 1, status: 429, retryAfter: 300});
    const body = randomBytes(1000);
    expect((await backend.put('retry-after/minute.bin', body)).sha1).toBe(sha1(body));
    expect(delays).toEqual([300_000]);
  });

  test('an expired token on a HEAD (stat: a 401 without a body) re-authorizes once, like any other call', async () => {
    const backend = await open();
    await backend.put('head/file.bin', Buffer.from('x'));
    emu.faults.expireAllTokens();
    emu.resetStats();
    expect((await backend.stat('head/file.bin'))?.size).toBe(1);
    expect(emu.stats().calls.b2_authorize_account).toBe(1);
    expect(emu.stats().calls.b2_download_file_by_name).toBe(2);
  });

  test('part retries exhausted on a transient failure keep the large file and its parts (resumable error); the rerun resumes them', async () => {
    const delays: number[] = [];
    const backend = await open(delays);
    emu.resetStats();
    let down = false;
    const err = await backend.put('transient/kept.bin', {path}, {onProgress: (p) => {
      if (!down && confirmed(p) >= 5 * PART) {
        down = true;
        emu.faults.add({call: 'b2_upload_part', status: 503});
      }
    }}).catch((e: unknown) => e);
    emu.faults.clear();
    expect(isBackupError(err, 'failure')).toBe(true);
    expect(err).toMatchObject({transient: true, resumable: true});
    expect((err as Error).message).toMatch(/the unfinished upload of backups\/transient\/kept\.bin \(\d+ parts stored\) was kept to be resumed$/);
    expect(emu.stats().calls.b2_cancel_large_file ?? 0).toBe(0);
    expect(await unfinishedCount(backend)).toBe(1);
    const stored = emu.stats().calls.b2_upload_part - emu.stats().errors.service_unavailable;
    expect(stored).toBeGreaterThanOrEqual(5);
    emu.resetStats();
    const info = await backend.put('transient/kept.bin', {path});
    expect(info.sha1).toBe(sha1(data));
    expect(emu.stats().calls.b2_upload_part).toBe(PARTS - stored);
    expect(emu.stats().calls.b2_start_large_file ?? 0).toBe(0);
    expect(sha1(await readAll((await backend.get('transient/kept.bin')).stream))).toBe(sha1(data));
    expect(await unfinishedCount(backend)).toBe(0);
  });

  test('b2_finish_large_file busy through every retry: every part stays stored (resumable error, no cancel); the rerun only finishes', async () => {
    const backend = await open();
    emu.resetStats();
    emu.faults.add({call: 'b2_finish_large_file', status: 503});
    const err = await backend.put('transient/finish.bin', {path}).catch((e: unknown) => e);
    emu.faults.clear();
    expect(err).toMatchObject({transient: true, resumable: true});
    expect((err as Error).message).toMatch(/the unfinished upload of backups\/transient\/finish\.bin \(17 parts stored\) was kept to be resumed$/);
    expect(emu.stats().calls.b2_cancel_large_file ?? 0).toBe(0);
    expect(await unfinishedCount(backend)).toBe(1);
    emu.resetStats();
    const info = await backend.put('transient/finish.bin', {path});
    expect(info.sha1).toBe(sha1(data));
    expect(emu.stats().calls.b2_upload_part ?? 0).toBe(0);
    expect(emu.stats().calls.b2_finish_large_file).toBe(1);
    expect(await unfinishedCount(backend)).toBe(0);
  });

  test('an endpoint that refuses connections fails after a few attempts (about 10 s of backoff) with "is the endpoint right?"', async () => {
    const port = await refusedPort();
    const delays: number[] = [];
    const err = await B2Backend.open({keyId: emu.keyId, applicationKey: emu.applicationKey, bucket: emu.bucket, endpoint: `http://127.0.0.1:${port}`, retry: fastRetry(delays).retry}).catch((e: unknown) => e);
    expect(isBackupError(err, 'network')).toBe(true);
    expect((err as Error).message).toMatch(new RegExp(`^cannot reach http://127\\.0\\.0\\.1:${port}: is the endpoint right\\? \\(ECONNREFUSED`));
    expect(delays.length).toBe(3); // 4 attempts
    expect(delays.reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(7000);
  });

  test('once a connection has worked, a server that goes away gets the full retry policy', async () => {
    const gone = await emulator();
    const delays: number[] = [];
    const backend = await openBackend(gone, {retry: fastRetry(delays).retry});
    await gone.stop();
    const err = await backend.stat('anything.bin').catch((e: unknown) => e);
    expect(isBackupError(err, 'network')).toBe(true);
    expect((err as Error).message).toMatch(/^cannot reach B2 at .* after 8 attempt/);
    expect(delays.length).toBe(7);
  });
});
