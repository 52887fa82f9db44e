import {afterAll, beforeAll, expect, test} from '@jest/globals';
import {mkdtemp, readdir, rm, writeFile} from 'node:fs/promises';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {UploadLocks} from '../../src/backups/upload-locks.js';

// The locks uploads, cleanups and deletes of one location take on one machine, on real
// files: a held name is reported with its holder, a held id is waited for (told once)
// until it is released, and a dir that cannot hold locks is warned about once while the
// command goes on unlocked.

let dir: string;
const noWarnings = (line: string) => {
  throw new Error(`unexpected warning: ${line}`);
};

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'upload-locks-'));
});

afterAll(async () => {
  await rm(dir, {recursive: true, force: true});
});

test('a held name is reported with its holder, another name is free; a held id is waited for until released', async () => {
  const locks = new UploadLocks(join(dir, 'here'), noWarnings);
  const name = await locks.tryName('Backup_2026-01-01_00.00_00000000');
  expect('release' in name).toBe(true);
  expect(await locks.tryName('Backup_2026-01-01_00.00_00000000')).toEqual({holders: [process.pid]});
  const other = await locks.tryName('Backup_2026-01-01_00.00_00000000_abc');
  if (!('release' in other) || !('release' in name)) throw new Error('not held');
  await other.release();
  await name.release();

  const first = await locks.id('aaaa1111');
  const told: string[] = [];
  const waiting = new UploadLocks(join(dir, 'here'), (line) => told.push(line));
  let got = false;
  const second = waiting.id('aaaa1111').then((release) => ((got = true), release));
  while (told.length === 0) await new Promise((resolve) => setTimeout(resolve, 20));
  expect(told).toEqual([`another upload of backup aaaa1111 to this location is running on this machine (process ${process.pid}); waiting for it to finish`]);
  expect(got).toBe(false);
  await first();
  await (await second)();
  expect(told).toHaveLength(1);
  expect(await readdir(join(dir, 'here'))).toEqual([]);
});

test('a wait for an id ends with the signal', async () => {
  const locks = new UploadLocks(join(dir, 'signal'), () => undefined);
  const held = await locks.id('bbbb2222');
  const ac = new AbortController();
  const waiting = locks.id('bbbb2222', ac.signal).catch((err: unknown) => err);
  ac.abort();
  expect(await waiting).toMatchObject({kind: 'aborted'});
  await held();
});

test('a dir that cannot hold locks: one warning, and nothing is held', async () => {
  const file = join(dir, 'not-a-dir');
  await writeFile(file, '');
  const warnings: string[] = [];
  const locks = new UploadLocks(join(file, 'locks'), (line) => warnings.push(line));
  const name = await locks.tryName('x');
  const again = await locks.tryName('x');
  await (await locks.id('cccc3333'))();
  expect('release' in name && 'release' in again).toBe(true);
  expect(warnings).toEqual([`cannot take a lock in ${join(file, 'locks')} (ENOTDIR): uploads and cleanups of this location running at the same time on this machine are not kept apart`]);
});
