import {expect, test} from '@jest/globals';
import {randomBytes} from 'node:crypto';
import type {B2Backend} from '../../src/b2/index.js';
import {isBackupError, type BackupError} from '../../src/errors.js';
import {api, authorizeRaw} from '../emulator/helpers.js';
import {catalogWithWarnings, keysOf, rejection, sharedEmulator, tempDir} from './helpers.js';

// An upload that fails after its archive was stored removes the archive. When B2 refuses
// that for the key (a real key without deleteFiles), a cleanup with the same key is refused
// the same: the warning says what remains and what can remove it, not that a cleanup does.

const PART = 1000;
const world = sharedEmulator({emulator: {minPartSize: PART}, backend: {partSize: PART, uploadCutoff: PART, concurrency: 1}});

/** A location under `prefix` on a key without deleteFiles: B2 refuses it every delete. */
async function openNoDelete(prefix: string): Promise<B2Backend> {
  const key = await world.emu.createKey({capabilities: ['listBuckets', 'listFiles', 'readFiles', 'writeFiles'], bucketName: world.emu.bucket});
  return world.open(prefix, {keyId: key.keyId, applicationKey: key.applicationKey});
}

test('the metadata upload fails, and the key may not delete the archive: the warning says it remains and names the web console or a key with deleteFiles', async () => {
  const {emu} = world;
  const backend = await openNoDelete('nodelete/');
  const {dir: cacheDir, cleanup} = await tempDir();
  try {
    // the archive goes up in parts; the metadata file, the one b2_upload_file, is refused
    emu.faults.add({call: 'b2_upload_file', status: 400, code: 'bad_request'});
    const {catalog, warnings} = catalogWithWarnings(backend, {cacheDir});
    const err = await rejection(catalog.upload(randomBytes(3 * PART + 17), {name: 'nightly'}));
    emu.faults.clear();
    expect(isBackupError(err, 'bad_input')).toBe(true);
    const [archive] = await keysOf(backend);
    expect(archive).toMatch(/^nightly_.*\.tar$/);
    expect(warnings).toEqual([
      `the archive ${archive} remains (removing it failed: 401 unauthorized): the key of profile test may not delete it, nor can a cleanup with that key: delete it in the B2 web console, or run "backup-b2 b2 cleanup" with a key that has deleteFiles once it is 24 hours old (cleanup's default --older-than)`,
    ]);
  } finally {
    emu.faults.clear();
    await cleanup();
  }
});

test('the metadata file stored after a lost answer, its older duplicate refused for the key: the upload succeeds, warning that the duplicate stays billed and where to delete it', async () => {
  const {emu} = world;
  const backend = await openNoDelete('nodelete-dup/');
  const {dir: cacheDir, cleanup} = await tempDir();
  try {
    emu.faults.add({call: 'b2_upload_file', count: 1, cutResponseAfterBytes: 0}); // the metadata file's first answer
    const {catalog, warnings} = catalogWithWarnings(backend, {cacheDir});
    const up = await catalog.upload(randomBytes(3 * PART + 17), {name: 'twice'});
    expect(warnings).toEqual([
      expect.stringMatching(new RegExp(`^nodelete-dup/${up.metadataKey.replace(/\./g, '\\.')} keeps an older version of it B2 stored as answers were lost, billed beside the one kept \\(file id \\S+; file id \\S+\\): deleting it failed \\(401 unauthorized\\); the key of profile test may not delete it: delete it in the B2 web console$`)),
    ]);
  } finally {
    emu.faults.clear();
    await cleanup();
  }
});

test('every answer to the metadata file\'s upload lost, and the key may not delete what it stored nor the archive: the error says the backup may be whole and names its delete (a cleanup leaves a whole backup alone), and nothing else', async () => {
  const {emu} = world;
  const backend = await openNoDelete('nodelete-whole/');
  const {dir: cacheDir, cleanup} = await tempDir();
  try {
    // the archive goes up in parts; every try of the metadata file, the one b2_upload_file, is stored and its answer lost
    emu.faults.add({call: 'b2_upload_file', cutResponseAfterBytes: 0});
    const {catalog, warnings} = catalogWithWarnings(backend, {cacheDir, locationFlags: '--profile offsite'});
    const err = await rejection(catalog.upload(randomBytes(3 * PART + 17), {name: 'whole'}));
    emu.faults.clear();
    expect(isBackupError(err, 'network')).toBe(true);
    const [metadataKey, archive] = await keysOf(backend);
    expect([metadataKey, archive]).toEqual([expect.stringMatching(/^whole_.*\.metadata\.json$/), expect.stringMatching(/^whole_.*\.tar$/)]);
    // both files stay: a whole backup, listed, which only its delete removes
    const [listed] = await catalog.list();
    expect(listed.archiveKey).toBe(archive);
    const leftover = `backup ${listed.id} may be stored whole (its metadata file was stored as answers were lost; ${metadataKey}: removing it failed: 401 unauthorized; ${archive}: removing it failed: 401 unauthorized): the key of profile test may not delete it, nor can a delete with that key: delete it in the B2 web console, or run "backup-b2 b2 delete ${listed.id} --yes --profile offsite" with a key that has deleteFiles`;
    expect((err as BackupError).leftover).toBe(leftover);
    expect((err as Error).message).toMatch(/^the connection to B2 .*broke during b2_upload_file/);
    expect((err as Error).message.endsWith(`; ${leftover}`)).toBe(true);
    expect((err as Error).message).not.toMatch(/cleanup/);
    expect(warnings).toEqual([]);
  } finally {
    emu.faults.clear();
    await cleanup();
  }
});

test('every answer to a locked upload\'s metadata file lost (B2 stored it each time, Object Lock keeps every file): the upload keeps its record, and the same upload run again answers the backup stored, with no second copy', async () => {
  const {emu} = world;
  const auth = await authorizeRaw(emu);
  const bucketName = 'locking-uploads';
  await api(emu, world.master, 'b2_create_bucket', {accountId: auth.accountId, bucketName, bucketType: 'allPrivate', fileLockEnabled: true});
  const backend = await world.open('locked-whole/', {bucket: bucketName});
  const {dir: cacheDir, cleanup} = await tempDir();
  const data = randomBytes(3 * PART + 17);
  const retention = {mode: 'governance' as const, retainUntil: new Date(Date.now() + 86_400_000)};
  try {
    emu.faults.add({call: 'b2_upload_file', cutResponseAfterBytes: 0});
    const {catalog, warnings} = catalogWithWarnings(backend, {cacheDir});
    const err = await rejection(catalog.upload(data, {name: 'locked', retention}));
    emu.faults.clear();
    expect(isBackupError(err, 'network')).toBe(true);
    expect((err as Error).message).toMatch(/run the same upload again to complete the backup/);
    expect((err as Error).message).not.toMatch(/delete|cleanup/);
    expect(warnings).toEqual([]);
    const [listed] = await catalog.list();

    const again = await catalog.upload(data, {name: 'locked', retention});
    expect(again).toMatchObject({id: listed.id, existing: true});
    expect((await catalog.list()).map((b) => b.id)).toEqual([listed.id]);
  } finally {
    emu.faults.clear();
    await cleanup();
  }
});
