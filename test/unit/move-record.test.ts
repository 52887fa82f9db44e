import {afterAll, beforeAll, expect, test} from '@jest/globals';
import {spawn} from 'node:child_process';
import {mkdir, mkdtemp, readdir, rm, writeFile} from 'node:fs/promises';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {forgetMove, isRunning, recordMove, unfinishedMove} from '../../src/cli/move-record.js';

// The record a move keeps of where it goes (real files in a temp data dir): what a later
// command reads from it, and when it stops counting.

let dataDir: string;
beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'move-record-'));
});
afterAll(async () => {
  await rm(dataDir, {recursive: true, force: true});
});

const E = 'https://api.example';
const FILE = '/home/u/.config/profiles.yaml';
const from = {name: 'home', profilesFile: FILE, endpoint: E, bucket: 'b', prefix: 'old/'};
const to = {name: 'home', profilesFile: FILE, endpoint: E, bucket: 'b', prefix: 'new/'};
const noWarning = (line: string) => {
  throw new Error(`unexpected warning: ${line}`);
};

test('a recorded move is unfinished while the profile is still at its source, and names this process as the mover', async () => {
  await recordMove(dataDir, from, to, noWarning);
  const record = await unfinishedMove(dataDir, from);
  expect(record).toMatchObject({profile: 'home', from: {endpoint: E, bucket: 'b', prefix: 'old/'}, to: {endpoint: E, bucket: 'b', prefix: 'new/'}, pid: process.pid});
  expect(isRunning(record!)).toBe(true);
  expect(await unfinishedMove(dataDir, {...from, name: 'other'})).toBeUndefined();
  await forgetMove(dataDir, from);
  expect(await unfinishedMove(dataDir, from)).toBeUndefined();
});

test('a record whose destination the profile already uses (killed after the save, before the record was removed) counts for nothing and is removed', async () => {
  await recordMove(dataDir, from, to, noWarning);
  expect(await unfinishedMove(dataDir, to)).toBeUndefined();
  expect(await unfinishedMove(dataDir, from)).toBeUndefined(); // gone for good
  expect(await readdir(join(dataDir, 'move-records'))).toEqual([]);
});

test('the record of a process that is gone is not running', async () => {
  const child = spawn(process.execPath, ['-e', '']);
  const pid = child.pid!;
  await new Promise((resolve) => child.on('close', resolve));
  await recordMove(dataDir, from, to, noWarning);
  const record = (await unfinishedMove(dataDir, from))!;
  expect(isRunning({...record, pid})).toBe(false);
  await forgetMove(dataDir, from);
});

test('a data dir that cannot hold the record (its move-records is a file): one warning, and no failure', async () => {
  const blocked = join(dataDir, 'blocked');
  await mkdir(blocked);
  await writeFile(join(blocked, 'move-records'), 'not a directory');
  const warned: string[] = [];
  await recordMove(blocked, from, to, (line) => warned.push(line));
  expect(warned).toHaveLength(1);
  expect(warned[0]).toMatch(/^Warning: cannot record the move in .*blocked\/move-records \((EEXIST|ENOTDIR)\): were it interrupted, later commands would not know it is unfinished$/);
  expect(await unfinishedMove(blocked, from)).toBeUndefined();
});

test('a record is about the profile of its profiles file only: a same-named profile of another file sees none', async () => {
  await recordMove(dataDir, from, to, noWarning);
  expect(await unfinishedMove(dataDir, {...from, profilesFile: '/home/u/other.yaml'})).toBeUndefined();
  expect(await unfinishedMove(dataDir, from)).toMatchObject({profile: 'home', profilesFile: FILE});
  await forgetMove(dataDir, from);
});

test('a record counts only while the profile is where the move started: a profile changed since to a third place (or removed and added again elsewhere) forgets it', async () => {
  await recordMove(dataDir, from, to, noWarning);
  expect(await unfinishedMove(dataDir, {...from, prefix: 'third/'})).toBeUndefined();
  expect(await unfinishedMove(dataDir, from)).toBeUndefined(); // removed, not only ignored
  expect(await readdir(join(dataDir, 'move-records'))).toEqual([]);
});
