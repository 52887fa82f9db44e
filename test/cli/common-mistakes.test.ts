import {afterAll, beforeAll, describe, expect, test} from '@jest/globals';
import {mkdir, readFile, writeFile} from 'node:fs/promises';
import {join} from 'node:path';
import {E2EWorld, expectFailure, expectNoSecrets} from '../e2e/helpers.js';
import {runCli} from '../helpers/run-cli.js';
import {seedLargeBackup} from '../helpers/seed-backups.js';

// The slips a new user really makes, each answered with one line that names the fix:
// a key ID and key swapped, a mistyped flag, a transposed profile name, a backup's name
// given as its id, and an embedded store whose data dir cannot be written. Real CLI child
// processes against one emulator over HTTP.

let world: E2EWorld;

beforeAll(async () => {
  world = await E2EWorld.start();
  await world.addProfile('home', {keyId: world.emu.keyId, applicationKey: world.emu.applicationKey, prefix: 'home/'});
});
afterAll(async () => {
  await world?.close();
});

describe('a key ID and application key given swapped', () => {
  test('profile add refuses it before connecting, never shows the key, saves nothing', async () => {
    const before = await readFile(world.config, 'utf8');
    const authorized = world.emu.stats().calls.b2_authorize_account ?? 0;
    const r = await world.b2(['profile', 'add', 'swapped', '--key-id', world.emu.applicationKey, '--application-key', world.emu.keyId, '--bucket', world.emu.bucket, '--prefix', 'sw/', '--endpoint', world.emu.url]);
    expectFailure(r, 2, /^Error: --key-id: expected a key ID .*got text that looks like a key \(not shown\) \(the key ID and the application key look swapped\)$/, world.secrets);
    expect(await readFile(world.config, 'utf8')).toBe(before);
    expect(world.emu.stats().calls.b2_authorize_account ?? 0).toBe(authorized);
  });

  test('in the profiles file: the line to fix, never the key', async () => {
    const path = join(world.dir, 'swapped.yaml');
    await writeFile(path, `profiles:\n  home:\n    keyId: ${world.emu.applicationKey}\n    applicationKey: env:HOME_KEY\n    bucket: ${world.emu.bucket}\n`, {mode: 0o600});
    const r = await runCli(['b2', 'profile', 'show', 'home', '--config', path], {env: world.env, cwd: world.dir});
    expectFailure(r, 2, /swapped\.yaml:3: profiles\.home\.keyId: .*\(the key ID and the application key look swapped\)$/, world.secrets);
  });

  test('a key ID as B2 makes them (hex digits) is still taken', async () => {
    const r = await world.b2(['profile', 'show', 'home']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(world.emu.keyId);
  });
});

describe('a mistyped flag', () => {
  test('gets the nearest flag of that command and where its flags are listed', async () => {
    expectFailure(await world.b2(['list', '--jsno', '--profile', 'home']), 2, /^Error: Nonexistent flag: --jsno; did you mean --json\? "backup-b2 b2 list --help" lists the flags$/, world.secrets);
    expectFailure(await world.b2(['profile', 'update', 'home', '--prefx', 'pi4/']), 2, /^Error: Nonexistent flag: --prefx; did you mean --prefix\? "backup-b2 b2 profile update --help" lists the flags$/, world.secrets);
    expectFailure(await world.b2(['list', '--bogus', '--profile', 'home']), 2, /^Error: Nonexistent flag: --bogus; "backup-b2 b2 list --help" lists the flags$/, world.secrets);
  });

  test('a value typed with it is not repeated', async () => {
    const key = world.emu.applicationKey;
    expectFailure(await world.b2(['profile', 'add', 'x', `--aplication-key=${key}`, '--key-id', 'k']), 2, /^Error: Nonexistent flag: --aplication-key; did you mean --application-key\? "backup-b2 b2 profile add --help" lists the flags$/, world.secrets);
    expectFailure(await world.b2(['list', `-x${key}`]), 2, /^Error: Nonexistent flag: -x…; "backup-b2 b2 list --help" lists the flags$/, world.secrets);
    // the key typed onto its flag, no space or "=": that flag is not repeated at all
    expectFailure(await world.b2(['profile', 'add', 'x', `--application-key${key}`, '--key-id', 'k']), 2, /^Error: Nonexistent flag: --… \(not shown: it looks like a key\); "backup-b2 b2 profile add --help" lists the flags$/, world.secrets);
  });
});

test('a profile name with two letters swapped gets the one meant', async () => {
  expectFailure(await world.b2(['list', '--profile', 'hmoe']), 2, /no profile named "hmoe" .*; did you mean "home"\?$/, world.secrets);
  expectFailure(await world.b2(['list'], {env: {B2_PROFILE: 'hmoe'}}), 2, /no profile named "hmoe" \(given by the environment variable B2_PROFILE.*; did you mean "home"\?$/, world.secrets);
});

test("a backup's name given as its id: not found, and the line gives the id", async () => {
  // a backup named "Nightly", laid straight into the emulator as `b2 upload` stores it: the scene, not the subject
  const {id} = await seedLargeBackup(world.emu, 'home/', {name: 'Nightly', size: 5_000, partSize: 5_000});
  expectFailure(await world.b2(['show', 'Nightly', '--profile', 'home']), 4, new RegExp(`; "Nightly" is the name of backup ${id}: give its id$`), world.secrets);
  // a reference that is no name keeps the plain hint
  expectFailure(await world.b2(['show', 'Nightl', '--profile', 'home']), 4, /; run "backup-b2 b2 list --config \S+ --profile home" to see their ids$/, world.secrets);
});

test('the embedded store in a data dir that cannot be written: one line naming it and the fix', async () => {
  // a file where a directory of the data dir must go (as root, permissions would not stop the test's own mkdir)
  const blocked = join(world.dir, 'blocked');
  await mkdir(blocked, {recursive: true});
  await writeFile(join(blocked, 'data'), 'not a directory');
  const r = await world.b2(['list', '--profile', 'local'], {env: {XDG_DATA_HOME: join(blocked, 'data', 'xdg')}});
  expect(r.code).toBe(1);
  const errors = r.stderr.split('\n').filter((l) => l.startsWith('Error: '));
  expect(errors).toEqual([
    `Error: cannot start the embedded B2 store in ${join(blocked, 'data', 'xdg', 'backup-plugin-b2', 'embedded-b2')}: a part of the path is not a directory (ENOTDIR); make that directory writable, or set XDG_DATA_HOME to a directory you may write to`,
  ]);
  expectNoSecrets(r, world.secrets);
});
