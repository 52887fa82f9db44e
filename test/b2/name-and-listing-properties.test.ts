import {afterAll, beforeAll, describe, expect, test} from '@jest/globals';
import fc from 'fast-check';
import {randomBytes} from 'node:crypto';
import type {B2Backend} from '../../src/b2/index.js';
import {compareUtf8, MAX_NAME_BYTES, nameProblem} from '../../src/keys.js';
import type {RunningEmulator} from '../../src/emulator/index.js';
import {emulator, openBackend, sha1} from './helpers.js';

// Property tests over the real wire (the emulator on 127.0.0.1): any valid UTF-8 name
// survives upload, listing and download unchanged, and a listing returns exactly the
// stored set in B2's order whatever the page size.

const PREFIX = 'backups/';
let emu: RunningEmulator;
let backend: B2Backend;

beforeAll(async () => {
  emu = await emulator();
  backend = await openBackend(emu, {prefix: PREFIX});
});
afterAll(async () => {
  await backend?.close();
  await emu?.stop();
});

/** Pieces that trip up encoders: spaces, "+", "%" (and what looks already encoded), emoji, joiners, CJK, "/" and dots. */
const tricky = fc.constantFrom(' ', '+', '%', '%2B', '%20', '😀', '👨‍👩‍👧', 'é', '中文', '/', '.', '..', '~', '#', '?', '&', '=', '\\', '"', "'", 'ß', 'Ω');
const namePiece = fc.oneof(tricky, fc.string({unit: 'grapheme', minLength: 1, maxLength: 6}));
/** A key that B2 accepts under the prefix (B2's rules: 1..1024 bytes of UTF-8, no control characters). */
const validKey = fc
  .array(namePiece, {minLength: 1, maxLength: 30})
  .map((pieces) => pieces.join(''))
  .filter((key) => nameProblem(key) === undefined && nameProblem(PREFIX + key) === undefined);

async function readAll(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

async function roundTrip(key: string): Promise<void> {
  const body = randomBytes(1 + (key.length % 64));
  const stored = await backend.put(key, body);
  expect(stored.key).toBe(key);
  const listed: string[] = [];
  for await (const info of backend.list()) listed.push(info.key);
  expect(listed).toContain(key);
  const {info, stream} = await backend.get(key);
  expect(info.key).toBe(key);
  const bytes = await readAll(stream);
  expect(sha1(bytes)).toBe(sha1(body));
  expect(await backend.delete(key)).toBe(true);
  expect(await backend.stat(key)).toBeUndefined();
}

describe('names', () => {
  test('any valid UTF-8 name round-trips through upload, listing and download', async () => {
    await fc.assert(fc.asyncProperty(validKey, roundTrip), {numRuns: 60});
  });

  test('the longest names B2 allows round-trip: 1024 bytes with the prefix, in 1-, 2-, 3- and 4-byte characters', async () => {
    const room = MAX_NAME_BYTES - Buffer.byteLength(PREFIX);
    for (const char of ['a', 'é', '中', '😀']) {
      const width = Buffer.byteLength(char);
      const key = char.repeat(Math.floor(room / width)) + 'z'.repeat(room % width);
      expect(Buffer.byteLength(PREFIX + key)).toBe(MAX_NAME_BYTES);
      await roundTrip(key);
    }
    await expect(backend.put('z'.repeat(room + 1), Buffer.from('x'))).rejects.toThrow(/longer than 1024 bytes/);
  });

  test('a "." or ".." path segment is refused before any request: a URL would collapse it, and "../x" would leave the prefix', async () => {
    const before = JSON.stringify(emu.stats().calls);
    for (const key of ['.', '..', '../outside.tar', 'a/./b', 'a/..', './a']) {
      await expect(backend.put(key, Buffer.from('x'))).rejects.toThrow(/"\." or "\.\." path segment/);
      await expect(backend.stat(key)).rejects.toThrow(/path segment/);
    }
    expect(JSON.stringify(emu.stats().calls)).toBe(before);
  });
});

describe('listing', () => {
  let run = 0;
  test('any page size returns exactly the stored set, in B2 order (UTF-8 bytes), each name once', async () => {
    const names = fc.uniqueArray(validKey, {minLength: 0, maxLength: 40});
    await fc.assert(
      fc.asyncProperty(names, fc.integer({min: 1, max: 45}), async (keys, pageSize) => {
        const folder = `run-${++run}/`;
        // seeded straight into the emulator's store; the listing itself goes over HTTP
        await emu.putFiles(emu.bucket, keys.map((key) => ({fileName: PREFIX + folder + key, data: Buffer.from(key)})));
        const paged = await openBackend(emu, {prefix: PREFIX, listPageSize: pageSize});
        try {
          const listed: string[] = [];
          for await (const info of paged.list({prefix: folder})) listed.push(info.key);
          expect(listed).toEqual(keys.map((key) => folder + key).sort(compareUtf8));
        } finally {
          await paged.close();
        }
      }),
      {numRuns: 40},
    );
  });

  test('a page size outside 1..10000 is refused before any request', async () => {
    for (const listPageSize of [0, 10_001, 2.5]) {
      await expect(openBackend(emu, {listPageSize})).rejects.toThrow(/listPageSize.*expected an integer 1\.\.10000/);
    }
  });
});
