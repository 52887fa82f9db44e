import {afterAll, beforeAll, expect, test} from '@jest/globals';
import {parse} from 'yaml';
import {readFile} from 'node:fs/promises';
import {B2Backend} from '../../src/b2/index.js';
import {BackupCatalog} from '../../src/backups/index.js';
import {seedBackups} from '../helpers/seed-backups.js';
import {E2EWorld, expectFailure} from './helpers.js';

// `b2 profile update --prefix NEW --move-backups` failing after every copy was checked,
// while it deletes the originals: some backups are already gone from the old prefix,
// which the profile still names. The one error line must say so (not a bare B2 refusal,
// nor exit 2, "nothing was changed"), and the same command run again finishes the move.

let world: E2EWorld;
/** Deletes since the first copy (the profile check before it deletes a file of its own); the third is refused. */
let deletes: number | undefined;

async function listedIds(prefix: string): Promise<string[]> {
  const backend = await B2Backend.open({keyId: world.emu.keyId, applicationKey: world.emu.applicationKey, bucket: world.emu.bucket, prefix, endpoint: world.emu.url});
  try {
    return (await new BackupCatalog(backend).list()).map((b) => b.id).sort();
  } finally {
    await backend.close();
  }
}

beforeAll(async () => {
  world = await E2EWorld.start({
    onRequest: (call) => {
      if (call === 'b2_copy_file') deletes ??= 0;
      // one backup at a time: the second backup's metadata file, after the first backup's two files
      if (call === 'b2_delete_file_version' && deletes !== undefined && ++deletes === 3) world.emu.faults.add({call, count: 1, status: 400, code: 'bad_request', message: 'refused for the test'});
    },
  });
  await world.addProfile('home', {...(await world.createKey()), prefix: 'old/', concurrency: 1});
  await seedBackups(world.emu, 'old/', 3);
});

afterAll(async () => {
  world?.expectNoSecretInAnyRun();
  await world?.close();
});

test('a failure while the originals are deleted says the backups are whole at the new prefix and how to finish (exit 1); run again, it finishes', async () => {
  const all = await listedIds('old/');
  const move = ['profile', 'update', 'home', '--prefix', 'new/', '--move-backups'];

  const failed = await world.b2(move);
  expectFailure(failed, 1, /refused for the test.*; every backup is whole at the new prefix, but the move stopped while deleting the originals: \d of 3 backups are no longer listed under the old prefix, which the profile keeps until the move is finished: run the same command again to finish it$/, world.secrets);
  expect(await listedIds('new/')).toEqual(all);
  // one backup at a time: the first one's originals went, the refused one stays listed, and the failure stopped the third
  expect(failed.stderr).toContain(': 1 of 3 backups are no longer listed under the old prefix');
  expect((await listedIds('old/')).length).toBe(2);
  const profiles = () => readFile(world.config, 'utf8').then((t) => (parse(t) as {profiles: Record<string, {prefix: string}>}).profiles.home.prefix);
  expect(await profiles()).toBe('old/');

  const again = await world.b2(move);
  expect({code: again.code, stderr: again.stderr}).toEqual({code: 0, stderr: ''});
  expect(await listedIds('new/')).toEqual(all);
  expect(await listedIds('old/')).toEqual([]);
  expect(await profiles()).toBe('new/');
});
