import {afterAll, afterEach, beforeAll, describe, expect, test} from '@jest/globals';
import {randomBytes} from 'node:crypto';
import type {B2Backend} from '../../src/b2/index.js';
import {isBackupError, type BackupError} from '../../src/errors.js';
import type {RunningEmulator} from '../../src/emulator/index.js';
import {api, authorizeRaw} from '../emulator/helpers.js';
import {emulator, openBackend} from './helpers.js';

// A version the provider stored that must not stay (B2 finished a large file with another
// size than was sent, a server-side copy failed its check, lost answers left versions of a
// failed upload) is deleted. Here the key may not delete (a real key without deleteFiles):
// the error names what remains and says that a cleanup with that key is refused the same,
// not "delete it by hand" as if any way would do.

const PART = 1000;
const KEY_REFUSED = 'the key of profile test may not delete it, nor can a cleanup with that key: delete it in the B2 web console, or run "backup-b2 b2 cleanup --profile test" with a key that has deleteFiles once it is 24 hours old (cleanup\'s default --older-than)';

let emu: RunningEmulator;
/** Called as each request arrives at the emulator (a test's own moment to act). */
let onCall: ((call: string) => void) | undefined;
let master: string;
/** On the key without deleteFiles. */
let noDelete: B2Backend;
/** On the emulator's own key (all capabilities): the sources of copies. */
let source: B2Backend;

beforeAll(async () => {
  emu = await emulator({minPartSize: PART, onRequest: (call) => onCall?.(call)});
  master = (await authorizeRaw(emu)).authorizationToken;
  const key = await emu.createKey({capabilities: ['listBuckets', 'listFiles', 'readFiles', 'writeFiles'], bucketName: emu.bucket});
  noDelete = await openBackend(emu, {keyId: key.keyId, applicationKey: key.applicationKey, prefix: 'nodelete/', partSize: PART, uploadCutoff: PART, copyCutoff: 10 * PART, concurrency: 1});
  source = await openBackend(emu, {prefix: 'src/'});
});

afterEach(() => {
  emu.faults.clear();
  onCall = undefined;
});

afterAll(async () => {
  await noDelete?.close();
  await source?.close();
  await emu?.stop();
});

/** Every stored version of exactly `fileName`, newest first, read with the master key. */
async function versionsOf(fileName: string): Promise<Array<{fileId: string; fileName: string; action: string}>> {
  const r = await api(emu, master, 'b2_list_file_versions', {bucketId: emu.bucketId, prefix: fileName, startFileName: fileName, maxFileCount: 100});
  return (r.json.files as Array<{fileId: string; fileName: string; action: string}>).filter((f) => f.fileName === fileName);
}

const failure = async (p: Promise<unknown>): Promise<BackupError> => {
  const err = await p.then(() => undefined, (e: unknown) => e);
  expect(isBackupError(err)).toBe(true);
  return err as BackupError;
};

describe('a version that must not stay, which the key may not delete', () => {
  test('B2 finished the large file with another size than was sent: the error says it remains, whole, and that a cleanup with that key is refused too', async () => {
    const data = randomBytes(3 * PART + 17);
    emu.faults.add({call: 'b2_finish_large_file', count: 1, answerFields: {contentLength: data.length - 1}});
    const err = await failure(noDelete.put('short.bin', data));
    expect(err.kind).toBe('checksum_mismatch');
    const [left] = await versionsOf('nodelete/short.bin');
    expect(left.action).toBe('upload');
    const leftover = `nodelete/short.bin remains, whole (file id ${left.fileId}): it is not what was sent, and deleting it failed (401 unauthorized); ${KEY_REFUSED}`;
    expect(err.message).toBe(`B2 finished nodelete/short.bin with ${data.length - 1} bytes, but ${data.length} were sent; ${leftover}`);
    expect(err.leftover).toBe(leftover);
  });

  test('a server-side copy that fails its check: the error says the copy remains, whole, and that a cleanup with that key is refused too', async () => {
    const data = randomBytes(PART);
    await source.put('a.tar', data);
    emu.faults.add({call: 'b2_copy_file', count: 1, answerFields: {contentLength: data.length + 1}});
    const err = await failure(source.copyTo('a.tar', {backend: noDelete, key: 'a.tar'}));
    expect(err.kind).toBe('checksum_mismatch');
    const [left] = await versionsOf('nodelete/a.tar');
    expect(left.action).toBe('upload');
    const leftover = `nodelete/a.tar remains, whole (file id ${left.fileId}): it is not a true copy, and deleting it failed (401 unauthorized); ${KEY_REFUSED}`;
    expect(err.message).toBe(`the server-side copy nodelete/a.tar has ${data.length + 1} bytes instead of ${data.length} (its source was left as it was); ${leftover}`);
    expect(err.leftover).toBe(leftover);
  });

  test('an upload that failed after every answer was lost: the versions those answers stored are named, in one line, as remaining, and a cleanup with that key is refused too', async () => {
    emu.faults.add({call: 'b2_upload_file', cutResponseAfterBytes: 0});
    const err = await failure(noDelete.put('lost.json', Buffer.from('{"lost":true}'), {metadata: {backup_id: 'lost1'}}));
    emu.faults.clear();
    expect(err.kind).toBe('network');
    const left = await versionsOf('nodelete/lost.json');
    expect(left.length).toBeGreaterThan(0);
    const ids = left.map((v) => v.fileId).join(', ');
    const leftover = `; nodelete/lost.json remains, whole (${left.length} versions, file ids ${ids}): B2 stored it as answers were lost, and deleting them failed (401 unauthorized); ${KEY_REFUSED}`;
    expect(err.message.slice(-leftover.length)).toBe(leftover);
    expect(err.leftover).toBe(leftover.slice('; '.length)); // what stays is the error's leftover too, not its message only
    expect(err.message).not.toMatch(/by hand/);
  });
});

describe('a store that succeeded after a lost answer, whose older duplicate the key may not delete', () => {
  // no cleanup removes an older version of a stored file: the web console does
  test('b2_upload_file: the result tells the duplicate that stays billed, with its file id and the one kept, and that the key may not delete it', async () => {
    emu.faults.add({call: 'b2_upload_file', count: 1, cutResponseAfterBytes: 0});
    const stored = await noDelete.put('dup.json', Buffer.from('{"dup":true}'), {metadata: {backup_id: 'dup1'}});
    const versions = await versionsOf('nodelete/dup.json');
    expect(versions.map((v) => v.fileId)).toEqual([stored.id, expect.any(String)]);
    expect(stored.leftover).toBe(`nodelete/dup.json keeps an older version of it B2 stored as answers were lost, billed beside the one kept (file id ${stored.id}; file id ${versions[1].fileId}): deleting it failed (401 unauthorized); the key of profile test may not delete it: delete it in the B2 web console`);
  });

  test('b2_copy_file: the result of the copy tells the duplicate copy that stays the same way', async () => {
    await source.put('dup.tar', Buffer.from('duplicated copy'));
    emu.faults.add({call: 'b2_copy_file', count: 1, cutResponseAfterBytes: 0});
    const copy = await source.copyTo('dup.tar', {backend: noDelete, key: 'dup.tar'});
    const versions = await versionsOf('nodelete/dup.tar');
    expect(versions.map((v) => v.fileId)).toEqual([copy.id, expect.any(String)]);
    expect(copy.leftover).toBe(`nodelete/dup.tar keeps an older copy of it B2 made as answers were lost, billed beside the one kept (file id ${copy.id}; file id ${versions[1].fileId}): deleting it failed (401 unauthorized); the key of profile test may not delete it: delete it in the B2 web console`);
  });

  test('the versions cannot be looked for (the listing refused): the result says duplicates may stay, not nothing', async () => {
    emu.faults.add({call: 'b2_upload_file', count: 1, cutResponseAfterBytes: 0});
    emu.faults.add({call: 'b2_list_file_versions', count: 1, status: 400, code: 'bad_request'});
    const stored = await noDelete.put('unlooked.json', Buffer.from('{"unlooked":true}'));
    expect(stored.leftover).toBe(`nodelete/unlooked.json may keep older versions of it B2 stored as answers were lost, billed beside the one kept (file id ${stored.id}): they could not be looked for; the B2 web console lists its versions, to delete them there`);
  });

  test('the command stopped as the versions are looked for: the result says so, not that they could not be looked for with no reason', async () => {
    emu.faults.add({call: 'b2_upload_file', count: 1, cutResponseAfterBytes: 0});
    const stop = new AbortController();
    onCall = (call) => {
      if (call === 'b2_list_file_versions') stop.abort();
    };
    const stored = await noDelete.put('stopped.json', Buffer.from('{"stopped":true}'), {signal: stop.signal});
    expect(stop.signal.aborted).toBe(true);
    expect(stored.leftover).toBe(`nodelete/stopped.json may keep older versions of it B2 stored as answers were lost, billed beside the one kept (file id ${stored.id}): they could not be looked for (the command was stopped); the B2 web console lists its versions, to delete them there`);
  });
});
