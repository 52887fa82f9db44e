/**
 * `b2 cleanup --older-than` measures ages by B2's clock, the one that dates what B2
 * stores: an unfinished upload started two days ago by B2's clock goes, one started a
 * moment ago stays, whatever this machine's clock says (a Home Assistant device without a
 * clock battery may be days off). The emulator's clock moves; this machine's does not.
 */
import {afterAll, beforeAll, expect, test} from '@jest/globals';
import {randomBytes} from 'node:crypto';
import {writeFile} from 'node:fs/promises';
import {join} from 'node:path';
import {BackupCatalog} from '../../src/backups/index.js';
import type {RunningEmulator} from '../../src/emulator/index.js';
import {emulator, openBackend} from '../b2/helpers.js';
import {interruptUpload, tempDir} from './helpers.js';

const PART = 1000;
const DAY = 24 * 60 * 60 * 1000;
let emu: RunningEmulator;
let dir: string;
let removeDir: () => Promise<void>;

beforeAll(async () => {
  emu = await emulator({minPartSize: PART});
  ({dir, cleanup: removeDir} = await tempDir());
});
afterAll(async () => {
  await emu?.stop();
  await removeDir?.();
});

test('with B2\'s clock two days on, --older-than 24h cancels the upload interrupted before and keeps the one interrupted since', async () => {
  const uploader = await openBackend(emu, {prefix: 'clock/', partSize: PART, uploadCutoff: PART, concurrency: 1});
  const interrupted = async (name: string) => {
    const path = join(dir, `${name}.tar`);
    await writeFile(path, randomBytes(5 * PART));
    await interruptUpload(new BackupCatalog(uploader, {cacheDir: join(dir, 'cache')}), path, {storedBytes: PART, name});
  };
  await interrupted('before');
  emu.clock.advance(2 * DAY);
  await interrupted('since');
  await uploader.close();

  // the cleanup runs in a process of its own, which signs in after the move
  const cleaner = await openBackend(emu, {prefix: 'clock/'});
  try {
    const report = await new BackupCatalog(cleaner).cleanup({olderThanMs: DAY});
    expect({cancelled: report.cancelled.map((u) => u.key.replace(/_.*/, '')), kept: report.kept}).toEqual({cancelled: ['before'], kept: 1});
    const left: string[] = [];
    for await (const u of cleaner.listUnfinished()) left.push(u.key.replace(/_.*/, ''));
    expect(left).toEqual(['since']);
  } finally {
    await cleaner.close();
  }
});
