/** A download stream nobody reads is closed after the stall timeout without throwing out of the process. */
import {afterAll, beforeAll, expect, test} from '@jest/globals';
import {once} from 'node:events';
import type {B2Backend} from '../../src/b2/index.js';
import type {RunningEmulator} from '../../src/emulator/index.js';
import {emulator, openBackend} from './helpers.js';

let emu: RunningEmulator;
let backend: B2Backend;

beforeAll(async () => {
  emu = await emulator();
  backend = await openBackend(emu, {stallTimeoutMs: 50});
});
afterAll(async () => {
  await backend.close();
  await emu.stop();
});

test('an unread download with no error listener closes quietly; one with a listener gets the error', async () => {
  // laid straight into the emulator: an upload through this backend would be held to its 50 ms stall timeout too
  await emu.putFiles(emu.bucket, [{fileName: 'backups/unread.bin', data: Buffer.alloc(300_000, 1)}]);
  const uncaught: unknown[] = [];
  const onUncaught = (e: unknown) => uncaught.push(e);
  process.on('uncaughtException', onUncaught);
  try {
    const quiet = (await backend.get('unread.bin')).stream;
    await new Promise((resolve) => quiet.on('close', resolve)); // events.once would listen for 'error' too
    expect(quiet.destroyed).toBe(true);
    const listened = (await backend.get('unread.bin')).stream;
    const [err] = (await once(listened, 'error')) as [Error];
    expect(err.message).toMatch(/nobody read the download/);
  } finally {
    process.off('uncaughtException', onUncaught);
  }
  expect(uncaught).toEqual([]);
});
