import {afterAll, beforeAll, describe, expect, test} from '@jest/globals';
import {mkdtemp, rm, writeFile} from 'node:fs/promises';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {runCli} from '../helpers/run-cli.js';

// What a new user meets first, through the real CLI as a child process (no B2 needed):
// each mistake gets one line that says what is wrong and how to fix it, in terms of the
// command that was run.

let dir: string;
const config = () => join(dir, 'two.yaml');
const b2 = (args: string[], env: Record<string, string> = {}) => runCli(['b2', ...args], {env, cwd: dir});

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'first-run-'));
  const profile = (n: string) => `  ${n}:\n    keyId: 0051234abcd000000000000${n === 'a' ? 1 : 2}\n    applicationKey: env:KEY_${n}\n    bucket: bucket-${n}-123456\n`;
  await writeFile(config(), `profiles:\n${profile('a')}${profile('b')}`, {mode: 0o600});
});

afterAll(async () => {
  await rm(dir, {recursive: true, force: true});
});

describe('several profiles and no default: the hint names how this command takes a profile', () => {
  test('profile check (NAME is an argument, it has no --profile flag)', async () => {
    const r = await b2(['profile', 'check', '--config', config()]);
    expect({code: r.code, stdout: r.stdout}).toEqual({code: 2, stdout: ''});
    expect(r.stderr).toMatch(/^Error: [^\n]+ has 2 profiles \(a, b\); choose one with "backup-b2 b2 profile check NAME --config \S+" or env B2_PROFILE, or set a default with "[^"\n]*profile default NAME --config \S+"\n$/);
    // both name the profiles file the command was given: without it they would act on another one
    const [, checkConfig, defaultConfig] = /choose one with "[^"]* --config (\S+)".*--config (\S+)"/.exec(r.stderr) ?? [];
    expect([checkConfig, defaultConfig]).toEqual([config(), config()]);
    expect(r.stderr).not.toContain('--profile');
  });

  test('diagnostics and list (they take --profile NAME)', async () => {
    for (const command of [['diagnostics'], ['list']]) {
      const r = await b2([...command, '--config', config()]);
      expect({command, code: r.code}).toEqual({command, code: 2});
      expect(r.stderr).toContain('choose one with --profile NAME or env B2_PROFILE');
    }
  });
});

describe('a command run without its required argument: one line saying what is missing and where to find it, exit 2', () => {
  test.each([
    [['download'], 'missing the backup ID: "backup-b2 b2 list" shows them (a unique prefix of one, or "latest" for the newest, will do too)'],
    [['delete'], 'missing the backup ID: "backup-b2 b2 list" shows them (a unique prefix of one, or "latest" for the newest, will do too)'],
    [['upload'], 'missing the archive to upload: give its path, or - to read it from stdin (e.g. "backup-b2 b2 upload ./backup.tar")'],
    [['profile', 'add'], 'missing the name of the new profile (letters, digits, ".", "_", "-"), e.g. "backup-b2 b2 profile add home"'],
    [['profile', 'show'], 'missing the profile name: "backup-b2 b2 profile list" shows them'],
  ])('%j', async (args, line) => {
    const r = await b2([...args, '--config', config()]);
    expect(r).toEqual({code: 2, stdout: '', stderr: `Error: ${line}\n`});
  });
});
