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

  test('a failure inside the target reaches the host as an error, with no secret in it', async () => {
    const profile = {keyId: emu.keyId, applicationKey: 'not-the-right-key-0123456789', bucket: emu.bucket, endpoint: emu.url};
    const {code, stdout, stderr} = await host.run(['roundtrip', '--profile', JSON.stringify(profile)]);
    expect(code).not.toBe(0);
    expect(stdout).toBe('');
    expect(stderr).toMatch(/key ID or application key is wrong|application key/i);
    expect(stderr).not.toContain('not-the-right-key-0123456789');
  });

  test('the built-in local profile works inside the host, with data in the host data dir', async () => {
    const {code, stdout, stderr} = await host.run(['roundtrip', '--profile', JSON.stringify({profile: 'local'})]);
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(JSON.parse(stdout)).toMatchObject({sha1Match: true, deleted: true, goneAfterDelete: true});
  });
});
