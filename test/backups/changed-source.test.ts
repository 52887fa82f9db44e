import {describe, test, expect, beforeAll, afterAll} from '@jest/globals';
import {randomBytes} from 'node:crypto';
import {readdir, writeFile} from 'node:fs/promises';
import {join} from 'node:path';
import type {Body, ObjectInfo, PutOptions} from '../../src/backend.js';
import type {B2Backend} from '../../src/b2/index.js';
import {BackupCatalog} from '../../src/backups/index.js';
import {isBackupError} from '../../src/errors.js';
import type {RunningEmulator} from '../../src/emulator/index.js';
import {emulator, openBackend, rewriteByte, unfinishedCount} from '../b2/helpers.js';
import {DelegatingBackend} from './backend-wrappers.js';
import {keysOf, rejection, tempDir} from './helpers.js';

const PART = 1024 * 1024;

/** The B2 backend, but the archive file is rewritten after the catalog hashed it and before the provider sends it. */
class RewritingBackend extends DelegatingBackend {
  override put(key: string, body: Body, opts?: PutOptions): Promise<ObjectInfo> {
    if (key.endsWith('.tar') && 'path' in body) rewriteByte(body.path, 10);
    return super.put(key, body, opts);
  }
}

describe('BackupCatalog over B2: an archive file changed between the catalog hash and the upload is refused', () => {
  let emu: RunningEmulator;
  let backend: B2Backend;
  let dir: string;
  let cleanup: () => Promise<void>;

  beforeAll(async () => {
    emu = await emulator({minPartSize: PART, recommendedPartSize: PART});
    backend = await openBackend(emu, {uploadCutoff: PART, partSize: PART, concurrency: 2});
    ({dir, cleanup} = await tempDir());
  });

  afterAll(async () => {
    await backend?.close();
    await emu?.stop();
    await cleanup?.();
  });

  test.each([
    ['small (one b2_upload_file)', 20_000],
    ['large (parts)', 3 * PART + 5],
  ])('%s: checksum_mismatch, nothing stored and no record of the upload kept', async (_what, size) => {
    const path = join(dir, `archive-${size}.tar`);
    const data = randomBytes(size);
    data[10] = 0; // rewriteByte makes it 0xff
    await writeFile(path, data);
    const cacheDir = join(dir, `cache-${size}`);
    const catalog = new BackupCatalog(new RewritingBackend(backend), {cacheDir});
    emu.resetStats();
    const err = await rejection(catalog.upload({path}, {name: `changed ${size}`}));
    expect(isBackupError(err, 'checksum_mismatch')).toBe(true);
    expect(emu.stats().calls.b2_upload_file ?? 0).toBeLessThanOrEqual(1); // known at once: no retries of a body that cannot match
    expect(await keysOf(backend)).toEqual([]);
    expect(await unfinishedCount(backend)).toBe(0);
    // nothing to resume: no record of the upload stays behind
    expect(await readdir(join(cacheDir, 'pending-uploads')).catch(() => [])).toEqual([]);
  });
});
