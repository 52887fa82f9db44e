/**
 * An answer cut off mid-body is a broken connection, whatever its status: an error
 * answer whose JSON never arrived must be retried, not read as B2 refusing the call.
 */
import {afterAll, beforeAll, expect, test} from '@jest/globals';
import type {B2Backend} from '../../src/b2/index.js';
import type {RunningEmulator} from '../../src/emulator/index.js';
import {emulator, openBackend} from './helpers.js';

let emu: RunningEmulator;
let backend: B2Backend;

beforeAll(async () => {
  emu = await emulator();
  backend = await openBackend(emu);
});
afterAll(async () => {
  await backend.close();
  await emu.stop();
});

test('a delete whose answers are cut twice (the second an error answer) still deletes and reports it', async () => {
  await backend.put('cut/x.bin', Buffer.from('hello'));
  // The first answer (200, the file is gone) is cut; so is the retry's (400 file_not_present).
  emu.faults.add({call: 'b2_delete_file_version', count: 2, cutResponseAfterBytes: 10});
  await expect(backend.delete('cut/x.bin')).resolves.toBeDefined();
  expect(emu.stats().faults).toMatchObject({cut_response: 2});
  expect(await backend.stat('cut/x.bin')).toBeUndefined();
});

test('a listing whose 400 answer is cut before its code arrives is retried and succeeds', async () => {
  await backend.put('cut/listed.bin', Buffer.from('listed'));
  emu.faults.add({call: 'b2_list_file_names', count: 1, status: 400, cutResponseAfterBytes: 5});
  const keys: string[] = [];
  for await (const o of backend.list({prefix: 'cut/'})) keys.push(o.key);
  expect(keys).toContain('cut/listed.bin');
});
