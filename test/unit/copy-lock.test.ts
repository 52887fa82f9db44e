import {afterAll, beforeAll, expect, test} from '@jest/globals';
import {createHash} from 'node:crypto';
import {mkdir, mkdtemp, readdir, rm, writeFile} from 'node:fs/promises';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {lockCopy} from '../../src/cli/copy-lock.js';
import {isBackupError} from '../../src/errors.js';
import {liveProcess} from '../helpers/live-process.js';

// The lock that keeps two copies of one backup to one location apart (b2 copy), on real
// files: held, refused with the holder's pid and where the lock is, free again once
// released or once its holder is gone, and a data dir that cannot hold it is warned about.

let dataDir: string;
const noWarnings = (line: string) => {
  throw new Error(`unexpected warning: ${line}`);
};

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'copy-lock-'));
});

afterAll(async () => {
  await rm(dataDir, {recursive: true, force: true});
});

test('a second lock of the same backup and location is refused with the holder and the lock\'s place; another archive name or location is not; released, it is free again', async () => {
  const release = await lockCopy(dataDir, 'bucket-1', 'aaaa1111.tar', {backup: 'backup aaaa1111', where: 'profile "offsite"'}, noWarnings);
  const refused = await lockCopy(dataDir, 'bucket-1', 'aaaa1111.tar', {backup: 'backup aaaa1111', where: 'profile "offsite"'}, noWarnings).catch((err: unknown) => err);
  expect(isBackupError(refused, 'failure')).toBe(true);
  expect((refused as Error).message).toBe(
    `backup aaaa1111 is being copied to profile "offsite" by another command (process ${process.pid}; its lock is in ${join(dataDir, 'copy-locks')}); nothing was copied: run this one again when that one has finished (it copies only what is missing)`,
  );
  await (await lockCopy(dataDir, 'bucket-1', 'bbbb2222.tar', {backup: 'backup bbbb2222', where: 'profile "offsite"'}, noWarnings))();
  await (await lockCopy(dataDir, 'bucket-2', 'aaaa1111.tar', {backup: 'backup aaaa1111', where: 'profile "other"'}, noWarnings))();
  await release();
  await (await lockCopy(dataDir, 'bucket-1', 'aaaa1111.tar', {backup: 'backup aaaa1111', where: 'profile "offsite"'}, noWarnings))();
  expect(await readdir(join(dataDir, 'copy-locks'))).toEqual([]);
});

test('the lock of a process that is gone (killed while copying) keeps no one out, and its entry is swept', async () => {
  const holder = await liveProcess();
  const name = createHash('sha1').update('bucket-1\ncccc3333.tar').digest('hex');
  await mkdir(join(dataDir, 'copy-locks'), {recursive: true});
  await writeFile(join(dataDir, 'copy-locks', `${name}.lock.${holder.pid}.0badc0de`), String(holder.pid));
  const refused = await lockCopy(dataDir, 'bucket-1', 'cccc3333.tar', {backup: 'backup cccc3333', where: 'profile "offsite"'}, noWarnings).catch((err: unknown) => err);
  expect((refused as Error).message).toMatch(new RegExp(`by another command \\(process ${holder.pid};`));
  await holder.stop();
  const release = await lockCopy(dataDir, 'bucket-1', 'cccc3333.tar', {backup: 'backup cccc3333', where: 'profile "offsite"'}, noWarnings);
  expect((await readdir(join(dataDir, 'copy-locks'))).filter((entry) => entry.includes(`.${holder.pid}.`))).toEqual([]);
  await release();
});

test('a data dir that cannot hold the lock (copy-locks is a file): one warning, and the copy goes on unlocked', async () => {
  const blocked = await mkdtemp(join(tmpdir(), 'copy-lock-blocked-'));
  try {
    await writeFile(join(blocked, 'copy-locks'), 'not a directory');
    const warnings: string[] = [];
    const release = await lockCopy(blocked, 'bucket-1', 'dddd4444.tar', {backup: 'backup dddd4444', where: 'profile "offsite"'}, (line) => warnings.push(line));
    await release();
    expect(warnings).toEqual([`Warning: cannot take a lock in ${join(blocked, 'copy-locks')} (ENOTDIR): another copy of this backup to profile "offsite" at the same time would not be kept out`]);
  } finally {
    await rm(blocked, {recursive: true, force: true});
  }
});
