import {describe, test, expect, beforeAll, afterAll} from '@jest/globals';
import {startEmulator, type RunningEmulator} from '../../src/emulator/index.js';
import {installHost, type InstalledHost} from '../helpers/host-cli.js';

// Runs the fixture host as a real child process with this plugin linked into it; the
// host only knows the generic contract and what the backup:targets hook hands it.
describe('a host CLI with the plugin installed', () => {
  let host: InstalledHost;
  let emu: RunningEmulator;
  beforeAll(async () => {
    host = await installHost();
    emu = await startEmulator({port: 0});
  });
  afterAll(async () => {
    await emu?.stop();
    await host?.remove();
  });

  test('discovers the b2 target and its profile schema through the backup:targets hook', async () => {
    const {code, stdout, stderr} = await host.run(['targets']);
    expect(stderr).toBe('');
    expect(code).toBe(0);
    const targets = JSON.parse(stdout.trim());
    expect(targets).toEqual([expect.objectContaining({type: 'b2', title: 'Backblaze B2', plugin: 'backup-plugin-b2'})]);
    expect(targets[0].profileFields).toEqual(expect.arrayContaining(['keyId', 'applicationKey', 'bucket', 'prefix', 'endpoint']));
  });

  test("lists the plugin's b2 topic in its own help", async () => {
    const {code, stdout} = await host.run(['--help']);
    expect(code).toBe(0);
    expect(stdout).toMatch(/^\s+b2\s+Back up to a Backblaze B2 bucket/m);
  });

  test('runs put/list/get/delete on B2 (the emulator) through the generic contract, inside the prefix', async () => {
    emu.resetStats();
    const profile = {keyId: emu.keyId, applicationKey: 'env:HOST_TEST_B2_KEY', bucket: emu.bucket, prefix: 'host-test', endpoint: emu.url};
    const {code, stdout, stderr} = await host.run(['roundtrip', '--profile', JSON.stringify(profile), '--size', '300000'], {HOST_TEST_B2_KEY: emu.applicationKey});
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(JSON.parse(stdout)).toEqual({
      putSize: 300000,
      listed: ['host-roundtrip.bin'],
      gotSize: 300000,
      sha1Match: true,
      metadata: expect.objectContaining({origin: 'host'}),
      deleted: true,
      goneAfterDelete: true,
    });
    const stats = emu.stats();
    expect(stats.calls.b2_upload_file).toBe(1);
    const touched = stats.touchedNames[emu.keyId];
    expect(touched.length).toBeGreaterThan(0);
    for (const name of touched) expect(name.startsWith('host-test/')).toBe(true);
  });

  test('a failure inside the target reaches the host as an error, with no secret in it (DEBUG too)', async () => {
    const wrongKey = 'not-the-right-key-0123456789';
    // the key travels by env: reference, as a host should pass it (argv is visible to other users and in oclif's DEBUG log)
    const profile = {keyId: emu.keyId, applicationKey: 'env:HOST_TEST_B2_KEY', bucket: emu.bucket, endpoint: emu.url};
    const basic = Buffer.from(`${emu.keyId}:${wrongKey}`).toString('base64');
    for (const env of [{}, {DEBUG: '*'}] as Array<Record<string, string>>) {
      const {code, stdout, stderr} = await host.run(['roundtrip', '--profile', JSON.stringify(profile)], {...env, HOST_TEST_B2_KEY: wrongKey});
      expect(code).not.toBe(0);
      expect(stderr).toMatch(/key ID or application key is wrong|application key/i);
      for (const secret of [wrongKey, basic]) expect(stdout + stderr).not.toContain(secret);
    }
  });

  test('a failure after sign-in leaks neither the key nor the account token, even with DEBUG', async () => {
    const key = await emu.createKey({capabilities: ['listBuckets', 'listFiles', 'readFiles']}); // no writeFiles: put fails after sign-in
    const profile = {keyId: key.keyId, applicationKey: 'env:HOST_TEST_B2_KEY', bucket: emu.bucket, endpoint: emu.url, prefix: 'host-test'};
    const {code, stdout, stderr} = await host.run(['roundtrip', '--profile', JSON.stringify(profile)], {DEBUG: '*', HOST_TEST_B2_KEY: key.applicationKey});
    expect(code).not.toBe(0);
    expect(stderr).toMatch(/writeFiles/);
    const token = (await (await fetch(`${emu.url}/b2api/v2/b2_authorize_account`, {headers: {Authorization: `Basic ${Buffer.from(`${key.keyId}:${key.applicationKey}`).toString('base64')}`}})).json()) as {authorizationToken: string};
    const tokenPrefix = token.authorizationToken.split('_')[0]; // tokens differ per sign-in; none may appear at all
    const basic = Buffer.from(`${key.keyId}:${key.applicationKey}`).toString('base64');
    for (const secret of [key.applicationKey, basic]) expect(stdout + stderr).not.toContain(secret);
    expect(stdout + stderr).not.toMatch(new RegExp(`${tokenPrefix}_[A-Za-z0-9_-]{20,}`));
  });

  test("fix hints inside the host name the host's command, never Backblaze's own \"b2\" CLI", async () => {
    const typo = await host.run(['b2', 'list', '--profile', 'locl']);
    expect({code: typo.code, stderr: typo.stderr}).toEqual({code: 2, stderr: expect.stringMatching(/^Error: no profile named "locl" in .*host-backup-cli\/profiles\.yaml \(profiles: local\); did you mean "local"\?\n$/)});
    const missing = await host.run(['b2', 'list', '--profile', 'office']);
    expect(missing.stderr).toMatch(/; add it with "host b2 profile add office"\n$/);
    // the same through the target's create() with a saved profile's name
    const viaTarget = await host.run(['roundtrip', '--profile', JSON.stringify({profile: 'office'})]);
    expect(viaTarget.code).not.toBe(0);
    expect(viaTarget.stderr).toContain('add it with "host b2 profile add office"');
    const unknownId = await host.run(['b2', 'show', 'f00d', '--profile', 'local']);
    expect({code: unknownId.code, stderr: unknownId.stderr}).toEqual({code: 4, stderr: expect.stringMatching(/^Error: no backup with id f00d in .*; run "host b2 list --profile local" to see their ids\n$/)});
  });

  test("-h stays the host's to give: the plugin's own -h for --help (its package.json) does not reach the host's commands", async () => {
    const r = await host.run(['b2', 'list', '-h']);
    expect({code: r.code, stdout: r.stdout, stderr: r.stderr}).toEqual({code: 2, stdout: '', stderr: expect.stringMatching(/^Error: Nonexistent flag: -h; "host b2 list --help" lists the flags\n$/)});
    expect(await host.run(['b2', 'list', '--help'])).toMatchObject({code: 0, stdout: expect.stringContaining('$ host b2 list')});
  });

  test('create() with the fields themselves: a rejected key names no profile and no command, only the fields to change', async () => {
    const profile = {keyId: emu.keyId, applicationKey: 'env:HOST_TEST_B2_KEY', bucket: emu.bucket, endpoint: emu.url, prefix: 'rt'};
    const r = await host.run(['roundtrip', '--profile', JSON.stringify(profile)], {HOST_TEST_B2_KEY: 'not-the-right-key-0123456789'});
    expect(r.code).not.toBe(0);
    const stderr = r.stderr.replace(/\s+/g, ' '); // the host's oclif wraps the message
    expect(stderr).toContain('rejected the key of the profile:');
    expect(stderr).toContain('; change keyId and applicationKey in the profile fields given to create()');
    expect(stderr).not.toMatch(/profile host|profile update|profile add|with: change/);
  });

  test('create() with the fields themselves: a bucket that does not exist names the field to change, in a clause of its own', async () => {
    const profile = {keyId: emu.keyId, applicationKey: emu.applicationKey, bucket: 'no-such-bucket-of-host', endpoint: emu.url, prefix: 'rt'};
    const r = await host.run(['roundtrip', '--profile', JSON.stringify(profile)]);
    expect(r.code).not.toBe(0);
    const stderr = r.stderr.replace(/\s+/g, ' ');
    expect(stderr).toContain('bucket no-such-bucket-of-host of the profile does not exist or this key may not use it; change bucket in the profile fields given to create()');
    expect(stderr).not.toMatch(/with: change/);
  });

  test('profile check of the built-in local profile says "embedded", not the embedded emulator\'s random port', async () => {
    const {code, stdout} = await host.run(['b2', 'profile', 'check', 'local']);
    expect(code).toBe(0);
    expect(stdout).toMatch(/^ok\s+Key ID and application key\s+key accepted by embedded$/m);
    expect(stdout).not.toMatch(/127\.0\.0\.1/);
  });

  test('the built-in local profile works inside the host, with data in the host data dir', async () => {
    const {code, stdout, stderr} = await host.run(['roundtrip', '--profile', JSON.stringify({profile: 'local'})]);
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(JSON.parse(stdout)).toMatchObject({sha1Match: true, deleted: true, goneAfterDelete: true});
  });
});
