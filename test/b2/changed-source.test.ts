import {describe, test, expect, beforeAll, afterAll} from '@jest/globals';
import {randomBytes} from 'node:crypto';
import {mkdtemp, rm, writeFile} from 'node:fs/promises';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import type {B2Backend} from '../../src/b2/index.js';
import {isBackupError} from '../../src/errors.js';
import type {RunningEmulator} from '../../src/emulator/index.js';
import {emulator, openBackend, rewriteByte, unfinishedCount} from './helpers.js';

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

  test('a 30 MB file rewritten after its first part was confirmed: checksum_mismatch, the large file cancelled, nothing listed', async () => {
    const path = join(dir, 'growing.tar');
    const data = randomBytes(SIZE);
    data[25 * MB] = 0; // the rewrite below makes it 0xff, so the byte really changes
    await writeFile(path, data);
    let rewritten = false;
    const put = backend.put('growing.tar', {path}, {
      onProgress: (p) => {
        if (!rewritten && p.loaded >= PART) {
          rewritten = true;
          rewriteByte(path, 25 * MB); // part 26: not read yet at concurrency 1
        }
      },
    });
    const err = await put.then(() => undefined, (e: unknown) => e);
    expect(rewritten).toBe(true);
    expect(isBackupError(err, 'checksum_mismatch')).toBe(true);
    expect((err as Error).message).toContain(`${path} changed while it was being uploaded; nothing was stored`);
    expect(await unfinishedCount(backend)).toBe(0);
    const listed = [];
    for await (const o of backend.list()) listed.push(o.key);
    expect(listed).toEqual([]);
  }, 60_000);
});
