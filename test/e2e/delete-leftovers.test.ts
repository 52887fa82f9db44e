import {afterAll, beforeAll, beforeEach, describe, expect, test} from '@jest/globals';
import {randomBytes} from 'node:crypto';
import {writeFile} from 'node:fs/promises';
import {join} from 'node:path';
import {api, authorizeRaw} from '../emulator/helpers.js';
import {FaultAt} from '../helpers/fault-at.js';
import {calls, E2EWorld, expectFailure, parseJson, waitFor} from './helpers.js';

// A delete that stops between its two files (the archive is gone, the metadata file is
// left): the backup is no longer listed, so `latest` or a prefix would now name another
// backup, or none. What the run prints names the full id and the command that finishes
// the job, and that command removes exactly what is left, nothing else.

const DELETE = 'b2_delete_file_version';
const faultAt = new FaultAt();
let world: E2EWorld;
let master: string;
let n = 0;

type Listed = {id: string; name: string; archiveKey: string};

/** Every stored version under `prefix`, by name, read with the master key. */
async function versions(prefix: string): Promise<string[]> {
  const r = await api(world.emu, master, 'b2_list_file_versions', {bucketId: world.emu.bucketId, prefix, maxFileCount: 1000});
  return (r.json.files as Array<{fileName: string; action: string}>).map((f) => `${f.action} ${f.fileName.slice(prefix.length)}`);
}

/** A fresh profile with three backups; answers its name, prefix and backups. */
async function threeBackups(): Promise<{profile: string; prefix: string; backups: Listed[]}> {
  n++;
  const profile = `p${n}`;
  const key = await world.createKey();
  await world.addProfile(profile, {...key, prefix: `${profile}/`});
  const path = join(world.dir, `b${n}.tar`);
  await writeFile(path, randomBytes(2000));
  const backups: Listed[] = [];
  for (const name of ['one', 'two', 'three']) {
    const up = await world.b2(['upload', path, '--name', name, '--profile', profile, '--json']);
    expect({code: up.code, stderr: up.stderr}).toMatchObject({code: 0});
    backups.push(parseJson<Listed>(up));
  }
  return {profile, prefix: `${profile}/`, backups};
}

const listedIds = async (profile: string) => parseJson<Listed[]>(await world.b2(['list', '--profile', profile, '--json'])).map((b) => b.id).sort();

/** The id `ref` names now, as a dry run resolves it. */
async function resolved(ref: string, profile: string): Promise<string> {
  const r = await world.b2(['delete', ref, '--dry-run', '--json', '--profile', profile]);
  expect(r.code).toBe(0);
  return parseJson<{backup: {id: string}}>(r).backup.id;
}

beforeAll(async () => {
  world = await E2EWorld.start({onRequest: faultAt.onRequest});
  master = (await authorizeRaw(world.emu)).authorizationToken;
});

beforeEach(() => faultAt.clear(world.emu));

afterAll(async () => {
  world?.expectNoSecretInAnyRun();
  await world?.close();
});

describe('Ctrl-C between the archive and the metadata file of a delete', () => {
  test.each(['latest', 'a unique prefix'])('by %s: the line names the full id and the command; that command finishes it and deletes nothing else', async (how) => {
    const {profile, prefix, backups} = await threeBackups();
    const ref = how === 'latest' ? 'latest' : backups[1].id.slice(0, 8);
    const id = await resolved(ref, profile);
    const others = backups.map((b) => b.id).filter((b) => b !== id).sort();
    // the second delete call (the metadata file's) is held until the client leaves
    faultAt.arm(world.emu, DELETE, 2, {call: DELETE, count: 1, latencyMs: 600_000});
    const asked = calls(world.emu, DELETE);
    const run = world.spawn(['delete', ref, '--yes', '--profile', profile]);
    await waitFor(() => calls(world.emu, DELETE) >= asked + 2, 'the metadata file\'s delete');
    run.child.kill('SIGINT');
    const done = await run.done;
    faultAt.clear(world.emu);
    const r = {code: done.code ?? -1, stdout: done.stdout.toString(), stderr: done.stderr};
    const command = `backup-b2 b2 delete ${id} --yes`;
    expectFailure(r, 130, new RegExp(`^Error: delete interrupted; backup ${id} may be partly deleted: run "${command}" to finish$`), world.secrets);
    expect(await listedIds(profile)).toEqual(others);

    const again = await world.b2([...command.split(' ').slice(2), '--json', '--profile', profile]);
    expect({code: again.code, stderr: again.stderr}).toMatchObject({code: 0});
    expect(parseJson(again)).toMatchObject({deleted: {id}, complete: false});
    expect(await listedIds(profile)).toEqual(others);
    const name = backups.find((b) => b.id === id)!.archiveKey.slice(prefix.length, -'.tar'.length);
    expect((await versions(prefix)).filter((v) => v.includes(name))).toEqual([]);
    expect(await versions(prefix)).toHaveLength(4); // the other two backups, two files each
  }, 60_000);
});

describe('the metadata file\'s delete fails after the archive\'s (not a lock)', () => {
  test('one line: the archive was deleted, the backup is unlisted, and "delete <full id>" removes the rest; it does', async () => {
    const {profile, prefix, backups} = await threeBackups();
    const id = await resolved('latest', profile);
    const gone = backups.find((b) => b.id === id)!;
    const metadataKey = gone.archiveKey.replace(/\.tar$/, '.metadata.json');
    faultAt.arm(world.emu, DELETE, 2, {call: DELETE, count: 1, status: 400, message: 'injected'});
    const r = await world.b2(['delete', 'latest', '--yes', '--profile', profile]);
    faultAt.clear(world.emu);
    const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
    expectFailure(r, 1, new RegExp(`^Error: ${esc(gone.archiveKey)} was deleted, but deleting ${esc(metadataKey)} failed \\(.*injected.*\\); backup ${id} is no longer listed, and the same "backup-b2 b2 delete ${id}" removes the rest$`), world.secrets);
    expect(await listedIds(profile)).not.toContain(id);

    const again = await world.b2(['delete', id, '--yes', '--json', '--profile', profile]);
    expect({code: again.code, stderr: again.stderr}).toMatchObject({code: 0});
    expect(parseJson(again)).toMatchObject({deleted: {id}, complete: false});
    expect(await versions(prefix)).toHaveLength(4);
  }, 60_000);
});
