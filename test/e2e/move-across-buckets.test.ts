import {afterAll, beforeAll, expect, test} from '@jest/globals';
import {seedBackups} from '../helpers/seed-backups.js';
import {api, authorizeRaw} from '../emulator/helpers.js';
import {E2EWorld} from './helpers.js';

// `profile update --bucket OTHER --prefix NEW --move-backups` moves the backups to another
// bucket: its lines name both buckets, so that they do not read as a move inside OTHER.
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
