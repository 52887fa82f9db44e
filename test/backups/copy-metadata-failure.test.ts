import {beforeEach, expect, test} from '@jest/globals';
import {randomBytes} from 'node:crypto';
import type {B2Backend} from '../../src/b2/index.js';
import {BackupCatalog} from '../../src/backups/index.js';
import {copyBackup} from '../../src/backups/copy-backup.js';
import {copyBackupObjects, executeMove, planMove} from '../../src/backups/move.js';
import {BackupError, isBackupError} from '../../src/errors.js';
import {api, authorizeRaw} from '../emulator/helpers.js';
import {FaultAt} from '../helpers/fault-at.js';
import {moveProfileBackups} from '../../src/cli/move-backups.js';
import {rejection, sharedEmulator, tempDir} from './helpers.js';

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

/**
 * A backup `name` under its own prefix, and a destination in a new bucket `bucketName`
 * that locks every new file by default (governance, a day): B2 refuses to delete a copy made there.
 */
async function lockingDestination(bucketName: string, name: string): Promise<{bucketId: string; from: B2Backend; to: B2Backend; up: Awaited<ReturnType<BackupCatalog['upload']>>}> {
  const auth = await authorizeRaw(shared.emu);
  const bucket = await api(shared.emu, shared.master, 'b2_create_bucket', {accountId: auth.accountId, bucketName, bucketType: 'allPrivate', fileLockEnabled: true, defaultRetention: {mode: 'governance', period: {duration: 1, unit: 'days'}}});
  const from = await shared.open(`${name}/`);
  const up = await new BackupCatalog(from).upload(randomBytes(3000), {name});
  return {bucketId: bucket.json.bucketId as string, from, to: await shared.open('dst/', {bucket: bucketName}), up};
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
  const {bucketId, from, to, up} = await lockingDestination('default-lock-1', 'unlocked');
  expect(up.lock).toBeUndefined(); // the copy asks for no lock: B2 sets the bucket's
  faultAt.arm(shared.emu, 'b2_copy_file', 2, {call: 'b2_copy_file', status: 400, code: 'bad_request', count: 1});
  const err = await rejection(copyBackup(new BackupCatalog(from), from, to, up.id));
  expect(await shared.versions('dst/', bucketId)).toEqual([`upload ${up.archiveKey}`]);
  const until = (await to.stat(up.archiveKey))?.retention?.retainUntil.toISOString();
  expect(until).toMatch(/^\d{4}-/);
  expect((err as Error).message).toMatch(new RegExp(`^the metadata file ${up.metadataKey} was not copied \\(B2 rejected b2_copy_file .*\\); its archive ${up.archiveKey}, copied just before, stays there: Object Lock keeps it until ${until}, and without its metadata file it is no backup; run the same command again to complete the backup \\(it copies only what is missing\\)$`));
  // B2's 400 would be exit 2, "nothing was changed": the archive copy made now stays, so exit 1
  expect((err as BackupError).exitCode).toBe(1);

  expect(await copyBackup(new BackupCatalog(from), from, to, up.id)).toMatchObject({existing: false});
  expect(await shared.versions('dst/', bucketId)).toEqual([`upload ${up.metadataKey}`, `upload ${up.archiveKey}`]);
  expect((await new BackupCatalog(to).list()).map((b) => b.id)).toEqual([up.id]);
});

test('every answer to the metadata file\'s copy lost in a bucket that locks every new file: the copies of it B2 made stay beside the archive copy, and the line says the backup may be whole there, not that it is no backup', async () => {
  const {bucketId, from, to, up} = await lockingDestination('default-lock-2', 'unlocked-lost');
  faultAt.arm(shared.emu, 'b2_copy_file', 2, {call: 'b2_copy_file', cutResponseAfterBytes: 0});
  const err = await rejection(copyBackup(new BackupCatalog(from), from, to, up.id));
  faultAt.clear(shared.emu);
  expect(new Set(await shared.versions('dst/', bucketId))).toEqual(new Set([`upload ${up.metadataKey}`, `upload ${up.archiveKey}`]));
  const until = (await to.stat(up.archiveKey))?.retention?.retainUntil.toISOString();
  const message = (err as Error).message;
  expect(message.endsWith(`); its archive ${up.archiveKey}, copied just before, stays there: Object Lock keeps it until ${until}, and so are the copies of its metadata file B2 made as answers were lost: the backup may be whole there; run the same command again to complete the backup (it copies only what is missing)`)).toBe(true);
  expect(message.split('Object Lock')).toHaveLength(2); // the b2 layer's own line of those copies, stale here, is left out
  // whole indeed: the same copy again finds it there
  expect(await copyBackup(new BackupCatalog(from), from, to, up.id)).toMatchObject({existing: true});
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
  expect((err as BackupError).exitCode).toBe(1); // not B2's 400 (exit 2): the archive copy stays
  // what stays is the error's leftover too, as a failed removal's is elsewhere (a stopped command's line adds it)
  expect((err as BackupError).leftover).toBe(`${up.archiveKey} remains (removing it failed: 401 unauthorized): the key of profile test may not delete it, nor can a cleanup with that key: delete it in the B2 web console, or run "backup-b2 b2 cleanup --profile offsite" with a key that has deleteFiles once it is 24 hours old (cleanup's default --older-than)`);

  expect(await copyBackup(new BackupCatalog(from), from, to, up.id)).toMatchObject({existing: false});
  expect((await new BackupCatalog(to).list()).map((b) => b.id)).toEqual([up.id]);
});

test('the same inside a move: the move\'s error carries what stays as its leftover too', async () => {
  const {from, to} = await noDeleteLocations();
  const up = await new BackupCatalog(from).upload(randomBytes(3000), {name: 'nodelete-move'});
  faultAt.arm(shared.emu, 'b2_copy_file', 2, {call: 'b2_copy_file', status: 400, code: 'bad_request', count: 1});
  const err = await rejection(executeMove(from, to, await planMove(from, to), {destinationRun: (words) => `run "the new prefix's ${words}"`}));
  expect(await shared.versions(`dst${n}/`)).toEqual([`upload ${up.archiveKey}`]);
  expect((err as Error).message).toMatch(/; the move stopped before deleting any original .*: run the same command again to finish it$/);
  expect((err as BackupError).leftover).toBe(`${up.archiveKey} remains (removing it failed: 401 unauthorized): the key of profile test may not delete it, nor can a cleanup with that key: delete it in the B2 web console, or run "the new prefix's cleanup" with a key that has deleteFiles once it is 24 hours old (cleanup's default --older-than)`);
});

test('every answer to the metadata file\'s copy lost, and the destination key may not delete what it made: archive and metadata file there may be a whole backup, which its delete through the --to profile removes, not a cleanup; the metadata file is named as the one whose removal failed (the archive is not tried then)', async () => {
  const {from, to} = await noDeleteLocations();
  const up = await new BackupCatalog(from).upload(randomBytes(3000), {name: 'lostmeta'});
  faultAt.arm(shared.emu, 'b2_copy_file', 2, {call: 'b2_copy_file', cutResponseAfterBytes: 0});
  const destination = new BackupCatalog(to, {locationFlags: '--profile offsite'});
  const err = await rejection(copyBackup(new BackupCatalog(from), from, to, up.id, {destination}));
  faultAt.clear(shared.emu);
  // the archive stays, and the metadata file's copies that lost answers made: the destination lists the backup
  expect(new Set(await shared.versions(`dst${n}/`))).toEqual(new Set([`upload ${up.metadataKey}`, `upload ${up.archiveKey}`]));
  expect((await new BackupCatalog(to).list()).map((b) => b.id)).toEqual([up.id]);
  expect(isBackupError(err, 'network')).toBe(true);
  const whole = `backup ${up.id} may be stored whole (its metadata file was copied as answers were lost, beside its archive ${up.archiveKey}; ${up.metadataKey}: removing it failed: 401 unauthorized): the key of profile test may not delete it, nor can a delete with that key: delete it in the B2 web console, or run "backup-b2 b2 delete ${up.id} --yes --profile offsite" with a key that has deleteFiles`;
  const message = (err as Error).message;
  // one line: what failed, then what is true of both files; the b2 layer's own line of the copies, stale once they were tried again, is left out
  expect(message.startsWith(`the metadata file ${up.metadataKey} was not copied (the connection to B2 at `)).toBe(true);
  expect(message.endsWith(`); its archive ${up.archiveKey}, copied just before, was not deleted; to drop it rather than complete the backup: ${whole}; run the same command again to complete the backup (it copies only what is missing)`)).toBe(true);
  expect(message.split('may not delete')).toHaveLength(2);
  expect(message).not.toContain('no backup');
  expect(message).not.toContain('cleanup');
  expect((err as BackupError).leftover).toBe(whole);
});

test('the same inside a move (profile update --move-backups): the line names the delete through a profile on the new prefix, which none names yet', async () => {
  n++;
  const key = await shared.emu.createKey({capabilities: ['listBuckets', 'listFiles', 'readFiles', 'writeFiles'], bucketName: shared.emu.bucket});
  const up = await new BackupCatalog(await shared.open(`src${n}/`)).upload(randomBytes(3000), {name: 'lostmeta-move'});
  const profile = {name: 'mv', keyId: key.keyId, applicationKey: key.applicationKey, bucket: shared.emu.bucket, prefix: `src${n}/`, endpoint: shared.emu.url, concurrency: 1};
  const {dir, cleanup} = await tempDir();
  // the command's own retry policy sleeps between tries: one answer lost (B2 made the copy), then a refusal ends the copy
  faultAt.arm(shared.emu, 'b2_copy_file', 2, {call: 'b2_copy_file', cutResponseAfterBytes: 0, count: 1}, {call: 'b2_copy_file', status: 400, code: 'bad_request', count: 1});
  try {
    const ctx = {dataDir: dir, cli: 'backup-b2 b2', dryRun: false, signal: new AbortController().signal, log: () => undefined, warn: () => undefined};
    const err = await rejection(moveProfileBackups(profile, {...profile, prefix: `dst${n}/`}, ctx));
    faultAt.clear(shared.emu);
    expect(new Set(await shared.versions(`dst${n}/`))).toEqual(new Set([`upload ${up.metadataKey}`, `upload ${up.archiveKey}`]));
    const whole = `backup ${up.id} may be stored whole (its metadata file was copied as answers were lost, beside its archive ${up.archiveKey}; ${up.metadataKey}: removing it failed: 401 unauthorized): the key of profile mv may not delete it, nor can a delete with that key: delete it in the B2 web console, ` +
      `or add a profile on the new prefix, "backup-b2 b2 profile add PROFILE --bucket ${shared.emu.bucket} --prefix dst${n}/ --endpoint ${shared.emu.url}" (it asks for the key ID and key on a terminal; else add --key-id and --application-key), and run "backup-b2 b2 delete ${up.id} --yes --profile PROFILE" with a key that has deleteFiles`;
    expect((err as BackupError).leftover).toBe(whole);
    expect((err as Error).message).toContain(`, copied just before, was not deleted; to drop it rather than complete the backup: ${whole}; the move stopped before deleting any original`);
    expect((err as Error).message).not.toContain('no backup');
  } finally {
    await cleanup();
  }
});
