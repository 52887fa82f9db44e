import {beforeEach, expect, test} from '@jest/globals';
import {randomBytes} from 'node:crypto';
import {BackupCatalog} from '../../src/backups/index.js';
import {copyBackup} from '../../src/backups/copy-backup.js';
import {isBackupError} from '../../src/errors.js';
import {FaultAt} from '../helpers/fault-at.js';
import {rejection, sharedEmulator} from './helpers.js';

// copyBackup over the emulator via HTTP when the archive's b2_copy_file is carried out by
// B2 but every answer is lost (the connection cut after the copy was made): each retry
// makes one more billed copy. The copy fails, and none of those copies may stay behind:
// the same copy run again would take the newest for the backup's and leave the others,
// a backup doubled (or more) at the destination.

const faultAt = new FaultAt();
const shared = sharedEmulator({emulator: {onRequest: faultAt.onRequest}});
let n = 0;

beforeEach(() => faultAt.clear(shared.emu));

test('every answer to the archive\'s b2_copy_file lost: the copies B2 made are deleted again, the error says so, and the same copy again stores one version of each file', async () => {
  n++;
  const [from, to] = [await shared.open(`src${n}/`), await shared.open(`dst${n}/`)];
  const up = await new BackupCatalog(from).upload(randomBytes(3000), {name: 'lost'});
  faultAt.arm(shared.emu, 'b2_copy_file', 1, {call: 'b2_copy_file', cutResponseAfterBytes: 0});
  const err = await rejection(copyBackup(new BackupCatalog(from), from, to, up.id));
  expect(isBackupError(err, 'network')).toBe(true);
  expect((err as Error).message).toMatch(new RegExp(`broke during b2_copy_file for "dst${n}/${up.archiveKey}" .*; the \\d+ copies of it B2 made whose answers were lost were deleted again$`));
  expect(await shared.versions(`dst${n}/`)).toEqual([]);

  faultAt.clear(shared.emu);
  expect(await copyBackup(new BackupCatalog(from), from, to, up.id)).toMatchObject({existing: false, copied: [up.archiveKey, up.metadataKey]});
  expect(await shared.versions(`dst${n}/`)).toEqual([`upload ${up.metadataKey}`, `upload ${up.archiveKey}`]);
});

test('one answer to the archive\'s b2_copy_file lost, the destination key unable to delete its duplicate: the copy succeeds, and onWarning is told the duplicate that stays billed', async () => {
  n++;
  const key = await shared.emu.createKey({capabilities: ['listBuckets', 'listFiles', 'readFiles', 'writeFiles'], bucketName: shared.emu.bucket});
  const [from, to] = [await shared.open(`src${n}/`), await shared.open(`dst${n}/`, {keyId: key.keyId, applicationKey: key.applicationKey})];
  const up = await new BackupCatalog(from).upload(randomBytes(3000), {name: 'dup'});
  faultAt.arm(shared.emu, 'b2_copy_file', 1, {call: 'b2_copy_file', cutResponseAfterBytes: 0, count: 1});
  const warnings: string[] = [];
  expect(await copyBackup(new BackupCatalog(from), from, to, up.id, {onWarning: (line) => warnings.push(line)})).toMatchObject({existing: false});
  expect(await shared.versions(`dst${n}/`)).toEqual([`upload ${up.metadataKey}`, `upload ${up.archiveKey}`, `upload ${up.archiveKey}`]);
  expect(warnings).toEqual([expect.stringMatching(new RegExp(`^dst${n}/${up.archiveKey.replace(/\./g, '\\.')} keeps an older copy of it B2 made as answers were lost, .*: deleting it failed \\(401 unauthorized\\); the key of profile test may not delete it: delete it in the B2 web console$`))]);
});
