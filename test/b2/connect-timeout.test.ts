import {afterAll, beforeAll, describe, expect, test} from '@jest/globals';
import {B2Backend} from '../../src/b2/index.js';
import type {TransferEvent} from '../../src/b2/index.js';
import {isBackupError} from '../../src/errors.js';
import type {RunningEmulator} from '../../src/emulator/index.js';
import {blackhole} from '../helpers/blackhole.js';
import {emulator, fastRetry, openBackend} from './helpers.js';

// An endpoint that drops packets (the connect never completes): the connect timeout
// ends each attempt, and while nothing ever connected two attempts without backoff are
// all it gets, with the line of a refused connection. Once a connection has worked, a
// host that stops answering SYNs gets the full retry policy.

let emu: RunningEmulator;
let hole: Awaited<ReturnType<typeof blackhole>>;
beforeAll(async () => {
  emu = await emulator();
  hole = await blackhole();
});
afterAll(async () => {
  hole?.close();
  await emu?.stop();
});

describe('connect timeout', () => {
  test('an endpoint that drops packets: 2 attempts, no backoff between them, "cannot reach …: is the endpoint right?"', async () => {
    const delays: number[] = [];
    const events: TransferEvent[] = [];
    const endpoint = `http://127.0.0.1:${hole.port}`;
    const err = await B2Backend.open({keyId: emu.keyId, applicationKey: emu.applicationKey, bucket: emu.bucket, endpoint, connectTimeoutMs: 300, retry: fastRetry(delays).retry, onEvent: (e) => events.push(e)}).catch((e: unknown) => e);
    expect(isBackupError(err, 'network')).toBe(true);
    expect((err as Error).message).toBe(
      `cannot reach ${endpoint}: is the endpoint right? (ECONNECT_TIMEOUT (connect to 127.0.0.1:${hole.port} timed out after 300 ms); 2 attempts, none connected); check the profile's endpoint and the network`,
    );
    expect(delays).toEqual([]); // each attempt already waited its connect timeout
    expect(events).toEqual([expect.objectContaining({kind: 'retry', call: 'b2_authorize_account', attempt: 1, waitMs: 0})]);
  });

  test('once a connection has worked, an upload URL whose host drops packets gets the full policy (8 attempts with backoff)', async () => {
    const delays: number[] = [];
    const backend = await openBackend(emu, {connectTimeoutMs: 300, retry: fastRetry(delays).retry});
    emu.faults.add({call: 'b2_get_upload_url', answerFields: {uploadUrl: `http://127.0.0.1:${hole.port}/b2api/v2/b2_upload_file/${emu.bucketId}/x`}});
    try {
      const err = await backend.put('dropped.bin', Buffer.from('some bytes')).catch((e: unknown) => e);
      expect(isBackupError(err, 'network')).toBe(true);
      expect((err as Error).message).toMatch(/^cannot reach B2 at .* for b2_upload_file for "backups\/dropped\.bin" after 8 attempts: ECONNECT_TIMEOUT/);
      expect(delays).toHaveLength(7);
      expect(delays.every((d) => d > 0)).toBe(true);
    } finally {
      emu.faults.clear();
    }
  });
});
