import {test, expect, beforeAll, afterAll} from '@jest/globals';
import {randomBytes} from 'node:crypto';
import {writeFile} from 'node:fs/promises';
import {stringify} from 'yaml';
import {copyBackup} from '../../src/backups/copy-backup.js';
import type {LockSetting} from '../../src/backups/lock.js';
import {api, authorizeRaw} from '../emulator/helpers.js';
import {E2EWorld, LOCKING_CAPABILITIES, calls, expectFailure, parseJson} from './helpers.js';

// A copy into a profile with `lock:` is locked as that profile's uploads are: `b2 copy
// ID --to PROFILE` and the copies of `profile update --move-backups` get its retention
// (dated from the copy), or the backup's own where that holds longer or firmer (the later
// date, compliance when either is). A copy already there is locked as a fresh one would
// be, but not by a copy that is refused. A --to bucket without Object Lock refuses,
// nothing copied (exit 3).

const DAY = 24 * 60 * 60 * 1000;
let world: E2EWorld;
let master: string;
let lockBucketId: string;

type Copied = {copied: {id: string; lockedUntil: string | null; lockMode: string | null}; existing: boolean};
type RawFile = {fileName: string; fileRetention: {value: {mode: string; retainUntilTimestamp: number} | null}};

/** The retention of every current file under `prefix` of the Object Lock bucket, by name. */
async function retentions(prefix: string): Promise<Array<[string, string | undefined, number | undefined]>> {
  const files: RawFile[] = (await api(world.emu, master, 'b2_list_file_names', {bucketId: lockBucketId, prefix})).json.files;
  return files.map((f) => [f.fileName.replace(/_.*\./, '.'), f.fileRetention.value?.mode, f.fileRetention.value?.retainUntilTimestamp]);
}

/** A backup of 20 kB in `profile`, stored as `b2 upload` stores it (`lock`: as its --lock-days/--lock-mode), in this process; answers its id. */
async function upload(profile: string, name: string, lock?: Partial<LockSetting>): Promise<string> {
  return (await world.storeBackup(profile, randomBytes(20_000), {name, lock})).id;
}

/** Backup `id` of profile src copied, unlocked, to profile `to` (no "lock:") as `b2 copy` copies it, in this process: a copy made before, the setup. */
async function copiedUnlocked(id: string, to: string): Promise<void> {
  const made = await world.withLocation('src', (from) => world.withLocation(to, (there) => copyBackup(from.catalog, from.backend, there.backend, id, {destination: there.catalog})));
  expect({existing: made.existing, copied: made.copied.length, lock: made.lock, held: made.info.lock}).toEqual({existing: false, copied: 2, lock: undefined, held: undefined});
}

const near = (at: number, days: number) => Math.abs(at - (world.emu.clock.now() + days * DAY)) < 60_000;

beforeAll(async () => {
  world = await E2EWorld.start();
  const auth = await authorizeRaw(world.emu);
  master = auth.authorizationToken;
  const made = await api(world.emu, master, 'b2_create_bucket', {accountId: auth.accountId, bucketName: 'lock-copies-1', bucketType: 'allPrivate', fileLockEnabled: true});
  expect(made.status).toBe(200);
  lockBucketId = made.json.bucketId;
  const key = await world.createKey({capabilities: LOCKING_CAPABILITIES});
  // a key of the --to location alone: it cannot read the backups it is to copy
  const confinedKey = await world.createKey({capabilities: LOCKING_CAPABILITIES, bucketName: 'lock-copies-1', namePrefix: 'confined/'});
  const endpoint = world.emu.url;
  const at = (bucket: string, prefix: string, extra: Record<string, unknown> = {}) => ({...key, bucket, prefix, endpoint, ...extra});
  // written as a user would (cheaper than a `profile add` run per profile)
  const profiles = {
    src: at('lock-copies-1', 'src/'),
    locked: at('lock-copies-1', 'locked/', {lock: {days: 30, mode: 'governance'}}),
    // the same location without lock: (a copy made there before the profile locked)
    unlocked: at('lock-copies-1', 'locked/'),
    nolock: at(world.emu.bucket, 'nolock/', {lock: {days: 7}}),
    mover: at('lock-copies-1', 'mv/', {lock: {days: 10}}),
    // the mover's location, for backups uploaded there without a lock
    moverplain: at('lock-copies-1', 'mv/'),
    // one location: unlocked with the account's key, locked with a key confined to it
    confinedplain: at('lock-copies-1', 'confined/'),
    confined: {...confinedKey, bucket: 'lock-copies-1', prefix: 'confined/', endpoint, lock: {days: 30, mode: 'governance'}},
  };
  await writeFile(world.config, stringify({profiles}), {mode: 0o600});
});

afterAll(async () => {
  await world?.close();
});

test('b2 copy into a profile with lock: locks both files of the copy as its uploads are; b2 delete of the copy is refused (exit 3)', async () => {
  const id = await upload('src', 'plain');
  const r = await world.b2(['copy', id, '--profile', 'src', '--to', 'locked', '--json']);
  expect({code: r.code, stderr: r.stderr}).toMatchObject({code: 0});
  const {copied} = parseJson<Copied>(r);
  expect(copied.lockMode).toBe('governance');
  expect(near(Date.parse(copied.lockedUntil!), 30)).toBe(true);
  const files = (await retentions('locked/')).filter(([name]) => name.startsWith('locked/plain'));
  expect(files).toEqual([['locked/plain.json', 'governance', Date.parse(copied.lockedUntil!)], ['locked/plain.tar', 'governance', Date.parse(copied.lockedUntil!)]]);
  const human = await world.b2(['copy', id, '--profile', 'src', '--to', 'locked']);
  expect(human.stdout).toMatch(/already holds backup .*; nothing was copied; the copy is locked \(governance\) until /);
  expectFailure(await world.b2(['delete', id, '--yes', '--profile', 'locked']), 3, /is locked \(governance\) until .*--bypass-governance/, world.secrets);
});

test('the copy keeps the backup\'s own retention where it holds longer, and compliance where the backup has it: the later date, the firmer mode', async () => {
  const longer = await upload('src', 'longer', {days: 40});
  const firmer = await upload('src', 'firmer', {days: 5, mode: 'compliance'});
  const l = parseJson<Copied>(await world.b2(['copy', longer, '--profile', 'src', '--to', 'locked', '--json'])).copied;
  expect([l.lockMode, near(Date.parse(l.lockedUntil!), 40)]).toEqual(['governance', true]);
  const f = parseJson<Copied>(await world.b2(['copy', firmer, '--profile', 'src', '--to', 'locked', '--json'])).copied;
  expect([f.lockMode, near(Date.parse(f.lockedUntil!), 30)]).toEqual(['compliance', true]);
  for (const [name, c] of [['longer', l], ['firmer', f]] as const) {
    const files = (await retentions('locked/')).filter(([n]) => n.startsWith(`locked/${name}`));
    expect(files.map(([, mode, until]) => [mode, until])).toEqual([[c.lockMode, Date.parse(c.lockedUntil!)], [c.lockMode, Date.parse(c.lockedUntil!)]]);
  }
});

test('a copy already there without the lock (made before the profile locked) is locked when copied again, nothing copied', async () => {
  const id = await upload('src', 'earlier');
  await copiedUnlocked(id, 'unlocked');
  const copies = calls(world.emu, 'b2_copy_file');
  const again = await world.b2(['copy', id, '--profile', 'src', '--to', 'locked', '--json']);
  expect({code: again.code, stderr: again.stderr}).toMatchObject({code: 0});
  const {copied, existing} = parseJson<Copied>(again);
  expect({existing, lockMode: copied.lockMode, near: near(Date.parse(copied.lockedUntil!), 30)}).toEqual({existing: true, lockMode: 'governance', near: true});
  expect(calls(world.emu, 'b2_copy_file')).toBe(copies);
  const files = (await retentions('locked/')).filter(([n]) => n.startsWith('locked/earlier'));
  expect(files.map(([, mode, until]) => [mode, until])).toEqual([['governance', Date.parse(copied.lockedUntil!)], ['governance', Date.parse(copied.lockedUntil!)]]);
});

test('b2 copy into a profile with lock: on a bucket without Object Lock is refused before anything is copied (exit 3, with the fix)', async () => {
  const id = await upload('src', 'unlockable');
  const copies = calls(world.emu, 'b2_copy_file');
  const r = await world.b2(['copy', id, '--profile', 'src', '--to', 'nolock']);
  expectFailure(r, 3, /bucket .* does not have Object Lock enabled, so backups in it cannot be locked; nothing was changed\. Fix: enable Object Lock.*, or remove "lock:" from profile "nolock"$/, world.secrets);
  expect(calls(world.emu, 'b2_copy_file')).toBe(copies);
  expect((await api(world.emu, master, 'b2_list_file_names', {bucketId: world.emu.bucketId, prefix: 'nolock/'})).json.files).toEqual([]);
});

test('a copy the --to key cannot make (it cannot read the backup) is refused before the copy already there is locked longer: its retention stays as it was (exit 3)', async () => {
  const id = await upload('src', 'half');
  await copiedUnlocked(id, 'confinedplain');
  // the archive there without its metadata file (an interrupted copy's): the copy must lock it and copy the other
  const copies: Array<{fileName: string; fileId: string}> = (await api(world.emu, master, 'b2_list_file_names', {bucketId: lockBucketId, prefix: 'confined/'})).json.files;
  const json = copies.find((f) => f.fileName.endsWith('.json'))!;
  expect((await api(world.emu, master, 'b2_delete_file_version', {fileName: json.fileName, fileId: json.fileId})).status).toBe(200);
  const before = await retentions('confined/');
  expect(before.map(([name, mode]) => [name, mode])).toEqual([['confined/half.tar', null]]); // B2: a value without a mode
  const [lengthened, copied] = [calls(world.emu, 'b2_update_file_retention'), calls(world.emu, 'b2_copy_file')];
  const r = await world.b2(['copy', id, '--profile', 'src', '--to', 'confined']);
  expectFailure(r, 3, /^Error: the key of profile "confined" makes the copy but cannot read lock-copies-1\/src\/half.*\.json \(it is restricted to names starting with "confined\/"\); give it a key that can read both, nothing was copied$/, world.secrets);
  expect(await retentions('confined/')).toEqual(before);
  expect([calls(world.emu, 'b2_update_file_retention'), calls(world.emu, 'b2_copy_file')]).toEqual([lengthened, copied]);
});

test('profile update --move-backups of a profile with lock: locks the copies at the new prefix as its uploads; the dry run says the lock', async () => {
  await upload('moverplain', 'to-move');
  const dry = await world.b2(['profile', 'update', 'mover', '--prefix', 'mv2/', '--move-backups', '--dry-run']);
  expect({code: dry.code, stderr: dry.stderr}).toMatchObject({code: 0});
  expect(dry.stdout).toMatch(/^The copies would be locked \(governance\) until .* \(the profile's "lock:", dated from now\)\.$/m);
  const r = await world.b2(['profile', 'update', 'mover', '--prefix', 'mv2/', '--move-backups']);
  expect({code: r.code, stderr: r.stderr}).toMatchObject({code: 0});
  expect(r.stdout).toMatch(/Moved 1 backup .* 2 originals deleted; the copies are locked \(governance\) until /);
  const files = await retentions('mv2/');
  expect(files.map(([name, mode]) => [name, mode])).toEqual([['mv2/to-move.json', 'governance'], ['mv2/to-move.tar', 'governance']]);
  for (const [, , until] of files) expect(near(until!, 10)).toBe(true);
  expect(await retentions('mv/')).toEqual([]);
  world.expectNoSecretInAnyRun();
});
