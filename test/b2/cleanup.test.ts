import {describe, test, expect, beforeAll, afterAll} from '@jest/globals';
import type {B2Backend, UnfinishedUpload} from '../../src/b2/index.js';
import {isBackupError} from '../../src/errors.js';
import type {RunningEmulator} from '../../src/emulator/index.js';
import {libraryClient} from '../emulator/helpers.js';
import {emulator, openBackend} from './helpers.js';

describe('B2 provider: cancelling unfinished uploads (what b2 cleanup does)', () => {
  let emu: RunningEmulator;
  let backend: B2Backend;

  beforeAll(async () => {
    emu = await emulator();
    backend = await openBackend(emu); // prefix backups/
  });

  afterAll(async () => {
    await backend?.close();
    await emu?.stop();
  });

  /** Every unfinished large file in the bucket, read with the library (not the provider). */
  async function unfinishedNames(): Promise<string[]> {
    const b2 = await libraryClient(emu);
    const res = await fetch(`${b2.apiUrl}/b2api/v2/b2_list_unfinished_large_files`, {
      method: 'POST',
      headers: {Authorization: b2.authorizationToken},
      body: JSON.stringify({bucketId: backend.bucketId}),
    });
    return ((await res.json()) as {files: Array<{fileName: string}>}).files.map((f) => f.fileName).sort();
  }

  test('a cleanup of 3 unfinished uploads costs 1 listing and 3 cancels; names outside the prefix stay', async () => {
    const b2 = await libraryClient(emu);
    for (const fileName of ['backups/a.tar', 'backups/b.tar', 'backups/sub/c.tar', 'elsewhere/d.tar']) {
      await b2.startLargeFile({bucketId: backend.bucketId, fileName, contentType: 'application/x-tar'});
    }
    emu.resetStats();
    const cancelled: UnfinishedUpload[] = [];
    for await (const u of backend.listUnfinished()) {
      await backend.cancelUnfinished(u);
      cancelled.push(u);
    }
    expect(cancelled.map((u) => u.key).sort()).toEqual(['a.tar', 'b.tar', 'sub/c.tar']);
    expect(emu.stats().calls.b2_list_unfinished_large_files).toBe(1);
    expect(emu.stats().calls.b2_cancel_large_file).toBe(3);
    expect(await unfinishedNames()).toEqual(['elsewhere/d.tar']);
  });

  test('a key that is not a valid key is refused before any call', async () => {
    emu.resetStats();
    const err = await backend.cancelUnfinished({fileId: 'whatever', key: '/etc'}).catch((e: unknown) => e);
    expect(isBackupError(err, 'bad_input')).toBe(true);
    expect(emu.stats().calls.b2_cancel_large_file ?? 0).toBe(0);
  });
});
