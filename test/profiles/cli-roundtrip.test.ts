import {afterAll, beforeAll, describe, expect, test} from '@jest/globals';
import {mkdtemp, readFile, rm, stat, writeFile} from 'node:fs/promises';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {runCli, type CliResult} from '../helpers/run-cli.js';

// The happy paths through the real CLI: add, list --json, show, update, remove; the file
// stays 0600, comments survive, and the application key never reaches the output.

const SECRET = 'K005roundtripSECRETroundtripSECRET';
let dir: string;
const outputs: CliResult[] = [];

async function cli(args: string[], env: Record<string, string> = {}): Promise<CliResult> {
  const result = await runCli(['b2', 'profile', ...args], {env});
  outputs.push(result);
  return result;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'profile-cli-'));
});
afterAll(async () => {
  await rm(dir, {recursive: true, force: true});
});

describe('b2 profile round trip', () => {
  test('add, list, show, update, remove', async () => {
    const path = join(dir, 'nested/dir/profiles.yaml');
    const config = ['--config', path];

    const added = await cli(['add', 'home', '--key-id', '0051234abcd0000000000001', '--application-key', SECRET, '--bucket', 'home-backups-123456', '--prefix', 'ha', '--no-check', ...config]);
    expect(added).toEqual({code: 0, stdout: `Added profile "home" to ${path}\n`, stderr: ''});
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    // the new file's comment names this CLI's command, not Backblaze's own "b2"
    expect(await readFile(path, 'utf8')).toMatch(/^# Backblaze B2 backup profiles \(see "backup-b2 b2 profile --help"\)\.\n/);

    const office = await cli(['add', 'office', '--key-id', 'k2', '--application-key', 'env:OFFICE_KEY', '--bucket', 'home-backups-123456', '--prefix', 'ha/office', '--part-size', '100MiB', '--concurrency', '8', '--no-check', ...config]);
    expect(office.code).toBe(0);
    expect(office.stderr).toBe(
      'Warning: profiles "office" and "home" both use bucket home-backups-123456 with overlapping prefixes "ha/office/" and "ha/"; their backups would overwrite each other, give each its own prefix\n',
    );

    const list = await cli(['list', '--json', ...config]);
    expect(list.code).toBe(0);
    expect(JSON.parse(list.stdout)).toEqual([
      {name: 'home', source: 'file', file: path, default: false, keyId: '0051234abcd0000000000001', applicationKey: '(inline, redacted)', bucket: 'home-backups-123456', prefix: 'ha/', endpoint: 'https://api.backblazeb2.com', partSize: null, concurrency: 4, retention: null},
      {name: 'office', source: 'file', file: path, default: false, keyId: 'k2', applicationKey: 'env:OFFICE_KEY', bucket: 'home-backups-123456', prefix: 'ha/office/', endpoint: 'https://api.backblazeb2.com', partSize: 104_857_600, concurrency: 8, retention: null},
      {name: 'local', source: 'builtin', file: null, default: false, keyId: 'embedded', applicationKey: '(inline, redacted)', bucket: 'local-backups', prefix: '', endpoint: 'embedded', partSize: null, concurrency: 4, retention: null},
    ]);

    const table = await cli(['list', ...config]);
    expect(table.stdout.split('\n')[0]).toMatch(/^NAME\s+BUCKET\s+PREFIX\s+ENDPOINT$/);
    expect(table.stdout).toMatch(/^local \(built in\)\s+local-backups\s+embedded$/m);
    expect(table.stdout.endsWith(`\n\nProfiles file: ${path}\n`)).toBe(true);

    // A comment the user wrote by hand survives the CLI's edits.
    await writeFile(path, (await readFile(path, 'utf8')).replace('  office:', '  # the office NAS\n  office:'));

    const updated = await cli(['update', 'office', '--part-size', '200MB', '--prefix', 'office', '--no-check', ...config]);
    expect(updated).toEqual({code: 0, stdout: `Updated profile "office" in ${path}\n`, stderr: ''});
    expect(await readFile(path, 'utf8')).toContain('  # the office NAS\n  office:\n    keyId: k2\n    applicationKey: env:OFFICE_KEY\n    bucket: home-backups-123456\n    prefix: office/\n    partSize: 200MB\n');

    const shown = await cli(['show', 'office', '--json', ...config]);
    expect(JSON.parse(shown.stdout)).toMatchObject({name: 'office', prefix: 'office/', partSize: 200_000_000, concurrency: 8});
    const human = await cli(['show', 'home', ...config]);
    expect(human.stdout).toBe(
      [
        'name            home',
        `file            ${path}`,
        'keyId           0051234abcd0000000000001',
        'applicationKey  (inline, redacted)',
        'bucket          home-backups-123456',
        'prefix          ha/',
        'endpoint        https://api.backblazeb2.com',
        'partSize        (server recommended)',
        'concurrency     4',
        'retention       (none: backups are kept until deleted)',
        '',
      ].join('\n'),
    );

    const removed = await cli(['remove', 'office', ...config]);
    expect(removed).toEqual({code: 0, stdout: `Removed profile "office" from ${path}\n`, stderr: ''});
    const after = await cli(['list', '--json', ...config]);
    expect(JSON.parse(after.stdout).map((p: {name: string}) => p.name)).toEqual(['home', 'local']);
    expect((await stat(path)).mode & 0o777).toBe(0o600);
  });

  test('B2_BACKUP_CONFIG, then <config dir>/profiles.yaml, locate the file when --config is absent', async () => {
    const viaEnv = join(dir, 'env.yaml');
    const byEnv = await cli(['add', 'env', '--key-id', 'k', '--application-key', SECRET, '--bucket', 'env-backups', '--no-check'], {B2_BACKUP_CONFIG: viaEnv});
    expect(byEnv.stdout).toBe(`Added profile "env" to ${viaEnv}\n`);

    const xdg = join(dir, 'xdg');
    const byDefault = await cli(['add', 'dflt', '--key-id', 'k', '--application-key', 'env:K', '--bucket', 'default-backups', '--no-check'], {XDG_CONFIG_HOME: xdg});
    const expected = join(xdg, 'backup-plugin-b2', 'profiles.yaml');
    expect(byDefault.stdout).toBe(`Added profile "dflt" to ${expected}\n`);
    expect(await readFile(expected, 'utf8')).toContain('  dflt:\n');
  });

  test('the application key never appears in any output', () => {
    expect(outputs.length).toBeGreaterThan(5);
    for (const {stdout, stderr} of outputs) expect(stdout + stderr).not.toContain(SECRET);
  });
});
