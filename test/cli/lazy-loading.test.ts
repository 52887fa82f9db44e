import {describe, test, expect, beforeAll, afterAll} from '@jest/globals';
import {readFile, writeFile} from 'node:fs/promises';
import {join} from 'node:path';
import {pathToFileURL} from 'node:url';
import {E2EWorld} from '../e2e/helpers.js';
import {withBundledModules} from '../helpers/bundle-inputs.js';
import {installHost, repoRoot, type InstalledHost} from '../helpers/host-cli.js';
import {cliRoot, runCli} from '../helpers/run-cli.js';
import {seedLargeBackup} from '../helpers/seed-backups.js';

// Start-up cost: the emulator (and the B2 HTTP stack) load only when used. A module
// probe (node --import) records every module a real child process loads; the modules
// bundled into a loaded command or chunk file count as loaded (withBundledModules).

const probe = pathToFileURL(join(repoRoot, 'test/fixtures/module-probe/register.mjs')).href;
let world: E2EWorld;
let host: InstalledHost;
let seq = 0;

/** The env that makes a child record its modules, and a reader of what it recorded. */
function probed(opts: {commonJs?: boolean; internals?: boolean} = {}): {env: Record<string, string>; modules: () => Promise<string[]>} {
  const out = join(world.dir, `modules-${seq++}.txt`);
  return {
    env: {NODE_OPTIONS: `--import=${probe}`, MODULE_PROBE_OUT: out, ...(opts.commonJs ? {MODULE_PROBE_CJS: '1'} : {}), ...(opts.internals ? {MODULE_PROBE_INTERNALS: '1'} : {})},
    modules: async () => withBundledModules(cliRoot, (await readFile(out, 'utf8')).split('\n').filter(Boolean)),
  };
}

const emulatorModules = (mods: string[]) => mods.filter((m) => m.includes('/dist/src/emulator/'));
/** zod (~100 modules): only a profile it must judge (or a rarer path) needs it. */
const zod = (mods: string[]) => mods.filter((m) => m.includes('/node_modules/zod/'));
/** oclif's engines check (semver, 47 modules): bin/run.js turns it off. */
const semver = (mods: string[]) => mods.filter((m) => m.includes('/node_modules/semver/'));
const httpStack = (mods: string[]) => mods.filter((m) => /\/node_modules\/(axios|backblaze-b2)\//.test(m));
/** What measures table columns: only commands that draw a table need it. */
const tableWidths = (mods: string[]) => mods.filter((m) => m.includes('/node_modules/string-width/'));
/** The TypeScript compiler (~0.5 s to load): oclif loads it in development mode (NODE_ENV=test or development) to look for sources. */
const typescript = (mods: string[]) => mods.filter((m) => m.includes('/node_modules/typescript/'));
/** Node's fetch implementation (~45 ms to compile): axios touches it as it loads unless the build stops it. */
const undici = (mods: string[]) => mods.filter((m) => m.startsWith('node:internal/deps/undici/'));
/** The upload and server-side copy engines and the tar reader: only uploads and copies need them. */
const uploadEngine = (mods: string[]) => mods.filter((m) => /\/dist\/src\/(b2\/(upload|large-file-upload|chunkers|server-copy)|tar-reader)\.js$/.test(m));

beforeAll(async () => {
  world = await E2EWorld.start();
  await world.addProfile('remote', {...(await world.createKey()), prefix: 'lazy/', check: false});
  host = await installHost();
});

afterAll(async () => {
  await world?.close();
  await host?.remove();
});

describe('what a process loads', () => {
  test('b2 list on a B2 profile never loads the emulator', async () => {
    const p = probed();
    const r = await runCli(['b2', 'list', '--profile', 'remote', '--config', world.config], {env: {...world.env, ...p.env}});
    expect({code: r.code, stderr: r.stderr}).toEqual({code: 0, stderr: ''});
    const mods = await p.modules();
    expect(mods.some((m) => m.includes(`${pathToFileURL(cliRoot).href}/dist/commands/b2/list.js`))).toBe(true);
    expect(emulatorModules(mods)).toEqual([]);
  });

  test('b2 list on the embedded profile does load it (the probe sees it when it is there)', async () => {
    const p = probed();
    const r = await runCli(['b2', 'list', '--profile', 'local', '--config', world.config], {env: {...world.env, ...p.env}});
    expect(r.code).toBe(0);
    expect(emulatorModules(await p.modules()).length).toBeGreaterThan(0);
  });

  test('the backup:targets hook in a host loads neither the emulator nor the HTTP stack', async () => {
    const p = probed();
    const r = await host.run(['targets'], p.env);
    expect({code: r.code, stderr: r.stderr}).toEqual({code: 0, stderr: ''});
    const mods = await p.modules();
    expect(mods.some((m) => m.endsWith('/dist/src/hooks/backup-targets.js'))).toBe(true);
    expect(emulatorModules(mods)).toEqual([]);
    expect(httpStack(mods)).toEqual([]);
  });

  test('upload and download draw no table, so they load no table code (list does, list --json not); a download loads no upload engine (an upload does)', async () => {
    const archive = join(world.dir, 'lazy.tar');
    await writeFile(archive, 'an archive for the module probe');
    const remote = ['--profile', 'remote', '--config', world.config];
    const up = probed();
    const uploaded = await runCli(['b2', 'upload', archive, '--name', 'lazy', '--json', ...remote], {env: {...world.env, ...up.env}});
    expect({code: uploaded.code, stderr: uploaded.stderr}).toEqual({code: 0, stderr: ''});
    const upMods = await up.modules();
    expect(tableWidths(upMods)).toEqual([]);
    expect(uploadEngine(upMods).length).toBeGreaterThan(0);
    const down = probed();
    const {id} = JSON.parse(uploaded.stdout) as {id: string};
    const downloaded = await runCli(['b2', 'download', id, '-o', join(world.dir, 'lazy-restored.tar'), ...remote], {env: {...world.env, ...down.env}});
    expect(downloaded.code).toBe(0);
    const downMods = await down.modules();
    expect(tableWidths(downMods)).toEqual([]);
    expect(uploadEngine(downMods)).toEqual([]);
    const list = probed();
    expect((await runCli(['b2', 'list', ...remote], {env: {...world.env, ...list.env}})).code).toBe(0);
    expect(tableWidths(await list.modules()).length).toBeGreaterThan(0);
    const listJson = probed();
    expect((await runCli(['b2', 'list', '--json', ...remote], {env: {...world.env, ...listJson.env}})).code).toBe(0);
    expect(tableWidths(await listJson.modules())).toEqual([]);
  });

  test('a download and a listing with a valid profile load no zod and no semver; a profile with a mistake loads zod, which words the message', async () => {
    const remote = ['--profile', 'remote', '--config', world.config];
    const {id} = await seedLargeBackup(world.emu, 'lazy/', {name: 'lazy zod', size: 1000}); // the backup to download, as b2 upload stores it
    const list = probed({commonJs: true});
    expect((await runCli(['b2', 'list', ...remote], {env: {...world.env, ...list.env}})).code).toBe(0);
    const listMods = await list.modules();
    expect(listMods.some((m) => m.includes('/node_modules/yaml/'))).toBe(true); // the probe sees CommonJS modules
    expect(zod(listMods)).toEqual([]);
    expect(semver(listMods)).toEqual([]);
    const down = probed({commonJs: true});
    const downloaded = await runCli(['b2', 'download', id, '-o', join(world.dir, 'lazy-zod.restored'), ...remote], {env: {...world.env, ...down.env}});
    expect(downloaded.code).toBe(0);
    expect(zod(await down.modules())).toEqual([]);
    const bad = join(world.dir, 'bad-profiles.yaml');
    await writeFile(bad, 'profiles:\n  remote:\n    keyId: x\n    applicationKey: y\n    bucket: my-bucket\n    concurrency: 0\n', {mode: 0o600});
    const refused = probed({commonJs: true});
    const r = await runCli(['b2', 'list', '--profile', 'remote', '--config', bad], {env: {...world.env, ...refused.env}});
    expect(r.stderr).toBe(`Error: ${bad}:6: profiles.remote.concurrency: expected an integer 1..64, got 0\n`);
    expect(zod(await refused.modules()).length).toBeGreaterThan(0);
  });

  test('profile commands that do not connect (add and update with --no-check, list, show) and a command refused for bad input load no HTTP stack; one that connects does', async () => {
    const config = join(world.dir, 'lazy-http-profiles.yaml');
    const runs: Array<{args: string[]; code: number}> = [
      {args: ['profile', 'add', 'offline', '--key-id', '005lazy', '--application-key', 'K005lazyHttpStackProbeKey00', '--bucket', 'lazy-bucket', '--no-check'], code: 0},
      {args: ['profile', 'update', 'offline', '--concurrency', '3', '--no-check'], code: 0},
      {args: ['profile', 'list'], code: 0},
      {args: ['profile', 'show', 'offline'], code: 0},
      {args: ['download', 'some-id', '-o', '-', '--profile', 'offline', '--concurrency', '0'], code: 2},
    ];
    for (const run of runs) {
      const p = probed();
      const r = await runCli(['b2', ...run.args, '--config', config], {env: {...world.env, ...p.env}});
      expect({args: run.args, code: r.code}).toEqual({args: run.args, code: run.code});
      expect({args: run.args, http: httpStack(await p.modules())}).toEqual({args: run.args, http: []});
    }
    const connecting = probed();
    expect((await runCli(['b2', 'list', '--profile', 'remote', '--config', world.config], {env: {...world.env, ...connecting.env}})).code).toBe(0);
    expect(httpStack(await connecting.modules()).length).toBeGreaterThan(0); // the probe sees the stack when it loads
  });

  test('a connecting command loads neither lodash\'s full build (backblaze-b2 calls three of its functions) nor form-data with its MIME database (axios\'s, for multipart bodies)', async () => {
    const p = probed();
    const r = await runCli(['b2', 'list', '--profile', 'remote', '--config', world.config], {env: {...world.env, ...p.env}});
    expect({code: r.code, stderr: r.stderr}).toEqual({code: 0, stderr: ''});
    const mods = await p.modules();
    expect(mods.filter((m) => /\/node_modules\/(form-data|mime-types|mime-db)\/|\/node_modules\/lodash\/lodash\.js$/.test(m))).toEqual([]);
    expect(mods.filter((m) => /\/node_modules\/lodash\/(get|merge|isString)\.js$/.test(m)).map((m) => m.replace(/.*\//, '')).sort()).toEqual(['get.js', 'isString.js', 'merge.js']);
  });

  test("upload, download and list load no part of Node's fetch implementation (axios reads the global FormData and probes fetch as it loads; the build defers both)", async () => {
    const archive = join(world.dir, 'no-fetch.tar');
    await writeFile(archive, 'an archive for the internals probe');
    const remote = ['--profile', 'remote', '--config', world.config];
    const up = probed({internals: true});
    const uploaded = await runCli(['b2', 'upload', archive, '--name', 'no-fetch', '--json', ...remote], {env: {...world.env, ...up.env}});
    expect({code: uploaded.code, stderr: uploaded.stderr}).toEqual({code: 0, stderr: ''});
    const down = probed({internals: true});
    const {id} = JSON.parse(uploaded.stdout) as {id: string};
    expect((await runCli(['b2', 'download', id, '-o', join(world.dir, 'no-fetch-restored.tar'), ...remote], {env: {...world.env, ...down.env}})).code).toBe(0);
    const list = probed({internals: true});
    expect((await runCli(['b2', 'list', ...remote], {env: {...world.env, ...list.env}})).code).toBe(0);
    const loaded = {upload: await up.modules(), download: await down.modules(), list: await list.modules()};
    for (const mods of Object.values(loaded)) expect(httpStack(mods).length).toBeGreaterThan(0); // they did load axios
    expect({upload: undici(loaded.upload), download: undici(loaded.download), list: undici(loaded.list)}).toEqual({upload: [], download: [], list: []});
    // the probe sees undici in a process that does load it
    const control = probed({internals: true});
    expect((await runCli(['--version'], {env: {...control.env, NODE_OPTIONS: `${control.env.NODE_OPTIONS} --require=${join(repoRoot, 'test/fixtures/module-probe/touch-fetch.cjs')}`}})).code).toBe(0);
    expect(undici(await control.modules()).length).toBeGreaterThan(0);
  });

  test('the CLI runs here as in a user\'s shell, not in oclif\'s development mode: jest\'s NODE_ENV=test does not reach it (it made oclif load the TypeScript compiler in every run)', async () => {
    expect(process.env.NODE_ENV).toBe('test'); // what jest sets for the tests themselves
    const asUsers = probed({commonJs: true});
    expect((await runCli(['b2', 'list', '--profile', 'remote', '--config', world.config], {env: {...world.env, ...asUsers.env}})).code).toBe(0);
    const mods = await asUsers.modules();
    expect(mods.some((m) => m.includes('/node_modules/@oclif/core/'))).toBe(true); // the probe sees CommonJS modules
    expect(typescript(mods)).toEqual([]);
    const devMode = probed({commonJs: true});
    expect((await runCli(['b2', 'list', '--profile', 'remote', '--config', world.config], {env: {...world.env, ...devMode.env, NODE_ENV: 'test'}})).code).toBe(0);
    expect(typescript(await devMode.modules()).length).toBeGreaterThan(0);
  });

  test('--help loads no command module, no emulator and no HTTP stack', async () => {
    const p = probed();
    const r = await runCli(['--help'], {env: p.env});
    expect(r.code).toBe(0);
    const mods = await p.modules();
    expect(mods.filter((m) => m.includes('/dist/commands/'))).toEqual([]);
    expect(emulatorModules(mods)).toEqual([]);
    expect(httpStack(mods)).toEqual([]);
  });
});
