import {afterAll, beforeAll, expect, test} from '@jest/globals';
import {randomBytes} from 'node:crypto';
import {Readable} from 'node:stream';
import type {RunningEmulator} from '../../src/emulator/index.js';
import {SLICE_BYTES} from '../../src/token-bucket.js';
import {ManualClock} from '../helpers/manual-clock.js';
import {emulator, openBackend} from './helpers.js';

// The provider's bandwidth limits over the real wire, accounted on a clock the test
// owns: every byte sent or received is taken from one bucket per direction, shared by
// all parallel parts. (Real-time accuracy is measured by bench/bandwidth.mjs.)

const MB = 1_000_000;
let emu: RunningEmulator;

beforeAll(async () => {
  emu = await emulator({minPartSize: 100_000});
});

afterAll(async () => {
  await emu?.stop();
});

async function drain(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

test('a 4-part upload with 4 in parallel takes 4 s at 1 MB/s on the shared bucket; the 4 MB download 1.75 s at 2 MB/s (after a quarter second of saved burst)', async () => {
  const clock = new ManualClock();
  const backend = await openBackend(emu, {partSize: MB, uploadCutoff: MB, concurrency: 4, bandwidth: {upload: MB, download: 2 * MB}, clock});
  const data = randomBytes(4 * MB);
  await backend.put('limited.tar', data);
  // 4 parts in flight at once, yet together no faster than 1 MB/s (a slice of slack per part)
  expect(clock.t).toBeGreaterThanOrEqual(4000);
  expect(clock.t).toBeLessThanOrEqual(4000 + (4 * SLICE_BYTES * 1000) / MB);
  const afterUpload = clock.t;
  const {stream} = await backend.get('limited.tar');
  expect((await drain(stream)).equals(data)).toBe(true);
  // the download bucket sat idle during the upload: it saved a quarter second (0.5 MB), no more
  expect(clock.t - afterUpload).toBeGreaterThanOrEqual(1750);
  expect(clock.t - afterUpload).toBeLessThanOrEqual(1750 + (SLICE_BYTES * 1000) / (2 * MB));
  await backend.close();
});

test('without limits the clock is never consulted', async () => {
  const clock = new ManualClock();
  const backend = await openBackend(emu, {clock});
  await backend.put('free.tar', randomBytes(MB));
  await drain((await backend.get('free.tar')).stream);
  expect(clock.sleeps).toEqual([]);
  await backend.close();
});
