import {afterAll, beforeAll, describe, expect, test} from '@jest/globals';
import {execFile} from 'node:child_process';
import {mkdtemp, readFile, readdir, rm} from 'node:fs/promises';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {cleanEnv, repoRoot} from '../helpers/host-cli.js';
import {runCli} from '../helpers/run-cli.js';

// oclif conventions: typos get a suggestion written as typed, -h for --help, shell completion, the
// emulator's fixed port and own flags, a LICENSE, and no experimental warnings in tests.

let dir: string;
let env: Record<string, string>;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'b2-oclif-'));
  env = {XDG_CONFIG_HOME: join(dir, 'config'), XDG_DATA_HOME: join(dir, 'data'), XDG_CACHE_HOME: join(dir, 'cache')};
});
afterAll(async () => {
  await rm(dir, {recursive: true, force: true});
});

describe('a mistyped command', () => {
  test.each([
    [['b2', 'uplod', 'x'], '"backup-b2 b2 uplod …" is not a command; did you mean "backup-b2 b2 upload"? run "backup-b2 b2 --help" to see the commands'],
    [['b2', 'profile', 'lst'], '"backup-b2 b2 profile lst" is not a command; did you mean "backup-b2 b2 profile list"? run "backup-b2 b2 --help" to see the commands'],
    [['b2', 'frobnicate'], '"backup-b2 b2 frobnicate" is not a command; run "backup-b2 b2 --help" to see the commands'],
  ])('%j: one line, spaces not colons, the nearest command suggested, what follows it not repeated, exit 2', async (args, message) => {
    const r = await runCli(args, {env});
    expect(r).toEqual({code: 2, stdout: '', stderr: `Error: ${message}\n`});
  });
});

test('-h is --help (package.json additionalHelpFlags): the same help for the topic and its commands, and no command takes -h for a flag', async () => {
  for (const args of [['b2'], ['b2', 'list'], ['b2', 'upload', 'x.tar']]) {
    const short = await runCli([...args, '-h'], {env});
    expect(short).toEqual(await runCli([...args, '--help'], {env}));
    expect(short).toMatchObject({code: 0, stderr: '', stdout: expect.stringContaining('USAGE')});
  }
  const manifest = JSON.parse(await readFile(join(repoRoot, 'oclif.manifest.json'), 'utf8')) as {commands: Record<string, {flags: Record<string, {char?: string}>}>};
  const takingH = Object.entries(manifest.commands).flatMap(([id, c]) => Object.entries(c.flags).filter(([, f]) => f.char === 'h').map(([name]) => `${id} --${name}`));
  expect(takingH).toEqual([]);
});

test('shell completion: "autocomplete bash" sets it up and the completion knows the b2 commands', async () => {
  const setup = await runCli(['autocomplete', 'bash'], {env});
  expect(setup.code).toBe(0);
  expect(setup.stdout).toContain('backup-b2 autocomplete script bash');
  const functions = join(dir, 'cache', 'backup-plugin-b2', 'autocomplete', 'functions', 'bash');
  const script = await readFile(join(functions, (await readdir(functions))[0]), 'utf8');
  for (const id of ['b2:upload', 'b2:profile:default', 'b2:local:info']) expect(script).toContain(id);
});

test('b2 emulator: a fixed default port (8180), and no --config (it reads no profiles)', async () => {
  const help = await runCli(['b2', 'emulator', '--help'], {env});
  expect(help.code).toBe(0);
  expect(help.stdout).toMatch(/--port=<value>\s+\[default: 8180\]/);
  expect(help.stdout).not.toContain('--config');
  const refused = await runCli(['b2', 'emulator', '--config', 'x.yaml'], {env});
  expect(refused.code).toBe(2);
  expect(refused.stderr).toMatch(/^Error: Nonexistent flag: --config/);
});

test('LICENSE is the MIT license package.json names, and it ships', async () => {
  const pkg = JSON.parse(await readFile(join(repoRoot, 'package.json'), 'utf8'));
  expect(pkg.license).toBe('MIT');
  expect(pkg.files).toContain('LICENSE');
  expect(await readFile(join(repoRoot, 'LICENSE'), 'utf8')).toMatch(/^MIT License\n\nCopyright \(c\) \d{4} /);
});

test('test:jest runs node so that VM modules print no ExperimentalWarning', async () => {
  const pkg = JSON.parse(await readFile(join(repoRoot, 'package.json'), 'utf8'));
  const nodeOptions = /NODE_OPTIONS="([^"]+)"/.exec(pkg.scripts['test:jest'])?.[1];
  expect(nodeOptions).toContain('--experimental-vm-modules');
  const stderr = await new Promise<string>((resolve, reject) =>
    execFile(process.execPath, ['-e', "new (require('node:vm').SourceTextModule)('export default 1')"], {env: {...cleanEnv(), NODE_OPTIONS: nodeOptions}}, (err, _out, errOut) => (err ? reject(err) : resolve(errOut))),
  );
  expect(stderr).toBe('');
});
