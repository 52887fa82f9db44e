import {describe, test, expect, beforeAll, afterAll, afterEach} from '@jest/globals';
import {randomBytes} from 'node:crypto';
import {mkdtemp, open, readFile, rm} from 'node:fs/promises';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {readAll} from '../../src/body.js';
import type {B2Backend} from '../../src/b2/index.js';
import {rangeAnswerMismatch} from '../../src/b2/range-reader.js';
import type {RunningEmulator} from '../../src/emulator/index.js';
import {isBackupError} from '../../src/errors.js';
import {emulator, openBackend} from './helpers.js';

// A ranged answer is data only when its Content-Range is the range that was asked for: a
// cache or proxy in front of B2 that answers another range (the emulator's shiftRangeBytes
// fault, honestly labelled) is retried, never spliced into the output.

const SIZE = 300_000;
const data = randomBytes(SIZE);
let emu: RunningEmulator;
let backend: B2Backend;
let dir: string;

beforeAll(async () => {
  emu = await emulator();
  dir = await mkdtemp(join(tmpdir(), 'wrong-range-'));
  backend = await openBackend(emu);
  await backend.put('obj.bin', data);
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

describe('a ranged answer that is not the range asked for', () => {
  test('a resumed range answered from 10 bytes further on is retried: get(key, {range}) yields the right bytes', async () => {
    emu.faults.add({call: 'b2_download_file_by_name', count: 1, cutResponseAfterBytes: 100_000});
    emu.faults.add({call: 'b2_download_file_by_id', count: 1, shiftRangeBytes: 10});
    const got = await readAll((await backend.get('obj.bin', {range: {start: 100, end: SIZE - 1}})).stream);
    expect(emu.stats().faults.shift_range).toBe(1);
    expect(got.length).toBe(SIZE - 100);
    expect(got.equals(data.subarray(100))).toBe(true);
  });

  test('a first ranged answer from further on is not taken either', async () => {
    emu.faults.add({call: 'b2_download_file_by_name', count: 1, shiftRangeBytes: 7});
    const got = await readAll((await backend.get('obj.bin', {range: {start: 1000, end: 1999}})).stream);
    expect(emu.stats().faults.shift_range).toBe(1);
    expect(got.equals(data.subarray(1000, 2000))).toBe(true);
  });

  test('a whole-file download to a file whose resume is shifted is not called damaged: it retries and verifies', async () => {
    emu.faults.add({call: 'b2_download_file_by_name', count: 1, cutResponseAfterBytes: 50_000});
    emu.faults.add({call: 'b2_download_file_by_id', count: 1, shiftRangeBytes: 1});
    const path = join(dir, 'out.bin');
    const fh = await open(path, 'w+');
    try {
      await backend.getToFile('obj.bin', fh);
    } finally {
      await fh.close();
    }
    expect(emu.stats().faults.shift_range).toBe(1);
    expect((await readFile(path)).equals(data)).toBe(true);
  });

  test('a proxy that always answers the wrong range ends in a transient failure (exit 1), not a damaged-data error', async () => {
    emu.faults.add({call: 'b2_download_file_by_name', count: 1, cutResponseAfterBytes: 100_000});
    emu.faults.add({call: 'b2_download_file_by_id', shiftRangeBytes: 10});
    const err = await readAll((await backend.get('obj.bin', {range: {start: 0, end: SIZE - 1}})).stream).catch((e) => e);
    expect(isBackupError(err, 'failure')).toBe(true);
    expect((err as Error).message).toMatch(/obj\.bin/);
    expect((err as Error).message).toMatch(/asked for bytes \d+-299999/);
    // the budget of breaks without progress (the default 8): the cut is the first, 7 wrong answers follow
    expect(emu.stats().faults.shift_range).toBe(7);
  });
});

describe('rangeAnswerMismatch (what a Content-Range must say)', () => {
  const h = (contentRange?: string, contentLength?: number) => ({
    ...(contentRange ? {'content-range': contentRange} : {}),
    ...(contentLength === undefined ? {} : {'content-length': String(contentLength)}),
  });
  const ask = {start: 10, end: 19, total: 100};
  test('the range asked for, of the file known, is data', () => {
    expect(rangeAnswerMismatch({status: 206, headers: h('bytes 10-19/100', 10)}, ask)).toBeUndefined();
    // a server that ignored Range sends the whole file (the reader skips to where it is)
    expect(rangeAnswerMismatch({status: 200, headers: h(undefined, 100)}, ask)).toBeUndefined();
    // before the file's length is known (the first answer), any total
    expect(rangeAnswerMismatch({status: 206, headers: h('bytes 10-19/5000', 10)}, {start: 10, end: 19})).toBeUndefined();
  });
  test.each([
    ['another start', 206, 'bytes 11-19/100', 9],
    ['an earlier start', 206, 'bytes 9-19/100', 11],
    ['another end', 206, 'bytes 10-18/100', 9],
    ['another total', 206, 'bytes 10-19/101', 10],
    ['a length that disagrees with the range', 206, 'bytes 10-19/100', 11],
    ['no Content-Range on a 206', 206, undefined, 10],
    ['an unreadable Content-Range', 206, 'bytes */100', 10],
    ['a whole file of another length', 200, undefined, 99],
  ] as const)('%s is not', (_what, status, contentRange, contentLength) => {
    expect(rangeAnswerMismatch({status, headers: h(contentRange, contentLength)}, ask)).toMatch(/asked for bytes 10-19/);
  });
});
