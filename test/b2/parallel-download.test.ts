import {describe, test, expect, beforeAll, afterAll, afterEach} from '@jest/globals';
import {randomBytes} from 'node:crypto';
import {mkdtemp, open, readdir, readFile, rm} from 'node:fs/promises';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import type {Readable} from 'node:stream';
import type {B2Backend} from '../../src/b2/index.js';
import {BackupCatalog} from '../../src/backups/index.js';
import type {RunningEmulator} from '../../src/emulator/index.js';
import {isBackupError} from '../../src/errors.js';
import {OFF_THREAD_SHA1_FROM} from '../../src/sha1-sink.js';
import {emulator, fastRetry, openBackend, sha1} from './helpers.js';

// Large files download as parallel Range requests (to a file in place, to a stream in
// order), verified end to end, each range resuming on its own; small files take one
// request. A stream download whose first range arrives fast enough takes the rest as one
// stream. Over the emulator's HTTP, with its fault injection.

const RANGE = 256 * 1024;
const data = randomBytes(3 * 1024 * 1024 + 12_345); // 13 ranges, the last one short
let emu: RunningEmulator;
let backend: B2Backend;
let dir: string;

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/** getToFile into a fresh file; answers what it returned and what the file holds. */
async function toFile(b: B2Backend, key: string) {
  const path = join(dir, `out-${randomBytes(4).toString('hex')}`);
  const fh = await open(path, 'w+');
  try {
    const r = await b.getToFile(key, fh);
    return {...r, bytes: await readFile(path)};
  } finally {
    await fh.close();
  }
}

const downloads = () => (emu.stats().calls.b2_download_file_by_name ?? 0) + (emu.stats().calls.b2_download_file_by_id ?? 0);

beforeAll(async () => {
  emu = await emulator();
  dir = await mkdtemp(join(tmpdir(), 'parallel-dl-'));
  // no first range counts as fast (or as received by a busy thread) here: streams always take the parallel path (the adaptive choice has its own tests)
  backend = await openBackend(emu, {concurrency: 4, downloadRangeSize: RANGE, partSize: 5_000_000, fastStreamRate: Number.MAX_SAFE_INTEGER, busyStreamRate: Number.MAX_SAFE_INTEGER});
  await backend.put('big.bin', data);
  await backend.put('small.bin', data.subarray(0, 1000));
});

afterEach(() => {
  emu.faults.clear();
  emu.resetStats();
});

afterAll(async () => {
  await backend?.close();
  await emu?.stop();
  await rm(dir, {recursive: true, force: true});
});

describe('parallel ranges', () => {
  test('to a file: every range once, written in place, SHA1 of the whole', async () => {
    emu.resetStats();
    const r = await toFile(backend, 'big.bin');
    expect(r.bytes.equals(data)).toBe(true);
    expect({size: r.size, sha1: r.sha1}).toEqual({size: data.length, sha1: sha1(data)});
    expect(emu.stats().calls.b2_download_file_by_name).toBe(1); // the first range, by name: the newest version
    expect(emu.stats().calls.b2_download_file_by_id).toBe(Math.ceil(data.length / RANGE) - 1);
  });

  test('to a stream: the bytes in order, from as many ranges', async () => {
    emu.resetStats();
    const {stream} = await backend.get('big.bin');
    expect((await readAll(stream)).equals(data)).toBe(true);
    expect(downloads()).toBe(Math.ceil(data.length / RANGE));
  });

  test('a small file takes one request, to a file and to a stream', async () => {
    emu.resetStats();
    expect((await toFile(backend, 'small.bin')).bytes.equals(data.subarray(0, 1000))).toBe(true);
    expect((await readAll((await backend.get('small.bin')).stream)).equals(data.subarray(0, 1000))).toBe(true);
    expect(downloads()).toBe(2);
  });

  test('an empty file downloads as empty, to a file and to a stream', async () => {
    await backend.put('empty.bin', Buffer.alloc(0));
    expect((await toFile(backend, 'empty.bin')).bytes.length).toBe(0);
    expect((await readAll((await backend.get('empty.bin')).stream)).length).toBe(0);
  });

  test('concurrency 1 reads the file as one stream', async () => {
    const single = await openBackend(emu, {concurrency: 1, downloadRangeSize: RANGE});
    emu.resetStats();
    expect((await readAll((await single.get('big.bin')).stream)).equals(data)).toBe(true);
    expect((await toFile(single, 'big.bin')).bytes.equals(data)).toBe(true);
    expect(downloads()).toBe(2);
  });

  test('a range cut mid-response resumes from its last byte, to a file and to a stream', async () => {
    emu.faults.add({call: 'b2_download_file_by_id', count: 2, cutResponseAfterBytes: 100_000});
    const r = await toFile(backend, 'big.bin');
    expect(r.bytes.equals(data)).toBe(true);
    expect(emu.stats().bytesOut).toBeLessThan(data.length + 2 * RANGE); // resumed, not started over
    emu.faults.add({call: 'b2_download_file_by_id', count: 2, cutResponseAfterBytes: 100_000});
    expect((await readAll((await backend.get('big.bin')).stream)).equals(data)).toBe(true);
  });

  test('a damaged stored copy fails with checksum_mismatch, to a file and to a stream', async () => {
    await backend.put('bad.bin', data);
    await emu.corrupt(emu.bucket, 'backups/bad.bin');
    const fileErr = await toFile(backend, 'bad.bin').catch((e) => e);
    expect(isBackupError(fileErr, 'checksum_mismatch')).toBe(true);
    const streamErr = await readAll((await backend.get('bad.bin')).stream).catch((e) => e);
    expect(isBackupError(streamErr, 'checksum_mismatch')).toBe(true);
  });
});

describe('a stream: one stream when the first range is fast, ranges when it is slow', () => {
  test('a first range at least fastStreamRate fast: the rest as one more request, resuming after a break', async () => {
    const fast = await openBackend(emu, {concurrency: 4, downloadRangeSize: RANGE, fastStreamRate: 0});
    emu.resetStats();
    expect((await readAll((await fast.get('big.bin')).stream)).equals(data)).toBe(true);
    expect(emu.stats().calls).toMatchObject({b2_download_file_by_name: 1, b2_download_file_by_id: 1});
    emu.faults.add({call: 'b2_download_file_by_id', count: 1, cutResponseAfterBytes: 1_000_000});
    emu.resetStats();
    expect((await readAll((await fast.get('big.bin')).stream)).equals(data)).toBe(true);
    expect(emu.stats().calls.b2_download_file_by_id).toBe(2); // the rest, then its resume
    expect(emu.stats().bytesOut).toBeLessThan(data.length + RANGE);
  });

  test('a first range slower than fastStreamRate (the server throttled to 1 MB/s): the rest in parallel ranges', async () => {
    const adaptive = await openBackend(emu, {concurrency: 4, downloadRangeSize: RANGE, fastStreamRate: 100 * 1024 * 1024});
    emu.faults.add({call: 'b2_download_file_by_name', count: 1, bytesPerSecond: 1_000_000});
    emu.resetStats();
    expect((await readAll((await adaptive.get('big.bin')).stream)).equals(data)).toBe(true);
    expect(emu.stats().calls.b2_download_file_by_id).toBe(Math.ceil(data.length / RANGE) - 1);
  });

  test('a first range received while this thread was busy throughout (the process, not the network, was the limit): the rest as one stream', async () => {
    const busy = await openBackend(emu, {concurrency: 4, downloadRangeSize: RANGE, fastStreamRate: Number.MAX_SAFE_INTEGER, busyStreamRate: 0});
    emu.resetStats();
    expect((await whileBusy(() => busy.get('big.bin'))).equals(data)).toBe(true);
    expect(emu.stats().calls).toMatchObject({b2_download_file_by_name: 1, b2_download_file_by_id: 1});
  });

  test('a first range that slow (1 MB/s) is the network\'s limit even while this thread is busy with other work: the rest in parallel ranges', async () => {
    const busy = await openBackend(emu, {concurrency: 4, downloadRangeSize: RANGE, fastStreamRate: 100 * 1024 * 1024});
    emu.faults.add({call: 'b2_download_file_by_name', count: 1, bytesPerSecond: 1_000_000});
    emu.resetStats();
    expect((await whileBusy(() => busy.get('big.bin'))).equals(data)).toBe(true);
    expect(emu.stats().calls.b2_download_file_by_id).toBe(Math.ceil(data.length / RANGE) - 1);
  });
});

/**
 * The bytes of a stream download started while this thread computes between the chunks
 * it receives (as a cold start's compiling does), until the first chunk is passed on: the
 * probe is read whole before that.
 */
async function whileBusy(start: () => Promise<{stream: Readable}>): Promise<Buffer> {
  const spin = setInterval(() => {
    for (const until = performance.now() + 4; performance.now() < until; );
  }, 1);
  const chunks: Buffer[] = [];
  try {
    for await (const c of (await start()).stream) {
      chunks.push(c as Buffer);
      clearInterval(spin);
    }
  } finally {
    clearInterval(spin);
  }
  return Buffer.concat(chunks);
}

describe('a large file (hashed on a second thread where the machine has the cores for it: to a file, one that reads it back itself)', () => {
  test('to a file, to a stream in ranges and as one stream: the bytes, verified; a damaged copy fails', async () => {
    const large = randomBytes(OFF_THREAD_SHA1_FROM + 1_234_567);
    await backend.put('large.bin', large);
    const r = await toFile(backend, 'large.bin');
    expect(r.bytes.equals(large)).toBe(true);
    expect(r.sha1).toBe(sha1(large));
    expect((await readAll((await backend.get('large.bin')).stream)).equals(large)).toBe(true);
    const oneStream = await openBackend(emu, {concurrency: 4, downloadRangeSize: RANGE, fastStreamRate: 0});
    expect((await readAll((await oneStream.get('large.bin')).stream)).equals(large)).toBe(true);
    // the file's bytes are read back to be hashed: a handle open for writing only fails that
    // read, with its own error for the caller to name (not a hang, nor a wrong SHA1)
    const path = join(dir, 'write-only.bin');
    const writeOnly = await open(path, 'w');
    try {
      expect(await backend.getToFile('large.bin', writeOnly).then(() => undefined, (e: unknown) => e)).toMatchObject({code: 'EBADF'});
    } finally {
      await writeOnly.close();
    }
    await emu.corrupt(emu.bucket, 'backups/large.bin');
    expect(isBackupError(await toFile(backend, 'large.bin').catch((e) => e), 'checksum_mismatch')).toBe(true);
    expect(isBackupError(await readAll((await oneStream.get('large.bin')).stream).catch((e) => e), 'checksum_mismatch')).toBe(true);
    await backend.delete('large.bin');
  });
});

describe('through the catalog', () => {
  test('downloadToFile: ranges written in place into the temp file, then the complete file at the path', async () => {
    const catalog = new BackupCatalog(backend);
    const up = await catalog.upload(data, {name: 'parallel'});
    emu.resetStats();
    const path = join(dir, 'restored.tar');
    const done = await catalog.downloadToFile(up.id, path);
    expect({size: done.size, sha1: done.sha1}).toEqual({size: data.length, sha1: sha1(data)});
    expect((await readFile(path)).equals(data)).toBe(true);
    // every range by the id the listing gave (the first too: the version listed, not the newest of the name)
    expect(emu.stats().calls.b2_download_file_by_id).toBe(Math.ceil(data.length / RANGE));
    expect((await readdir(dir)).filter((f) => f.includes('.partial'))).toEqual([]);
  });
});

describe('robustness', () => {
  test('a download that progresses on every attempt finishes, with a backoff before each resume', async () => {
    const fast = fastRetry();
    const single = await openBackend(emu, {concurrency: 1, retry: fast.retry});
    await single.put('small-steps.bin', data.subarray(0, 1_500_000));
    // 14 breaks in a row, each after 100 KB of progress: more than the 8 attempts a call gets
    emu.faults.add({call: 'b2_download_file_by_name', count: 1, cutResponseAfterBytes: 100_000});
    emu.faults.add({call: 'b2_download_file_by_id', count: 30, cutResponseAfterBytes: 100_000});
    const got = await readAll((await single.get('small-steps.bin')).stream);
    expect(got.equals(data.subarray(0, 1_500_000))).toBe(true);
    expect(emu.stats().calls.b2_download_file_by_id).toBeGreaterThanOrEqual(14);
    expect(fast.delays.length).toBeGreaterThanOrEqual(14);
    expect(fast.delays.every((ms) => ms > 0)).toBe(true);
  });

  test('breaks without progress still give up after the attempt budget', async () => {
    const fast = fastRetry();
    const single = await openBackend(emu, {concurrency: 1, retry: {...fast.retry, maxAttempts: 3}});
    emu.faults.add({call: 'b2_download_file_by_name', count: 1, cutResponseAfterBytes: 100_000});
    emu.faults.add({call: 'b2_download_file_by_id', cutResponseAfterBytes: 0});
    const err = await readAll((await single.get('big.bin')).stream).catch((e) => e);
    expect(isBackupError(err)).toBe(true);
    expect(err.message).toMatch(/after 3 attempt/);
    expect(emu.stats().calls.b2_download_file_by_id).toBe(3);
  });

  test('a range whose bytes stop coming for longer than the stall timeout resumes from its next byte, to a file and to a stream', async () => {
    const fast = fastRetry();
    const impatient = await openBackend(emu, {stallTimeoutMs: 300, concurrency: 4, downloadRangeSize: RANGE, fastStreamRate: Number.MAX_SAFE_INTEGER, busyStreamRate: Number.MAX_SAFE_INTEGER, retry: fast.retry});
    for (const get of [async () => (await toFile(impatient, 'big.bin')).bytes, async () => readAll((await impatient.get('big.bin')).stream)]) {
      // one range sends its first KiB, then nothing for a second
      emu.faults.add({call: 'b2_download_file_by_id', count: 1, bytesPerSecond: 1024});
      emu.resetStats();
      expect((await get()).equals(data)).toBe(true);
      expect(emu.stats().calls.b2_download_file_by_id).toBeGreaterThanOrEqual(Math.ceil(data.length / RANGE)); // the other ranges and the resume
      expect(emu.stats().bytesOut).toBeLessThan(data.length + RANGE); // resumed, not started over
    }
    expect(fast.delays.length).toBeGreaterThanOrEqual(2);
  });

  test('a stream nobody reads is closed after the stall timeout, releasing its connection', async () => {
    const impatient = await openBackend(emu, {stallTimeoutMs: 300, concurrency: 4, downloadRangeSize: RANGE});
    const {stream} = await impatient.get('big.bin');
    const err = await new Promise<Error | undefined>((resolve) => {
      stream.once('error', resolve);
      stream.once('close', () => resolve(undefined));
    });
    expect(err?.message).toMatch(/nobody read the download for 300 ms/);
    expect(stream.destroyed).toBe(true);
  });

  test('a write to the caller\'s file that fails (no space: /dev/full) rejects with that error itself, for the caller to name its path', async () => {
    const fh = await open('/dev/full', 'r+');
    try {
      const err = await backend.getToFile('big.bin', fh).then(() => undefined, (e: unknown) => e);
      expect(err).toMatchObject({code: 'ENOSPC'});
      expect(isBackupError(err)).toBe(false);
    } finally {
      await fh.close();
    }
  });
});
