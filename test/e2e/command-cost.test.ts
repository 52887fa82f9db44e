import {describe, test, expect, beforeAll, afterAll} from '@jest/globals';
import {randomBytes} from 'node:crypto';
import {readFile, writeFile} from 'node:fs/promises';
import {join} from 'node:path';
import {E2EWorld, parseJson, sha1} from './helpers.js';

// What a command costs in B2 calls before and around its transfer (issue 8), counted by
// the emulator over real HTTP: every round trip is start-up time a user waits for.

let world: E2EWorld;
let small: {id: string; sha1: string};
const data = randomBytes(1_000_000);
let seq = 0;

/** The calls one CLI run made, by name. */
async function callsOf(run: () => Promise<{code: number | null; stderr: string}>): Promise<Record<string, number>> {
  const before = {...world.emu.stats().calls};
  const r = await run();
  expect({code: r.code, stderr: r.stderr}).toMatchObject({code: 0});
  const after = world.emu.stats().calls;
  return Object.fromEntries(Object.entries(after).map(([k, v]) => [k, v - (before[k] ?? 0)]).filter(([, v]) => v !== 0));
}

/** A machine that never saw this location: no cached metadata files (a restore onto a new box). */
const freshCache = () => ({XDG_CACHE_HOME: join(world.dir, `fresh-cache-${seq++}`)});

beforeAll(async () => {
  world = await E2EWorld.start();
  // a key restricted to the bucket, as Backblaze and Home Assistant advise: authorization names the bucket
  const restricted = await world.createKey({capabilities: ['listFiles', 'readFiles', 'writeFiles', 'deleteFiles'], bucketName: world.emu.bucket});
  await world.addProfile('home', {...restricted, prefix: 'cost/', check: false});
  await world.addProfile('wide', {...(await world.createKey()), prefix: 'cost/', check: false});
  const path = join(world.dir, 'small.tar');
  await writeFile(path, data);
  small = parseJson<{id: string; sha1: string}>(await world.b2(['upload', path, '--name', 'small', '--profile', 'home', '--json']));
});

afterAll(async () => {
  await world?.close();
});

describe('b2 download ID', () => {
  test('to stdout: authorization, one listing, the archive itself (the version listed, by id) and its metadata file beside it (4 calls with a bucket-restricted key) with no cached metadata', async () => {
    let out: Buffer = Buffer.alloc(0);
    const calls = await callsOf(async () => {
      const {done} = world.spawn(['download', small.id, '-o', '-', '--profile', 'home'], {env: freshCache()});
      const r = await done;
      out = r.stdout;
      return r;
    });
    expect(sha1(out)).toBe(small.sha1);
    expect(calls).toEqual({b2_authorize_account: 1, b2_list_file_names: 1, b2_download_file_by_id: 1, b2_download_file_by_name: 1});
  });

  test('to a file with --json: the same 4 calls, the same summary as show prints', async () => {
    const out = join(world.dir, 'restored.tar');
    let printed: {id: string; sha1: string; size: number; path: string} | undefined;
    const calls = await callsOf(async () => {
      const r = await world.b2(['download', small.id.slice(0, 4), '-o', out, '--json', '--profile', 'home'], {env: freshCache()});
      if (r.code === 0) printed = parseJson(r);
      return r;
    });
    expect(calls).toEqual({b2_authorize_account: 1, b2_list_file_names: 1, b2_download_file_by_id: 1, b2_download_file_by_name: 1});
    expect(sha1(await readFile(out))).toBe(small.sha1);
    const shown = parseJson<Record<string, unknown>>(await world.b2(['show', small.id, '--json', '--profile', 'home']));
    const summary = Object.fromEntries(Object.keys(printed!).filter((k) => k !== 'path').map((k) => [k, shown[k]]));
    expect(printed).toEqual({...summary, path: out});
  });

  test('a key that may list buckets but is not restricted to one adds only the bucket lookup', async () => {
    const calls = await callsOf(() => world.b2(['download', small.id, '-o', join(world.dir, 'wide.tar'), '--profile', 'wide'], {env: freshCache()}));
    expect(calls).toEqual({b2_authorize_account: 1, b2_list_buckets: 1, b2_list_file_names: 1, b2_download_file_by_id: 1, b2_download_file_by_name: 1});
  });
});

describe('b2 upload FILE', () => {
  // authorization; the bucket's type (an upload refuses a public bucket; with a key that is
  // not bucket-restricted the same call finds the bucket); the upload URL; the archive; the
  // metadata file (on the same URL). A fresh name is dated to the millisecond: not looked up.
  const expected = {b2_authorize_account: 1, b2_list_buckets: 1, b2_get_upload_url: 1, b2_upload_file: 2};

  test.each(['home', 'wide'])('a 1 MB backup with profile %s: 5 calls, none to look for its new name', async (profile) => {
    const path = join(world.dir, `cost-${profile}.tar`);
    await writeFile(path, randomBytes(1_000_000));
    let stored: {archiveKey: string} | undefined;
    const calls = await callsOf(async () => {
      const r = await world.b2(['upload', path, '--name', `cost ${profile}`, '--json', '--profile', profile]);
      if (r.code === 0) stored = parseJson(r);
      return r;
    });
    expect(calls).toEqual(expected);
    expect(stored?.archiveKey).toMatch(new RegExp(`^cost_${profile}_\\d{4}-\\d\\d-\\d\\d_\\d\\d\\.\\d\\d_\\d{8}\\.tar$`));
  });
});

describe('DEBUG=backup-b2:timing', () => {
  const line = /backup-b2:timing (.+?): ([\d.]+) ms since start, ([\d.]+) ms CPU/;

  test('prints each phase of a command once, in order, with the time and CPU since the process started', async () => {
    const r = await world.b2(['download', small.id, '-o', join(world.dir, 'timed.tar'), '--force', '--profile', 'home'], {env: {DEBUG: 'backup-b2:timing'}});
    expect(r.code).toBe(0);
    const phases = r.stderr.split('\n').map((l) => line.exec(l)).filter((m) => m !== null);
    expect(phases.map((m) => m[1])).toEqual(['command started', 'profile loaded', 'connected (authorized, bucket found)', 'backup found', 'work done', 'closed', 'exit']);
    const walls = phases.map((m) => Number(m[2]));
    const cpus = phases.map((m) => Number(m[3]));
    expect(walls).toEqual([...walls].sort((a, b) => a - b));
    expect(cpus).toEqual([...cpus].sort((a, b) => a - b));
    expect(cpus[0]).toBeGreaterThan(0);
  });

  test('an upload of a large file marks its hashing pass, the large-file start, each part, the finish and the metadata file, in order', async () => {
    const path = join(world.dir, 'timed-large.tar');
    await writeFile(path, randomBytes(11_000_000));
    const r = await world.b2(['upload', path, '--name', 'timed', '--part-size', '5MB', '--no-prune', '--profile', 'home'], {env: {DEBUG: 'backup-b2:timing'}});
    expect({code: r.code, stderr: r.stderr}).toMatchObject({code: 0});
    const phases = r.stderr.split('\n').map((l) => line.exec(l)).filter((m) => m !== null);
    const names = phases.map((m) => m[1]);
    // the parts go up in parallel: each is marked once, between the start and 'parts stored'
    const parts = names.filter((n) => /^part \d+ stored$/.test(n));
    expect(parts.sort()).toEqual(['part 1 stored', 'part 2 stored', 'part 3 stored']);
    expect(names.filter((n) => !parts.includes(n))).toEqual([
      'command started', 'profile loaded', 'connected (authorized, bucket found)',
      'hashing started', 'hashed (the whole file and its parts)', 'archive upload started (names found, upload recorded)',
      'large file started', 'parts stored', 'large file finished', 'archive stored', 'metadata file stored', 'work done', 'closed', 'exit',
    ]);
    expect(names.indexOf('large file started')).toBeLessThan(Math.min(...parts.map((n) => names.indexOf(n))));
    expect(names.indexOf('parts stored')).toBeGreaterThan(Math.max(...parts.map((n) => names.indexOf(n))));
    const walls = phases.map((m) => Number(m[2]));
    expect(walls).toEqual([...walls].sort((a, b) => a - b));
  });

  test('an upload from stdin marks when its first part was read (before that nothing can start)', async () => {
    const r = await world.b2(['upload', '-', '--name', 'timed pipe', '--part-size', '5MB', '--no-prune', '--profile', 'home'], {input: 'x'.repeat(11_000_000), env: {DEBUG: 'backup-b2:timing'}});
    expect({code: r.code, stderr: r.stderr}).toMatchObject({code: 0});
    const names = r.stderr.split('\n').map((l) => line.exec(l)?.[1]).filter((n) => n !== undefined);
    expect(names).not.toContain('hashing started'); // a stream is hashed as it is read
    const order = ['archive upload started (names found, upload recorded)', 'first part read', 'large file started', 'parts stored', 'archive stored', 'metadata file stored'];
    expect(order.map((n) => names.indexOf(n))).toEqual(order.map((n) => names.indexOf(n)).sort((a, b) => a - b));
    expect(order.every((n) => names.includes(n))).toBe(true);
  });

  test('without it, nothing of the kind', async () => {
    const r = await world.b2(['download', small.id, '-o', join(world.dir, 'untimed.tar'), '--force', '--profile', 'home']);
    expect(r.code).toBe(0);
    expect(r.stderr).not.toContain('backup-b2:timing');
  });
});

test('no run printed an application key', () => {
  world.expectNoSecretInAnyRun();
});
