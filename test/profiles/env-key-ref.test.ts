import {afterAll, beforeAll, describe, expect, test} from '@jest/globals';
import {readFile, writeFile} from 'node:fs/promises';
import {join} from 'node:path';
import {E2EWorld, expectFailure} from '../e2e/helpers.js';
import {runCli} from '../helpers/run-cli.js';

// A profile whose key is `env:B2_APPLICATION_KEY` asks for that variable: exporting it
// alone is not half of the B2_APPLICATION_KEY_ID + B2_APPLICATION_KEY override, for any
// command, `profile add` included. Without such a profile, one of the two alone stops
// every command the same way, `profile add` included. Real CLI children, emulator over HTTP.

let world: E2EWorld;
let home: {keyId: string; applicationKey: string};
let office: {keyId: string; applicationKey: string};
const HALF = /^Error: B2_APPLICATION_KEY is set but B2_APPLICATION_KEY_ID is not: together they replace the key of every B2 profile; set both, or unset B2_APPLICATION_KEY \(for a profile's own key from the environment use another name, e.g\. applicationKey: env:B2_HOME_KEY\)$/;

beforeAll(async () => {
  world = await E2EWorld.start();
  home = await world.createKey();
  office = await world.createKey();
  await writeFile(join(world.dir, 'office.key'), office.applicationKey, {mode: 0o600});
});

afterAll(async () => {
  await world?.close();
});

describe('applicationKey: env:B2_APPLICATION_KEY with only B2_APPLICATION_KEY exported', () => {
  const env = () => ({B2_APPLICATION_KEY: home.applicationKey});
  const at = () => ['--endpoint', world.emu.url, '--bucket', world.emu.bucket];

  test('profile add accepts it (and checks the key with it), beside a file:-keyed profile', async () => {
    const add = await world.b2(['profile', 'add', 'office', '--key-id', office.keyId, '--application-key', 'file:office.key', ...at(), '--prefix', 'office/']);
    expect({code: add.code, stderr: add.stderr}).toEqual({code: 0, stderr: ''});
    const addHome = await world.b2(['profile', 'add', 'home', '--key-id', home.keyId, '--application-key', 'env:B2_APPLICATION_KEY', ...at(), '--prefix', 'home/'], {env: env()});
    expect({code: addHome.code, stderr: addHome.stderr}).toEqual({code: 0, stderr: ''});
  });

  test.each([[['profile', 'check', 'home']], [['list', '--profile', 'home']], [['list', '--profile', 'office']]])('%j works (exit 0, nothing on stderr)', async (args) => {
    const r = await world.b2(args, {env: env()});
    expect({code: r.code, stderr: r.stderr}).toEqual({code: 0, stderr: ''});
    world.expectNoSecretInAnyRun();
  });
});

describe('one override variable alone, and no profile names it', () => {
  test('every command stops with one line, exit 2; profile add too (even with --no-check), and the file is unchanged', async () => {
    const config = join(world.dir, 'solo.yaml');
    await writeFile(config, `profiles:\n  office:\n    keyId: ${office.keyId}\n    applicationKey: file:office.key\n    bucket: ${world.emu.bucket}\n    endpoint: ${world.emu.url}\n`, {mode: 0o600});
    const before = await readFile(config, 'utf8');
    const env = {B2_APPLICATION_KEY: home.applicationKey};
    const b2 = (args: string[]) => runCli(['b2', ...args, '--config', config], {env: {...world.env, ...env}, cwd: world.dir});
    const list = await b2(['list', '--profile', 'office']);
    expectFailure(list, 2, HALF, world.secrets);
    const add = await b2(['profile', 'add', 'spare', '--key-id', office.keyId, '--application-key', 'file:office.key', '--bucket', world.emu.bucket, '--endpoint', world.emu.url, '--no-check']);
    expectFailure(add, 2, HALF, world.secrets);
    expect(await readFile(config, 'utf8')).toBe(before);
  });
});
