import {describe, test, expect, beforeAll, afterAll, afterEach} from '@jest/globals';
import {randomBytes} from 'node:crypto';
import type {B2Backend} from '../../src/b2/index.js';
import type {RunningEmulator} from '../../src/emulator/index.js';
import {isBackupError} from '../../src/errors.js';
import {emulator, openBackend} from './helpers.js';

// A HEAD (stat, which every upload runs first) answered 403 carries no body, so no reason:
// B2 answers 403 for an account cap (transactions, downloads), a suspended account
// (access_denied) or SSE-C data read without its key. The provider asks again with a
// one-byte GET to read B2's reason instead of guessing "SSE-C key".

let emu: RunningEmulator;
let plain: B2Backend;
let ssec: B2Backend;

beforeAll(async () => {
  emu = await emulator();
  plain = await openBackend(emu);
  ssec = await openBackend(emu, {encryption: {mode: 'SSE-C', key: randomBytes(32).toString('base64')}});
  await plain.put('plain.bin', Buffer.from('plain data'));
  await ssec.put('secret.bin', Buffer.from('secret data'));
});

afterEach(() => {
  emu.faults.clear();
  emu.resetStats();
});

afterAll(async () => {
  await Promise.all([plain?.close(), ssec?.close()]);
  await emu?.stop();
});

describe('a 403 on a HEAD (stat)', () => {
  test.each(['download_cap_exceeded', 'transaction_cap_exceeded'])('%s on every download request is a cap (exit 6), not an SSE-C key problem', async (code) => {
    emu.faults.add({call: 'b2_download_file_by_name', status: 403, code});
    for (const [backend, key] of [[plain, 'plain.bin'], [plain, 'not-there-yet.tar'], [ssec, 'secret.bin']] as const) {
      const err = await backend.stat(key).catch((e: unknown) => e);
      expect(isBackupError(err, 'cap_exceeded')).toBe(true);
      expect((err as Error).message).toContain(code);
      expect((err as Error).message).not.toMatch(/SSE-C|encryptionKey/);
    }
  });

  test('a 403 on the HEAD alone: the one-byte GET answers, and stat gives the file', async () => {
    emu.faults.add({call: 'b2_download_file_by_name', count: 1, status: 403, code: 'transaction_cap_exceeded'});
    const info = await plain.stat('plain.bin');
    expect(info?.size).toBe('plain data'.length);
    expect(emu.stats().calls.b2_download_file_by_name).toBe(2);
  });

  test('SSE-C data read without its key is still reported as such (exit 3)', async () => {
    const err = await plain.stat('secret.bin').catch((e: unknown) => e);
    expect(isBackupError(err, 'encryption_key')).toBe(true);
    expect((err as Error).message).toMatch(/encrypted with SSE-C and the profile has no SSE-C encryptionKey/);
  });

  test('a suspended account (access_denied) on a plain read is not called an SSE-C problem', async () => {
    emu.faults.add({call: 'b2_download_file_by_name', status: 403, code: 'access_denied', message: 'account suspended'});
    const err = await plain.stat('plain.bin').catch((e: unknown) => e);
    expect(isBackupError(err, 'cap_exceeded')).toBe(true);
    expect((err as Error).message).toMatch(/access_denied \(account suspended\); check the account status/);
  });
});
