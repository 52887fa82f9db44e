import {test, expect, beforeAll, afterAll} from '@jest/globals';
import {randomBytes} from 'node:crypto';
import {readFile, writeFile} from 'node:fs/promises';
import {join} from 'node:path';
import {api, authorizeRaw} from '../emulator/helpers.js';
import {BACKUP_CAPABILITIES, E2EWorld, calls, expectFailure, parseJson, sha1} from './helpers.js';

// A bucket as B2 creates them now ("Use Server-Side Encryption with the B2 Native API"):
// SSE-B2 by default, so a profile that asks for no encryption still stores every file
// encrypted. Backups go up (multi-part too), list, verify and restore there; and B2's
// 2,048-byte name and file info limit for encrypted files is the one the provider applies
// to files bound for that bucket (the bucket's default read, since the profile asks for
// none), while an existing, unmigrated bucket still takes up to 7,000.

let world: E2EWorld;
let master: string;
let accountId: string;
const LEGACY_BUCKET = 'not-migrated-yet';
let data: Buffer;

type RawFile = {fileId: string; fileName: string; contentType: string; fileInfo: Record<string, string>; serverSideEncryption: unknown};

const listed = async (bucketId: string, prefix: string): Promise<RawFile[]> =>
  (await api(world.emu, master, 'b2_list_file_versions', {bucketId, prefix, maxFileCount: 1000})).json.files;

beforeAll(async () => {
  world = await E2EWorld.start({bootstrap: {encryptedByDefault: true}});
  const auth = await authorizeRaw(world.emu);
  master = auth.authorizationToken;
  accountId = auth.accountId;
  await world.emu.createBucket(LEGACY_BUCKET);
  const key = await world.createKey({capabilities: [...BACKUP_CAPABILITIES, 'readBucketEncryption']});
  await world.addProfile('fresh', {...key, prefix: 'fresh/', partSize: '5MB'});
  await world.addProfile('fresh2', {...key, prefix: 'fresh2/'});
  await world.addProfile('legacy', {...key, bucket: LEGACY_BUCKET, prefix: 'legacy/'});
  await world.addProfile('legacy2', {...key, bucket: LEGACY_BUCKET, prefix: 'legacy2/'});
  data = randomBytes(12 * 1_000_000); // 3 parts of 5 MB
  await writeFile(join(world.dir, 'big.tar'), data);
});

afterAll(async () => {
  await world?.close();
});

test('the bucket says SSE-B2 (AES256) by default; check reports it and that uploads follow it', async () => {
  const bucket = (await api(world.emu, master, 'b2_list_buckets', {accountId, bucketId: world.emu.bucketId})).json.buckets[0];
  expect(bucket.defaultServerSideEncryption).toEqual({isClientAuthorizedToRead: true, value: {algorithm: 'AES256', mode: 'SSE-B2'}});
  const check = await world.b2(['profile', 'check', 'fresh']);
  expect(check.code).toBe(0);
  expect(check.stdout).toMatch(/^ok\s+Encryption\s+bucket default encryption: SSE-B2 \(AES256\); uploads follow the bucket default$/m);
});

test('a multi-part backup with no profile encryption is stored with SSE-B2, lists, verifies and restores byte for byte', async () => {
  const up = await world.b2(['upload', join(world.dir, 'big.tar'), '--name', 'fresh-backup', '--profile', 'fresh', '--json']);
  expect({code: up.code, stderr: up.stderr}).toMatchObject({code: 0});
  const {id} = parseJson<{id: string}>(up);
  expect(calls(world.emu, 'b2_upload_part')).toBe(3);
  const files = await listed(world.emu.bucketId, 'fresh/');
  expect(files).toHaveLength(2); // archive and metadata
  for (const f of files) expect(f.serverSideEncryption).toEqual({algorithm: 'AES256', mode: 'SSE-B2'});

  const list = parseJson<Array<{id: string}>>(await world.b2(['list', '--profile', 'fresh', '--json']));
  expect(list.map((b) => b.id)).toEqual([id]);
  const verify = await world.b2(['verify', id, '--profile', 'fresh']);
  expect({code: verify.code, stderr: verify.stderr}).toMatchObject({code: 0, stderr: ''});
  const out = join(world.dir, 'restored.tar');
  const down = await world.b2(['download', id, '--profile', 'fresh', '-o', out]);
  expect({code: down.code, stderr: down.stderr}).toMatchObject({code: 0});
  expect(sha1(await readFile(out))).toBe(sha1(data));
});

test('b2 copy of a backup whose archive carries 2,100 bytes of name and file info: into the bucket, exit 2 before any copy call (its default encrypts); into an unmigrated bucket it is copied', async () => {
  const file = join(world.dir, 'noted.tar');
  await writeFile(file, randomBytes(20_000));
  const up = await world.b2(['upload', file, '--name', 'noted', '--profile', 'legacy', '--no-prune', '--json']);
  expect({code: up.code, stderr: up.stderr}).toMatchObject({code: 0});
  const {id, archiveKey} = parseJson<{id: string; archiveKey: string}>(up);
  // another tool's note on the archive (a new version of it, the same bytes): fits the 7,000 bytes of an unencrypted file
  const legacyBucketId = (await api(world.emu, master, 'b2_list_buckets', {accountId, bucketName: LEGACY_BUCKET})).json.buckets[0].bucketId;
  const archive = (await listed(legacyBucketId, `legacy/${archiveKey}`))[0];
  expect(archive.serverSideEncryption).toEqual({mode: null});
  const used = Buffer.byteLength(archive.fileName) + Object.entries(archive.fileInfo).reduce((n, [k, v]) => n + k.length + Buffer.byteLength(v), 0) + 'note'.length;
  const noted = await api(world.emu, master, 'b2_copy_file', {
    sourceFileId: archive.fileId, fileName: archive.fileName, metadataDirective: 'REPLACE', contentType: archive.contentType, fileInfo: {...archive.fileInfo, note: 'n'.repeat(2100 - used)},
  });
  expect(noted.status).toBe(200);

  world.emu.resetStats();
  const refused = await world.b2(['copy', id, '--profile', 'legacy', '--to', 'fresh2']);
  expectFailure(
    refused,
    2,
    new RegExp(`^Error: "fresh2/noted_[^"]+\\.tar": its name and file info take 2,1\\d\\d bytes, more than the 2,048 B2 allows for a file with server-side encryption or in an Object Lock bucket \\(bucket ${world.emu.bucket} encrypts new files with SSE-B2 by default\\); nothing was copied`),
    world.secrets,
  );
  expect(['b2_copy_file', 'b2_copy_part', 'b2_start_large_file'].map((c) => calls(world.emu, c))).toEqual([0, 0, 0]);

  const copied = await world.b2(['copy', id, '--profile', 'legacy', '--to', 'legacy2']);
  expect({code: copied.code, stderr: copied.stderr}).toMatchObject({code: 0});
});
