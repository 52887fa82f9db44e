import {afterAll, beforeAll, beforeEach, describe, expect, test} from '@jest/globals';
import {readAll} from '../../src/body.js';
import type {TransferEvent} from '../../src/b2/index.js';
import type {RunningEmulator} from '../../src/emulator/index.js';
import {fastRetry, openBackend, type PartsFixture, sha1, startPartsFixture} from './helpers.js';

// The provider's event hook (what `-v` shows): parts started and finished, retries with
// their reason and wait, re-authorizations. Over HTTP against the emulator, faults injected.

const PART = 64 * 1024;
const SIZE = 3 * PART + 100; // 4 parts

let emu: RunningEmulator;
let path: string;
let data: Buffer;
let events: TransferEvent[];
let delays: number[];

let fixture: PartsFixture;
beforeAll(async () => {
  fixture = await startPartsFixture({tag: 'events', part: PART, size: SIZE});
  ({emu, path, data} = fixture);
});
afterAll(() => fixture?.stop());
beforeEach(() => {
  emu.faults.clear();
  events = [];
  delays = [];
});

const open = () => openBackend(emu, {uploadCutoff: PART, partSize: PART, concurrency: 2, downloadRangeSize: PART, retry: fastRetry(delays).retry, onEvent: (e) => events.push(e)});
const ofKind = <K extends TransferEvent['kind']>(kind: K) => events.filter((e): e is Extract<TransferEvent, {kind: K}> => e.kind === kind);

describe('transfer events', () => {
  test('a multi-part upload: each part starts and is done once, numbered of the total; no retry without a fault', async () => {
    const backend = await open();
    await backend.put('events/plain.bin', {path});
    const parts = ofKind('part');
    for (const state of ['start', 'done'] as const) {
      expect(parts.filter((p) => p.state === state).map((p) => p.part).sort()).toEqual([1, 2, 3, 4]);
    }
    expect(parts.every((p) => p.direction === 'upload' && p.parts === 4 && p.file === 'backups/events/plain.bin')).toBe(true);
    expect(parts.find((p) => p.part === 4)?.bytes).toBe(100);
    expect(ofKind('retry')).toEqual([]);
    expect(ofKind('reauth')).toEqual([]);
  });

  test('a part refused with 503 once: one retry event naming the call, the reason and the wait slept', async () => {
    const backend = await open();
    emu.faults.add({call: 'b2_upload_part', status: 503, count: 1});
    await backend.put('events/retried.bin', {path});
    const retries = ofKind('retry');
    expect(retries).toHaveLength(1);
    expect(retries[0]).toMatchObject({call: 'b2_upload_part', name: 'backups/events/retried.bin', attempt: 1});
    expect(retries[0].reason).toMatch(/^503 service_unavailable/);
    expect(retries[0].waitMs).toBe(delays[0]);
    expect(ofKind('part').filter((p) => p.state === 'done')).toHaveLength(4);
  });

  test('an expired account token: one re-authorization event, then the upload finishes', async () => {
    const backend = await open();
    emu.faults.add({call: 'b2_get_upload_part_url', expireToken: true, count: 1});
    const info = await backend.put('events/reauth.bin', {path});
    expect(info.sha1).toBe(sha1(data));
    const reauths = ofKind('reauth');
    expect(reauths).toHaveLength(1);
    expect(reauths[0].reason).toMatch(/^401 expired_auth_token/);
  });

  test('a download in ranges: each range starts and is done; a cut connection is a retry event', async () => {
    const backend = await open();
    await backend.put('events/down.bin', {path});
    events = [];
    emu.faults.add({call: 'b2_download_file_by_id', cutResponseAfterBytes: 1000, count: 1});
    const got = await backend.get('events/down.bin');
    expect(sha1(await readAll(got.stream))).toBe(sha1(data));
    const parts = ofKind('part');
    expect(parts.length).toBeGreaterThan(0);
    expect(parts.every((p) => p.direction === 'download')).toBe(true);
    const started = parts.filter((p) => p.state === 'start').map((p) => p.offset).sort((a, b) => a! - b!);
    expect(parts.filter((p) => p.state === 'done').map((p) => p.offset).sort((a, b) => a! - b!)).toEqual(started);
    expect(ofKind('retry').length).toBeGreaterThan(0);
  });

  test('a listener that throws does not fail the transfer', async () => {
    const backend = await openBackend(emu, {uploadCutoff: PART, partSize: PART, onEvent: () => {
      throw new Error('display broke');
    }});
    expect((await backend.put('events/throwing.bin', {path})).sha1).toBe(sha1(data));
  });
});
