import {afterAll, beforeAll, beforeEach, describe, expect, test} from '@jest/globals';
import {randomBytes} from 'node:crypto';
import {writeFile} from 'node:fs/promises';
import {join} from 'node:path';
import {FaultAt} from '../helpers/fault-at.js';
import {api, authorizeRaw} from '../emulator/helpers.js';
import {BACKUP_CAPABILITIES, LOCKING_CAPABILITIES, calls, E2EWorld, expectFailure, parseJson, storedVersions, waitFor} from './helpers.js';

// What `delete`, `prune`, `cleanup` and `lock` report is what they did. One that B2 refuses
// midway, after it has removed something: exit 1, never 2 (README: 2 means nothing was
// changed), one line that says what was removed and to run it again, and with --json
// its JSON of what it did, plus `error`. A delete whose answer was lost (B2
// carried it out; the retry found the file gone) is this run's delete, not "already gone:
// another command deleted it meanwhile". And a prune or delete stopped (Ctrl-C) while a
// delete's answer was on the way looks once at what is left of that backup: gone, it is
// counted as deleted and no "delete ID" is asked for (that would find no backup); whole,
// nothing of it is named; only partly deleted (or unknown) is "delete ID" the way on.

const DELETE = 'b2_delete_file_version';
const faultAt = new FaultAt();
let world: E2EWorld;
let n = 0;

/** A fresh profile with three backups, stored oldest first (the subjects are delete and prune). */
async function threeBackups(): Promise<{profile: string; ids: string[]}> {
  const {profile, path} = await freshProfile();
  const ids: string[] = [];
  for (const name of ['one', 'two', 'three']) ids.push((await world.storeBackup(profile, {path}, {name})).id);
  return {profile, ids};
}

/** A fresh profile (its own key, its own prefix) and a small archive file to store in it. */
async function freshProfile(capabilities = BACKUP_CAPABILITIES): Promise<{profile: string; path: string}> {
  n++;
  const profile = `d${n}`;
  await world.addProfile(profile, {...(await world.createKey({capabilities})), prefix: `${profile}/`});
  const path = join(world.dir, `d${n}.tar`);
  await writeFile(path, randomBytes(2000));
  return {profile, path};
}

beforeAll(async () => {
  world = await E2EWorld.start({onRequest: faultAt.onRequest, bootstrap: {fileLockEnabled: true}});
});

beforeEach(() => faultAt.clear(world.emu));

afterAll(async () => {
  world?.expectNoSecretInAnyRun();
  await world?.close();
});

describe('the answer to a delete is lost (B2 deleted the file; the retry finds it gone)', () => {
  test('b2 delete: "Deleted backup …", --json "deleted", no "alreadyGone", exit 0', async () => {
    const {profile, ids} = await threeBackups();
    // the archive's delete is carried out, its answer cut
    faultAt.arm(world.emu, DELETE, 1, {call: DELETE, count: 1, cutResponseAfterBytes: 5});
    const r = await world.b2(['delete', ids[2], '--yes', '--profile', profile]);
    expect({code: r.code, stderr: r.stderr}).toEqual({code: 0, stderr: ''});
    expect(r.stdout).toMatch(new RegExp(`^Deleted backup ${ids[2]} "three" of `));

    faultAt.arm(world.emu, DELETE, 1, {call: DELETE, count: 1, cutResponseAfterBytes: 5});
    const json = await world.b2(['delete', ids[1], '--yes', '--json', '--profile', profile]);
    expect(json.code).toBe(0);
    const printed = parseJson<{deleted: {id: string} | null; alreadyGone?: unknown}>(json);
    expect({deleted: printed.deleted?.id, alreadyGone: printed.alreadyGone}).toEqual({deleted: ids[1], alreadyGone: undefined});
    expect(await world.listedIds(profile)).toEqual([ids[0]]);
  }, 60_000);

  test('b2 prune --json: the backup is in "deleted", not in "alreadyGone"', async () => {
    const {profile, ids} = await threeBackups();
    faultAt.arm(world.emu, DELETE, 1, {call: DELETE, count: 1, cutResponseAfterBytes: 5});
    const r = await world.b2(['prune', '--keep-last', '1', '--yes', '--json', '--profile', profile]);
    expect(r.code).toBe(0);
    expect(parseJson<{deleted: string[]; alreadyGone: string[]}>(r)).toMatchObject({deleted: [ids[0], ids[1]], alreadyGone: []});
    expect(r.stderr).not.toContain('already gone');
    expect(await world.listedIds(profile)).toEqual([ids[2]]);
  }, 60_000);
});

describe('Ctrl-C while a delete\'s answer is on the way', () => {
  /** Spawns `args`, holds the nth delete (`rule`), and sends SIGINT once `ready` holds; answers the run as runCli would. */
  async function interrupted(args: string[], nth: number, rule: {latencyMs?: number; answerLatencyMs?: number}, ready: () => Promise<boolean>) {
    faultAt.arm(world.emu, DELETE, nth, {call: DELETE, count: 1, ...rule});
    const asked = calls(world.emu, DELETE);
    const run = world.spawn(args);
    await waitFor(() => calls(world.emu, DELETE) >= asked + nth, `delete request ${nth}`);
    while (!(await ready())) await new Promise((r) => setTimeout(r, 50));
    run.child.kill('SIGINT');
    const done = await run.done;
    faultAt.clear(world.emu);
    return {code: done.code ?? -1, stdout: done.stdout.toString(), stderr: done.stderr};
  }
  const master = async () => (await authorizeRaw(world.emu)).authorizationToken;
  /** Whether no version of the files of backup `name` is left under the profile's prefix (its file names start with its name). */
  const goneUnder = async (profile: string, name: string) => (await storedVersions(world.emu, await master(), `${profile}/`)).every((v) => !v.includes(`${name}_`));

  test('prune: the backup whose second file was deleted (answer held) counts as deleted, and no "delete ID" is asked for', async () => {
    const {profile, ids} = await threeBackups();
    // the oldest backup's metadata file is deleted; its answer is held
    const r = await interrupted(['prune', '--keep-last', '1', '--yes', '--profile', profile], 2, {answerLatencyMs: 600_000}, () => goneUnder(profile, 'one'));
    expectFailure(r, 130, /^Error: prune interrupted after deleting 1 of 2 backups; run the same command again to finish$/, world.secrets);
    expect(r.stderr).toContain(`Deleted backup ${ids[0]} "one"`);
    expect((await world.listedIds(profile)).sort()).toEqual([ids[1], ids[2]].sort());
  }, 60_000);

  test('prune: stopped before its first delete was carried out, nothing of that backup is named', async () => {
    const {profile, ids} = await threeBackups();
    const r = await interrupted(['prune', '--keep-last', '1', '--yes', '--profile', profile], 1, {latencyMs: 600_000}, async () => true);
    expectFailure(r, 130, /^Error: prune interrupted after deleting 0 of 2 backups; run the same command again to finish$/, world.secrets);
    expect((await world.listedIds(profile)).sort()).toEqual([...ids].sort());
  }, 60_000);

  test('delete: both files deleted, the second answer held: the line says it is deleted, not to run "delete ID" (which would find no backup)', async () => {
    const {profile, ids} = await threeBackups();
    const r = await interrupted(['delete', ids[2], '--yes', '--profile', profile], 2, {answerLatencyMs: 600_000}, () => goneUnder(profile, 'three'));
    expectFailure(r, 130, new RegExp(`^Error: delete interrupted; backup ${ids[2]} was deleted all the same: nothing of it is left$`), world.secrets);
    expect((await world.listedIds(profile)).sort()).toEqual([ids[0], ids[1]].sort());
  }, 60_000);
});

describe('prune refused by B2 (400 bad_request) after it deleted a backup', () => {
  test('--json: exit 1, the JSON names the backup deleted and the error; stderr one line saying how many were deleted', async () => {
    const {profile, ids} = await threeBackups();
    // the oldest backup's two files go; the next backup's archive is refused
    faultAt.arm(world.emu, DELETE, 3, {call: DELETE, count: 1, status: 400, code: 'bad_request', message: 'injected'});
    const r = await world.b2(['prune', '--keep-last', '1', '--yes', '--json', '--profile', profile]);
    const line = /^Error: B2 rejected b2_delete_file_version .*injected.*; prune stopped after deleting 1 of 2 backups: run the same command again to finish$/;
    expectFailure(r, 1, line, world.secrets);
    const json = parseJson<{deleted: string[]; alreadyGone: string[]; error: string; backups: Array<{id: string; action: string}>}>(r);
    expect(json.deleted).toEqual([ids[0]]);
    expect(json.alreadyGone).toEqual([]);
    expect(json.backups.map((b) => b.id)).toEqual([...ids].reverse());
    expect(`Error: ${json.error}`).toMatch(line);
    expect((await world.listedIds(profile)).sort()).toEqual([ids[1], ids[2]].sort());

    // the same command again finishes it
    const again = await world.b2(['prune', '--keep-last', '1', '--yes', '--json', '--profile', profile]);
    expect({code: again.code}).toEqual({code: 0});
    expect(parseJson<{deleted: string[]}>(again).deleted).toEqual([ids[1]]);
  }, 60_000);

  test('without --json: exit 1, nothing on stdout; refused before anything was deleted it stays B2\'s code (nothing changed)', async () => {
    const {profile, ids} = await threeBackups();
    faultAt.arm(world.emu, DELETE, 3, {call: DELETE, count: 1, status: 400, code: 'bad_request', message: 'injected'});
    const r = await world.b2(['prune', '--keep-last', '1', '--yes', '--profile', profile]);
    expectFailure(r, 1, /; prune stopped after deleting 1 of 2 backups: run the same command again to finish$/, world.secrets);
    expect(r.stdout).toBe('');

    faultAt.arm(world.emu, DELETE, 1, {call: DELETE, count: 1, status: 400, code: 'bad_request', message: 'injected'});
    const first = await world.b2(['prune', '--keep-last', '1', '--yes', '--json', '--profile', profile]);
    expectFailure(first, 2, /^Error: B2 rejected b2_delete_file_version .*injected/, world.secrets);
    expect(first.stderr).not.toContain('prune stopped');
    expect(first.stdout).toBe('');
    expect((await world.listedIds(profile)).sort()).toEqual([ids[1], ids[2]].sort());
  }, 60_000);
});

describe('cleanup refused by B2 (400 bad_request) after it cancelled an unfinished upload', () => {
  test('--json: exit 1, the JSON names what was cancelled and the error; stderr one line saying so', async () => {
    const {profile} = await freshProfile();
    const auth = await authorizeRaw(world.emu);
    const started: string[] = [];
    for (const name of ['a', 'b']) {
      const fileInfo = {backup_id: `0badc0d${name}`, backup_name: name, backup_date: '2026-01-01T00:00:00.000000+00:00'};
      const fileName = `${profile}/${name}_2026-01-01_00.00_00000000.tar`;
      const r = await api(world.emu, auth.authorizationToken, 'b2_start_large_file', {bucketId: world.emu.bucketId, fileName, contentType: 'application/x-tar', fileInfo});
      expect(r.status).toBe(200);
      started.push(fileName);
    }
    const CANCEL = 'b2_cancel_large_file';
    faultAt.arm(world.emu, CANCEL, 2, {call: CANCEL, count: 1, status: 400, code: 'bad_request', message: 'injected'});
    const r = await world.b2(['cleanup', '--older-than', '0s', '--json', '--profile', profile]);
    const line = /^Error: B2 rejected b2_cancel_large_file .*injected.*; cleanup stopped after cancelling 1 unfinished upload: run the same command again to finish$/;
    expectFailure(r, 1, line, world.secrets);
    const json = parseJson<{dryRun: boolean; cancelled: Array<{key: string}>; deleted: unknown[]; error: string}>(r);
    expect({dryRun: json.dryRun, cancelled: json.cancelled.map((c) => c.key), deleted: json.deleted}).toEqual({dryRun: false, cancelled: [started[0].slice(profile.length + 1)], deleted: []});
    expect(`Error: ${json.error}`).toMatch(line);

    const again = await world.b2(['cleanup', '--older-than', '0s', '--json', '--profile', profile]);
    expect({code: again.code}).toEqual({code: 0});
    expect(parseJson<{cancelled: Array<{key: string}>}>(again).cancelled.map((c) => c.key)).toEqual([started[1].slice(profile.length + 1)]);
  }, 60_000);
});

describe('lock refused by B2 (400 bad_request) after it set the metadata file\'s retention', () => {
  test('exit 1 (not 2: the metadata file is locked), one line saying so; the same command again finishes it', async () => {
    const {profile, path} = await freshProfile(LOCKING_CAPABILITIES);
    const {id, metadataKey} = await world.storeBackup(profile, {path}, {name: 'locked'});
    const RETENTION = 'b2_update_file_retention';
    faultAt.arm(world.emu, RETENTION, 2, {call: RETENTION, count: 1, status: 400, code: 'bad_request', message: 'injected'});
    const r = await world.b2(['lock', id, '--days', '1', '--profile', profile]);
    expectFailure(r, 1, new RegExp(`^Error: B2 rejected b2_update_file_retention .*injected.*; the retention of its metadata file ${metadataKey.replace(/[.]/g, '\\.')} was set, not its archive's: run the same command again to finish$`), world.secrets);
    const again = await world.b2(['lock', id, '--days', '1', '--profile', profile, '--json']);
    expect(again.code).toBe(0);
    expect(parseJson<{lockMode: string}>(again).lockMode).toBe('governance');
  }, 60_000);
});
