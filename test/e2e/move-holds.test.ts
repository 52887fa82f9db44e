import {afterAll, beforeAll, describe, expect, test} from '@jest/globals';
import {randomBytes} from 'node:crypto';
import {writeFile} from 'node:fs/promises';
import {join} from 'node:path';
import {authorizeRaw} from '../emulator/helpers.js';
import {E2EWorld, LOCKING_CAPABILITIES, expectFailure, parseJson, storedVersions, type SpawnedCli} from './helpers.js';

// `profile update NAME --prefix NEW --move-backups` and the commands that write where it
// moves from, real CLI processes against the emulator over HTTP. A move lists the
// backups once, copies them, deletes the originals and saves the new prefix: an upload
// made after its listing would stay behind under the old prefix, a prune's deletes would
// be undone by the copies, a lock would make the move's delete fail, a plain update would
// be saved over. So a move and every writer of its location (and any other update of its
// profile) keep out of each other: the one that comes second is refused, one line, exit 1,
// nothing changed. The move is held at an exact B2 call (the emulator's onRequest), as is
// the writer where it runs first.

let world: E2EWorld;
let master: string;
let key: {keyId: string; applicationKey: string};
let archive: string;
let n = 0;

/** The next request of `call` waits (the emulator holds it) until `open()`; `arrived` settles when it comes. */
let gate: {call: string; arrived: () => void; opened: Promise<void>} | undefined;
function holdNext(call: string): {arrived: Promise<void>; open: () => void} {
  let arrived!: () => void;
  let open!: () => void;
  const arrival = new Promise<void>((resolve) => (arrived = resolve));
  gate = {call, arrived, opened: new Promise<void>((resolve) => (open = resolve))};
  return {arrived: arrival, open};
}

async function onRequest(call: string): Promise<void> {
  const held = gate?.call === call ? gate : undefined;
  if (!held) return;
  gate = undefined;
  held.arrived();
  await held.opened;
}

/** A CLI run spawned and held at its first `call`: the command, and the gate to open (always opened by `during`). */
async function during<T>(call: string, args: string[], then: (running: SpawnedCli) => Promise<T>): Promise<{result: T; done: Awaited<SpawnedCli['done']>}> {
  const held = holdNext(call);
  const running = world.spawn(args);
  try {
    await Promise.race([held.arrived, running.done.then((r) => Promise.reject(new Error(`${args.join(' ')} ended before ${call}: ${r.code} ${r.stderr}`)))]);
    const result = await then(running);
    held.open();
    return {result, done: await running.done};
  } finally {
    gate = undefined;
    held.open();
  }
}

/** A fresh profile with two backups (stored as `b2 upload` stores them, in this process). */
async function profileWithBackups(): Promise<{name: string; ids: string[]}> {
  const name = `p${++n}`;
  await world.addProfile(name, {...key, prefix: `${name}/`});
  const ids: string[] = [];
  for (const i of [1, 2]) ids.push((await world.storeBackup(name, randomBytes(3000), {name: `backup ${i}`})).id);
  return {name, ids};
}

/** Every stored version under `prefix`, by name, read with the master key. */
const versions = (prefix: string) => storedVersions(world.emu, master, prefix);
const sorted = (ids: string[]) => [...ids].sort();

beforeAll(async () => {
  world = await E2EWorld.start({onRequest, bootstrap: {fileLockEnabled: true}});
  master = (await authorizeRaw(world.emu)).authorizationToken;
  key = await world.createKey({capabilities: LOCKING_CAPABILITIES});
  archive = join(world.dir, 'small.tar');
  await writeFile(archive, randomBytes(5000));
});

afterAll(async () => {
  world?.expectNoSecretInAnyRun();
  await world?.close();
});

type Writer = {what: string; args: (p: {name: string; ids: string[]}) => Promise<string[]>; notDone: string};

const WRITERS: Writer[] = [
  {what: 'upload', args: async ({name}) => ['upload', archive, '--name', 'DuringMove', '--profile', name, '--no-prune'], notDone: 'nothing was uploaded'},
  {
    what: 'copy into the profile',
    args: async ({name}) => {
      const other = `${name}-other`;
      await world.addProfile(other, {...key, prefix: `${other}/`});
      const {id} = await world.storeBackup(other, randomBytes(3000), {name: 'elsewhere'});
      return ['copy', id, '--profile', other, '--to', name];
    },
    notDone: 'nothing was copied',
  },
  {what: 'prune', args: async ({name}) => ['prune', '--profile', name, '--keep-last', '1', '--yes'], notDone: 'nothing was deleted'},
  {what: 'delete', args: async ({name, ids}) => ['delete', ids[0], '--profile', name, '--yes'], notDone: 'nothing was deleted'},
  {what: 'cleanup', args: async ({name}) => ['cleanup', '--profile', name, '--older-than', '0s'], notDone: 'nothing was removed'},
  {what: 'lock', args: async ({name}) => ['lock', 'latest', '--days', '1', '--profile', name], notDone: 'no lock was set'},
  {
    what: 'upload through another profile on the same bucket and prefix',
    args: async ({name}) => {
      await world.addProfile(`${name}-alias`, {...key, prefix: `${name}/`});
      return ['upload', archive, '--name', 'DuringMove', '--profile', `${name}-alias`, '--no-prune'];
    },
    notDone: 'nothing was uploaded',
  },
];

describe('a writer while a move of its location runs (held at its first delete of an original)', () => {
  test.each(WRITERS.map((w) => [w.what, w] as const))('%s: refused (exit 1, one line naming the move), nothing changed; the move then moves every backup and nothing stays', async (_what, writer) => {
    const p = await profileWithBackups();
    const args = await writer.args(p);
    const before = await versions(`${p.name}/`);
    const {result: refused, done: move} = await during('b2_delete_file_version', ['profile', 'update', p.name, '--prefix', `${p.name}b/`, '--move-backups'], async (running) => {
      const r = await world.b2(args);
      expectFailure(r, 1, new RegExp(`^Error: the backups of profile "${p.name}" are being moved to "${p.name}b/" by another command \\(process ${running.child.pid}; its lock is in .*move-locks\\); ${writer.notDone}: run this again when it has finished$`), world.secrets);
      // nothing new where the move lists (the move itself deletes its originals meanwhile)
      expect((await versions(`${p.name}/`)).filter((v) => !before.includes(v))).toEqual([]);
      return r;
    });
    expect(refused.code).toBe(1);
    expect({code: move.code, stderr: move.stderr}).toEqual({code: 0, stderr: ''});
    expect((await world.storedProfile(p.name))?.prefix).toBe(`${p.name}b/`);
    expect(sorted(await world.listedIds(p.name))).toEqual(sorted(p.ids));
    expect(await versions(`${p.name}/`)).toEqual([]);
  });

  test('a lock asked for during the move: refused, so the move deletes every original, blames no key, and no backup is locked anywhere', async () => {
    const p = await profileWithBackups();
    const {done: move} = await during('b2_delete_file_version', ['profile', 'update', p.name, '--prefix', `${p.name}b/`, '--move-backups'], async () => {
      expect((await world.b2(['lock', 'latest', '--days', '1', '--profile', p.name])).code).toBe(1);
    });
    expect({code: move.code, stderr: move.stderr}).toEqual({code: 0, stderr: ''});
    const listed = parseJson<Array<{id: string; lockedUntil: string | null}>>(await world.b2(['list', '--profile', p.name, '--json']));
    expect(listed.map((b) => [b.id, b.lockedUntil]).sort()).toEqual(sorted(p.ids).map((id) => [id, null]));
    expect(await versions(`${p.name}/`)).toEqual([]);
  });

  test('a plain profile update of the moved profile (held at the move\'s first copy): refused, exit 1; the move saves its prefix', async () => {
    const p = await profileWithBackups();
    const {done: move} = await during('b2_copy_file', ['profile', 'update', p.name, '--prefix', `${p.name}b/`, '--move-backups'], async (running) => {
      const r = await world.b2(['profile', 'update', p.name, '--prefix', 'zzz/']);
      expectFailure(r, 1, new RegExp(`^Error: the backups of profile "${p.name}" are being moved to "${p.name}b/" by another command \\(process ${running.child.pid}; its lock is in .*move-locks\\); the profile is unchanged: run this again when it has finished$`), world.secrets);
      expect(r.stdout).toBe('');
      expect((await world.storedProfile(p.name))?.prefix).toBe(`${p.name}/`);
    });
    expect({code: move.code, stderr: move.stderr}).toEqual({code: 0, stderr: ''});
    expect((await world.storedProfile(p.name))?.prefix).toBe(`${p.name}b/`);
    expect(sorted(await world.listedIds(p.name))).toEqual(sorted(p.ids));
  });
});

describe('a move while a writer of its location, or an update of its profile, runs', () => {
  test('an upload held at its archive\'s upload: the move is refused (exit 1, names the upload and its process), nothing moved, the profile unchanged; the upload lands, and a move after it moves all three', async () => {
    const p = await profileWithBackups();
    const {done: upload} = await during('b2_upload_file', ['upload', archive, '--name', 'first', '--profile', p.name, '--no-prune', '--json'], async (running) => {
      const r = await world.b2(['profile', 'update', p.name, '--prefix', `${p.name}b/`, '--move-backups']);
      expectFailure(r, 1, new RegExp(`^Error: a backup is being uploaded to profile "${p.name}" by another command \\(process ${running.child.pid}; its lock is in .*move-locks\\); nothing was moved and the profile is unchanged: run this one again when that one has finished$`), world.secrets);
      expect(await versions(`${p.name}b/`)).toEqual([]);
      expect((await world.storedProfile(p.name))?.prefix).toBe(`${p.name}/`);
    });
    expect(upload.code).toBe(0);
    const uploaded = JSON.parse(upload.stdout.toString('utf8')) as {id: string};
    expect(sorted(await world.listedIds(p.name))).toEqual(sorted([...p.ids, uploaded.id]));
    const again = await world.b2(['profile', 'update', p.name, '--prefix', `${p.name}b/`, '--move-backups']);
    expect({code: again.code, stderr: again.stderr}).toEqual({code: 0, stderr: ''});
    expect(sorted(await world.listedIds(p.name))).toEqual(sorted([...p.ids, uploaded.id]));
    expect(await versions(`${p.name}/`)).toEqual([]);
  });

  test('a plain update of the profile held at its check: the move is refused (exit 1), the update is saved', async () => {
    const p = await profileWithBackups();
    const {done: update} = await during('b2_authorize_account', ['profile', 'update', p.name, '--concurrency', '3'], async (running) => {
      const r = await world.b2(['profile', 'update', p.name, '--prefix', `${p.name}b/`, '--move-backups']);
      expectFailure(r, 1, new RegExp(`^Error: profile "${p.name}" is being updated by another command \\(process ${running.child.pid}; its lock is in .*move-locks\\); nothing was moved and the profile is unchanged: run this one again when that one has finished$`), world.secrets);
    });
    expect(update.code).toBe(0);
    expect(await world.storedProfile(p.name)).toMatchObject({prefix: `${p.name}/`, concurrency: 3});
    expect(await versions(`${p.name}b/`)).toEqual([]);
  });
});

test('a data dir where no hold can be taken: the upload warns once and goes on', async () => {
  const p = await profileWithBackups();
  const r = await world.b2(['upload', archive, '--name', 'unheld', '--profile', p.name, '--no-prune'], {env: {XDG_DATA_HOME: '/proc/nonexist/data'}});
  expect(r.code).toBe(0);
  const holds = r.stderr.split('\n').filter((line) => line.includes('move-locks'));
  expect(holds).toEqual(['Warning: cannot take a lock in /proc/nonexist/data/backup-plugin-b2/move-locks (ENOENT): a move of these backups at the same time would not be kept out']);
});
