import {afterAll, beforeAll, describe, expect, test} from '@jest/globals';
import {randomBytes} from 'node:crypto';
import {mkdtemp, readFile, rm} from 'node:fs/promises';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {runCli, type CliResult} from '../helpers/run-cli.js';
import {hasPty, onTerminal} from '../helpers/terminal.js';

// `profile remove` of a profile holding its SSE-C key inline removes the only copy of the
// key (B2 keeps none), and so does a `profile update` that gives it another key or none:
// refused without --yes off a terminal (exit 2, the file untouched), asked on one; a
// profile whose key lives elsewhere (env:, file:) or in another profile too goes as before. The real CLI; no bucket is needed (--no-check).

const SSE_C_KEY = randomBytes(32).toString('base64');
let dir: string;
let config: string;
const outputs: CliResult[] = [];

async function profile(args: string[]): Promise<CliResult> {
  const r = await runCli(['b2', 'profile', ...args, '--config', config]);
  outputs.push(r);
  return r;
}

async function add(name: string, encryptionKey: string): Promise<void> {
  const r = await profile(['add', name, '--key-id', '0051234abcd0000000000001', '--application-key', 'env:B2_KEY', '--bucket', 'home-backups-123456', '--prefix', `${name}/`, '--encryption', 'SSE-C', '--encryption-key', encryptionKey, '--no-check']);
  expect(r.code).toBe(0);
}

const names = async () => Object.keys(((await import('yaml')).parse(await readFile(config, 'utf8')) as {profiles: Record<string, unknown>}).profiles);

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'profile-remove-key-'));
  config = join(dir, 'profiles.yaml');
});
afterAll(async () => {
  for (const r of outputs) expect(`${r.stdout}${r.stderr}`).not.toContain(SSE_C_KEY);
  await rm(dir, {recursive: true, force: true});
});

describe('profile remove of the only copy of an SSE-C key', () => {
  test('off a terminal without --yes: exit 2, one line saying why and how, the profile kept; --yes removes it', async () => {
    await add('sc', SSE_C_KEY);
    const r = await profile(['remove', 'sc']);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(
      `Error: refusing to remove without confirmation: profile "sc" holds its SSE-C key (encryptionKey) inline, the only copy: B2 keeps none, so backups uploaded with it could never be downloaded again; keep a copy of the key first (it is in ${config}), then run "backup-b2 b2 profile remove sc --yes --config ${config}"\n`,
    );
    expect(await names()).toContain('sc');
    expect(await profile(['remove', 'sc', '--yes'])).toMatchObject({code: 0, stdout: `Removed profile "sc" from ${config}\n`});
    expect(await names()).not.toContain('sc');
  });

  test('a key from env: (it lives elsewhere), or inline in another profile too: removed without asking', async () => {
    await add('fromenv', 'env:SSE_C_KEY');
    expect(await profile(['remove', 'fromenv'])).toMatchObject({code: 0});
    await add('one', SSE_C_KEY);
    await add('two', SSE_C_KEY);
    expect(await profile(['remove', 'one'])).toMatchObject({code: 0});
    expect(await profile(['remove', 'two'])).toMatchObject({code: 2}); // now the only copy
    expect(await names()).toEqual(['two']);
    expect(await profile(['remove', 'two', '--yes'])).toMatchObject({code: 0});
  });
});

describe('profile update that replaces or drops the only copy of an SSE-C key', () => {
  test('off a terminal without --yes: exit 2, the profile kept as it was; another key from env:, or --yes, goes through', async () => {
    await add('upd', SSE_C_KEY);
    const before = await readFile(config, 'utf8');
    for (const change of [['--encryption-key', randomBytes(32).toString('base64')], ['--encryption', 'SSE-B2', '--encryption-key', '']]) {
      const r = await profile(['update', 'upd', ...change, '--no-check']);
      expect(r).toMatchObject({code: 2, stdout: ''});
      expect(r.stderr).toBe(`Error: refusing to change its SSE-C key without confirmation: profile "upd" holds its SSE-C key (encryptionKey) inline, the only copy: B2 keeps none, so backups uploaded with it could never be downloaded again; keep a copy of the key first (it is in ${config}), then run the same command with --yes\n`);
      expect(await readFile(config, 'utf8')).toBe(before);
    }
    // a change that keeps the key asks nothing
    expect(await profile(['update', 'upd', '--concurrency', '3', '--no-check'])).toMatchObject({code: 0});
    expect(await profile(['update', 'upd', '--encryption-key', 'env:SSE_C_KEY', '--yes', '--no-check'])).toMatchObject({code: 0});
    // the key now lives in the environment: nothing of it is lost here
    expect(await profile(['update', 'upd', '--encryption-key', 'env:OTHER_KEY', '--no-check'])).toMatchObject({code: 0});
    expect(await profile(['remove', 'upd'])).toMatchObject({code: 0});
  });
});

(hasPty ? describe : describe.skip)('on a terminal (needs python3)', () => {
  test('it asks: "n" keeps the profile (exit 0, a plain line), "y" removes it', async () => {
    await add('asked', SSE_C_KEY);
    const no = await onTerminal(['b2', 'profile', 'remove', 'asked', '--config', config], {cols: 400, steps: [{wait: 'Remove it, key and all?'}, {send: 'n\r'}]});
    expect(no.code).toBe(0);
    expect(no.output).toContain('Kept profile "asked"; nothing was changed.');
    expect(await names()).toContain('asked');
    const yes = await onTerminal(['b2', 'profile', 'remove', 'asked', '--config', config], {cols: 400, steps: [{wait: 'Remove it, key and all?'}, {send: 'y\r'}]});
    expect(yes.code).toBe(0);
    expect(yes.output).toContain('Removed profile "asked"');
    expect(await names()).not.toContain('asked');
  });

  test('profile update asks before it replaces the only copy: "n" keeps the profile as it was (exit 0)', async () => {
    await add('asked-update', SSE_C_KEY);
    const before = await readFile(config, 'utf8');
    const no = await onTerminal(['b2', 'profile', 'update', 'asked-update', '--encryption', 'SSE-B2', '--encryption-key', '', '--no-check', '--config', config], {cols: 400, steps: [{wait: 'Change it anyway?'}, {send: 'n\r'}]});
    expect(no.code).toBe(0);
    expect(no.output).toContain('Kept profile "asked-update" as it was; nothing was changed.');
    expect(await readFile(config, 'utf8')).toBe(before);
  });
});
