import {afterAll, beforeAll, describe, expect, test} from '@jest/globals';
import {constants as bufferConstants} from 'node:buffer';
import {writeFile} from 'node:fs/promises';
import {totalmem} from 'node:os';
import {join} from 'node:path';
import {Readable} from 'node:stream';
import type {B2Backend} from '../../src/b2/index.js';
import {BackupCatalog} from '../../src/backups/index.js';
import type {RunningEmulator} from '../../src/emulator/index.js';
import {isBackupError} from '../../src/errors.js';
import {emulator, openBackend, sha1} from '../b2/helpers.js';
import {keysOf, rejection, tempDir} from './helpers.js';

// A backup is never empty (a tar has at least its end-of-archive blocks): the catalog
// refuses a 0-byte archive as bad input before anything is uploaded, whatever the source,
// so that no caller (the CLI's upload and its retention prune included) takes one for a backup.
// And a stream's parts are held in memory: a part size no Buffer can hold is refused up front.

let emu: RunningEmulator;
let backend: B2Backend;
let dir: string;
let cleanup: () => Promise<void>;

beforeAll(async () => {
  emu = await emulator();
  backend = await openBackend(emu, {prefix: 'empty/'});
  ({dir, cleanup} = await tempDir());
});

afterAll(async () => {
  await backend?.close();
  await emu?.stop();
  await cleanup?.();
});

/** Calls that start or make an upload (or delete anything) since the last resetStats(). */
function writeCalls(): Record<string, number> {
  const c = emu.stats().calls;
  return Object.fromEntries(['b2_get_upload_url', 'b2_upload_file', 'b2_start_large_file', 'b2_get_upload_part_url', 'b2_upload_part', 'b2_delete_file_version', 'b2_hide_file'].map((n) => [n, c[n] ?? 0]).filter(([, v]) => v !== 0));
}

async function expectRefusedEmpty(upload: Promise<unknown>, where: RegExp): Promise<void> {
  const err = await rejection(upload);
  expect(isBackupError(err, 'bad_input')).toBe(true);
  expect((err as Error).message).toMatch(where);
  expect((err as Error).message).toMatch(/is empty \(0 bytes\).*nothing was stored/);
}

describe('BackupCatalog.upload refuses an empty archive (bad_input), storing nothing and starting no upload', () => {
  test('a 0-byte buffer, a 0-byte file, an empty stream, a stream of empty chunks, a stream declared as 0 bytes', async () => {
    const catalog = new BackupCatalog(backend);
    const emptyFile = join(dir, 'empty.tar');
    await writeFile(emptyFile, '');
    emu.resetStats();
    await expectRefusedEmpty(catalog.upload(Buffer.alloc(0), {name: 'b'}), /^the archive is empty/);
    await expectRefusedEmpty(catalog.upload({path: emptyFile}, {name: 'f'}), new RegExp(`^${emptyFile.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} is empty`));
    await expectRefusedEmpty(catalog.upload(Readable.from([]), {name: 's'}), /^the archive stream is empty/);
    await expectRefusedEmpty(catalog.upload(Readable.from([Buffer.alloc(0), Buffer.alloc(0)]), {name: 'c'}), /^the archive stream is empty/);
    await expectRefusedEmpty(catalog.upload(Readable.from([]), {name: 'd', size: 0}), /^the archive stream is empty/);
    expect(writeCalls()).toEqual({});
    expect(await keysOf(backend)).toEqual([]);
    expect(await catalog.list()).toEqual([]);
  });

  test('planUpload (a dry run) refuses a 0-byte file or buffer, and a stream declared as 0 bytes, as upload would', async () => {
    const catalog = new BackupCatalog(backend);
    const emptyFile = join(dir, 'empty-plan.tar');
    await writeFile(emptyFile, '');
    await expectRefusedEmpty(catalog.planUpload(Buffer.alloc(0)), /^the archive is empty/);
    await expectRefusedEmpty(catalog.planUpload({path: emptyFile}), /empty-plan\.tar is empty/);
    await expectRefusedEmpty(catalog.planUpload(Readable.from([]), {size: 0}), /^the archive stream is empty/);
  });

  test('a stream of one byte is not empty: looking at it takes nothing from it (stored whole, SHA1 right)', async () => {
    const catalog = new BackupCatalog(backend);
    const slow = Readable.from((async function* () {
      yield Buffer.alloc(0);
      yield Buffer.from('x');
    })());
    const up = await catalog.upload(slow, {name: 'one byte'});
    expect({size: up.size, sha1: up.sha1}).toEqual({size: 1, sha1: sha1('x')});
    expect((await catalog.list()).find((b) => b.id === up.id)?.name).toBe('one byte');
    await catalog.delete(up.id);
  });
});

describe('an upload from a stream holds its parts in memory: a part size no Buffer can hold is refused before anything is sent', () => {
  const tooLarge = 5_000_000_000; // B2's largest part, valid for a file
  test(`partSize ${tooLarge} (above Node's ${bufferConstants.MAX_LENGTH}-byte Buffer limit): bad_input naming the limit; a file still takes it`, async () => {
    if (bufferConstants.MAX_LENGTH >= tooLarge) return; // a Node whose Buffers hold 5 GB has no such limit to check
    const big = await openBackend(emu, {prefix: 'empty-big/', partSize: tooLarge});
    try {
      const catalog = new BackupCatalog(big);
      emu.resetStats();
      for (const attempt of [() => catalog.upload(Readable.from([Buffer.from('some bytes')]), {name: 'piped'}), () => catalog.planUpload(Readable.from([Buffer.from('some bytes')]))]) {
        const err = await rejection(attempt());
        expect(isBackupError(err, 'bad_input')).toBe(true);
        expect((err as Error).message).toBe(`the part size of 5GB is too large for an upload from a stream: its parts are held in memory, at most ${bufferConstants.MAX_LENGTH} bytes (4GiB) each; lower the part size (partSize, --part-size) to 4GiB or less, or upload from a file`);
      }
      expect(writeCalls()).toEqual({});
      expect(await keysOf(big)).toEqual([]);
      // the same setting from a file: nothing is held in memory
      const file = join(dir, 'small.tar');
      await writeFile(file, 'a small archive');
      const up = await catalog.upload({path: file}, {name: 'from a file'});
      expect(up.size).toBe(15);
      await catalog.delete(up.id);
    } finally {
      await big.close();
    }
  });

  test('concurrency × part size beyond the memory of this machine: bad_input saying how much, before anything is sent', async () => {
    const partSize = Math.min(4 * 1024 ** 3, bufferConstants.MAX_LENGTH);
    if (64 * partSize <= totalmem()) return; // a machine this large can hold 64 such parts
    const greedy = await openBackend(emu, {prefix: 'empty-greedy/', partSize, concurrency: 64});
    try {
      emu.resetStats();
      const err = await rejection(new BackupCatalog(greedy).upload(Readable.from([Buffer.from('some bytes')]), {name: 'piped'}));
      expect(isBackupError(err, 'bad_input')).toBe(true);
      expect((err as Error).message).toMatch(/^an upload from a stream holds up to concurrency × part size in memory \(64 × 4GiB = 274\.9 GB\), more than this machine's \d+\.\d GB; lower the part size \(partSize, --part-size\) or the concurrency \(--concurrency\), or upload from a file$/);
      expect(writeCalls()).toEqual({});
    } finally {
      await greedy.close();
    }
  });
});
