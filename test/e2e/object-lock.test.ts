import {test, expect, beforeAll, afterAll} from '@jest/globals';
import {randomBytes} from 'node:crypto';
import {writeFile} from 'node:fs/promises';
import {join} from 'node:path';
import {api, authorizeRaw} from '../emulator/helpers.js';
import {BACKUP_CAPABILITIES, E2EWorld, expectFailure, parseJson} from './helpers.js';

// A backup in a bucket whose default retention locks it (Object Lock) survives `b2
// delete` (one line, exit 3, naming the date) and a raw b2_delete_file_version, even
// with the master key; once the emulator's clock passes the date, `b2 delete` removes it.

const DAY = 24 * 60 * 60 * 1000;
let world: E2EWorld;
let bucketId: string;

beforeAll(async () => {
  world = await E2EWorld.start();
  const auth = await authorizeRaw(world.emu);
  const made = await api(world.emu, auth.authorizationToken, 'b2_create_bucket', {
    accountId: auth.accountId, bucketName: 'locked-home-1', bucketType: 'allPrivate', fileLockEnabled: true,
    defaultRetention: {mode: 'governance', period: {duration: 7, unit: 'days'}},
  });
  expect(made.status).toBe(200);
  bucketId = made.json.bucketId;
  const key = await world.createKey({capabilities: BACKUP_CAPABILITIES});
  await world.addProfile('locked', {...key, bucket: 'locked-home-1', prefix: 'home/'});
  await writeFile(join(world.dir, 'a.tar'), randomBytes(20_000));
});

afterAll(async () => {
  await world?.close();
});

test('a locked backup survives b2 delete and a raw delete (even with the master key), and goes once the date has passed', async () => {
  const up = await world.b2(['upload', join(world.dir, 'a.tar'), '--name', 'locked', '--profile', 'locked', '--json']);
  expect({code: up.code, stderr: up.stderr}).toMatchObject({code: 0});
  const {id} = parseJson<{id: string}>(up);

  const refused = await world.b2(['delete', id, '--yes', '--profile', 'locked']);
  expectFailure(refused, 3, /B2 refused to remove "home\/locked_.*": it is protected by Object Lock \(.*locked in governance mode until \d{4}-\d\d-\d\dT.*\); it can be deleted once its retention date has passed/, world.secrets);
  expect((await world.b2(['show', id, '--profile', 'locked'])).code).toBe(0);

  const auth = await authorizeRaw(world.emu);
  const files = (await api(world.emu, auth.authorizationToken, 'b2_list_file_versions', {bucketId, prefix: 'home/'})).json.files;
  expect(files).toHaveLength(2);
  const raw = await api(world.emu, auth.authorizationToken, 'b2_delete_file_version', {fileId: files[0].fileId, fileName: files[0].fileName});
  expect(raw.json).toMatchObject({status: 403, code: 'access_denied'});

  world.emu.clock.advance(8 * DAY);
  const done = await world.b2(['delete', id, '--yes', '--profile', 'locked']);
  expect({code: done.code, stderr: done.stderr}).toMatchObject({code: 0});
  expect((await api(world.emu, auth.authorizationToken, 'b2_list_file_versions', {bucketId, prefix: 'home/'})).json.files).toEqual([]);
  world.expectNoSecretInAnyRun();
});
