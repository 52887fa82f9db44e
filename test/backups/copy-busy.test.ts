import {expect, test} from '@jest/globals';
import {randomBytes} from 'node:crypto';
import {BackupCatalog} from '../../src/backups/index.js';
import {copyBackup} from '../../src/backups/copy-backup.js';
import type {B2Backend} from '../../src/b2/index.js';
import {BackupError, isBackupError} from '../../src/errors.js';
import {rejection, sharedEmulator} from './helpers.js';

// copyBackup over the emulator via HTTP when B2 stays busy (503) for the archive's copy in
// parts through every retry: the unfinished copy is kept, as an upload's is, and the error
// says to run the same copy again, which continues it (no second large file) and completes
// the backup there.

const PART = 1000;
const shared = sharedEmulator({emulator: {minPartSize: PART, recommendedPartSize: PART}, backend: {partSize: PART, uploadCutoff: PART, copyCutoff: PART, concurrency: 2}});

test('the archive\'s parts busy through every retry: a resumable error that says to run the copy again; run again, it continues the kept copy', async () => {
  const [from, to] = [await shared.open('src/'), await shared.open('dst/')];
  const up = await new BackupCatalog(from).upload(randomBytes(PART * 3), {name: 'busy'});
  shared.emu.faults.add({call: 'b2_copy_part', status: 503});
  const err = await rejection(copyBackup(new BackupCatalog(from), from, to, up.id));
  shared.emu.faults.clear();
  expect(err).toMatchObject({kind: 'failure', transient: true, resumable: true});
  expect((err as Error).message).toMatch(new RegExp(`^B2 kept failing b2_copy_part for "dst/${up.archiveKey}" .*; the unfinished copy of dst/${up.archiveKey} \\(\\d+ parts? stored\\) was kept to be resumed; run the same command again to continue it$`));
  expect(shared.emu.stats().calls.b2_cancel_large_file ?? 0).toBe(0);
  shared.emu.resetStats();
  expect(await copyBackup(new BackupCatalog(from), from, to, up.id)).toMatchObject({existing: false, copied: [up.archiveKey, up.metadataKey]});
  expect(shared.emu.stats().calls.b2_start_large_file).toBeUndefined();
  expect(await shared.versions('dst/')).toEqual([`upload ${up.metadataKey}`, `upload ${up.archiveKey}`]);
});

test('a resumable copy error that carries what it left (BackupError.leftover): the copy\'s error keeps it, beside "run the same command again"', async () => {
  const [from, to] = [await shared.open('src-left/'), await shared.open('dst-left/')];
  const up = await new BackupCatalog(from).upload(randomBytes(PART * 3), {name: 'busy-left'});
  // no B2 path gives a kept copy a leftover today: the backend's contract allows one, added here to the real failure
  const leftover = 'X remains (the test\'s leftover): run "the test\'s cleanup" to remove it';
  shared.emu.faults.add({call: 'b2_copy_part', status: 503});
  const err = await rejection(copyBackup(new BackupCatalog(from), leavingOnFailure(from, leftover), to, up.id));
  shared.emu.faults.clear();
  expect(err).toMatchObject({resumable: true, leftover});
  expect((err as Error).message).toMatch(/was kept to be resumed; X remains \(the test's leftover\): run "the test's cleanup" to remove it; run the same command again to continue it$/);
});

/** `from` whose server-side copies fail as they do, their errors carrying `leftover` too (told at the end of the message, as withLeftover tells it). */
function leavingOnFailure(from: B2Backend, leftover: string): B2Backend {
  const copyTo: B2Backend['copyTo'] = (...args) => from.copyTo(...args).catch((err: unknown) => {
    if (!isBackupError(err)) throw err;
    throw new BackupError(err.kind, `${err.message}; ${leftover}`, {cause: err.cause, transient: err.transient, resumable: err.resumable, leftover});
  });
  return new Proxy(from, {
    get(target, prop) {
      if (prop === 'copyTo') return copyTo;
      const value: unknown = Reflect.get(target, prop, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}
