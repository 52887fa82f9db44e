import {describe, test, expect, beforeAll, afterAll, beforeEach} from '@jest/globals';
import {randomBytes} from 'node:crypto';
import {readAll} from '../../src/body.js';
import type {B2Backend} from '../../src/b2/index.js';
import {isBackupError} from '../../src/errors.js';
import type {RunningEmulator} from '../../src/emulator/index.js';
import {emulator, openBackend} from './helpers.js';

// A download starts by name; a connection that breaks is resumed by file id (the same
// version, never a newer upload of the name). When those requests fail, the message must
// name the file the user asked for, not only the id B2 gave it.

const data = randomBytes(200_000);
let emu: RunningEmulator;
let backend: B2Backend;
let fileId: string;

beforeAll(async () => {
  emu = await emulator();
  backend = await openBackend(emu);
  await backend.put('named/file.bin', data);
  fileId = (await backend.stat('named/file.bin'))!.id!;
});

afterAll(async () => {
  await backend?.close();
  await emu?.stop();
});

beforeEach(() => {
  emu.faults.clear();
  // the first answer is cut off: the rest is asked for by file id
  emu.faults.add({call: 'b2_download_file_by_name', count: 1, cutResponseAfterBytes: 5000});
});

async function failedGet(): Promise<Error> {
  return readAll((await backend.get('named/file.bin')).stream).then(
    () => {
      throw new Error('the download succeeded');
    },
    (e: Error) => e,
  );
}

describe('failures of b2_download_file_by_id name the file', () => {
  test('B2 busy through every retry of the resume', async () => {
    emu.faults.add({call: 'b2_download_file_by_id', status: 503});
    const err = await failedGet();
    expect(isBackupError(err, 'failure')).toBe(true);
    expect(err.message).toMatch(/^B2 kept failing b2_download_file_by_id for "backups\/named\/file\.bin" after \d+ attempts/);
    expect(err.message).not.toContain(fileId);
  });

  test('the version gone before the resume (404)', async () => {
    emu.faults.add({call: 'b2_download_file_by_id', status: 404});
    const err = await failedGet();
    expect(isBackupError(err, 'not_found')).toBe(true);
    expect(err.message).toMatch(/^"backups\/named\/file\.bin" does not exist in bucket /);
    expect(err.message).not.toContain(fileId);
  });
});

describe('a version asked for by id (GetOptions.version)', () => {
  test('is read only when it is a version of the name asked for: another file\'s id, even one outside the prefix, is not_found and none of its bytes come back', async () => {
    emu.faults.clear();
    const outside = await openBackend(emu, {prefix: 'elsewhere/'});
    try {
      await outside.put('secret.bin', randomBytes(1000));
      const otherId = (await outside.stat('secret.bin'))!.id!;
      const viaStream = await backend.get('named/file.bin', {version: otherId}).then((d) => readAll(d.stream)).then(() => undefined, (e: Error) => e);
      expect(isBackupError(viaStream, 'not_found')).toBe(true);
      expect(viaStream?.message).toBe('the version asked for is not one of "backups/named/file.bin"\'s (it is another file\'s)');
      // its own version is read as asked
      expect((await readAll((await backend.get('named/file.bin', {version: fileId})).stream)).equals(data)).toBe(true);
    } finally {
      await outside.close();
    }
  });
});
