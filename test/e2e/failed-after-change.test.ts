import {afterAll, beforeAll, beforeEach, describe, expect, test} from '@jest/globals';
import {randomBytes} from 'node:crypto';
import {writeFile} from 'node:fs/promises';
import {join} from 'node:path';
import {api, authorizeRaw} from '../emulator/helpers.js';
import {FaultAt} from '../helpers/fault-at.js';
import {BACKUP_CAPABILITIES, E2EWorld, expectFailure, parseJson} from './helpers.js';

// A prune (or cleanup) that B2 refuses midway, after it has deleted something: exit 1,
// never 2 (README: 2 means nothing was changed), one line that says what was deleted and
// to run it again, and with --json its JSON of what it did, plus `error`.

const DELETE = 'b2_delete_file_version';
const faultAt = new FaultAt();
let world: E2EWorld;
let n = 0;

/** A fresh profile with three backups, stored oldest first (the subject is prune, not upload). */
async function threeBackups(): Promise<{profile: string; ids: string[]}> {
  n++;
  const profile = `f${n}`;
  await world.addProfile(profile, {...(await world.createKey({capabilities: BACKUP_CAPABILITIES})), prefix: `${profile}/`});
  const path = join(world.dir, `f${n}.tar`);
  await writeFile(path, randomBytes(2000));
  const ids: string[] = [];
  for (const name of ['one', 'two', 'three']) ids.push((await world.storeBackup(profile, {path}, {name})).id);
  return {profile, ids};
}

beforeAll(async () => {
  world = await E2EWorld.start({onRequest: faultAt.onRequest});
});

beforeEach(() => faultAt.clear(world.emu));

afterAll(async () => {
  world?.expectNoSecretInAnyRun();
  await world?.close();
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
    n++;
    const profile = `f${n}`;
    await world.addProfile(profile, {...(await world.createKey({capabilities: BACKUP_CAPABILITIES})), prefix: `${profile}/`});
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
