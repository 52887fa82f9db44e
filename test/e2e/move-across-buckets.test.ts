import {afterAll, beforeAll, expect, test} from '@jest/globals';
import {seedBackups} from '../helpers/seed-backups.js';
import {api, authorizeRaw} from '../emulator/helpers.js';
import {E2EWorld} from './helpers.js';

// `profile update --bucket OTHER --prefix NEW --move-backups` moves the backups to another
// bucket (under a new prefix or the same one): its lines name both buckets, so that they
// do not read as a move inside OTHER.
// The real CLI against the emulator over HTTP.

const OTHER = 'move-other-1';
let world: E2EWorld;

beforeAll(async () => {
  world = await E2EWorld.start();
  const auth = await authorizeRaw(world.emu);
  await api(world.emu, auth.authorizationToken, 'b2_create_bucket', {accountId: auth.accountId, bucketName: OTHER, bucketType: 'allPrivate'});
  await world.addProfile('hop', {...(await world.createKey()), prefix: 'hop-a/'});
  await seedBackups(world.emu, 'hop-a/', 2);
});

afterAll(async () => {
  world?.expectNoSecretInAnyRun();
  await world?.close();
});

test('the dry run and the move name the bucket moved from and the bucket moved to', async () => {
  const args = ['profile', 'update', 'hop', '--bucket', OTHER, '--prefix', 'hop-b/', '--move-backups'];
  const from = `from "hop-a/" in bucket ${world.emu.bucket} to "hop-b/" in bucket ${OTHER}`;
  const dry = await world.b2([...args, '--dry-run']);
  expect({code: dry.code, stderr: dry.stderr}).toEqual({code: 0, stderr: ''});
  expect(dry.stdout).toContain(`Would move 2 backups ${from} (server-side copies`);
  const moved = await world.b2(args);
  expect({code: moved.code, stderr: moved.stderr}).toEqual({code: 0, stderr: ''});
  expect(moved.stdout).toContain(`Moved 2 backups ${from}: 4 files copied on the server`);
});

test('to another bucket under the same prefix: moved (another location); the same bucket and prefix is refused (exit 2)', async () => {
  // the profile is in OTHER under "hop-b/" since the test above
  const same = await world.b2(['profile', 'update', 'hop', '--prefix', 'hop-b/', '--move-backups']);
  expect({code: same.code, stderr: same.stderr}).toEqual({code: 2, stderr: `Error: --move-backups moves the backups to a new prefix or bucket, but profile "hop" already uses "hop-b/" in bucket ${OTHER}; give --prefix a different one (or --bucket another bucket)\n`});
  const back = await world.b2(['profile', 'update', 'hop', '--bucket', world.emu.bucket, '--prefix', 'hop-b/', '--move-backups']);
  expect({code: back.code, stderr: back.stderr}).toEqual({code: 0, stderr: ''});
  expect(back.stdout).toContain(`Moved 2 backups from "hop-b/" in bucket ${OTHER} to "hop-b/" in bucket ${world.emu.bucket}: 4 files copied on the server`);
  expect((await world.b2(['list', '--profile', 'hop', '--json'])).stdout).toMatch(/"id"[\s\S]*"id"/);
});
