import {describe, test, expect, beforeAll, afterAll} from '@jest/globals';
import {inspect} from 'node:util';
import {B2Backend} from '../../src/b2/index.js';
import {isBackupError} from '../../src/errors.js';
import type {RunningEmulator} from '../../src/emulator/index.js';
import {emulator, fastRetry, openBackend} from './helpers.js';

/** The account token the backend's client signed in with (test-only look inside). */
function accountToken(backend: B2Backend): string {
  const token = (backend as unknown as {client: {b2: {authorizationToken?: string}}}).client.b2.authorizationToken;
  if (!token) throw new Error('the client holds no account token');
  return token;
}

/** Every way an error commonly reaches a log: inspect (console.error), JSON, the message and stack. */
function renderings(err: unknown): string[] {
  const e = err as Error;
  return [inspect(err, {depth: 10}), JSON.stringify(err), String(e?.message), String(e?.stack)];
}

describe('B2 errors carry no secrets (cause is plain data, not the HTTP library error)', () => {
  let emu: RunningEmulator;

  beforeAll(async () => {
    emu = await emulator();
  });

  afterAll(async () => emu?.stop());

  test('a wrong application key: neither the key nor base64(keyId:key) in the error', async () => {
    const wrongKey = 'K005wrongApplicationKeyThatMustNotLeak';
    const err = await B2Backend.open({keyId: emu.keyId, applicationKey: wrongKey, bucket: emu.bucket, prefix: 'backups/', endpoint: emu.url, retry: fastRetry().retry}).catch((e: unknown) => e);
    expect(isBackupError(err, 'invalid_credentials')).toBe(true);
    const basic = Buffer.from(`${emu.keyId}:${wrongKey}`).toString('base64');
    for (const text of renderings(err)) {
      expect(text).not.toContain(wrongKey);
      expect(text).not.toContain(basic);
    }
  });

  test('calls that fail after sign-in: neither the key, base64(keyId:key) nor the account token in the error', async () => {
    const backend = await openBackend(emu, {uploadCutoff: 5 * 1024 * 1024});
    const token = accountToken(backend);
    const basic = Buffer.from(`${emu.keyId}:${emu.applicationKey}`).toString('base64');
    emu.faults.add({call: 'b2_list_file_names', count: 1, status: 400, code: 'bad_request', message: 'injected'});
    emu.faults.add({call: 'b2_get_upload_url', count: 20, status: 500, code: 'internal_error', message: 'injected'});
    const errors = [
      await (async () => {
        for await (const _ of backend.list()) void _;
      })().catch((e: unknown) => e),
      await backend.put('x.bin', Buffer.from('data')).catch((e: unknown) => e),
    ];
    emu.faults.clear();
    expect(errors.map((e) => isBackupError(e))).toEqual([true, true]);
    for (const err of errors) {
      expect((err as {cause?: unknown}).cause).toEqual(expect.objectContaining({code: expect.any(String), message: expect.any(String)}));
      for (const text of renderings(err)) {
        expect(text).not.toContain(emu.applicationKey);
        expect(text).not.toContain(basic);
        expect(text).not.toContain(token);
      }
    }
  });
});
