import {afterAll, beforeAll, describe, expect, test} from '@jest/globals';
import {execFile} from 'node:child_process';
import {randomBytes} from 'node:crypto';
import {mkdtemp, readFile, rm, stat, writeFile} from 'node:fs/promises';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {promisify, stripVTControlCharacters} from 'node:util';
import {startEmulator, type RunningEmulator} from '../../src/emulator/index.js';
import {installHost, repoRoot, type InstalledHost} from '../helpers/host-cli.js';

// What a new user does with a fresh clone: `<host> plugins link <clone>` through the real
// @oclif/plugin-plugins (5.5.x, the newest line for Node 20). The link runs `npm install`
// in the clone, whose `prepare` script builds dist/ and the manifest; then the host lists
// the b2 commands and runs a round trip (upload, list, download) against the emulator.
//
// Time: the link installs the clone's dependencies (from npm's cache: prefer-offline) and
// compiles it, about 1 minute on a busy 2-core machine; the limit below is for that plus
// six host runs, each a node process.
const LINK_MS = 240_000;
const RUN_MS = 30_000;

const run = promisify(execFile);
let host: InstalledHost;
let emu: RunningEmulator;
let work: string;
let clone: string;
/** npm, as the link runs it: from the local cache when it can, no audit or funding requests. */
const NPM_ENV = {npm_config_prefer_offline: 'true', npm_config_audit: 'false', npm_config_fund: 'false', npm_config_update_notifier: 'false'};

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'plugins-link-'));
  clone = join(work, 'backup-plugin-b2');
  // committed state only: what `git clone` of this checkout gives, nothing built
  await run('git', ['clone', '--quiet', repoRoot, clone]);
  host = await installHost({withPlugin: false});
  emu = await startEmulator({port: 0});
});
afterAll(async () => {
  await emu?.stop();
  await host?.remove();
  await rm(work, {recursive: true, force: true});
});

describe('`plugins link` of a fresh clone into a host', () => {
  test('the clone has no dist/ and no node_modules before the link', async () => {
    await expect(stat(join(clone, 'dist'))).rejects.toThrow(/ENOENT/);
    await expect(stat(join(clone, 'node_modules'))).rejects.toThrow(/ENOENT/);
    const before = await host.run(['b2', '--help']);
    expect(before.code).not.toBe(0); // the host has no b2 yet
  });

  test('link installs and builds it; `b2 --help` lists the commands; `plugins` shows the link', async () => {
    const linked = await host.run(['plugins', 'link', clone], NPM_ENV);
    expect({code: linked.code, stderr: linked.stderr}).toMatchObject({code: 0});
    expect((await stat(join(clone, 'dist/commands/b2/upload.js'))).isFile()).toBe(true);
    expect((await stat(join(clone, 'oclif.manifest.json'))).isFile()).toBe(true);

    const help = await host.run(['b2', '--help']);
    expect(help.code).toBe(0);
    expect(help.stderr).toBe('');
    for (const command of ['upload', 'list', 'download', 'verify', 'delete', 'profile']) expect(help.stdout).toMatch(new RegExp(`^ {2}b2 ${command}\\b`, 'm'));
    const plugins = await host.run(['plugins']);
    // the list's layout, whatever colouring the host's terminal settings add
    expect(stripVTControlCharacters(plugins.stdout)).toMatch(new RegExp(`^backup-plugin-b2 \\S+ \\(link\\) ${clone.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`, 'm'));
  }, LINK_MS);

  test('a round trip through the host: upload, list, download, the same bytes', async () => {
    const key = await emu.createKey({capabilities: ['listBuckets', 'listFiles', 'readFiles', 'writeFiles', 'deleteFiles']});
    const config = join(work, 'profiles.yaml');
    const b2 = (args: string[], env: Record<string, string> = {}) => host.run(['b2', ...args, '--config', config], env);
    const add = await b2(['profile', 'add', 'linked', '--key-id', key.keyId, '--application-key', key.applicationKey, '--bucket', emu.bucket, '--prefix', 'linked/', '--endpoint', emu.url]);
    expect({code: add.code, stderr: add.stderr}).toMatchObject({code: 0});

    const data = randomBytes(300_000);
    await writeFile(join(work, 'archive.tar'), data);
    const up = await b2(['upload', join(work, 'archive.tar'), '--name', 'through the host', '--profile', 'linked']);
    expect(up.code).toBe(0);
    const id = up.stdout.trim();
    expect(id).toMatch(/^[0-9a-f]{12}$/);
    // oclif's notice for a linked ESM plugin (README: harmless, and how to silence it)
    expect(up.stderr).toMatch(/backup-plugin-b2 is a linked ESM module and cannot be\s+(›\s+)?auto-transpiled/);

    const list = await b2(['list', '--profile', 'linked', '--json'], {OCLIF_DISABLE_LINKED_ESM_WARNING: '1'});
    expect(list.stderr).toBe('');
    expect(JSON.parse(list.stdout)).toEqual([expect.objectContaining({id, name: 'through the host', size: data.length})]);

    const restored = join(work, 'restored.tar');
    const down = await b2(['download', id, '-o', restored, '--profile', 'linked']);
    expect(down.code).toBe(0);
    expect((await readFile(restored)).equals(data)).toBe(true);
  }, 4 * RUN_MS);
});
