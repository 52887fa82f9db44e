import {test, expect, beforeAll, afterAll, describe} from '@jest/globals';
import {randomBytes} from 'node:crypto';
import {writeFile} from 'node:fs/promises';
import {join} from 'node:path';
import {stringify} from 'yaml';
import {displayDate} from '../../src/backups/display.js';
import {api, authorizeRaw} from '../emulator/helpers.js';
import {BACKUP_CAPABILITIES, E2EWorld, LOCKING_CAPABILITIES, calls, expectFailure, parseJson} from './helpers.js';

// Object Lock end to end, the real CLI against the emulator over HTTP. A locked backup
// (a bucket's default retention, a profile's `lock:`, `upload --lock-days`) survives
// `b2 delete`, `b2 prune` and a raw b2_delete_file_version with the same key; list and
// show say until when; `b2 lock` extends and never shortens compliance; governance
// yields to --bypass-governance only with the capability; once the emulator's clock
// (moved, never slept) passes the date, it can be deleted. `profile check` and `upload`
// refuse a locking profile on a bucket without Object Lock, with the fix.

const DAY = 24 * 60 * 60 * 1000;
let world: E2EWorld;
let master: string;
/** locked-home-1: a default retention of 7 days (governance); lock-profile-2: Object Lock, no default. */
let defaultBucketId: string;
let lockBucketId: string;
/** The key of the locking profiles: may set and read retentions, may not bypass governance. */
let locker: {keyId: string; applicationKey: string};

type Listed = {id: string; name: string; date: string; lockedUntil: string | null; lockMode: string | null};
type RawFile = {fileId: string; fileName: string; fileRetention: {value: {mode: string; retainUntilTimestamp: number} | null}};

async function rawFiles(bucketId: string, prefix: string): Promise<RawFile[]> {
  return (await api(world.emu, master, 'b2_list_file_versions', {bucketId, prefix})).json.files;
}
/** The raw files of one backup (archive and metadata file), found by its name. */
async function filesOf(bucketId: string, prefix: string, name: string): Promise<RawFile[]> {
  return (await rawFiles(bucketId, prefix)).filter((f) => f.fileName.startsWith(`${prefix}${name}_`));
}
const archive = (name: string) => join(world.dir, `${name}.tar`);
/** Moves the emulator's clock past a lock date; the raw calls' master token (then over 24 hours old) is renewed, as any client renews its own. */
async function advance(ms: number): Promise<void> {
  world.emu.clock.advance(ms);
  master = (await authorizeRaw(world.emu)).authorizationToken;
}

beforeAll(async () => {
  world = await E2EWorld.start();
  const auth = await authorizeRaw(world.emu);
  master = auth.authorizationToken;
  const bucket = async (bucketName: string, extra: Record<string, unknown>) => {
    const made = await api(world.emu, master, 'b2_create_bucket', {accountId: auth.accountId, bucketName, bucketType: 'allPrivate', ...extra});
    expect(made.status).toBe(200);
    return made.json.bucketId as string;
  };
  defaultBucketId = await bucket('locked-home-1', {fileLockEnabled: true, defaultRetention: {mode: 'governance', period: {duration: 7, unit: 'days'}}});
  lockBucketId = await bucket('lock-profile-2', {fileLockEnabled: true});
  const plain = await world.createKey({capabilities: BACKUP_CAPABILITIES});
  locker = await world.createKey({capabilities: LOCKING_CAPABILITIES});
  const bypasser = await world.createKey({capabilities: [...LOCKING_CAPABILITIES, 'bypassGovernance']});
  const endpoint = world.emu.url;
  // written as a user would (cheaper than a `profile add` run per profile)
  const profiles = {
    locked: {...plain, bucket: 'locked-home-1', prefix: 'home/', endpoint},
    gov: {...locker, bucket: 'lock-profile-2', prefix: 'gov/', endpoint, lock: {days: 3}},
    govbypass: {...bypasser, bucket: 'lock-profile-2', prefix: 'gov/', endpoint},
    big: {...locker, bucket: 'lock-profile-2', prefix: 'big/', endpoint, partSize: '5MB', lock: {duration: '2d', mode: 'compliance'}},
    nolock: {...locker, bucket: world.emu.bucket, prefix: 'nolock/', endpoint, lock: {days: 7}},
  };
  await writeFile(world.config, stringify({profiles}), {mode: 0o600});
  for (const name of ['a', 'gov-a', 'gov-b', 'nolock']) await writeFile(archive(name), randomBytes(20_000));
});

afterAll(async () => {
  await world?.close();
});

describe('a bucket whose default retention locks every file (the key cannot read retentions)', () => {
  let id: string;

  test('the backup survives b2 delete and a raw delete, even with the master key; profile check reports what it can see', async () => {
    // stored as `b2 upload` stores it (in this process): B2 locks it by the bucket's default
    id = (await world.storeBackup('locked', {path: archive('a')}, {name: 'locked'})).id;

    // this key may not read retentions: the date comes from B2's refusal
    const refused = await world.b2(['delete', id, '--yes', '--profile', 'locked']);
    expectFailure(refused, 3, /B2 refused to remove "home\/locked_.*": it is protected by Object Lock \(.*locked in governance mode until \d{4}-\d\d-\d\dT.*\); it can be deleted once its retention date has passed.*--bypass-governance/, world.secrets);

    const files = await rawFiles(defaultBucketId, 'home/');
    expect(files).toHaveLength(2);
    const raw = await api(world.emu, master, 'b2_delete_file_version', {fileId: files[0].fileId, fileName: files[0].fileName});
    expect(raw.json).toMatchObject({status: 403, code: 'access_denied'});

    const check = await world.b2(['profile', 'check', 'locked']);
    expect(check.stdout).toMatch(/^ok\s+Bucket Object Lock\s+bucket Object Lock: unknown \(the key lacks readBucketRetentions\); the profile does not lock uploads$/m);
  });

  test('b2 prune, told no by B2, keeps the backup, says why and goes on; once the date has passed, b2 delete removes it', async () => {
    await world.storeBackup('locked', {path: archive('gov-b')}, {name: 'locked2'}); // as `b2 upload` stores it (in this process)
    const prune = await world.b2(['prune', '--keep-last', '1', '--yes', '--profile', 'locked']);
    expect({code: prune.code, stderr: prune.stderr}).toMatchObject({code: 0});
    expect(prune.stderr).toMatch(new RegExp(`^Kept backup ${id} "locked" of .*: locked \\(B2 refused to delete it: Object Lock\\) \\(the rules alone would delete it\\)$`, 'm'));
    expect(prune.stderr).toMatch(/^Deleted 0 backups and kept 2 \(/m);

    await advance(8 * DAY);
    const done = await world.b2(['delete', id, '--yes', '--profile', 'locked']);
    expect({code: done.code, stderr: done.stderr}).toMatchObject({code: 0});
    expect((await rawFiles(defaultBucketId, 'home/')).map((f) => f.fileName.replace(/_.*\./, '.'))).toEqual(['home/locked2.json', 'home/locked2.tar']);
  });
});

describe('locks the CLI sets (profile lock:, --lock-days, b2 lock)', () => {
  let a: Listed;
  let b: Listed;

  test('profile lock: and --lock-days lock archive and metadata file until the same date', async () => {
    const upA = await world.b2(['upload', archive('gov-a'), '--name', 'gov-a', '--profile', 'gov', '--json']);
    expect({code: upA.code, stderr: upA.stderr}).toMatchObject({code: 0});
    a = parseJson<Listed>(upA);
    expect(a.lockMode).toBe('governance');
    expect(Math.abs(Date.parse(a.lockedUntil!) - (world.emu.clock.now() + 3 * DAY))).toBeLessThan(60_000);

    const upB = await world.b2(['upload', archive('gov-b'), '--name', 'gov-b', '--profile', 'gov', '--lock-days', '2', '--lock-mode', 'compliance', '--json']);
    expect({code: upB.code, stderr: upB.stderr}).toMatchObject({code: 0});
    b = parseJson<Listed>(upB);
    expect(b.lockMode).toBe('compliance');
    expect(Math.abs(Date.parse(b.lockedUntil!) - (world.emu.clock.now() + 2 * DAY))).toBeLessThan(60_000);

    // B2's own record: both files of each backup, one retention
    for (const [backup, name] of [[a, 'gov-a'], [b, 'gov-b']] as const) {
      const files = await filesOf(lockBucketId, 'gov/', name);
      expect(files.map((f) => f.fileName.replace(/^.*\./, ''))).toEqual(['json', 'tar']);
      for (const f of files) expect(f.fileRetention.value).toEqual({mode: backup.lockMode, retainUntilTimestamp: Date.parse(backup.lockedUntil!)});
    }
  });

  test('list and show print until when each backup is locked', async () => {
    const listed = parseJson<Listed[]>(await world.b2(['list', '--profile', 'gov', '--json']));
    expect(listed.map((l) => [l.id, l.lockMode, l.lockedUntil])).toEqual([[b.id, 'compliance', b.lockedUntil], [a.id, 'governance', a.lockedUntil]]);
    const table = await world.b2(['list', '--profile', 'gov']);
    expect(table.stdout).toMatch(/LOCKED UNTIL/);
    expect(table.stdout).toContain(`${displayDate(a.lockedUntil!)} (governance)`);
    const lockLine = async (l: Listed) => (await world.b2(['show', l.id.slice(0, 6), '--profile', 'gov'])).stdout.split('\n').find((line) => line.startsWith('lock '))?.replace(/^lock\s+/, '');
    expect(await lockLine(a)).toBe(`locked (governance) until ${displayDate(a.lockedUntil!)}: only --bypass-governance, with a key that has the bypassGovernance capability, can delete it before then`);
    expect(await lockLine(b)).toBe(`locked (compliance) until ${displayDate(b.lockedUntil!)}: nobody can delete it before then`);
  });

  test('b2 delete refuses with the date (governance: names --bypass-governance; compliance: nobody); --bypass-governance without the capability is one line', async () => {
    const date = (l: Listed) => displayDate(l.lockedUntil!).replace(/\+/g, '\\+');
    expectFailure(await world.b2(['delete', a.id, '--yes', '--profile', 'gov']), 3,
      new RegExp(`^Error: backup ${a.id} "gov-a" is locked \\(governance\\) until ${date(a)}: B2 refuses to delete it before then; to delete it now, pass --bypass-governance with a key that has the bypassGovernance capability$`), world.secrets);
    expectFailure(await world.b2(['delete', b.id, '--yes', '--profile', 'gov']), 3,
      new RegExp(`backup ${b.id} "gov-b" is locked \\(compliance\\) until ${date(b)}: nobody can delete it before then, not even with --bypass-governance$`), world.secrets);
    const dry = await world.b2(['delete', a.id, '--dry-run', '--profile', 'gov']);
    expect(dry.stdout).toContain(`But it is locked (governance) until ${displayDate(a.lockedUntil!)}: B2 would refuse unless --bypass-governance is given`);
    // without the capability: one line, and B2 is not even asked
    const deletes = calls(world.emu, 'b2_delete_file_version');
    expectFailure(await world.b2(['delete', a.id, '--yes', '--bypass-governance', '--profile', 'gov']), 3, /--bypass-governance needs a key with the bypassGovernance capability, and the key of profile gov lacks it/, world.secrets);
    expect(calls(world.emu, 'b2_delete_file_version')).toBe(deletes);
  });

  test('b2 prune keeps locked backups, never trying to delete them, and says so (human and JSON); a raw delete with the same key is refused', async () => {
    const deletes = calls(world.emu, 'b2_delete_file_version');
    const prune = await world.b2(['prune', '--keep-last', '1', '--yes', '--profile', 'gov']);
    expect({code: prune.code, stderr: prune.stderr}).toMatchObject({code: 0});
    expect(prune.stderr).toContain(`Kept backup ${a.id} "gov-a" of ${displayDate(a.date)}: locked (governance) until ${displayDate(a.lockedUntil!)} (the rules alone would delete it)`);
    expect(prune.stderr).toMatch(/^Deleted 0 backups and kept 2 \(/m);
    const dry = await world.b2(['prune', '--keep-last', '1', '--dry-run', '--json', '--profile', 'gov']);
    const view = parseJson<{deleted: string[]; locked: string[]; backups: Array<{id: string; action: string; reasons: string[]}>}>(dry);
    expect(view).toMatchObject({deleted: [], locked: [a.id]});
    expect(view.backups.find((x) => x.id === a.id)).toEqual(expect.objectContaining({action: 'keep', reasons: [`locked (governance) until ${displayDate(a.lockedUntil!)}`]}));
    expect(calls(world.emu, 'b2_delete_file_version')).toBe(deletes); // never tried

    const key = await authorizeRaw(world.emu, 2, locker.keyId, locker.applicationKey);
    for (const f of await filesOf(lockBucketId, 'gov/', 'gov-a')) {
      expect((await api(world.emu, key.authorizationToken, 'b2_delete_file_version', {fileId: f.fileId, fileName: f.fileName})).json).toMatchObject({status: 403, code: 'access_denied'});
    }
    // both still listed, as `b2 list` lists them (read in this process)
    expect((await world.withLocation('gov', ({catalog}) => catalog.list())).map((l) => l.id)).toEqual([b.id, a.id]);
  });

  test('b2 lock extends a lock (both files); never shortens a compliance lock', async () => {
    const longer = await world.b2(['lock', a.id.slice(0, 6), '--days', '5', '--profile', 'gov', '--json']);
    expect({code: longer.code, stderr: longer.stderr}).toMatchObject({code: 0});
    const until = parseJson<Listed>(longer).lockedUntil!;
    expect(Math.abs(Date.parse(until) - (world.emu.clock.now() + 5 * DAY))).toBeLessThan(60_000);
    for (const f of await filesOf(lockBucketId, 'gov/', 'gov-a')) expect(f.fileRetention.value).toEqual({mode: 'governance', retainUntilTimestamp: Date.parse(until)});

    const shorterCompliance = await world.b2(['lock', b.id, '--days', '1', '--profile', 'gov']);
    expectFailure(shorterCompliance, 3, /locked \(compliance\) until .*: a compliance lock can never be shortened or made governance, not even with --bypass-governance; nothing was changed \(to extend it, give --days 2 or more\)/, world.secrets);
    const extended = await world.b2(['lock', 'latest', '--days', '4', '--profile', 'gov', '--json']);
    expect(parseJson<Listed>(extended)).toMatchObject({id: b.id, lockMode: 'compliance'});
    expect(Math.abs(Date.parse(parseJson<Listed>(extended).lockedUntil!) - (world.emu.clock.now() + 4 * DAY))).toBeLessThan(60_000);
  });

  test('a governance lock is shortened, and the backup deleted, only with --bypass-governance and a key with the capability', async () => {
    expectFailure(await world.b2(['lock', a.id, '--days', '1', '--profile', 'gov']), 3, /locked \(governance\) until .*; --days 1 would shorten it to .*, which needs --bypass-governance/, world.secrets);
    expectFailure(await world.b2(['lock', a.id, '--days', '1', '--bypass-governance', '--profile', 'gov']), 3, /needs a key with the bypassGovernance capability/, world.secrets);
    const shortened = await world.b2(['lock', a.id, '--days', '1', '--bypass-governance', '--profile', 'govbypass']);
    expect({code: shortened.code, stderr: shortened.stderr}).toMatchObject({code: 0});
    expect(shortened.stderr).toMatch(/^Shortened the lock of backup/m);

    const bypassed = await world.b2(['delete', a.id, '--yes', '--bypass-governance', '--profile', 'govbypass']);
    expect({code: bypassed.code, stderr: bypassed.stderr}).toMatchObject({code: 0});
    expect(await filesOf(lockBucketId, 'gov/', 'gov-a')).toEqual([]);
  });

  test('once the emulator clock passes the date, b2 delete removes a compliance-locked backup', async () => {
    expectFailure(await world.b2(['delete', b.id, '--yes', '--bypass-governance', '--profile', 'govbypass']), 3, /locked \(compliance\).*nobody can delete it/, world.secrets);
    await advance(4 * DAY + 60_000);
    const list = parseJson<Listed[]>(await world.b2(['list', '--profile', 'gov', '--json']));
    expect(list).toEqual([expect.objectContaining({id: b.id, lockedUntil: null, lockMode: null})]);
    const done = await world.b2(['delete', b.id, '--yes', '--profile', 'gov']);
    expect({code: done.code, stderr: done.stderr}).toMatchObject({code: 0});
    expect(await rawFiles(lockBucketId, 'gov/')).toEqual([]);
  });
});

/** The compliance-locked backup of profile big (set by the test that uploads it). */
let bigId: string;

test('a large archive is locked from b2_start_large_file on (fileRetention), its metadata file until the same date', async () => {
  await writeFile(archive('big'), randomBytes(11_000_000)); // 3 parts of 5 MB
  const starts = calls(world.emu, 'b2_start_large_file');
  const up = await world.b2(['upload', archive('big'), '--name', 'big', '--profile', 'big', '--json']);
  expect({code: up.code, stderr: up.stderr}).toMatchObject({code: 0});
  expect(calls(world.emu, 'b2_start_large_file')).toBe(starts + 1);
  const {lockedUntil, lockMode, id} = parseJson<Listed>(up);
  bigId = id;
  expect(lockMode).toBe('compliance');
  const files = await filesOf(lockBucketId, 'big/', 'big');
  expect(files).toHaveLength(2);
  for (const f of files) expect(f.fileRetention.value).toEqual({mode: 'compliance', retainUntilTimestamp: Date.parse(lockedUntil!)});
});

// nolock has lock: too, so the way out is both: the copy would be locked by its lock: and the backup's own
test('b2 copy of a locked backup to a bucket without Object Lock is refused before anything is copied (exit 3, with the fix)', async () => {
  const copies = calls(world.emu, 'b2_copy_file') + calls(world.emu, 'b2_copy_part') + calls(world.emu, 'b2_start_large_file');
  const r = await world.b2(['copy', bigId, '--profile', 'big', '--to', 'nolock']);
  expectFailure(r, 3, /bucket .* does not have Object Lock enabled, so backups in it cannot be locked; nothing was changed\. Fix: enable Object Lock.*, or remove "lock:" from profile "nolock" and copy it once it is no longer locked \(compliance\) until /, world.secrets);
  expect(calls(world.emu, 'b2_copy_file') + calls(world.emu, 'b2_copy_part') + calls(world.emu, 'b2_start_large_file')).toBe(copies);
  expect((await api(world.emu, master, 'b2_list_file_names', {bucketId: world.emu.bucketId, prefix: 'nolock/'})).json.files).toEqual([]);
});

test('a locking profile on a bucket without Object Lock: profile check fails with the fix, upload refuses and stores nothing', async () => {
  const check = await world.b2(['profile', 'check', 'nolock']);
  expect(check.code).toBe(3);
  expect(check.stdout).toMatch(/^fail\s+Bucket Object Lock\s+bucket Object Lock: not enabled, but the profile locks every upload \("lock:"\): B2 would refuse them; fix: enable Object Lock on the bucket \(Backblaze web console: Buckets > Bucket Settings > Object Lock: Enabled\)/m);
  expect(check.stdout).toMatch(/^ok\s+Key can lock backups\s+the key has writeFileRetentions and readFileRetentions; it lacks bypassGovernance/m);
  const ok = await world.b2(['profile', 'check', 'gov']);
  expect({code: ok.code, stderr: ok.stderr}).toMatchObject({code: 0});
  expect(ok.stdout).toMatch(/^ok\s+Bucket Object Lock\s+bucket Object Lock: enabled; default retention: none; the profile locks every upload/m);

  const uploads = calls(world.emu, 'b2_get_upload_url');
  const up = await world.b2(['upload', archive('nolock'), '--name', 'n', '--profile', 'nolock']);
  expectFailure(up, 3, /bucket .* does not have Object Lock enabled, so backups in it cannot be locked; nothing was changed\. Fix: enable Object Lock.*, or remove "lock:" from profile "nolock"$/, world.secrets);
  // the way out names what asked for the lock: the flag of this run, or nothing but the bucket for b2 lock
  const flagged = await world.b2(['upload', archive('nolock'), '--name', 'n', '--profile', 'nolock', '--lock-days', '3']);
  expectFailure(flagged, 3, /Fix: enable Object Lock.*, or run it without --lock-days$/, world.secrets);
  const locking = await world.b2(['lock', '0123abcd', '--days', '5', '--profile', 'nolock']);
  expectFailure(locking, 3, /Fix: enable Object Lock on the bucket \(.*\), or use a bucket created with it$/, world.secrets);
  expect(calls(world.emu, 'b2_get_upload_url')).toBe(uploads);
  const listed = await api(world.emu, master, 'b2_list_file_names', {bucketId: world.emu.bucketId, prefix: 'nolock/'});
  expect(listed.json.files).toEqual([]);
  world.expectNoSecretInAnyRun();
});

