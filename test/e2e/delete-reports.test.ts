import {afterAll, beforeAll, beforeEach, describe, expect, test} from '@jest/globals';
import {randomBytes} from 'node:crypto';
import {writeFile} from 'node:fs/promises';
import {join} from 'node:path';
import {FaultAt} from '../helpers/fault-at.js';
import {BACKUP_CAPABILITIES, E2EWorld, parseJson} from './helpers.js';

// What `delete` and `prune` report is what they did: a delete whose answer was lost (B2
// carried it out; the retry found the file gone) is this run's delete, not "already gone:
// another command deleted it meanwhile".

const DELETE = 'b2_delete_file_version';
const faultAt = new FaultAt();
let world: E2EWorld;
let n = 0;

/** A fresh profile with three backups, stored oldest first (the subjects are delete and prune). */
async function threeBackups(): Promise<{profile: string; ids: string[]}> {
  n++;
  const profile = `d${n}`;
  await world.addProfile(profile, {...(await world.createKey({capabilities: BACKUP_CAPABILITIES})), prefix: `${profile}/`});
  const path = join(world.dir, `d${n}.tar`);
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
