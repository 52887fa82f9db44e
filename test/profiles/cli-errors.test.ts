import {afterAll, beforeAll, describe, expect, test} from '@jest/globals';
import {chmod, mkdir, mkdtemp, readFile, readdir, rm, writeFile} from 'node:fs/promises';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {runCli} from '../helpers/run-cli.js';

// Malformed profile files and flag combinations, through the real CLI as a child
// process: each must fail with exactly one line naming file, line and field (or the
// flag), exit 2, and leave the profiles file byte for byte as it was.

const FIELDS = 'keyId, applicationKey, bucket, prefix, endpoint, partSize, concurrency, encryption, encryptionKey, bandwidth, retention, lock';
const BUCKET = 'a bucket name of 6..63 characters a-z, 0-9 and "-"';
const GOOD = `# my profiles
profiles:
  home:
    keyId: 0051234abcd0000000000001
    applicationKey: env:HOME_B2_KEY
    bucket: home-backups-123456
`;

interface Case {
  title: string;
  /** Content of profiles.yaml; undefined: no file. */
  file?: string;
  mode?: number;
  args: string[];
  /** Arguments after the --config the test adds (what follows a "--"). */
  after?: string[];
  env?: Record<string, string>;
  /** The whole stderr line after "Error: "; $F is the profiles file's path. */
  message: string;
}

const cases: Case[] = [
  {
    title: 'bad YAML syntax (a tab as indentation)',
    file: 'profiles:\n\thome:\n',
    args: ['list'],
    message: '$F:2: invalid YAML: Tabs are not allowed as indentation',
  },
  {
    title: 'bad YAML syntax (an unclosed quote)',
    file: GOOD + '    prefix: "ha\n',
    args: ['show', 'home'],
    message: '$F:7: invalid YAML: Missing closing "quote',
  },
  {
    title: 'a wrong type: concurrency is a word',
    file: GOOD + '    concurrency: four\n',
    args: ['list'],
    message: '$F:7: profiles.home.concurrency: expected an integer 1..64, got "four"',
  },
  {
    title: 'a wrong type: keyId that YAML reads as a number',
    file: GOOD.replace('0051234abcd0000000000001', '000123456789'),
    args: ['list'],
    message: '$F:4: profiles.home.keyId: expected a key ID (text without spaces), got 123456789 (YAML read it as a value, not text: put it in quotes)',
  },
  {
    title: 'an unknown field (a typo)',
    file: GOOD + '    buckett: other-bucket\n',
    args: ['list'],
    message: `$F:7: profiles.home.buckett: unknown field (did you mean "bucket"?); expected one of ${FIELDS}`,
  },
  {
    title: 'an unknown top-level section',
    file: 'version: 2\n' + GOOD,
    args: ['list', '--json'],
    message: '$F:1: version: unknown field; expected "profiles" and "default"',
  },
  {
    title: 'profiles is a list',
    file: 'profiles:\n  - home\n',
    args: ['list'],
    message: '$F:1: profiles: expected a mapping of profile names to profiles, got a list',
  },
  {
    title: 'a missing bucket',
    file: GOOD.replace('    bucket: home-backups-123456\n', ''),
    args: ['show', 'home'],
    message: `$F:3: profiles.home.bucket: missing, expected ${BUCKET}`,
  },
  {
    title: 'a bad bucket name',
    file: GOOD.replace('home-backups-123456', 'Home_Backups'),
    args: ['list'],
    message: `$F:6: profiles.home.bucket: expected ${BUCKET}, got "Home_Backups" (it contains "H")`,
  },
  {
    title: 'a prefix with a leading slash',
    file: GOOD + '    prefix: /backups\n',
    args: ['list'],
    message: '$F:7: profiles.home.prefix: expected a name prefix such as "backups/", got "/backups" (prefix starts with "/")',
  },
  {
    title: 'a part size below B2\'s minimum',
    file: GOOD + '    partSize: 1MB\n',
    args: ['list'],
    message: '$F:7: profiles.home.partSize: expected a size from 5MB to 5GB, such as 100MB, 100MiB or 100000000, got "1MB" (B2 parts must be at least 5MB)',
  },
  {
    title: 'an endpoint that is not http(s)',
    file: GOOD + '    endpoint: ftp://b2.example.com\n',
    args: ['list'],
    message: '$F:7: profiles.home.endpoint: expected an https:// or http:// URL, or "embedded", got "ftp://b2.example.com" (the scheme is ftp)',
  },
  {
    title: 'a duplicate profile in the file',
    file: GOOD + '  home:\n    keyId: x\n',
    args: ['list'],
    message: '$F:7: invalid YAML: Map keys must be unique',
  },
  {
    title: 'an env: key whose variable is unset',
    file: GOOD,
    args: ['check', 'home'],
    message: '$F:5: profiles.home.applicationKey: env:HOME_B2_KEY names an environment variable that is not set; set HOME_B2_KEY or change the profile',
  },
  {
    title: 'a file: key whose file is missing',
    file: GOOD.replace('env:HOME_B2_KEY', 'file:/nonexistent/b2.key'),
    args: ['check', 'home'],
    message: '$F:5: profiles.home.applicationKey: file:/nonexistent/b2.key cannot be read (no such file: /nonexistent/b2.key); create the file or change the profile',
  },
  {
    title: 'an inline key in a file others can read',
    file: GOOD.replace('env:HOME_B2_KEY', 'K005inlinesecretinlinesecret01'),
    mode: 0o644,
    args: ['list'],
    message:
      '$F:5: profiles.home.applicationKey: an inline application key in a file other users can read (mode 0644); run chmod 600 $F, or use env:NAME or file:PATH',
  },
  {
    title: 'only one of the two key override variables',
    file: GOOD,
    args: ['check', 'home'],
    env: {B2_APPLICATION_KEY_ID: '0051234abcd0000000000009'},
    message: "B2_APPLICATION_KEY_ID is set but B2_APPLICATION_KEY is not: together they replace the key of every B2 profile; set both, or unset B2_APPLICATION_KEY_ID (for a profile's own key from the environment use another name, e.g. applicationKey: env:B2_HOME_KEY)",
  },
  {
    title: 'add: a duplicate profile name',
    file: GOOD,
    args: ['add', 'home', '--key-id', 'k', '--application-key', 'env:X', '--bucket', 'other-bucket', '--no-check'],
    message: '$F:3: profiles.home: a profile with this name already exists; change it with "backup-b2 b2 profile update home --config $F" or remove it first',
  },
  {
    title: 'add: an invalid profile name',
    file: GOOD,
    args: ['add', 'my home', '--key-id', 'k', '--application-key', 'env:X', '--bucket', 'other-bucket', '--no-check'],
    message: 'profile name "my home": expected a profile name of 1..64 letters, digits, ".", "_" or "-", starting with a letter or digit',
  },
  {
    // "-" is allowed, but not first: such a name could not be typed as an argument (it reads as a flag)
    title: 'add: a profile name starting with "-" (given after --)',
    file: GOOD,
    args: ['add', '--key-id', 'k', '--application-key', 'env:X', '--bucket', 'other-bucket', '--no-check'],
    after: ['--', '-x'],
    message: 'profile name "-x": expected a profile name of 1..64 letters, digits, ".", "_" or "-", starting with a letter or digit',
  },
  {
    title: 'a profile name starting with "-" written in the file by hand',
    file: GOOD.replace('  home:', '  -home:'),
    args: ['list'],
    message: '$F:3: profiles.-home: expected a profile name of 1..64 letters, digits, ".", "_" or "-", starting with a letter or digit, got "-home"',
  },
  {
    title: 'add: missing values and no terminal to ask on',
    file: GOOD,
    args: ['add', 'office', '--bucket', 'office-backups', '--no-check'],
    message: 'missing --key-id, --application-key: give them as flags (no terminal to ask on)',
  },
  {
    title: 'add: a bad bucket and a bad prefix (first one reported, the other counted)',
    file: GOOD,
    args: ['add', 'office', '--key-id', 'k', '--application-key', 'env:X', '--bucket', 'b2-office', '--prefix', 'a//b', '--no-check'],
    message: `--bucket: expected ${BUCKET}, got "b2-office" (names starting with "b2-" are reserved by Backblaze) (and 1 more problem)`,
  },
  {
    title: 'add: a prefix with "//"',
    file: undefined,
    args: ['add', 'office', '--key-id', 'k', '--application-key', 'env:X', '--bucket', 'office-backups', '--prefix', 'a//b', '--no-check'],
    message: '--prefix: expected a name prefix such as "backups/", got "a//b" (prefix contains "//")',
  },
  {
    title: 'add: an endpoint that is not a URL',
    file: undefined,
    args: ['add', 'office', '--key-id', 'k', '--application-key', 'env:X', '--bucket', 'office-backups', '--endpoint', 'api.backblazeb2.com', '--no-check'],
    message: '--endpoint: expected an https:// or http:// URL, or "embedded", got "api.backblazeb2.com" (it is not a URL)',
  },
  {
    title: 'update: concurrency out of range',
    file: GOOD,
    args: ['update', 'home', '--concurrency', '65', '--no-check'],
    message: '--concurrency: expected an integer 1..64, got 65',
  },
  {
    title: 'update: a part size with an unknown unit',
    file: GOOD,
    args: ['update', 'home', '--part-size', '10XB', '--no-check'],
    message: '--part-size: expected a size from 5MB to 5GB, such as 100MB, 100MiB or 100000000, got "10XB" (unknown unit "XB" (use B, KB, MB, GB, TB, KiB, MiB, GiB or TiB))',
  },
  {
    title: 'update: an empty key ID',
    file: GOOD,
    args: ['update', 'home', '--key-id', '', '--no-check'],
    message: '--key-id: expected a key ID (text without spaces), got "" (it is empty)',
  },
  {
    title: 'update: nothing to change',
    file: GOOD,
    args: ['update', 'home', '--no-check'],
    message: 'nothing to update for profile "home": give at least one of --key-id, --application-key, --bucket, --prefix, --endpoint, --part-size, --concurrency, --encryption, --encryption-key',
  },
  {
    title: 'update: a profile that does not exist',
    file: GOOD,
    args: ['update', 'office', '--bucket', 'office-backups', '--no-check'],
    message: 'no profile named "office" in $F (profiles: home, local); add it with "backup-b2 b2 profile add office --config $F"',
  },
  {
    title: 'update: the built-in local profile',
    file: GOOD,
    args: ['update', 'local', '--bucket', 'office-backups', '--no-check'],
    message: 'profile "local" is built in and cannot be changed with update; define your own with "backup-b2 b2 profile add local --config $F"',
  },
  {
    title: 'check: B2_PROFILE names a profile that does not exist (the message says where the name came from)',
    file: GOOD,
    args: ['check'],
    env: {B2_PROFILE: 'office'},
    message: 'no profile named "office" (given by the environment variable B2_PROFILE: unset it or change it) in $F (profiles: home, local); add it with "backup-b2 b2 profile add office --config $F"',
  },
  {
    title: 'add: an inline SSE-C key that is not one is named by its flag (no line of a file not yet written), even with --no-check',
    file: GOOD,
    args: ['add', 'h2', '--key-id', 'k', '--application-key', 'env:X', '--bucket', 'other-bucket', '--encryption', 'SSE-C', '--encryption-key', 'notbase64', '--no-check'],
    message: '--encryption-key: not an SSE-C key: expected 256 bits in base64 (44 characters ending in "="), e.g. from: openssl rand -base64 32',
  },
  {
    title: 'update: an inline SSE-C key that is not one is named by its flag',
    file: GOOD,
    args: ['update', 'home', '--encryption', 'SSE-C', '--encryption-key', 'notbase64', '--no-check'],
    message: '--encryption-key: not an SSE-C key: expected 256 bits in base64 (44 characters ending in "="), e.g. from: openssl rand -base64 32',
  },
  {
    title: 'remove: a profile that does not exist (nothing to add: no "add it" hint)',
    file: GOOD,
    args: ['remove', 'office'],
    message: 'no profile named "office" in $F (profiles: home, local); choose one of them',
  },
  {
    title: 'default: a profile that does not exist (no "add it" hint)',
    file: GOOD,
    args: ['default', 'nosuch'],
    message: 'no profile named "nosuch" in $F (profiles: home, local); choose one of them',
  },
  {
    title: 'show: a mistyped profile name gets the close one',
    file: GOOD,
    args: ['show', 'hom'],
    message: 'no profile named "hom" in $F (profiles: home, local); did you mean "home"?',
  },
  {
    title: 'remove: a mistyped profile name gets the close one',
    file: GOOD,
    args: ['remove', 'homee'],
    message: 'no profile named "homee" in $F (profiles: home, local); did you mean "home"?',
  },
  {
    title: 'check: B2_PROFILE with a typo gets the close name and says where it came from',
    file: GOOD,
    args: ['check'],
    env: {B2_PROFILE: 'hme'},
    message: 'no profile named "hme" (given by the environment variable B2_PROFILE: unset it or change it) in $F (profiles: home, local); did you mean "home"?',
  },
  {
    title: 'show: a profile that does not exist (no file at all)',
    file: undefined,
    args: ['show', 'home'],
    message: '$F (given by --config or B2_BACKUP_CONFIG) does not exist; fix the path, or create the file with "backup-b2 b2 profile add NAME --config $F"',
  },
];

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'profile-cli-errors-'));
});
afterAll(async () => {
  await rm(root, {recursive: true, force: true});
});

describe('b2 profile refuses bad input with one line, exit 2, and no change on disk', () => {
  test('there are at least 15 cases', () => {
    expect(cases.length).toBeGreaterThanOrEqual(15);
  });

  test.concurrent.each(cases.map((c, i) => [c.title, c, i] as const))('%s', async (_title, c, i) => {
    const dir = join(root, `case-${i}`);
    await mkdir(dir);
    const path = join(dir, 'profiles.yaml');
    if (c.file !== undefined) {
      await writeFile(path, c.file);
      await chmod(path, c.mode ?? 0o600);
    }
    const before = c.file === undefined ? undefined : await readFile(path);

    const result = await runCli(['b2', 'profile', ...c.args, '--config', path, ...(c.after ?? [])], {env: c.env});

    expect(result.stderr).toBe(`Error: ${c.message.replaceAll('$F', path)}\n`);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    if (before === undefined) expect(await readdir(dir)).toEqual([]);
    else {
      expect(await readFile(path)).toEqual(before);
      expect(await readdir(dir)).toEqual(['profiles.yaml']); // no temp file left behind
    }
  });
});

describe('a file: key given as a flag', () => {
  test('a relative path is from where the command runs, and is written down absolute', async () => {
    const dir = join(root, 'relative-key');
    const here = join(dir, 'here');
    await mkdir(here, {recursive: true});
    const path = join(dir, 'conf', 'profiles.yaml');
    await writeFile(join(here, 'goodkey'), 'K005keyinafilekeyinafile01\n', {mode: 0o600});
    const added = await runCli(['b2', 'profile', 'add', 'h3', '--key-id', 'k', '--application-key', 'file:goodkey', '--bucket', 'other-bucket', '--no-check', '--config', path], {cwd: here});
    expect({code: added.code, stderr: added.stderr}).toEqual({code: 0, stderr: ''});
    expect(await readFile(path, 'utf8')).toContain(`applicationKey: file:${join(here, 'goodkey')}`);
  });

  test('one that cannot be read fails the check with one line naming the flag, and nothing is saved', async () => {
    const dir = join(root, 'missing-key');
    await mkdir(dir, {recursive: true});
    const path = join(dir, 'profiles.yaml');
    const r = await runCli(['b2', 'profile', 'add', 'h4', '--key-id', 'k', '--application-key', 'file:missing', '--bucket', 'other-bucket', '--config', path], {cwd: dir});
    expect(r.stderr).toBe(`Error: --application-key: file:${join(dir, 'missing')} cannot be read (no such file: ${join(dir, 'missing')}); create the file or change the profile\n`);
    expect(r.code).toBe(2);
    expect(await readdir(dir)).toEqual([]);
  });
});

describe('a mistyped --profile or --to (real CLI)', () => {
  const run = async (args: string[]) => {
    const dir = await mkdtemp(join(root, 'typo-'));
    const path = join(dir, 'profiles.yaml');
    await writeFile(path, GOOD, {mode: 0o600});
    const r = await runCli(['b2', ...args, '--config', path]);
    return {code: r.code, stderr: r.stderr.replaceAll(path, '$F')};
  };

  test('list --profile hom: did you mean "home"', async () => {
    expect(await run(['list', '--profile', 'hom'])).toEqual({code: 2, stderr: 'Error: no profile named "hom" in $F (profiles: home, local); did you mean "home"?\n'});
  });

  test('copy --to: the message says it is the --to profile, and adds nothing', async () => {
    expect(await run(['copy', 'abcd1234', '--profile', 'local', '--to', 'nosuch'])).toEqual({code: 2, stderr: 'Error: no profile named "nosuch" (given by --to) in $F (profiles: home, local); add it with "backup-b2 b2 profile add nosuch --config $F"\n'});
    expect(await run(['copy', 'abcd1234', '--profile', 'local', '--to', 'hom'])).toEqual({code: 2, stderr: 'Error: no profile named "hom" (given by --to) in $F (profiles: home, local); did you mean "home"?\n'});
  });

  test('an empty --profile or --to (a script\'s unset variable) is named, never taken for the only or default profile', async () => {
    expect(await run(['list', '--profile', ''])).toEqual({code: 2, stderr: 'Error: no profile named "" in $F (profiles: home, local); choose one of them\n'});
    expect(await run(['copy', 'abcd1234', '--profile', 'local', '--to', ''])).toEqual({code: 2, stderr: 'Error: no profile named "" (given by --to) in $F (profiles: home, local); choose one of them\n'});
  });
});
