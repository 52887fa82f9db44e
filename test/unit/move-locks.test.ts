import {afterAll, beforeAll, expect, test} from '@jest/globals';
import {mkdtemp, readdir, rm, writeFile} from 'node:fs/promises';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {holdShared, lockMove} from '../../src/cli/copy-lock.js';
import {loadForWriting, locationId} from '../../src/cli/open-backend.js';
import {BackupError, isBackupError} from '../../src/errors.js';
import {takeKeyedLock} from '../../src/process-lock.js';
import type {ResolvedProfile} from '../../src/profiles/types.js';

// The move locks as a readers-writer rule, on real files: a move holds its profile and
// location exclusively, writers and plain updates hold them shared. Shared holds go
// together; an exclusive hold keeps out both kinds and is kept out by both; each refusal
// says what the holder does (its note) and its pid; a data dir that cannot hold them is
// warned about once per command. A writer reads its profile again once it holds it.

let dataDir: string;
const noWarnings = (line: string) => {
  throw new Error(`unexpected warning: ${line}`);
};
const MOVE = {what: 'the backups of profile "p1"', note: 'the backups of profile "p1" are being moved to "p1b/"'};
const UPLOAD = {note: 'a backup is being uploaded to profile "p1"', notDone: 'nothing was uploaded'};

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'move-locks-'));
});

afterAll(async () => {
  await rm(dataDir, {recursive: true, force: true});
});

const refusal = (p: Promise<unknown>) =>
  p.then(
    () => {
      throw new Error('not refused');
    },
    (err: unknown) => {
      expect(isBackupError(err, 'failure')).toBe(true);
      return (err as Error).message;
    },
  );

test('takeKeyedLock: shared holds go together; exclusive is refused while any is held, and refuses both kinds; notes come back with the pids', async () => {
  const dir = join(dataDir, 'raw');
  const a = await takeKeyedLock(dir, 'k', {mode: 'shared', note: 'reader a'});
  const b = await takeKeyedLock(dir, 'k', {mode: 'shared', note: 'reader b'});
  expect('release' in a && 'release' in b).toBe(true);
  expect(await takeKeyedLock(dir, 'k')).toEqual({holders: [process.pid, process.pid], notes: expect.arrayContaining(['reader a', 'reader b'])});
  for (const held of [a, b]) if ('release' in held) await held.release();
  const x = await takeKeyedLock(dir, 'k', {note: 'the mover, with  spaces'});
  expect('release' in x).toBe(true);
  expect(await takeKeyedLock(dir, 'k', {mode: 'shared'})).toEqual({holders: [process.pid], notes: ['the mover, with spaces']});
  expect(await takeKeyedLock(dir, 'k')).toEqual({holders: [process.pid], notes: ['the mover, with spaces']});
  expect('release' in (await takeKeyedLock(dir, 'other', {mode: 'shared'}))).toBe(true); // another key is free
  if ('release' in x) await x.release();
  const again = await takeKeyedLock(dir, 'k', {mode: 'shared'});
  expect('release' in again).toBe(true);
  if ('release' in again) await again.release();
});

// the profile p1 of one profiles file; the same name in another file is another profile
const P1 = {name: 'p1', profilesFile: '/home/u/.config/a.yaml'};

test('a move is refused while a writer holds its location, naming the writer; a writer while a move holds it, naming the move; released, each is free again', async () => {
  const releaseWriter = await holdShared(dataDir, [{profile: P1}, {location: 'loc-1'}], UPLOAD, noWarnings);
  const releaseOther = await holdShared(dataDir, [{profile: P1}, {location: 'loc-1'}], UPLOAD, noWarnings); // writers go together
  expect(await refusal(lockMove(dataDir, {profile: P1}, MOVE, noWarnings))).toBe(
    `a backup is being uploaded to profile "p1" by other commands (process ${process.pid}, ${process.pid}; its lock is in ${join(dataDir, 'move-locks')}); nothing was moved and the profile is unchanged: run this one again when that one has finished`,
  );
  await releaseOther();
  await releaseWriter();
  const releaseMove = await lockMove(dataDir, {location: 'loc-1'}, MOVE, noWarnings);
  expect(await refusal(holdShared(dataDir, [{profile: P1}, {location: 'loc-1'}], UPLOAD, noWarnings))).toBe(
    `the backups of profile "p1" are being moved to "p1b/" by another command (process ${process.pid}; its lock is in ${join(dataDir, 'move-locks')}); nothing was uploaded: run this again when it has finished`,
  );
  // the refused writer let go of the profile it held before its location was refused
  await (await lockMove(dataDir, {profile: P1}, MOVE, noWarnings))();
  await releaseMove();
  await (await holdShared(dataDir, [{profile: P1}, {location: 'loc-1'}], UPLOAD, noWarnings))();
  expect(await readdir(join(dataDir, 'move-locks'))).toEqual([]);
});

test('a data dir that cannot hold them (move-locks is a file): one warning for all the keys, and the command goes on', async () => {
  const blocked = await mkdtemp(join(tmpdir(), 'move-locks-blocked-'));
  try {
    await writeFile(join(blocked, 'move-locks'), 'not a directory');
    const warnings: string[] = [];
    await (await holdShared(blocked, [{profile: P1}, {location: 'loc-1'}], UPLOAD, (line) => warnings.push(line)))();
    expect(warnings).toEqual([`Warning: cannot take a lock in ${join(blocked, 'move-locks')} (ENOTDIR): a move of these backups at the same time would not be kept out`]);
  } finally {
    await rm(blocked, {recursive: true, force: true});
  }
});

test('loadForWriting: a profile whose location changed before the hold was taken (a move that saved meanwhile) is read again, and the new location is the one held', async () => {
  const at = (prefix: string) => ({name: 'p1', endpoint: 'http://127.0.0.1:1', bucket: 'b', prefix}) as unknown as ResolvedProfile;
  const reads = [at('old/'), at('new/')];
  let read = 0;
  const load = async () => reads[Math.min(read++, reads.length - 1)];
  const {profile, release} = await loadForWriting(load, dataDir, {doing: 'a backup is being uploaded to', notDone: 'nothing was uploaded'}, noWarnings);
  expect(profile.prefix).toBe('new/');
  expect(await refusal(lockMove(dataDir, {location: locationId(at('new/'))}, MOVE, noWarnings))).toMatch(/^a backup is being uploaded to profile "p1" by another command/);
  await (await lockMove(dataDir, {location: locationId(at('old/'))}, MOVE, noWarnings))(); // the first read's location was let go
  await release();
  await (await lockMove(dataDir, {location: locationId(at('new/'))}, MOVE, noWarnings))();
});

test('a profile is its name in its profiles file: a move of p1 in one file keeps out writers of that p1, not of a p1 in another file', async () => {
  const releaseMove = await lockMove(dataDir, {profile: P1}, MOVE, noWarnings);
  expect(await refusal(holdShared(dataDir, [{profile: P1}], UPLOAD, noWarnings))).toMatch(/^the backups of profile "p1" are being moved/);
  await (await holdShared(dataDir, [{profile: {...P1, profilesFile: '/home/u/other.yaml'}}], UPLOAD, noWarnings))();
  await releaseMove();
});

test('loadForWriting: a location that changes at every read is refused (exit 1, transient), every hold let go, rather than written where the profile no longer points', async () => {
  let read = 0;
  const load = async () => ({name: 'p1', endpoint: 'http://127.0.0.1:1', bucket: 'b', prefix: `p${read++}/`}) as unknown as ResolvedProfile;
  const err = await loadForWriting(load, dataDir, {doing: 'a backup is being uploaded to', notDone: 'nothing was uploaded'}, noWarnings).then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(BackupError);
  expect((err as BackupError).exitCode).toBe(1);
  expect((err as BackupError).transient).toBe(true);
  expect((err as BackupError).message).toBe('the location of profile "p1" kept changing while this command started (another command is updating it); nothing was uploaded: run this again');
  expect(await readdir(join(dataDir, 'move-locks'))).toEqual([]);
});
