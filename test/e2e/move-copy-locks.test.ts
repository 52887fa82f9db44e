import {afterAll, beforeAll, describe, expect, test} from '@jest/globals';
import {randomBytes} from 'node:crypto';
import {writeFile} from 'node:fs/promises';
import {stringify} from 'yaml';
import {B2Backend} from '../../src/b2/index.js';
import {BackupCatalog} from '../../src/backups/index.js';
import {api, authorizeRaw} from '../emulator/helpers.js';
import {BACKUP_CAPABILITIES, E2EWorld, expectFailure, parseJson} from './helpers.js';

// `profile update --move-backups` and `b2 copy` with keys that cannot read retentions or
// legal holds, on a bucket with Object Lock, the real CLI against the emulator over HTTP.
// A copy made by such a key would not keep the backup's lock (even compliance), and a
// move would delete unlocked originals before B2 refused a locked one. When B2 says the
// bucket has Object Lock, both are refused up front (exit 3, nothing copied); when the key
// cannot see even that, a move keeps the originals B2 refuses to delete, switches the
// profile (every backup is whole under the new prefix) and says what stayed.

const DAY = 24 * 60 * 60 * 1000;
let world: E2EWorld;
let bucketId: string;
const BUCKET = 'lock-moves-1';

type Listed = {id: string; name: string};

/** A backup laid out with the master key, locked (compliance, a day) or not. */
async function backup(prefix: string, name: string, locked: boolean): Promise<{id: string}> {
  const backend = await B2Backend.open({keyId: world.emu.keyId, applicationKey: world.emu.applicationKey, bucket: BUCKET, prefix, endpoint: world.emu.url});
  try {
    const retention = locked ? {mode: 'compliance' as const, retainUntil: new Date(backend.now().getTime() + DAY)} : undefined;
    return await new BackupCatalog(backend).upload(randomBytes(1000), {name, retention});
  } finally {
    await backend.close();
  }
}

async function namesUnder(prefix: string): Promise<string[]> {
  const auth = await authorizeRaw(world.emu);
  const r = await api(world.emu, auth.authorizationToken, 'b2_list_file_names', {bucketId, prefix, maxFileCount: 1000});
  return (r.json.files as Array<{fileName: string}>).map((f) => f.fileName);
}

beforeAll(async () => {
  world = await E2EWorld.start();
  const auth = await authorizeRaw(world.emu);
  const made = await api(world.emu, auth.authorizationToken, 'b2_create_bucket', {accountId: auth.accountId, bucketName: BUCKET, bucketType: 'allPrivate', fileLockEnabled: true});
  bucketId = made.json.bucketId as string;
  // sees the bucket's Object Lock, not the files' retentions (the review's "noread" key)
  const noread = await world.createKey({capabilities: [...BACKUP_CAPABILITIES, 'writeFileRetentions', 'readBucketRetentions']});
  // sees neither
  const blind = await world.createKey({capabilities: BACKUP_CAPABILITIES});
  const endpoint = world.emu.url;
  const profiles = {
    noread: {...noread, bucket: BUCKET, prefix: 'nr/', endpoint},
    offsite: {...noread, bucket: BUCKET, prefix: 'offsite/', endpoint},
    blind: {...blind, bucket: BUCKET, prefix: 'bl/', endpoint},
  };
  await writeFile(world.config, stringify({profiles}), {mode: 0o600});
});

afterAll(async () => {
  world?.expectNoSecretInAnyRun();
  await world?.close();
});

describe('a key that cannot read retentions, on a bucket it knows has Object Lock', () => {
  test('--move-backups is refused before anything is copied or deleted (exit 3, one line with the fix)', async () => {
    await backup('nr/', 'locked', true);
    await backup('nr/', 'plain', false);
    const before = await namesUnder('nr/');
    const r = await world.b2(['profile', 'update', 'noread', '--prefix', 'nr2/', '--move-backups']);
    expectFailure(r, 3, /the key of profile noread lacks readFileRetentions and readFileLegalHolds, so it cannot see which backups in bucket lock-moves-1 \(Object Lock enabled\) are locked: .*nothing was moved\. Use a key that also has readFileRetentions and readFileLegalHolds: put one in with: backup-b2 b2 profile update noread --config \S+ --key-id … --application-key …$/, world.secrets);
    expect(await namesUnder('nr2/')).toEqual([]);
    expect(await namesUnder('nr/')).toEqual(before);
    expect(parseJson<{prefix: string}>(await world.b2(['profile', 'show', 'noread', '--json'])).prefix).toBe('nr/');
  });

  test('b2 copy is refused before anything is copied (exit 3): the copy could not keep the lock', async () => {
    const r = await world.b2(['copy', 'latest', '--profile', 'noread', '--to', 'offsite']);
    expectFailure(r, 3, /lacks readFileRetentions and readFileLegalHolds, .*a copy would not keep the backup's lock; nothing was copied/, world.secrets);
    expect(await namesUnder('offsite/')).toEqual([]);
  });
});

describe('a key that can see neither the retentions nor the bucket\'s Object Lock', () => {
  test('a move keeps the locked original B2 refuses to delete, still deletes the others, switches the profile and says what stayed', async () => {
    const locked = await backup('bl/', 'locked', true);
    const plain = await backup('bl/', 'plain', false);
    const r = await world.b2(['profile', 'update', 'blind', '--prefix', 'bl2/', '--move-backups']);
    expect({code: r.code, stderr: r.stderr}).toMatchObject({code: 0});
    expect(r.stderr).toMatch(/^Warning: B2 refused to delete 2 originals under "bl\/" in bucket lock-moves-1 \(Object Lock that the key cannot see: .*\): locked_.*\.metadata\.json, locked_.*\.tar\. Every backup is whole under "bl2\/", and the profile now uses it/m);
    expect(parseJson<{prefix: string}>(await world.b2(['profile', 'show', 'blind', '--json'])).prefix).toBe('bl2/');
    const listed = parseJson<Listed[]>(await world.b2(['list', '--profile', 'blind', '--json']));
    expect(listed.map((b) => b.id).sort()).toEqual([locked.id, plain.id].sort());
    // the unlocked original went; the locked one stayed whole
    expect(await namesUnder('bl/')).toEqual([expect.stringMatching(/^bl\/locked_.*\.metadata\.json$/), expect.stringMatching(/^bl\/locked_.*\.tar$/)]);
  });
});
