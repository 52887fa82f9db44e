import {describe, test, expect, beforeAll, afterAll} from '@jest/globals';
import {Readable} from 'node:stream';
import type {B2Backend} from '../../src/b2/index.js';
import type {RunningEmulator} from '../../src/emulator/index.js';
import {openBackend, type PartsFixture, sha1, startPartsFixture, unfinishedCount} from './helpers.js';

// b2_start_large_file's answer cut off after B2 made the file: the retry must not make a
// second one and leave the first behind. Before starting again, the uploader looks for the
// file the lost answer named (ours by name, content type and file info, no parts yet) and
// continues with it. When nothing fails, it costs nothing: no listing before the start.

const PART = 64 * 1024;
const SIZE = 5 * PART - 999;
const PARTS = Math.ceil(SIZE / PART);

let fixture: PartsFixture;
let emu: RunningEmulator;
let backend: B2Backend;

beforeAll(async () => {
  fixture = await startPartsFixture({tag: 'loststart', part: PART, size: SIZE});
  emu = fixture.emu;
  backend = await openBackend(emu, {uploadCutoff: 100_000, partSize: PART, concurrency: 2});
});

afterAll(async () => {
  await backend?.close();
  await fixture?.stop();
});

describe('a lost answer to b2_start_large_file', () => {
  for (const source of ['a file', 'a pipe'] as const) {
    test(`${source}: the upload continues with the file the lost start made, and leaves no unfinished large file`, async () => {
      const key = `lost/${source.replace(' ', '-')}.bin`;
      emu.resetStats();
      emu.faults.add({call: 'b2_start_large_file', count: 1, cutResponseAfterBytes: 10});
      const body = source === 'a file' ? {path: fixture.path} : Readable.from([fixture.data]);
      const info = await backend.put(key, body);
      const {calls, faults} = emu.stats(); // before the test's own calls below
      expect({size: info.size, faults}).toMatchObject({size: SIZE, faults: {cut_response: 1}});
      expect(sha1(await readStored(key))).toBe(sha1(fixture.data));
      expect(await unfinishedCount(backend)).toBe(0);
      // one start (the lost one) and its lookup: the file B2 made was used, not a second one
      expect(calls).toMatchObject({b2_start_large_file: 1, b2_list_unfinished_large_files: source === 'a file' ? 2 : 1, b2_upload_part: PARTS, b2_finish_large_file: 1});
    });
  }

  test('a start that never reached B2 (refused before it was read): no lookup finds a file, it starts again', async () => {
    emu.resetStats();
    emu.faults.add({call: 'b2_start_large_file', count: 1, status: 503});
    const info = await backend.put('lost/refused.bin', Readable.from([fixture.data]));
    const {calls} = emu.stats();
    expect(info.size).toBe(SIZE);
    expect(await unfinishedCount(backend)).toBe(0);
    expect(calls).toMatchObject({b2_start_large_file: 2});
    expect(calls.b2_list_unfinished_large_files ?? 0).toBe(0); // an answer came: nothing was lost
  });
});

describe('a lost answer to b2_hide_file', () => {
  test('the retry finds the marker the lost request made and answers its id: unhide then makes the file visible again', async () => {
    await backend.put('lost/hide-me.bin', Buffer.from('kept'));
    emu.resetStats();
    emu.faults.add({call: 'b2_hide_file', count: 1, cutResponseAfterBytes: 10});
    const markerId = await backend.hide('lost/hide-me.bin');
    const {calls, faults} = emu.stats();
    expect({faults, hides: calls.b2_hide_file}).toEqual({faults: {cut_response: 1}, hides: 1}); // not sent again: found
    expect(markerId).toEqual(expect.any(String));
    expect(await backend.stat('lost/hide-me.bin')).toBeUndefined();
    await backend.unhide('lost/hide-me.bin', markerId!);
    expect(await backend.stat('lost/hide-me.bin')).toMatchObject({size: 4});
    expect(await backend.planDelete('lost/hide-me.bin')).toMatchObject({versions: 1, hidden: false});
  });

  test('a name another hid before this hide began is not taken for ours: undefined, as for any already hidden name', async () => {
    await backend.put('lost/hidden-before.bin', Buffer.from('x'));
    expect(await backend.hide('lost/hidden-before.bin')).toEqual(expect.any(String));
    // a minute later by B2's clock, which the backend learns at its next sign-in
    emu.clock.advance(60_000);
    emu.faults.expireAllTokens();
    await backend.stat('lost/hidden-before.bin');
    emu.faults.add({call: 'b2_hide_file', count: 1, cutResponseAfterBytes: 10});
    expect(await backend.hide('lost/hidden-before.bin')).toBeUndefined();
  });
});

async function readStored(key: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of (await backend.get(key)).stream) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}
