import {afterAll, beforeAll, beforeEach, describe, expect, test} from '@jest/globals';
import {randomBytes} from 'node:crypto';
import {authorizeRaw} from '../emulator/helpers.js';
import {FaultAt} from '../helpers/fault-at.js';
import {LOCKING_CAPABILITIES, calls, E2EWorld, expectFailure, parseJson, storedVersions} from './helpers.js';

// `b2 copy ID --to PROFILE` and `profile update --move-backups`, the real CLI against the
// emulator over HTTP, when the metadata file's server-side copy fails after the archive's
// (B2 busy through every retry: exit 1). At the destination a backup exists once its
// metadata file does, so an archive copy left alone there is no backup, only billed: it
// is deleted again, unless Object Lock keeps it, and then the line says until when and
// that the same copy again completes the backup. The same command again finishes either
// way, with one version of each file.

/** B2 busy through every retry, at once (Retry-After: 0): a failure, exit 1. */
const BUSY = {call: 'b2_copy_file', status: 503, retryAfter: 0} as const;

const faultAt = new FaultAt();
let world: E2EWorld;
let master: string;
let n = 0;

/** Every stored version under `prefix`, by name, read with the master key. */
const versions = (prefix: string) => storedVersions(world.emu, master, prefix);

/** A fresh pair of profiles (the second without backups) and a backup of 3000 bytes in the first (stored as `b2 upload` stores it, in this process), locked for 3 days with `lock`. */
async function backupAndDestination(lock = false): Promise<{id: string; from: string; to: string; base: string}> {
  n++;
  const key = await world.createKey({capabilities: LOCKING_CAPABILITIES});
  const [from, to] = [`src${n}`, `dst${n}`];
  await world.addProfile(from, {...key, prefix: `${from}/`});
  await world.addProfile(to, {...key, prefix: `${to}/`});
  const {id, archiveKey} = await world.storeBackup(from, randomBytes(3000), {name: `backup ${n}`, lock: lock ? {days: 3} : undefined});
  return {id, from, to, base: archiveKey.slice(0, -'.tar'.length)};
}

/** The next b2_copy_file waits (the emulator holds its request) until `open()`; `arrived` settles when it comes. */
let gate: {arrived: () => void; opened: Promise<void>} | undefined;
function holdNextCopy(): {arrived: Promise<void>; open: () => void} {
  let arrived!: () => void;
  let open!: () => void;
  const arrival = new Promise<void>((resolve) => (arrived = resolve));
  gate = {arrived, opened: new Promise<void>((resolve) => (open = resolve))};
  return {arrived: arrival, open};
}

async function onRequest(call: string): Promise<void> {
  faultAt.onRequest(call);
  const held = call === 'b2_copy_file' ? gate : undefined;
  if (!held) return;
  gate = undefined;
  held.arrived();
  await held.opened;
}

beforeAll(async () => {
  world = await E2EWorld.start({onRequest, bootstrap: {fileLockEnabled: true}});
  master = (await authorizeRaw(world.emu)).authorizationToken;
});

beforeEach(() => faultAt.clear(world.emu));

afterAll(async () => {
  world?.expectNoSecretInAnyRun();
  await world?.close();
});

describe('b2 copy, when the metadata file is not copied after the archive was', () => {
  test('the archive copy is deleted again: one line (exit 1) says so and that nothing was copied; the same copy again copies both, one version each', async () => {
    const b = await backupAndDestination();
    faultAt.arm(world.emu, 'b2_copy_file', 2, BUSY); // the first copies the archive, the second the metadata file
    const r = await world.b2(['copy', b.id, '--profile', b.from, '--to', b.to]);
    expect(await versions(`${b.to}/`)).toEqual([]);
    expect(await world.listedIds(b.to)).toEqual([]);
    expectFailure(r, 1, new RegExp(`^Error: the metadata file ${b.base}\\.metadata\\.json was not copied \\(B2 kept failing b2_copy_file .*503 .*\\); its archive ${b.base}\\.tar, copied just before, was deleted again, so nothing was copied; run the same command again to copy the backup$`), world.secrets);

    faultAt.clear(world.emu);
    const again = await world.b2(['copy', b.id, '--profile', b.from, '--to', b.to, '--json']);
    expect({code: again.code, stderr: again.stderr}).toEqual({code: 0, stderr: ''});
    expect(parseJson(again)).toMatchObject({existing: false, copied: {id: b.id}});
    expect(await versions(`${b.to}/`)).toEqual([`upload ${b.base}.metadata.json`, `upload ${b.base}.tar`]);
    expect(await world.listedIds(b.to)).toEqual([b.id]);
    expect(await world.withLocation(b.to, ({catalog}) => catalog.verify(b.id))).toMatchObject({ok: true});
  });

  test('under Object Lock the archive copy stays: the line says until when, and the same copy again completes the backup with it (no second archive)', async () => {
    const b = await backupAndDestination(true);
    faultAt.arm(world.emu, 'b2_copy_file', 2, BUSY);
    const r = await world.b2(['copy', b.id, '--profile', b.from, '--to', b.to]);
    expect(await versions(`${b.to}/`)).toEqual([`upload ${b.base}.tar`]);
    expect(await world.listedIds(b.to)).toEqual([]);
    expectFailure(r, 1, new RegExp(`^Error: the metadata file ${b.base}\\.metadata\\.json was not copied \\(B2 kept failing b2_copy_file .*\\); its archive ${b.base}\\.tar, copied just before, stays there: Object Lock keeps it until \\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z, and without its metadata file it is no backup; run the same command again to complete the backup \\(it copies only what is missing\\)$`), world.secrets);

    faultAt.clear(world.emu);
    const copies = calls(world.emu, 'b2_copy_file');
    const again = await world.b2(['copy', b.id, '--profile', b.from, '--to', b.to, '--json']);
    expect({code: again.code, stderr: again.stderr}).toEqual({code: 0, stderr: ''});
    expect(calls(world.emu, 'b2_copy_file') - copies).toBe(1); // the metadata file only
    expect(await versions(`${b.to}/`)).toEqual([`upload ${b.base}.metadata.json`, `upload ${b.base}.tar`]);
    expect(await world.listedIds(b.to)).toEqual([b.id]);
  });

  test('the archive is copied first: when its copy fails, no metadata file is copied and nothing is listed there', async () => {
    const b = await backupAndDestination();
    faultAt.arm(world.emu, 'b2_copy_file', 1, BUSY);
    const r = await world.b2(['copy', b.id, '--profile', b.from, '--to', b.to]);
    expect(await versions(`${b.to}/`)).toEqual([]);
    expect(await world.listedIds(b.to)).toEqual([]);
    expectFailure(r, 1, new RegExp(`^Error: B2 kept failing b2_copy_file for "${b.to}/${b.base}\\.tar"`), world.secrets);
  });
});

describe('profile update --move-backups, when a metadata file is not copied after its archive was', () => {
  test('that archive copy is deleted again, no original is deleted, the profile keeps its prefix, and one line says so; the same command again finishes the move', async () => {
    const b = await backupAndDestination();
    const [from, to] = [`${b.from}/`, `${b.from}-moved/`];
    faultAt.arm(world.emu, 'b2_copy_file', 2, BUSY);
    const r = await world.b2(['profile', 'update', b.from, '--prefix', to, '--move-backups']);
    expect(await versions(to)).toEqual([]);
    expect(await versions(from)).toEqual([`upload ${b.base}.metadata.json`, `upload ${b.base}.tar`]);
    expect((await world.storedProfile(b.from))?.prefix).toBe(from);
    expectFailure(r, 1, new RegExp(`^Error: the metadata file ${b.base}\\.metadata\\.json was not copied \\(B2 kept failing b2_copy_file .*\\); its archive ${b.base}\\.tar, copied just before, was deleted again; the move stopped before deleting any original \\(copies of other backups already made stay at the new prefix\\): run the same command again to finish it$`), world.secrets);

    faultAt.clear(world.emu);
    const again = await world.b2(['profile', 'update', b.from, '--prefix', to, '--move-backups']);
    expect({code: again.code, stderr: again.stderr}).toEqual({code: 0, stderr: ''});
    expect(await versions(to)).toEqual([`upload ${b.base}.metadata.json`, `upload ${b.base}.tar`]);
    expect(await versions(from)).toEqual([]);
    expect(await world.listedIds(b.from)).toEqual([b.id]);
  });
});

describe('two copies of one backup to one location at once', () => {
  test('among the commands of one data dir the second is refused with one line (exit 1) while the first copies, and changes nothing; the first copies the backup, one version of each file', async () => {
    const b = await backupAndDestination();
    const gate = holdNextCopy();
    const first = world.spawn(['copy', b.id, '--profile', b.from, '--to', b.to]);
    try {
      // the first is copying the archive: it holds the lock (a first copy that failed before that fails here)
      await Promise.race([gate.arrived, first.done.then((r) => Promise.reject(new Error(`the first copy ended first: ${r.code} ${r.stderr}`)))]);
      const second = await world.b2(['copy', b.id, '--profile', b.from, '--to', b.to]);
      expectFailure(second, 1, new RegExp(`^Error: backup ${b.id} is being copied to profile "${b.to}" by another command \\(process ${first.child.pid}; its lock is in .*copy-locks\\); nothing was copied: run this one again when that one has finished \\(it copies only what is missing\\)$`), world.secrets);
      expect(await versions(`${b.to}/`)).toEqual([]);
    } finally {
      gate.open();
    }
    expect(await first.done).toMatchObject({code: 0});
    expect(await versions(`${b.to}/`)).toEqual([`upload ${b.base}.metadata.json`, `upload ${b.base}.tar`]);
    const again = await world.b2(['copy', b.id, '--profile', b.from, '--to', b.to, '--json']);
    expect(parseJson(again)).toMatchObject({existing: true});
  });

  test('a move into the location a copy of the same backup is being made to stops before copying it, deletes no original, and says so', async () => {
    const b = await backupAndDestination();
    const gate = holdNextCopy();
    const copy = world.spawn(['copy', b.id, '--profile', b.from, '--to', b.to]);
    let move: Awaited<ReturnType<E2EWorld['b2']>> | undefined;
    try {
      await Promise.race([gate.arrived, copy.done.then((r) => Promise.reject(new Error(`the copy ended first: ${r.code} ${r.stderr}`)))]);
      move = await world.b2(['profile', 'update', b.from, '--prefix', `${b.to}/`, '--move-backups']);
    } finally {
      gate.open();
    }
    expect(await copy.done).toMatchObject({code: 0});
    expectFailure(move!, 1, new RegExp(`^Error: backup ${b.id} is being copied to the new prefix "${b.to}/" by another command \\(process ${copy.child.pid}; its lock is in .*copy-locks\\); nothing was copied: run this one again when that one has finished \\(it copies only what is missing\\); the move stopped before deleting any original \\(copies of other backups already made stay at the new prefix\\): run the same command again to finish it$`), world.secrets);
    expect(await versions(`${b.from}/`)).toEqual([`upload ${b.base}.metadata.json`, `upload ${b.base}.tar`]);
    expect(await versions(`${b.to}/`)).toEqual([`upload ${b.base}.metadata.json`, `upload ${b.base}.tar`]);
    // the same move again then finds the backup copied and deletes the originals (e2e/move covers a move run again)
  });

  test.each(['the same profile', 'another profile on the same bucket and prefix'])('a second move of %s (to another prefix) while the first copies is refused (exit 1), copies nothing and leaves the profile to the first', async (whose) => {
    const b = await backupAndDestination();
    const alias = `${b.from}-alias`;
    if (whose !== 'the same profile') await world.addProfile(alias, {...(await world.createKey({capabilities: LOCKING_CAPABILITIES})), prefix: `${b.from}/`});
    const gate = holdNextCopy();
    const first = world.spawn(['profile', 'update', b.from, '--prefix', `${b.to}/`, '--move-backups']);
    let second: Awaited<ReturnType<E2EWorld['b2']>> | undefined;
    try {
      await Promise.race([gate.arrived, first.done.then((r) => Promise.reject(new Error(`the first move ended first: ${r.code} ${r.stderr}`)))]);
      second = await world.b2(['profile', 'update', whose === 'the same profile' ? b.from : alias, '--prefix', `${b.to}-other/`, '--move-backups']);
    } finally {
      gate.open();
    }
    expect(await first.done).toMatchObject({code: 0});
    // refused at the profile or at the location moved from: either way the line says what the first move does
    expectFailure(second!, 1, new RegExp(`^Error: the backups of profile "${b.from}" are being moved to "${b.to}/" by another command \\(process ${first.child.pid}; its lock is in .*move-locks\\); nothing was moved and the profile is unchanged: run this one again when that one has finished$`), world.secrets);
    expect(await versions(`${b.to}-other/`)).toEqual([]);
    expect(await versions(`${b.to}/`)).toEqual([`upload ${b.base}.metadata.json`, `upload ${b.base}.tar`]);
    expect(await versions(`${b.from}/`)).toEqual([]);
    expect((await world.storedProfile(b.from))?.prefix).toBe(`${b.to}/`);
  });
});
