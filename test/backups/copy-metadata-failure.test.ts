import {beforeEach, expect, test} from '@jest/globals';
import {randomBytes} from 'node:crypto';
import type {B2Backend} from '../../src/b2/index.js';
import {BackupCatalog} from '../../src/backups/index.js';
import {copyBackup} from '../../src/backups/copy-backup.js';
import {copyBackupObjects, executeMove, planMove} from '../../src/backups/move.js';
import {BackupError, isBackupError} from '../../src/errors.js';
import {api, authorizeRaw} from '../emulator/helpers.js';
import {FaultAt} from '../helpers/fault-at.js';
import {rejection, sharedEmulator} from './helpers.js';

// copyBackup over the emulator via HTTP (retries without sleeping), when the metadata
// file's server-side copy fails after the archive's. A cut connection after B2 made the
// copy loses only the answer: every retry makes another copy, so the metadata file can
// stand at the destination although the copy failed. Nothing of the backup may be left
// there (the error says nothing was copied), whichever run copied the archive.

const faultAt = new FaultAt();
const shared = sharedEmulator({emulator: {onRequest: faultAt.onRequest}});
let n = 0;

async function locations(): Promise<{from: B2Backend; to: B2Backend}> {
  n++;
  return {from: await shared.open(`src${n}/`), to: await shared.open(`dst${n}/`)};
}

/** locations() with a destination key without deleteFiles: B2 refuses it every delete. */
async function noDeleteLocations(): Promise<{from: B2Backend; to: B2Backend}> {
  n++;
  const key = await shared.emu.createKey({capabilities: ['listBuckets', 'listFiles', 'readFiles', 'writeFiles'], bucketName: shared.emu.bucket});
  return {from: await shared.open(`src${n}/`), to: await shared.open(`dst${n}/`, {keyId: key.keyId, applicationKey: key.applicationKey})};
}

beforeEach(() => faultAt.clear(shared.emu));

test('a cut connection on every try of the metadata file\'s copy (B2 made each copy, the answers were lost): nothing is left there, and the error says so', async () => {
  const {from, to} = await locations();
  const up = await new BackupCatalog(from).upload(randomBytes(3000), {name: 'cut'});
  faultAt.arm(shared.emu, 'b2_copy_file', 2, {call: 'b2_copy_file', cutResponseAfterBytes: 0});
  const err = await rejection(copyBackup(new BackupCatalog(from), from, to, up.id));
  expect(await shared.versions(`dst${n}/`)).toEqual([]);
  expect(await new BackupCatalog(to).list()).toEqual([]);
  expect(isBackupError(err, 'network')).toBe(true);
  expect((err as Error).message).toMatch(new RegExp(`^the metadata file ${up.metadataKey} was not copied \\(the connection to B2 at .* broke during b2_copy_file .* after \\d+ attempts: .*\\); its archive ${up.archiveKey}, copied just before, was deleted again, so nothing was copied; run the same command again to copy the backup$`));

  faultAt.clear(shared.emu);
  expect(await copyBackup(new BackupCatalog(from), from, to, up.id)).toMatchObject({existing: false, info: {id: up.id}});
  expect(await shared.versions(`dst${n}/`)).toEqual([`upload ${up.metadataKey}`, `upload ${up.archiveKey}`]);
  expect((await new BackupCatalog(to).list()).map((b) => b.id)).toEqual([up.id]);
});

test('an archive an earlier run copied is deleted too when the metadata file\'s copy fails, and the error says which run copied it', async () => {
  const {from, to} = await locations();
  const up = await new BackupCatalog(from).upload(randomBytes(3000), {name: 'earlier'});
  const [item] = (await planMove(from, to)).items;
  await copyBackupObjects(from, to, {...item, copy: {archive: true, metadataFile: false}}); // a run killed between the two copies
  faultAt.arm(shared.emu, 'b2_copy_file', 1, {call: 'b2_copy_file', status: 400, code: 'bad_request', count: 1});
  const err = await rejection(copyBackup(new BackupCatalog(from), from, to, up.id));
  expect(await shared.versions(`dst${n}/`)).toEqual([]);
  expect(isBackupError(err, 'bad_input')).toBe(true);
  expect((err as Error).message).toMatch(new RegExp(`^the metadata file ${up.metadataKey} was not copied \\(B2 rejected b2_copy_file .*\\); its archive ${up.archiveKey}, copied by an earlier run, was deleted again, so nothing was copied; run the same command again to copy the backup$`));
});

test('another run moved the backup between this run\'s two copies: the metadata file\'s copy fails (its original is gone), and nothing is deleted at the destination, where the backup now is', async () => {
  const {from, to} = await locations();
  const up = await new BackupCatalog(from).upload(randomBytes(3000), {name: 'raced'});
  const [item] = (await planMove(from, to)).items;
  await copyBackupObjects(from, to, {...item, copy: {archive: true, metadataFile: false}}); // this run copied the archive
  const other = await executeMove(from, to, await planMove(from, to)); // another run moves the backup meanwhile
  expect(other).toMatchObject({deleted: 2});
  const err = await rejection(copyBackupObjects(from, to, {...item, copy: {archive: false, metadataFile: true}}));
  expect((await new BackupCatalog(to).list()).map((b) => b.id)).toEqual([up.id]);
  expect(await shared.versions(`dst${n}/`)).toEqual([`upload ${up.metadataKey}`, `upload ${up.archiveKey}`]);
  expect((err as Error).message).toMatch(
    new RegExp(`^the metadata file ${up.metadataKey} was not copied \\(.*\\); its archive ${up.archiveKey}, copied by an earlier run, was left there: the source no longer holds the backup as it was \\(another command may have moved or deleted it meanwhile\\), so nothing was deleted at the destination, where the backup may now be whole; list the destination to check$`),
  );
});

test('the same race inside a move: the move says the backup may be whole at the destination and what to check, not "run the same command again" alone', async () => {
  const {from, to} = await locations();
  const up = await new BackupCatalog(from).upload(randomBytes(3000), {name: 'raced-move'});
  const plan = await planMove(from, to);
  await copyBackupObjects(from, to, plan.items[0]); // this run copied the archive...
  await to.delete(up.metadataKey); // ...and not yet the metadata file
  await executeMove(from, to, await planMove(from, to)); // another run moves the backup meanwhile
  const err = await rejection(executeMove(from, to, {...plan, items: [{...plan.items[0], copy: {archive: false, metadataFile: true}}]}));
  expect((await new BackupCatalog(to).list()).map((b) => b.id)).toEqual([up.id]);
  expect((err as Error).message).toMatch(/, so nothing was deleted at the destination, where the backup may now be whole; list the destination to check; the move stopped before deleting any original \(copies of other backups already made stay at the new prefix\): run the same command again once the destination is checked, to move the rest$/);
  expect((err as BackupError).resumable).toBe(false); // not to be rerun blindly: the destination is to be checked first
});

test('a destination bucket that locks every new file by default keeps the archive copy: the error gives the date B2 set, and the same copy again completes the backup', async () => {
  const auth = await authorizeRaw(shared.emu);
  const bucket = await api(shared.emu, shared.master, 'b2_create_bucket', {accountId: auth.accountId, bucketName: 'default-lock-1', bucketType: 'allPrivate', fileLockEnabled: true, defaultRetention: {mode: 'governance', period: {duration: 1, unit: 'days'}}});
  const from = await shared.open('unlocked/');
  const to = await shared.open('dst/', {bucket: 'default-lock-1'});
  const up = await new BackupCatalog(from).upload(randomBytes(3000), {name: 'unlocked'});
  expect(up.lock).toBeUndefined(); // the copy asks for no lock: B2 sets the bucket's
  faultAt.arm(shared.emu, 'b2_copy_file', 2, {call: 'b2_copy_file', status: 400, code: 'bad_request', count: 1});
  const err = await rejection(copyBackup(new BackupCatalog(from), from, to, up.id));
  expect(await shared.versions('dst/', bucket.json.bucketId)).toEqual([`upload ${up.archiveKey}`]);
  const until = (await to.stat(up.archiveKey))?.retention?.retainUntil.toISOString();
  expect(until).toMatch(/^\d{4}-/);
  expect((err as Error).message).toMatch(new RegExp(`^the metadata file ${up.metadataKey} was not copied \\(B2 rejected b2_copy_file .*\\); its archive ${up.archiveKey}, copied just before, stays there: Object Lock keeps it until ${until}, and without its metadata file it is no backup; run the same command again to complete the backup \\(it copies only what is missing\\)$`));

  expect(await copyBackup(new BackupCatalog(from), from, to, up.id)).toMatchObject({existing: false});
  expect(await shared.versions('dst/', bucket.json.bucketId)).toEqual([`upload ${up.metadataKey}`, `upload ${up.archiveKey}`]);
  expect((await new BackupCatalog(to).list()).map((b) => b.id)).toEqual([up.id]);
});

test('the metadata file\'s copy fails and the destination key may not delete the archive copy: the error says it remains, that a cleanup with that key is refused too, and the same copy again completes the backup', async () => {
  const {from, to} = await noDeleteLocations();
  const up = await new BackupCatalog(from).upload(randomBytes(3000), {name: 'nodelete'});
  faultAt.arm(shared.emu, 'b2_copy_file', 2, {call: 'b2_copy_file', status: 400, code: 'bad_request', count: 1});
  const destination = new BackupCatalog(to, {locationFlags: '--profile offsite'});
  const err = await rejection(copyBackup(new BackupCatalog(from), from, to, up.id, {destination}));
  expect(await shared.versions(`dst${n}/`)).toEqual([`upload ${up.archiveKey}`]);
  expect((err as Error).message).toMatch(new RegExp(`^the metadata file ${up.metadataKey} was not copied \\(B2 rejected b2_copy_file .*\\); its archive ${up.archiveKey}, copied just before, was not deleted, and without its metadata file it is no backup; to drop it rather than complete the backup: ${up.archiveKey} remains \\(removing it failed: 401 unauthorized\\): the key of profile test may not delete it, nor can a cleanup with that key: delete it in the B2 web console, or run "backup-b2 b2 cleanup --profile offsite" with a key that has deleteFiles once it is 24 hours old \\(cleanup's default --older-than\\); run the same command again to complete the backup \\(it copies only what is missing\\)$`));
  expect((err as BackupError).resumable).toBe(true);
  // what stays is the error's leftover too, as a failed removal's is elsewhere (a stopped command's line adds it)
  expect((err as BackupError).leftover).toBe(`${up.archiveKey} remains (removing it failed: 401 unauthorized): the key of profile test may not delete it, nor can a cleanup with that key: delete it in the B2 web console, or run "backup-b2 b2 cleanup --profile offsite" with a key that has deleteFiles once it is 24 hours old (cleanup's default --older-than)`);

  expect(await copyBackup(new BackupCatalog(from), from, to, up.id)).toMatchObject({existing: false});
  expect((await new BackupCatalog(to).list()).map((b) => b.id)).toEqual([up.id]);
});

test('the same inside a move: the move\'s error carries what stays as its leftover too', async () => {
  const {from, to} = await noDeleteLocations();
  const up = await new BackupCatalog(from).upload(randomBytes(3000), {name: 'nodelete-move'});
  faultAt.arm(shared.emu, 'b2_copy_file', 2, {call: 'b2_copy_file', status: 400, code: 'bad_request', count: 1});
  const err = await rejection(executeMove(from, to, await planMove(from, to), {destinationCleanup: 'run "the new prefix\'s cleanup"'}));
  expect(await shared.versions(`dst${n}/`)).toEqual([`upload ${up.archiveKey}`]);
  expect((err as Error).message).toMatch(/; the move stopped before deleting any original .*: run the same command again to finish it$/);
  expect((err as BackupError).leftover).toBe(`${up.archiveKey} remains (removing it failed: 401 unauthorized): the key of profile test may not delete it, nor can a cleanup with that key: delete it in the B2 web console, or run "the new prefix's cleanup" with a key that has deleteFiles once it is 24 hours old (cleanup's default --older-than)`);
});

test('every answer to the metadata file\'s copy lost, and the destination key may not delete what it made: the error names the metadata file as the one whose removal failed, not the archive (not tried then)', async () => {
  const {from, to} = await noDeleteLocations();
  const up = await new BackupCatalog(from).upload(randomBytes(3000), {name: 'lostmeta'});
  faultAt.arm(shared.emu, 'b2_copy_file', 2, {call: 'b2_copy_file', cutResponseAfterBytes: 0});
  const err = await rejection(copyBackup(new BackupCatalog(from), from, to, up.id));
  faultAt.clear(shared.emu);
  // the archive stays, and the metadata file's copies that lost answers made
  const left = await shared.versions(`dst${n}/`);
  expect(new Set(left)).toEqual(new Set([`upload ${up.metadataKey}`, `upload ${up.archiveKey}`]));
  expect(isBackupError(err, 'network')).toBe(true);
  const message = (err as Error).message;
  const metadataKey = up.metadataKey.replaceAll('.', '\\.');
  expect(message).toMatch(new RegExp(`^the metadata file ${metadataKey} was not copied \\(.*\\); its archive ${up.archiveKey.replaceAll('.', '\\.')}, copied just before, was not deleted, and without its metadata file it is no backup; to drop it rather than complete the backup: ${metadataKey} remains \\(removing it failed: 401 unauthorized\\): the key of profile test may not delete it, nor can a cleanup with that key: `));
  expect(message).not.toContain(`${up.archiveKey} remains (removing it failed`);
});
