/**
 * An answer cut off mid-body is a broken connection, whatever its status: an error
 * answer whose JSON never arrived must be retried, not read as B2 refusing the call.
 */
import {afterAll, beforeAll, describe, expect, test} from '@jest/globals';
import {mkdtemp, rm, writeFile} from 'node:fs/promises';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {isBackupError} from '../../src/errors.js';
import type {B2Backend} from '../../src/b2/index.js';
import type {RunningEmulator} from '../../src/emulator/index.js';
import {api, authorizeRaw} from '../emulator/helpers.js';
import {emulator, openBackend} from './helpers.js';

let emu: RunningEmulator;
let backend: B2Backend;
let master: string;

beforeAll(async () => {
  emu = await emulator();
  backend = await openBackend(emu);
  master = (await authorizeRaw(emu)).authorizationToken;
});
afterAll(async () => {
  await backend.close();
  await emu.stop();
});

/** Every stored version of exactly `fileName`, newest first, read with the master key. */
async function versionsOf(fileName: string): Promise<Array<{fileId: string; action: string; fileInfo: Record<string, string>}>> {
  const r = await api(emu, master, 'b2_list_file_versions', {bucketId: emu.bucketId, prefix: fileName, startFileName: fileName, maxFileCount: 100});
  return (r.json.files as Array<{fileId: string; fileName: string; action: string; fileInfo: Record<string, string>}>).filter((f) => f.fileName === fileName);
}

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

describe('an answer lost after B2 stored the object, then a retry that stores it again', () => {
  test('b2_upload_file: the version the lost answer stored is deleted; one version stands', async () => {
    emu.faults.add({call: 'b2_upload_file', count: 1, cutResponseAfterBytes: 0});
    const before = emu.stats().faults.cut_response ?? 0;
    const stored = await backend.put('dup/meta.json', Buffer.from('{"a":1}'), {metadata: {backup_id: 'dup1'}});
    expect(emu.stats().faults.cut_response).toBe(before + 1);
    const versions = await versionsOf('backups/dup/meta.json');
    expect(versions.map((v) => v.fileId)).toEqual([stored.id]);
  });

  test('an older version of the same name with the same bytes but other info is another object: it stays', async () => {
    const first = await backend.put('dup/other.json', Buffer.from('same bytes'), {metadata: {backup_id: 'first'}});
    emu.faults.add({call: 'b2_upload_file', count: 1, cutResponseAfterBytes: 0});
    const second = await backend.put('dup/other.json', Buffer.from('same bytes'), {metadata: {backup_id: 'second'}});
    expect((await versionsOf('backups/dup/other.json')).map((v) => v.fileId)).toEqual([second.id, first.id]);
  });

  // a file's SHA1 trails its bytes (hex_digits_at_end): it is read again to know the versions
  test.each(['buffer', 'file'])('b2_upload_file of a %s losing every answer: the versions B2 stored are deleted again, the error says so, and a put again stores one version', async (kind) => {
    const bytes = Buffer.from(`{"lost":"${kind}"}`);
    const dir = await mkdtemp(join(tmpdir(), 'cut-answers-'));
    await writeFile(join(dir, 'body.json'), bytes);
    const body = () => (kind === 'file' ? {path: join(dir, 'body.json')} : bytes);
    const key = `dup/lost-${kind}.json`;
    emu.faults.add({call: 'b2_upload_file', cutResponseAfterBytes: 0});
    const err = await backend.put(key, body(), {metadata: {backup_id: 'lost1'}}).then(() => undefined, (e: unknown) => e);
    emu.faults.clear();
    expect(isBackupError(err, 'network')).toBe(true);
    expect((err as Error).message).toMatch(/; the \d+ versions of it B2 stored whose answers were lost were deleted again$/);
    expect(await versionsOf(`backups/${key}`)).toEqual([]);
    const stored = await backend.put(key, body(), {metadata: {backup_id: 'lost1'}});
    expect((await versionsOf(`backups/${key}`)).map((v) => v.fileId)).toEqual([stored.id]);
    await rm(dir, {recursive: true});
  });

  test('b2_copy_file: the copy the lost answer made is deleted; one version stands', async () => {
    const source = await backend.put('dup/src.tar', Buffer.from('copied bytes'), {metadata: {backup_id: 'copy1'}});
    emu.faults.add({call: 'b2_copy_file', count: 1, cutResponseAfterBytes: 0});
    const before = emu.stats().faults.cut_response ?? 0;
    const copy = await backend.copyTo('dup/src.tar', {backend, key: 'dup/copy.tar'}, {id: source.id});
    expect(emu.stats().faults.cut_response).toBe(before + 1);
    expect((await versionsOf('backups/dup/copy.tar')).map((v) => v.fileId)).toEqual([copy.id]);
  });
});
