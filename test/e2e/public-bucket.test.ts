import {describe, test, expect, beforeAll, afterAll} from '@jest/globals';
import {randomBytes} from 'node:crypto';
import {writeFile} from 'node:fs/promises';
import {join} from 'node:path';
import {api, authorizeRaw, raw, uploadRaw} from '../emulator/helpers.js';
import {BACKUP_CAPABILITIES, E2EWorld, calls, expectFailure, parseJson} from './helpers.js';

// A public bucket (bucketType allPublic) serves every file to anyone who knows its name,
// as B2 does. Backups must not land there by accident: profile check fails with the fix,
// and upload, or b2 copy into a profile on it, refuses (storing nothing) unless --allow-public-bucket.

const PUBLIC = 'public-backups-1';
let world: E2EWorld;
let bucketId: string;
let token: string;
const archive = () => join(world.dir, 'backup.tar');

/** Every version under the public bucket, unfinished large files included. */
async function storedNames(): Promise<string[]> {
  const versions = await api(world.emu, token, 'b2_list_file_versions', {bucketId, maxFileCount: 1000});
  const unfinished = await api(world.emu, token, 'b2_list_unfinished_large_files', {bucketId});
  return [...versions.json.files, ...unfinished.json.files].map((f: {fileName: string}) => f.fileName);
}

beforeAll(async () => {
  world = await E2EWorld.start();
  const auth = await authorizeRaw(world.emu);
  token = auth.authorizationToken;
  const made = await api(world.emu, token, 'b2_create_bucket', {accountId: auth.accountId, bucketName: PUBLIC, bucketType: 'allPublic'});
  expect(made.status).toBe(200);
  bucketId = made.json.bucketId;
  await writeFile(archive(), randomBytes(50_000));
  const key = await world.createKey({capabilities: BACKUP_CAPABILITIES});
  // saved without a check: the check is what refuses this bucket
  await world.addProfile('pub', {...key, bucket: PUBLIC, prefix: 'home/', check: false});
});

afterAll(async () => {
  await world?.close();
});

test('the emulator serves a public bucket\'s files by name to anyone, as B2 does (and a private one only with a token)', async () => {
  expect((await uploadRaw(world.emu, token, bucketId, 'open/secret.txt', Buffer.from('guessable'))).status).toBe(200);
  const anon = await raw(`${world.emu.url}/file/${PUBLIC}/open/secret.txt`);
  expect({status: anon.status, text: anon.text}).toEqual({status: 200, text: 'guessable'});
  const listed = await api(world.emu, token, 'b2_list_buckets', {accountId: (await authorizeRaw(world.emu)).accountId, bucketName: PUBLIC});
  expect(listed.json.buckets[0].bucketType).toBe('allPublic');

  expect((await uploadRaw(world.emu, token, world.emu.bucketId, 'closed.txt', Buffer.from('private'))).status).toBe(200);
  const denied = await raw(`${world.emu.url}/file/${world.emu.bucket}/closed.txt`);
  expect(denied.status).toBe(401);
});

describe('profile check', () => {
  test('fails on a public bucket, with the fix, exit 3', async () => {
    const r = await world.b2(['profile', 'check', 'pub']);
    expectFailure(r, 3, /profile "pub" failed its check \(Bucket is private\)/, world.secrets);
    expect(r.stdout).toMatch(/^fail\s+Bucket is private\s+bucket public-backups-1 is public \(allPublic\).*fix: make the bucket private/m);
  });

  test('profile add refuses to save a profile on a public bucket', async () => {
    const key = await world.createKey({capabilities: BACKUP_CAPABILITIES});
    const r = await world.b2(world.profileAddArgs('pub2', {...key, bucket: PUBLIC}));
    expectFailure(r, 3, /profile "pub2" failed its check \(Bucket is private\); nothing was saved/, world.secrets);
    expect(r.stderr).toMatch(/fix: make the bucket private/);
    expect((await world.b2(['profile', 'show', 'pub2'])).code).not.toBe(0);
  });

  test('a private bucket passes the item', async () => {
    const key = await world.createKey({capabilities: BACKUP_CAPABILITIES});
    await world.addProfile('priv', {...key, prefix: 'home/'});
    const r = await world.b2(['profile', 'check', 'priv']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^ok\s+Bucket is private\s+bucket \S+ is allPrivate/m);
  });
});

describe('upload to a public bucket', () => {
  test('refused with one line (exit 3) and nothing stored', async () => {
    const before = await storedNames();
    const r = await world.b2(['upload', archive(), '--name', 'nightly', '--profile', 'pub']);
    expectFailure(r, 3, /bucket public-backups-1 is public \(allPublic\).*nothing was uploaded.*--allow-public-bucket/, world.secrets);
    expect(r.stdout).toBe('');
    expect(await storedNames()).toEqual(before);
  });

  test('goes ahead with --allow-public-bucket, with a warning', async () => {
    const r = await world.b2(['upload', archive(), '--name', 'nightly', '--profile', 'pub', '--allow-public-bucket']);
    expect({code: r.code, stderr: r.stderr}).toMatchObject({code: 0, stderr: expect.stringMatching(/Warning: bucket public-backups-1 is public/)});
    expect((await storedNames()).filter((n) => n.startsWith('home/'))).toHaveLength(2);
  });

  test('no secret in any output', () => {
    world.expectNoSecretInAnyRun();
  });
});

describe('b2 copy into a profile on a public bucket', () => {
  let id: string;

  beforeAll(async () => {
    const key = await world.createKey({capabilities: BACKUP_CAPABILITIES});
    await world.addProfile('home', {...key, prefix: 'private/'});
    const up = await world.b2(['upload', archive(), '--name', 'to-copy', '--profile', 'home', '--json']);
    expect({code: up.code, stderr: up.stderr}).toMatchObject({code: 0});
    id = parseJson<{id: string}>(up).id;
  });

  test('refused with one line (exit 3), nothing copied', async () => {
    const before = await storedNames();
    const copies = calls(world.emu, 'b2_copy_file');
    const r = await world.b2(['copy', id, '--profile', 'home', '--to', 'pub']);
    expectFailure(r, 3, /^Error: bucket public-backups-1 is public \(allPublic\): anyone could download the backup by its name, without a key; nothing was copied\. Fix: make the bucket private.*, or pass --allow-public-bucket to copy anyway$/, world.secrets);
    expect(r.stdout).toBe('');
    expect(calls(world.emu, 'b2_copy_file')).toBe(copies);
    expect(await storedNames()).toEqual(before);
  });

  test('profile update --move-backups into the public bucket fails its check (exit 3): nothing moved, the profile unchanged', async () => {
    const before = await storedNames();
    const copies = calls(world.emu, 'b2_copy_file');
    const r = await world.b2(['profile', 'update', 'home', '--bucket', PUBLIC, '--prefix', 'moved/', '--move-backups']);
    expectFailure(r, 3, /profile "home" failed its check \(Bucket is private\); nothing was saved/, world.secrets);
    expect(calls(world.emu, 'b2_copy_file')).toBe(copies);
    expect(await storedNames()).toEqual(before);
  });

  test('goes ahead with --allow-public-bucket, with a warning', async () => {
    const before = await storedNames();
    const r = await world.b2(['copy', id, '--profile', 'home', '--to', 'pub', '--allow-public-bucket']);
    expect({code: r.code, stderr: r.stderr}).toMatchObject({code: 0, stderr: expect.stringMatching(/^Warning: bucket public-backups-1 is public .*\(copying anyway: --allow-public-bucket\)$/m)});
    expect((await storedNames()).length).toBe(before.length + 2);
  });

  test('no secret in any output', () => {
    world.expectNoSecretInAnyRun();
  });
});
