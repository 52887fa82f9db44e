import {afterAll, beforeAll, describe, expect, test} from '@jest/globals';
import {existsSync} from 'node:fs';
import {appendFile, mkdtemp, readFile, rm, writeFile} from 'node:fs/promises';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {runCli} from '../helpers/run-cli.js';

// Where things are: the profiles file's path, a --config that does not exist, the default
// profile, the embedded store's directory and size; and inline keys never shown.

const SECRET = 'QxZ7Wv9JqK3XzP8';
let dir: string;
let env: Record<string, string>;
let config: string;
const b2 = (args: string[], extra: Record<string, string> = {}) => runCli(['b2', ...args], {env: {...env, ...extra}, cwd: dir});
/** Profile NAME on the embedded store (bucket NAME-backups) as `profile add NAME --key-id embedded --application-key embedded --endpoint embedded` saves it, as lines of the profiles mapping. */
const embeddedProfile = (name: string) => `  ${name}:\n    keyId: embedded\n    applicationKey: embedded\n    bucket: ${name}-backups\n    endpoint: embedded\n`;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'b2-finding-'));
  env = {XDG_CONFIG_HOME: join(dir, 'config'), XDG_DATA_HOME: join(dir, 'data'), XDG_CACHE_HOME: join(dir, 'cache')};
  config = join(dir, 'profiles.yaml');
});

afterAll(async () => {
  await rm(dir, {recursive: true, force: true});
});

describe('the embedded local store', () => {
  test('local info shows its directory, size and backup count', async () => {
    const before = JSON.parse((await b2(['local', 'info', '--json'])).stdout);
    expect(before).toEqual({directory: join(dir, 'data', 'backup-plugin-b2', 'embedded-b2'), exists: false, size: 0, backups: 0});
    await writeFile(join(dir, 'b.tar'), Buffer.alloc(300_000, 7));
    expect((await b2(['upload', join(dir, 'b.tar'), '--profile', 'local'])).code).toBe(0);
    const after = JSON.parse((await b2(['local', 'info', '--json'])).stdout);
    expect(after).toMatchObject({exists: true, backups: 1});
    expect(after.size).toBeGreaterThanOrEqual(300_000);
    const human = await b2(['local', 'info']);
    expect(human.stdout).toMatch(new RegExp(`^directory  ${before.directory.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\nsize       .* \\(\\d+ bytes\\)\\nbackups    1\\n$`));
  });
});

describe('the profiles file', () => {
  test('profile path prints where it is, existing or not (default location, --config, B2_BACKUP_CONFIG)', async () => {
    const byDefault = await b2(['profile', 'path']);
    expect(byDefault).toMatchObject({code: 0, stdout: `${join(dir, 'config', 'backup-plugin-b2', 'profiles.yaml')}\n`});
    expect(byDefault.stderr).toContain('not created yet');
    expect(JSON.parse((await b2(['profile', 'path', '--json', '--config', config])).stdout)).toEqual({path: config, exists: false});
    const byEnv = await b2(['profile', 'path'], {B2_BACKUP_CONFIG: config});
    expect(byEnv.stdout).toBe(`${config}\n`);
    // the add it names creates that file, not the default one
    expect(byEnv.stderr).toBe(`(not created yet; "backup-b2 b2 profile add --config ${config}" creates it)\n`);
  });

  // /proc takes no new entries, even from root, whom no permission stops (Linux)
  (existsSync('/proc/self') ? test : test.skip)('profile path and list of a file whose folder cannot be created say so, not that profile add creates it', async () => {
    const why = 'not created yet, and it cannot be: cannot create /proc/x/backup-plugin-b2: no such file or directory, or its directory takes no new files (ENOENT); choose another place for it with --config or B2_BACKUP_CONFIG';
    const path = await b2(['profile', 'path'], {XDG_CONFIG_HOME: '/proc/x'});
    expect(path).toMatchObject({code: 0, stdout: '/proc/x/backup-plugin-b2/profiles.yaml\n', stderr: `(${why})\n`});
    const list = await b2(['profile', 'list'], {XDG_CONFIG_HOME: '/proc/x'});
    expect(list).toMatchObject({code: 0, stdout: expect.stringContaining(`\n\nProfiles file: /proc/x/backup-plugin-b2/profiles.yaml (${why})\n`)});
    const add = await b2(['profile', 'add', 'home', '--key-id', 'embedded', '--application-key', 'embedded', '--endpoint', 'embedded', '--bucket', 'home-backups'], {XDG_CONFIG_HOME: '/proc/x'});
    expect(add).toMatchObject({code: 2, stderr: expect.stringMatching(/^Error: cannot write \/proc\/x\/backup-plugin-b2\/profiles\.yaml: .*\(ENOENT\)/)});
  });

  test('a --config (or B2_BACKUP_CONFIG) file that does not exist is an error (exit 2), except for profile add, which creates it', async () => {
    const missing = join(dir, 'no-such.yaml');
    await writeFile(join(dir, 'x.tar'), 'an archive');
    for (const args of [['list'], ['profile', 'list'], ['profile', 'show', 'local'], ['upload', join(dir, 'x.tar')]]) {
      const r = await b2([...args, '--config', missing]);
      expect({args, code: r.code, stderr: r.stderr}).toEqual({args, code: 2, stderr: `Error: ${missing} (given by --config or B2_BACKUP_CONFIG) does not exist; fix the path, or create the file with "backup-b2 b2 profile add NAME --config ${missing}"\n`});
    }
    expect((await b2(['list'], {B2_BACKUP_CONFIG: missing})).stderr).toContain('(given by --config or B2_BACKUP_CONFIG) does not exist');
    const added = await b2(['profile', 'add', 'home', '--key-id', '0051234abcd0000000000001', '--application-key', SECRET, '--bucket', 'home-backups-123456', '--no-check', '--config', config]);
    expect(added).toMatchObject({code: 0, stdout: `Added profile "home" to ${config}\n`});
  });

  test('profile list shows the file, in the table and in --json', async () => {
    const human = await b2(['profile', 'list', '--config', config]);
    expect(human.stdout).toContain(`\nProfiles file: ${config}\n`);
    const json = JSON.parse((await b2(['profile', 'list', '--json', '--config', config])).stdout) as Array<{name: string; file: string | null}>;
    expect(json.map((p) => [p.name, p.file])).toEqual([['home', config], ['local', null]]);
  });

  test('an inline key is never shown, not even in part', async () => {
    for (const args of [['profile', 'show', 'home'], ['profile', 'show', 'home', '--json'], ['profile', 'list', '--json']]) {
      const r = await b2([...args, '--config', config]);
      expect(r.code).toBe(0);
      expect(r.stdout).toContain('(inline, redacted)');
      for (let i = 0; i + 3 <= SECRET.length; i++) expect(r.stdout).not.toContain(SECRET.slice(i, i + 3));
    }
  });
});

describe('the default profile', () => {
  test('profile default NAME is stored in the file and used when there are several; removing it clears it', async () => {
    // the scene, not the subject: two more profiles, written where `profile add` puts them (the file ends in its profiles)
    expect(await readFile(config, 'utf8')).toMatch(/(?:^|\n)profiles:\n(?: {2}.*\n)+$/);
    await appendFile(config, embeddedProfile('office') + embeddedProfile('attic'));
    const ambiguous = await b2(['list', '--config', config]);
    expect(ambiguous.code).toBe(2);
    expect((await b2(['profile', 'default', '--config', config])).stdout).toMatch(/^\(none: \d+ profiles and no default, so each command needs --profile NAME or env B2_PROFILE\)\n$/);
    expect(ambiguous.stderr).toContain(`set a default with "backup-b2 b2 profile default NAME --config ${config}"`);

    expect(await b2(['profile', 'default', 'office', '--config', config])).toMatchObject({code: 0, stdout: `Default profile is now "office" (in ${config})\n`});
    expect(await readFile(config, 'utf8')).toMatch(/^default: office$/m);
    expect((await b2(['profile', 'default', '--config', config])).stdout).toBe('office\n');
    expect((await b2(['profile', 'list', '--config', config])).stdout).toMatch(/^office \(default\)\s+office-backups/m);

    await writeFile(join(dir, 'a.tar'), 'to the default profile');
    const up = await b2(['upload', join(dir, 'a.tar'), '--name', 'dflt', '--config', config]);
    expect(up.code).toBe(0);
    const id = up.stdout.trim();
    expect((await b2(['list', '--config', config])).stdout).toContain(id);
    expect((await b2(['list', '--profile', 'attic', '--config', config])).stdout).not.toContain(id);

    const unknown = await b2(['profile', 'default', 'nope', '--config', config]);
    expect(unknown.code).toBe(2);
    expect(await b2(['profile', 'remove', 'office', '--config', config])).toMatchObject({code: 0});
    expect(await readFile(config, 'utf8')).not.toMatch(/^default:/m);
    const solo = join(dir, 'solo.yaml');
    await writeFile(solo, `profiles:\n${embeddedProfile('solo')}`, {mode: 0o600});
    expect((await b2(['profile', 'default', '--config', solo])).stdout).toBe('(none: the only profile, "solo", is used)\n');
  });
});

