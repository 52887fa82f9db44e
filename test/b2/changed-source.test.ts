import {describe, test, expect, beforeAll, afterAll} from '@jest/globals';
import {randomBytes} from 'node:crypto';
import {truncateSync, utimesSync} from 'node:fs';
import {mkdtemp, rm, utimes, writeFile} from 'node:fs/promises';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import type {B2Backend} from '../../src/b2/index.js';
import {isBackupError} from '../../src/errors.js';
import type {RunningEmulator} from '../../src/emulator/index.js';
import {confirmed, emulator, openBackend, rewriteByte, unfinishedCount} from './helpers.js';

const MB = 1024 * 1024;
const PART = MB;
const SIZE = 30 * MB;


describe('B2 provider: a file that changes while it is uploaded is not reported as stored', () => {
  let emu: RunningEmulator;
  let dir: string;
  let backend: B2Backend;

  beforeAll(async () => {
    emu = await emulator({minPartSize: PART, recommendedPartSize: PART});
    dir = await mkdtemp(join(tmpdir(), 'b2-changed-'));
    backend = await openBackend(emu, {uploadCutoff: PART, partSize: PART, concurrency: 1});
  });

  afterAll(async () => {
    await backend?.close();
    await emu?.stop();
    await rm(dir, {recursive: true, force: true});
  });

  /** Uploads a 30 MB file and, once its first part is confirmed, rewrites a byte of part 26 (not read yet at concurrency 1). */
  async function putChangingFile(name: string, opts: {sha1?: boolean; restoreMtime: boolean}): Promise<unknown> {
    const path = join(dir, name);
    const data = randomBytes(SIZE);
    data[25 * MB] = 0; // the rewrite below makes it 0xff, so the byte really changes
    await writeFile(path, data);
    const mtime = new Date(Math.floor(Date.now() / 1000) * 1000 - 3_600_000); // whole seconds: put back exactly
    await utimes(path, mtime, mtime);
    const hashed = opts.sha1 ? await backend.hashFile(path) : undefined;
    emu.resetStats();
    let rewritten = false;
    const err = await backend.put(name, {path}, {
      sha1: hashed?.sha1,
      onProgress: (p) => {
        if (!rewritten && confirmed(p) >= PART) {
          rewritten = true;
          rewriteByte(path, 25 * MB);
          // as rsync -t or cp -p leave it: the same size and mtime as when it was hashed
          if (opts.restoreMtime) utimesSync(path, mtime, mtime);
        }
      },
    }).then(() => undefined, (e: unknown) => e);
    expect(rewritten).toBe(true);
    return err;
  }

  async function expectNothingStored(): Promise<void> {
    expect(await unfinishedCount(backend)).toBe(0);
    const listed = [];
    for await (const o of backend.list()) listed.push(o.key);
    expect(listed).toEqual([]);
  }

  test('a 30 MB file rewritten after its first part was confirmed: checksum_mismatch, the large file cancelled, nothing listed', async () => {
    const err = await putChangingFile('growing.tar', {restoreMtime: false});
    expect(isBackupError(err, 'checksum_mismatch')).toBe(true);
    expect(await unfinishedCount(backend)).toBe(0);
    await expectNothingStored();
  }, 60_000);

  test('rewritten in place with its mtime put back: B2 refuses the changed part (its SHA1 is from the hashing pass), no retry, "source changed during upload"', async () => {
    const err = await putChangingFile('same-mtime.tar', {restoreMtime: true});
    expect(isBackupError(err, 'checksum_mismatch')).toBe(true);
    expect((err as Error).message).toMatch(/^the source changed during upload: part 26 of backups\/same-mtime\.tar .*; nothing was stored/);
    const stats = emu.stats();
    expect(stats.errors.bad_request).toBe(1); // B2's "Sha1 did not match", once: not retried
    expect(stats.calls.b2_upload_part).toBe(26);
    expect(stats.calls.b2_cancel_large_file).toBe(1);
    expect(stats.calls.b2_finish_large_file ?? 0).toBe(0);
    await expectNothingStored();
  }, 60_000);

  test('the same, after the catalog-style hashFile(): the put reads no file twice and still refuses the changed part', async () => {
    const err = await putChangingFile('hashed-first.tar', {sha1: true, restoreMtime: true});
    expect(isBackupError(err, 'checksum_mismatch')).toBe(true);
    expect((err as Error).message).toMatch(/^the source changed during upload: part 26 /);
    await expectNothingStored();
  }, 60_000);

  test('truncated while its parts are sent: the part that reads short fails the request at once (no retry), nothing is stored', async () => {
    const path = join(dir, 'truncated.tar');
    await writeFile(path, randomBytes(SIZE));
    emu.resetStats();
    let truncated = false;
    const err = await backend.put('truncated.tar', {path}, {
      onProgress: (p) => {
        if (!truncated && confirmed(p) >= PART) {
          truncated = true;
          truncateSync(path, 10 * MB + 5); // parts 11 on no longer exist (part 11 reads 5 bytes)
        }
      },
    }).then(() => undefined, (e: unknown) => e);
    expect(truncated).toBe(true);
    expect(isBackupError(err, 'checksum_mismatch')).toBe(true);
    expect((err as Error).message).toMatch(/^the source changed during upload: expected 1048576 bytes, read 5;/);
    const stats = emu.stats();
    // parts 1-10 stored, part 11 started and cut short by the sender, not sent again
    expect(stats.calls.b2_upload_part).toBe(11);
    expect(stats.calls.b2_cancel_large_file).toBe(1);
    await expectNothingStored();
  }, 60_000);
});
