import {describe, test, expect, beforeAll, afterAll} from '@jest/globals';
import {installHost, type InstalledHost} from '../helpers/host-cli.js';

// Runs the fixture host as a real child process with this plugin linked into it.
describe('a host CLI with the plugin installed', () => {
  let host: InstalledHost;
  beforeAll(async () => {
    host = await installHost();
  });
  afterAll(async () => {
    await host?.remove();
  });

  test('discovers the b2 target through the backup:targets hook', async () => {
    const {code, stdout, stderr} = await host.run(['targets']);
    expect(stderr).toBe('');
    expect(code).toBe(0);
    const targets = JSON.parse(stdout.trim());
    expect(targets).toEqual([expect.objectContaining({type: 'b2', title: 'Backblaze B2', plugin: 'backup-plugin-b2'})]);
  });

  test("lists the plugin's b2 topic in its own help", async () => {
    const {code, stdout} = await host.run(['--help']);
    expect(code).toBe(0);
    expect(stdout).toMatch(/^\s+b2\s+Back up to a Backblaze B2 bucket/m);
  });
});
