import {afterAll, beforeAll, describe, expect, test} from '@jest/globals';
import {B2Backend} from '../../src/b2/index.js';
import {BackupCatalog} from '../../src/backups/index.js';
import {seedBackups, seedLargeBackup} from '../helpers/seed-backups.js';
import {api, authorizeRaw} from '../emulator/helpers.js';
import {CrashWorld, killPoints, requestOf} from '../helpers/crash.js';
import {downloadCalls} from './helpers.js';

// SIGKILL a real `b2 profile update NAME --prefix NEW --move-backups` at seeded request
// counts (the emulator's request hook kills the child as the k-th request arrives), then
// run the same command again: every backup ends up under the new prefix exactly once
// (one version of each file) and verifies, nothing is left under the old prefix (no
// file, no unfinished large file), no backup is ever lost in between, and neither run
// downloads anything. The location moves back and forth between two prefixes, so one
// seeded set of backups (one of them a large file, copied in parts) serves every trial.

const SEED = Number(process.env.CRASH_SEED ?? 1130_10);
const POINTS = 10;
const PREFIXES = ['ma/', 'mb/'];
const PART = 5_000_000;
const LARGE = 2 * PART + 4321;

let cw: CrashWorld;
let ids: string[] = [];
/** Requests of one whole move, learnt first. */
let requestsPerMove = 0;

const move = (to: string) => ['profile', 'update', 'mv', '--prefix', to, '--move-backups'];

async function opened(prefix: string): Promise<B2Backend> {
  return B2Backend.open({keyId: cw.emu.keyId, applicationKey: cw.emu.applicationKey, bucket: cw.emu.bucket, prefix, endpoint: cw.emu.url, partSize: PART, uploadCutoff: PART});
}

/** Every version of every name under the prefix, unfinished large files included. */
async function versions(prefix: string): Promise<string[]> {
  const auth = await authorizeRaw(cw.emu);
  const r = await api(cw.emu, auth.authorizationToken, 'b2_list_file_versions', {bucketId: cw.emu.bucketId, prefix, maxFileCount: 1000});
  return (r.json.files as {fileName: string; action: string}[]).map((f) => `${f.action} ${f.fileName}`);
}

/**
 * What the destination already holds before a rerun: the files stored whole, and the
 * parts an interrupted copy of the large archive stored; the rerun may copy only the rest.
 */
async function copiesMade(prefix: string): Promise<{files: number; largeDone: boolean; parts: number}> {
  const all = await versions(prefix);
  const auth = await authorizeRaw(cw.emu);
  const r = await api(cw.emu, auth.authorizationToken, 'b2_list_file_versions', {bucketId: cw.emu.bucketId, prefix, maxFileCount: 1000});
  let parts = 0;
  for (const f of r.json.files as {fileName: string; action: string; fileId: string}[]) {
    if (f.action === 'start') parts += (await api(cw.emu, auth.authorizationToken, 'b2_list_parts', {fileId: f.fileId})).json.parts.length as number;
  }
  const done = all.filter((v) => v.startsWith('upload '));
  const largeDone = done.some((v) => v.startsWith(`upload ${prefix}large_`) && v.endsWith('.tar'));
  return {files: done.length - (largeDone ? 1 : 0), largeDone, parts};
}

/** The ids of the whole backups listed under the prefix. */
async function listedIds(prefix: string): Promise<string[]> {
  const backend = await opened(prefix);
  try {
    return (await new BackupCatalog(backend).list({onSkipped: () => undefined})).map((b) => b.id).sort();
  } finally {
    await backend.close();
  }
}

beforeAll(async () => {
  process.stdout.write(`crash-move: seed ${SEED} (CRASH_SEED=${SEED} repeats these kill points)\n`);
  cw = await CrashWorld.start();
  const key = await cw.world.createKey();
  await cw.world.addProfile('mv', {...key, prefix: PREFIXES[0], partSize: '5MB', concurrency: 2});
  // five small backups and one whose archive is a large file (in parts), laid straight into the emulator
  await seedBackups(cw.emu, PREFIXES[0], 5);
  await seedLargeBackup(cw.emu, PREFIXES[0], {name: 'large', size: LARGE, partSize: PART});
  ids = await listedIds(PREFIXES[0]);
  expect(ids).toHaveLength(6);
  // one whole move (ma/ -> mb/) to learn how many requests a move makes
  const first = await cw.run(move(PREFIXES[1]), () => undefined);
  expect(first.result.code).toBe(0);
  requestsPerMove = first.calls.length;
  expect(await listedIds(PREFIXES[1])).toEqual(ids);
});

/** Where each kill landed and what the rerun had left to do (printed at the end). */
const outcomes: string[] = [];

afterAll(async () => {
  if (outcomes.length > 0) process.stdout.write(`crash-move (seed ${SEED}, ${requestsPerMove} requests per move):\n${outcomes.join('\n')}\n`);
  await cw?.close();
});

const points = killPoints(SEED, POINTS);
/** Trials so far: each moves the location to the other prefix. */
let trials = 0;

/**
 * One trial: the move to the other prefix, killed by `kill`; the checks of what the kill
 * left; the same command again; the checks that it finished the job.
 */
async function trial(what: string, kill: (to: string) => ReturnType<CrashWorld['run']>): Promise<void> {
  const n = trials++;
  const from = PREFIXES[(n + 1) % 2];
  const to = PREFIXES[n % 2];
  cw.emu.resetStats();
  const killed = await kill(to);
  const k = killed.calls.length;
  expect({what, killed: killed.killed, signal: killed.result.signal}).toEqual({what, killed: true, signal: 'SIGKILL'});

  // nothing lost: every backup is whole under one prefix or the other
  const [atFrom, atTo] = await Promise.all([listedIds(from), listedIds(to)]);
  expect(ids.filter((id) => !atFrom.includes(id) && !atTo.includes(id))).toEqual([]);

  const made = await copiesMade(to);
  const rerun = await cw.run(move(to), () => undefined);
  const again = {code: rerun.result.code, stderr: rerun.result.stderr, stdout: rerun.result.stdout.toString()};
  expect({what, code: again.code, stderr: again.stderr}).toEqual({what, code: 0, stderr: ''});
  // nothing copied twice: the rerun copies exactly what the killed run had not stored (11 files in one
  // b2_copy_file each, the large archive in 3 parts, of which an interrupted copy keeps those it has)
  const count = (call: string) => rerun.calls.filter((c) => c === call).length;
  expect({what, copyFile: count('b2_copy_file'), copyPart: count('b2_copy_part')}).toEqual({what, copyFile: 11 - made.files, copyPart: made.largeDone ? 0 : 3 - made.parts});
  // no archive: only the metadata files still at the source, each read once per run to check it is its backup's own
  expect(downloadCalls(cw.emu)).toBeLessThanOrEqual(2 * ids.length);
  outcomes.push(`  ${what}: killed with ${k} requests at B2 (the last ${killed.calls[k - 1]}), ${made.files + (made.largeDone ? 1 : 0)} of 12 files and ${made.parts} parts copied; the rerun: ${again.stdout.split('\n')[0]}`);

  expect((await cw.world.storedProfile('mv'))?.prefix).toBe(to);
  expect(await listedIds(to)).toEqual(ids);
  // exactly once: one version of each of the 12 files, no unfinished copy left anywhere
  const there = await versions(to);
  expect({what, there}).toEqual({what, there: [...new Set(there)]});
  expect({what, there: there.length, uploads: there.filter((v) => v.startsWith('upload ')).length}).toEqual({what, there: 12, uploads: 12});
  expect({what, left: await versions(from)}).toEqual({what, left: []});
  const backend = await opened(to);
  try {
    const catalog = new BackupCatalog(backend);
    for (const id of ids) expect(await catalog.verify(id)).toMatchObject({ok: true});
  } finally {
    await backend.close();
  }
}

describe(`SIGKILL during a prefix move at ${POINTS} request counts drawn with seed ${SEED}, then the same command again`, () => {
  test.each(points)('kill point $i', (point) => trial(`kill point ${point.i}`, (to) => cw.killAt(move(to), requestOf(point, POINTS, requestsPerMove))));
});

describe('SIGKILL as the n-th b2_copy_part arrives (a large copy left unfinished), then the same command again', () => {
  test.each([1, 2, 3])('at copy_part %i', (n) => {
    let seen = 0;
    return trial(`copy_part ${n}`, (to) => cw.run(move(to), (call, _k, kill) => (call === 'b2_copy_part' && ++seen === n ? kill() : undefined)));
  });
});

describe('a Home Assistant backup with no SHA1 on record anywhere (its archive streamed up): SIGKILLed once its archive is copied, then the same command again', () => {
  // its copy names the very version of the archive B2 copied: the rerun proves the copy by it
  let n = 0;
  async function haBackup(): Promise<{prefix: string; base: string; id: string; data: Buffer}> {
    const prefix = `ha${++n}-a/`;
    const base = `Automatic_backup_2026.4.1_2026-04-08_04.57_4300193${n}`;
    const id = `ha0c0ff${n}`;
    const data = Buffer.alloc(3000, n);
    const meta = {metadata_version: '1', backup_id: id, backup_metadata: {addons: [], backup_id: id, date: '2026-04-08T04:57:43.001930+02:00', database_included: true, extra_metadata: {}, folders: [], homeassistant_included: true, homeassistant_version: '2026.4.1', name: 'Automatic backup 2026.4.1', protected: false, size: data.length}};
    await cw.emu.putFiles(cw.emu.bucket, [
      {fileName: `${prefix}${base}.tar`, data, contentType: 'application/x-tar', fileInfo: {}, partSize: 1000},
      {fileName: `${prefix}${base}.metadata.json`, data: Buffer.from(JSON.stringify(meta)), contentType: 'application/json', fileInfo: {metadata_only: 'true'}},
    ]);
    const key = await cw.world.createKey();
    await cw.world.addProfile(`ha${n}`, {...key, prefix, partSize: '5MB'});
    return {prefix, base, id, data};
  }
  /** Kills the run as its `nth` request named `name` arrives. */
  const killAtCall = (name: string, nth: number) => {
    let seen = 0;
    return (call: string, _k: number, kill: () => Promise<void>) => (call === name && ++seen === nth ? kill() : undefined);
  };
  async function bytesAt(prefix: string, key: string): Promise<Buffer> {
    const backend = await opened(prefix);
    try {
      return Buffer.concat(await (await backend.get(key)).stream.toArray());
    } finally {
      await backend.close();
    }
  }

  test.each([
    ['as the metadata file\'s copy starts', 'b2_copy_file', 2],
    ['as the first original is deleted', 'b2_delete_file_version', 1],
  ])('a move killed %s: the rerun copies only what is missing and deletes the originals', async (_when, call, nth) => {
    const ha = await haBackup();
    const to = ha.prefix.replace(/-a\/$/, '-b/');
    const args = ['profile', 'update', `ha${n}`, '--prefix', to, '--move-backups'];
    const killed = await cw.run(args, killAtCall(call, nth));
    expect(killed.killed).toBe(true);
    const rerun = await cw.run(args, () => undefined);
    expect({code: rerun.result.code, stderr: rerun.result.stderr}).toEqual({code: 0, stderr: ''});
    expect(rerun.calls.filter((c) => c === 'b2_copy_file').length).toBe(call === 'b2_copy_file' ? 1 : 0);
    expect(await versions(ha.prefix)).toEqual([]);
    expect(await versions(to)).toEqual([`upload ${to}${ha.base}.metadata.json`, `upload ${to}${ha.base}.tar`]);
    expect(await listedIds(to)).toEqual([ha.id]);
    expect(await bytesAt(to, `${ha.base}.tar`)).toEqual(ha.data);
  }, 60_000);

  test('b2 copy killed as the metadata file\'s copy starts: the same copy again finishes it', async () => {
    const ha = await haBackup();
    const to = ha.prefix.replace(/-a\/$/, '-c/');
    const key = await cw.world.createKey();
    await cw.world.addProfile(`ha${n}-copies`, {...key, prefix: to, partSize: '5MB'});
    const args = ['copy', ha.id, '--to', `ha${n}-copies`, '--profile', `ha${n}`];
    const killed = await cw.run(args, killAtCall('b2_copy_file', 2));
    expect(killed.killed).toBe(true);
    const rerun = await cw.run(args, () => undefined);
    expect({code: rerun.result.code, stderr: rerun.result.stderr}).toEqual({code: 0, stderr: ''});
    expect(rerun.calls.filter((c) => c === 'b2_copy_file')).toHaveLength(1);
    expect(await listedIds(to)).toEqual([ha.id]);
    expect(await listedIds(ha.prefix)).toEqual([ha.id]);
    expect(await bytesAt(to, `${ha.base}.tar`)).toEqual(ha.data);
  }, 60_000);
});
