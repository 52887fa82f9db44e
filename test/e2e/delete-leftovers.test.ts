import {afterAll, beforeAll, beforeEach, describe, expect, test} from '@jest/globals';
import {randomBytes} from 'node:crypto';
import {writeFile} from 'node:fs/promises';
import {join} from 'node:path';
import {api, authorizeRaw} from '../emulator/helpers.js';
import {FaultAt} from '../helpers/fault-at.js';
import {LOCKING_CAPABILITIES, calls, E2EWorld, expectFailure, parseJson, storedVersions, waitFor} from './helpers.js';

// A delete that stops between its two files (the archive is gone, the metadata file is
// left): the backup is no longer listed, so `latest` or a prefix would now name another
// backup, or none. What the run prints names the full id and the command that finishes
// the job, and that command removes exactly what is left, nothing else. A prune stopped
// there says the same of the backup it was deleting; `b2 cleanup` removes such a
// metadata file (never one that is not a backup metadata file, nor one Object Lock keeps).

const DELETE = 'b2_delete_file_version';
const faultAt = new FaultAt();
let world: E2EWorld;
let master: string;
let n = 0;

type Listed = {id: string; name: string; archiveKey: string};

/** Every stored version under `prefix`, by name, read with the master key. */
const versions = (prefix: string) => storedVersions(world.emu, master, prefix);

/** A fresh profile with three backups (locked for 3 days with `lock`); answers its name, prefix and backups. */
async function threeBackups(lock = false): Promise<{profile: string; prefix: string; backups: Listed[]}> {
  n++;
  const profile = `p${n}`;
  const key = await world.createKey({capabilities: LOCKING_CAPABILITIES});
  await world.addProfile(profile, {...key, prefix: `${profile}/`});
  const path = join(world.dir, `b${n}.tar`);
  await writeFile(path, randomBytes(2000));
  // stored oldest first as `b2 upload` (with --lock-days 3) stores them, in this process: the subjects here are delete, prune and cleanup
  const backups: Listed[] = [];
  for (const name of ['one', 'two', 'three']) backups.push(await world.storeBackup(profile, {path}, {name, ...(lock ? {lock: {days: 3}} : {})}));
  return {profile, prefix: `${profile}/`, backups};
}

/** The ids of the backups the profile lists, as `b2 list` lists them (read in this process: list has its own tests). */
const listedIds = (profile: string) => world.withLocation(profile, async ({catalog}) => (await catalog.list()).map((b) => b.id).sort());

/** Deletes every version of `key` with the master key (past a governance lock): what an interrupted delete leaves, made directly. */
async function deleteAsMaster(key: string): Promise<void> {
  const r = await api(world.emu, master, 'b2_list_file_versions', {bucketId: world.emu.bucketId, prefix: key, maxFileCount: 1000});
  for (const f of r.json.files as Array<{fileName: string; fileId: string}>) {
    if (f.fileName !== key) continue;
    const d = await api(world.emu, master, 'b2_delete_file_version', {fileName: f.fileName, fileId: f.fileId, bypassGovernance: true});
    expect(d.status).toBe(200);
  }
}

/** Stores `text` as `key` with the master key. */
async function putAsMaster(key: string, text: string): Promise<void> {
  const up = await api(world.emu, master, 'b2_get_upload_url', {bucketId: world.emu.bucketId});
  const res = await fetch(up.json.uploadUrl as string, {method: 'POST', headers: {Authorization: up.json.authorizationToken as string, 'X-Bz-File-Name': encodeURIComponent(key), 'Content-Type': 'application/json', 'X-Bz-Content-Sha1': 'do_not_verify'}, body: text});
  expect(res.status).toBe(200);
}

/** A backup's metadata file, named within the profile prefix as its archiveKey is. */
const metadataKeyOf = (b: Listed) => b.archiveKey.replace(/\.tar$/, '.metadata.json');

/** The id `ref` names now, as a delete resolves it (in this process). */
const resolved = (ref: string, profile: string) => world.withLocation(profile, async ({catalog}) => (await catalog.locate(ref)).id);

beforeAll(async () => {
  world = await E2EWorld.start({onRequest: faultAt.onRequest, bootstrap: {fileLockEnabled: true}});
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
    // the hint names the location it acts on: the profile, and the --config it came from
    expectFailure(r, 130, new RegExp(`^Error: delete interrupted; backup ${id} may be partly deleted: run "${command} --config ${world.config} --profile ${profile}" to finish$`), world.secrets);
    expect(await listedIds(profile)).toEqual(others);

    const again = await world.b2([...command.split(' ').slice(2), '--json', '--profile', profile]);
    expect({code: again.code, stderr: again.stderr}).toMatchObject({code: 0});
    expect(parseJson(again)).toMatchObject({deleted: {id}, complete: false});
    expect(await listedIds(profile)).toEqual(others);
    const name = backups.find((b) => b.id === id)!.archiveKey.slice(0, -'.tar'.length);
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
    expectFailure(r, 1, new RegExp(`^Error: ${esc(gone.archiveKey)} was deleted, but deleting ${esc(metadataKey)} failed \\(.*injected.*\\); backup ${id} is no longer listed, and the same "backup-b2 b2 delete ${id} --config ${esc(world.config)} --profile ${profile}" removes the rest$`), world.secrets);
    expect(await listedIds(profile)).not.toContain(id);

    const again = await world.b2(['delete', id, '--yes', '--json', '--profile', profile]);
    expect({code: again.code, stderr: again.stderr}).toMatchObject({code: 0});
    expect(parseJson(again)).toMatchObject({deleted: {id}, complete: false});
    expect(await versions(prefix)).toHaveLength(4);
  }, 60_000);
});

describe('Ctrl-C during a prune, between the archive and the metadata file of a backup', () => {
  test('the line names that backup\'s full id and the command; it and the same prune again finish, and the stray\'s hint names cleanup', async () => {
    const {profile, prefix, backups} = await threeBackups();
    const oldest = backups[0]; // prune deletes oldest first
    faultAt.arm(world.emu, DELETE, 2, {call: DELETE, count: 1, latencyMs: 600_000});
    const asked = calls(world.emu, DELETE);
    const run = world.spawn(['prune', '--keep-last', '1', '--yes', '--profile', profile]);
    await waitFor(() => calls(world.emu, DELETE) >= asked + 2, 'the metadata file\'s delete');
    run.child.kill('SIGINT');
    const done = await run.done;
    faultAt.clear(world.emu);
    const r = {code: done.code ?? -1, stdout: done.stdout.toString(), stderr: done.stderr};
    expectFailure(r, 130, new RegExp(`^Error: prune interrupted after deleting 0 of 2 backups; backup ${oldest.id} may be partly deleted: run "backup-b2 b2 delete ${oldest.id} --yes --config ${world.config} --profile ${profile}" to finish it, then the same prune again for the rest$`), world.secrets);

    const plan = await world.b2(['prune', '--keep-last', '1', '--dry-run', '--profile', profile]);
    expect(plan.code).toBe(0);
    const key = metadataKeyOf(oldest); // keys are named within the prefix
    expect(plan.stderr).toContain(`Not touched: ${key}: it has no archive ${key.replace(/\.metadata\.json$/, '.tar')} (what an interrupted delete or prune left, or the archive is hidden): "backup-b2 b2 cleanup --config ${world.config} --profile ${profile}" removes it once older than its --older-than, unless the archive is hidden (unhiding it restores the backup)`);

    const finish = await world.b2(['delete', oldest.id, '--yes', '--json', '--profile', profile]);
    expect({code: finish.code, stderr: finish.stderr}).toMatchObject({code: 0});
    const again = await world.b2(['prune', '--keep-last', '1', '--yes', '--json', '--profile', profile]);
    expect(again.code).toBe(0);
    expect(parseJson<{deleted: unknown[]}>(again).deleted).toHaveLength(1);
    expect(await listedIds(profile)).toEqual([backups[2].id]);
    expect(await versions(prefix)).toHaveLength(2);
  }, 60_000);
});

describe('b2 cleanup and metadata files without their archive', () => {
  test('removes a backup metadata file whose archive is gone (table and --json "strays"); never a file that is not one; a dry run removes nothing', async () => {
    const {profile, prefix, backups} = await threeBackups();
    const gone = backups[1];
    await deleteAsMaster(prefix + gone.archiveKey);
    await putAsMaster(`${prefix}notes.metadata.json`, '{"hello": "not a backup"}');
    const before = await versions(prefix);

    const dry = await world.b2(['cleanup', '--older-than', '0s', '--dry-run', '--json', '--profile', profile]);
    expect(dry.code).toBe(0);
    expect(parseJson(dry)).toMatchObject({dryRun: true, deleted: [], locked: [], strays: [{key: metadataKeyOf(gone), id: gone.id, name: 'two'}]});
    expect(await versions(prefix)).toEqual(before);

    const text = await world.b2(['cleanup', '--older-than', '0s', '--profile', profile]);
    expect({code: text.code, stderr: text.stderr}).toEqual({code: 0, stderr: ''});
    expect(text.stdout).toMatch(new RegExp(`^metadata without archive\\s+${metadataKeyOf(gone).replace(/[.]/g, '\\.')}\\s.*backup ${gone.id}`, 'm'));
    expect(text.stdout).toContain('deleted 1 metadata file without archive');
    expect(await versions(prefix)).toEqual(before.filter((v) => !v.endsWith(metadataKeyOf(gone))));
    expect(await versions(prefix)).toContain('upload notes.metadata.json');
    expect(await listedIds(profile)).toEqual([backups[0].id, backups[2].id].sort());

    const nothing = await world.b2(['cleanup', '--older-than', '0s', '--json', '--profile', profile]);
    expect(parseJson(nothing)).toMatchObject({deleted: [], strays: [], locked: []});
  }, 60_000);

  test('an archive whose metadata file is hidden (not deleted) is kept and named, with why; delete by its id removes both names', async () => {
    const {profile, prefix, backups} = await threeBackups();
    const half = backups[2];
    expect((await api(world.emu, master, 'b2_hide_file', {bucketId: world.emu.bucketId, fileName: prefix + metadataKeyOf(half)})).status).toBe(200);
    const before = await versions(prefix);
    const r = await world.b2(['cleanup', '--older-than', '0s', '--profile', profile]);
    expect({code: r.code, stderr: r.stderr}).toEqual({code: 0, stderr: ''});
    expect(r.stdout).toMatch(new RegExp(`^kept: other file hidden\\s+${half.archiveKey.replace(/[.]/g, '\\.')}\\s.*backup ${half.id}: ${metadataKeyOf(half).replace(/[.]/g, '\\.')} is hidden, not deleted$`, 'm'));
    expect(r.stdout).toContain('kept 1 file whose other file is hidden (B2 keeps hidden files: unhide it to make the backup whole again, or delete the backup by its id to remove both)');
    expect(await versions(prefix)).toEqual(before);
    const dry = await world.b2(['delete', half.id, '--dry-run', '--profile', profile]);
    expect(dry.stdout).toContain(`Would delete the backup with a hidden metadata file ${half.id}`);
    const gone = await world.b2(['delete', half.id, '--yes', '--profile', profile]);
    expect(gone.code).toBe(0);
    expect((await versions(prefix)).filter((v) => v.includes(half.archiveKey.replace(/\.tar$/, '')))).toEqual([]);
  }, 60_000);

  test('one younger than --older-than is kept; one under Object Lock is kept and reported as locked, with its date', async () => {
    const {profile, prefix, backups} = await threeBackups(true);
    await deleteAsMaster(prefix + backups[0].archiveKey);
    const young = await world.b2(['cleanup', '--json', '--profile', profile]); // 24h by default
    expect(parseJson(young)).toMatchObject({strays: [], locked: [], kept: 1});
    const r = await world.b2(['cleanup', '--older-than', '0s', '--json', '--profile', profile]);
    expect(r.code).toBe(0);
    expect(parseJson(r)).toMatchObject({strays: [], locked: [{key: metadataKeyOf(backups[0]), id: backups[0].id, lock: {mode: 'governance'}}]});
    expect(await versions(prefix)).toContain(`upload ${metadataKeyOf(backups[0])}`);
  }, 60_000);
});
