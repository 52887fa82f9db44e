/**
 * B2's tokens last 24 hours, and a key made with validDurationInSeconds stops working at
 * its expiry: the provider over the emulator, whose clock is moved past those times
 * rather than waited for. An expired token costs one sign-in, never a failure; an
 * expired key is a clear key_expired (exit 3) that names the fix, with no secret in it.
 */
import {describe, test, expect, beforeAll, afterAll} from '@jest/globals';
import type {B2Backend} from '../../src/b2/index.js';
import type {TransferEvent} from '../../src/b2/events.js';
import {isBackupError} from '../../src/errors.js';
import type {RunningEmulator} from '../../src/emulator/index.js';
import {emulator, openBackend} from './helpers.js';

const DAY = 24 * 60 * 60 * 1000;
let emu: RunningEmulator;

beforeAll(async () => {
  emu = await emulator();
});
afterAll(async () => {
  await emu.stop();
});

describe('a token older than 24 hours of B2\'s clock', () => {
  let backend: B2Backend;
  const events: TransferEvent[] = [];
  beforeAll(async () => {
    backend = await openBackend(emu, {onEvent: (e) => events.push(e)});
  });
  afterAll(async () => {
    await backend.close();
  });

  test('is refused with 401 expired_auth_token; the provider signs in once more and the call succeeds, as do uploads on a pooled (expired) upload URL', async () => {
    await backend.put('day-1.bin', Buffer.from('first day')); // leaves an upload URL in the pool
    emu.resetStats();
    emu.clock.advance(DAY + 1000);
    // the pooled upload URL's token expired too: the upload takes a new URL (whose call signs in again)
    const movedNow = emu.clock.now(); // the emulator's time just before the store (no wall-clock bound on how long the test takes)
    await backend.put('day-2.bin', Buffer.from('next day'));
    const listed: string[] = [];
    for await (const o of backend.list()) listed.push(o.key);
    expect(listed).toEqual(['day-1.bin', 'day-2.bin']);
    const {calls} = emu.stats();
    expect({authorize: calls.b2_authorize_account, uploads: calls.b2_upload_file}).toEqual({authorize: 1, uploads: 2});
    expect(events.filter((e) => e.kind === 'reauth')).toEqual([{kind: 'reauth', reason: expect.stringContaining('401 expired_auth_token')}]);
    // the file stored after the move is dated by B2's clock, as the provider reads it
    const stored = await backend.stat('day-2.bin');
    expect(stored!.modified.getTime()).toBeGreaterThanOrEqual(movedNow);
  });
});

describe('a key made with validDurationInSeconds', () => {
  test('works until its expiry; after it, the next call fails key_expired, naming the profile and the fix, without the key', async () => {
    const key = await emu.createKey({capabilities: ['listBuckets', 'listFiles', 'readFiles', 'writeFiles', 'deleteFiles'], bucketName: emu.bucket, validDurationSeconds: 3600});
    const backend = await openBackend(emu, {keyId: key.keyId, applicationKey: key.applicationKey});
    try {
      await backend.put('short-lived.bin', Buffer.from('x'));
      emu.clock.advance(3600 * 1000);
      const err = await backend.stat('short-lived.bin').then(
        () => undefined,
        (e: unknown) => e as Error,
      );
      expect(isBackupError(err, 'key_expired')).toBe(true);
      expect(err!.message).toContain('has expired or was revoked');
      expect(err!.message).toContain('test');
      expect(err!.message).not.toContain(key.applicationKey);
    } finally {
      await backend.close();
    }
  });
});
