import {afterAll, beforeAll, describe, expect, test} from '@jest/globals';
import {chmod, mkdtemp, readFile, rm, stat, writeFile} from 'node:fs/promises';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {isBackupError} from '../../src/errors.js';
import {loadProfile} from '../../src/profiles/index.js';
import {profilesFilePath} from '../../src/profiles/location.js';
import {ProfileStore} from '../../src/profiles/store.js';

let dir: string;
let n = 0;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'profiles-store-'));
});
afterAll(async () => {
  await rm(dir, {recursive: true, force: true});
});

/** A fresh profiles file with the given text (mode 0600), and its path. */
async function file(text: string | undefined, mode = 0o600): Promise<string> {
  const path = join(dir, `p${++n}.yaml`);
  if (text !== undefined) {
    await writeFile(path, text);
    await chmod(path, mode);
  }
  return path;
}

const HOME = `profiles:
  home:
    keyId: 0051234abcd0000000000001
    applicationKey: K005secretsecretsecretsecret01
    bucket: home-backups-123456
`;

async function configError(promise: Promise<unknown> | (() => unknown)): Promise<string> {
  try {
    await (typeof promise === 'function' ? promise() : promise);
  } catch (err) {
    if (isBackupError(err, 'config')) return err.message;
    throw err;
  }
  throw new Error('expected a config error');
}

describe('locating the file', () => {
  test('--config wins over B2_BACKUP_CONFIG, which wins over the config dir', () => {
    const env = {B2_BACKUP_CONFIG: '/env/p.yaml'};
    expect(profilesFilePath({flag: '/flag/p.yaml', env, configDir: '/cfg'})).toBe('/flag/p.yaml');
    expect(profilesFilePath({env, configDir: '/cfg'})).toBe('/env/p.yaml');
    expect(profilesFilePath({env: {}, configDir: '/cfg'})).toBe('/cfg/profiles.yaml');
  });
});

describe('resolve', () => {
  test('no file: the built-in local profile, on the embedded emulator', async () => {
    const store = await ProfileStore.load(await file(undefined), {env: {}});
    expect(store.list().map((p) => [p.name, p.source])).toEqual([['local', 'builtin']]);
    expect(store.resolve()).toEqual({
      name: 'local', profilesFile: store.path, keyId: 'embedded', applicationKey: 'embedded', bucket: 'local-backups',
      prefix: '', endpoint: 'embedded', partSize: undefined, concurrency: 4, keyFrom: 'profile',
    });
  });

  test('one profile in the file is the default; defaults and normalisation are applied', async () => {
    const store = await ProfileStore.load(await file(HOME + '    prefix: ha\n    partSize: 100MiB\n'), {env: {}});
    expect(store.resolve()).toEqual({
      name: 'home', profilesFile: store.path, keyId: '0051234abcd0000000000001', applicationKey: 'K005secretsecretsecretsecret01',
      bucket: 'home-backups-123456', prefix: 'ha/', endpoint: 'https://api.backblazeb2.com', partSize: 104_857_600, concurrency: 4, keyFrom: 'profile',
    });
  });

  test('several profiles need a name (or B2_PROFILE)', async () => {
    const path = await file(HOME + '  office:\n    keyId: k\n    applicationKey: env:OFFICE_KEY\n    bucket: office-backups\n');
    const store = await ProfileStore.load(path, {env: {OFFICE_KEY: 'office-secret'}});
    expect(await configError(() => store.resolve())).toBe(
      `${path} has 2 profiles (home, office); choose one with --profile NAME or env B2_PROFILE, or set a default with "backup-b2 b2 profile default NAME"`,
    );
    expect(store.resolve('office').applicationKey).toBe('office-secret');
    const viaEnv = await ProfileStore.load(path, {env: {B2_PROFILE: 'office', OFFICE_KEY: 'x'}});
    expect(viaEnv.resolve().name).toBe('office');
  });

  test('B2_APPLICATION_KEY_ID and B2_APPLICATION_KEY override a B2 profile\'s key, never an embedded one', async () => {
    const path = await file(HOME);
    const env = {B2_APPLICATION_KEY_ID: 'envKeyId', B2_APPLICATION_KEY: 'envKey'};
    const store = await ProfileStore.load(path, {env});
    expect(store.resolve('home')).toMatchObject({keyId: 'envKeyId', applicationKey: 'envKey'});
    expect(store.resolve('local')).toMatchObject({keyId: 'embedded', applicationKey: 'embedded'});
    const half = await ProfileStore.load(path, {env: {B2_APPLICATION_KEY_ID: 'x'}});
    expect(await configError(() => half.resolve('home'))).toBe(
      "B2_APPLICATION_KEY_ID is set but B2_APPLICATION_KEY is not: together they replace the key of every B2 profile; set both, or unset B2_APPLICATION_KEY_ID (for a profile's own key from the environment use another name, e.g. applicationKey: env:B2_HOME_KEY)",
    );
  });

  test('file:PATH is read relative to the profiles file, trimmed', async () => {
    await writeFile(join(dir, 'home.key'), 'K005fromfile\n');
    const path = await file(HOME.replace('K005secretsecretsecretsecret01', 'file:home.key'));
    const store = await ProfileStore.load(path, {env: {}});
    expect(store.resolve().applicationKey).toBe('K005fromfile');
  });

  test('a file defining "local" replaces the built-in one', async () => {
    const store = await ProfileStore.load(await file(HOME.replace('home:', 'local:')), {env: {}});
    expect(store.list().map((p) => [p.name, p.source])).toEqual([['local', 'file']]);
  });
});

describe('editing', () => {
  test('comments and ordering survive an update; the file is written 0600', async () => {
    const text = `# my backups\nprofiles:\n  # the NAS\n  home:\n    bucket: home-backups-123456 # shared with dad\n    keyId: abc\n    applicationKey: env:HOME_KEY\n`;
    const path = await file(text, 0o640);
    const store = await ProfileStore.load(path, {env: {}});
    store.update('home', {concurrency: 8, prefix: 'nas'});
    await store.save();
    expect(await readFile(path, 'utf8')).toBe(
      `# my backups\nprofiles:\n  # the NAS\n  home:\n    bucket: home-backups-123456 # shared with dad\n    keyId: abc\n    applicationKey: env:HOME_KEY\n    prefix: nas/\n    concurrency: 8\n`,
    );
    expect((await stat(path)).mode & 0o777).toBe(0o600);
  });

  test('an empty value removes an optional field; required fields cannot be emptied', async () => {
    const store = await ProfileStore.load(await file(HOME + '    prefix: ha/\n'), {env: {}});
    store.update('home', {prefix: ''});
    expect(store.resolve().prefix).toBe('');
    expect(await configError(() => store.update('home', {bucket: ''}))).toBe(
      'bucket: expected a bucket name of 6..63 characters a-z, 0-9 and "-", got "" (it has 0 characters)',
    );
  });

  test('an invalid edit leaves the store as it was', async () => {
    const store = await ProfileStore.load(await file(HOME), {env: {}});
    await configError(() => store.add('office', {keyId: 'k', applicationKey: 'x', bucket: 'office-backups', concurrency: 0}));
    expect(store.list().map((p) => p.name)).toEqual(['home', 'local']);
  });

  test('save applies its edits to the file as it is on disk now: a change made meanwhile survives', async () => {
    const path = await file(HOME);
    const store = await ProfileStore.load(path, {env: {}});
    store.add('office', {keyId: 'k', applicationKey: 'env:X', bucket: 'office-backups'});
    await writeFile(path, HOME.replace('profiles:\n', 'profiles:\n  nas:\n    keyId: n\n    applicationKey: env:N\n    bucket: nas-backups\n') + '# edited by hand meanwhile\n');
    await store.save();
    const saved = await ProfileStore.load(path, {env: {}});
    expect(saved.list().map((p) => p.name)).toEqual(['nas', 'home', 'office', 'local']);
    expect(await readFile(path, 'utf8')).toContain('# edited by hand meanwhile');
  });

  test('save fails, writing nothing, when its edit no longer fits the file on disk', async () => {
    const path = await file(HOME);
    const store = await ProfileStore.load(path, {env: {}});
    store.update('home', {concurrency: 8});
    await writeFile(path, 'profiles: {}\n');
    expect(await configError(store.save())).toMatch(/no profile named "home"/);
    expect(await readFile(path, 'utf8')).toBe('profiles: {}\n');
  });

  test('overlapping prefixes in one bucket are reported; separate prefixes are not', async () => {
    const store = await ProfileStore.load(await file(HOME + '    prefix: ha/\n'), {env: {}});
    store.add('nested', {keyId: 'k', applicationKey: 'env:X', bucket: 'home-backups-123456', prefix: 'ha/nested'});
    store.add('apart', {keyId: 'k', applicationKey: 'env:X', bucket: 'home-backups-123456', prefix: 'other'});
    expect(store.overlapWarnings('nested')).toEqual([
      'profiles "nested" and "home" both use bucket home-backups-123456 with overlapping prefixes "ha/nested/" and "ha/"; their backups would overwrite each other, give each its own prefix',
    ]);
    expect(store.overlapWarnings('apart')).toEqual([]);
  });
});

describe('errors name the line', () => {
  test('a missing field points at its profile; a wrong one at its own line', async () => {
    const missing = await file('profiles:\n  home:\n    keyId: k\n    applicationKey: env:K\n');
    expect(await configError(ProfileStore.load(missing, {env: {}}))).toBe(
      `${missing}:2: profiles.home.bucket: missing, expected a bucket name of 6..63 characters a-z, 0-9 and "-"`,
    );
    const wrong = await file(HOME + '    concurrency: 4.5\n');
    expect(await configError(ProfileStore.load(wrong, {env: {}}))).toBe(
      `${wrong}:6: profiles.home.concurrency: expected an integer 1..64, got 4.5`,
    );
  });

  test('several problems: the first in file order is reported, the rest counted', async () => {
    const path = await file('profiles:\n  home:\n    keyId: k\n    applicationKey: env:K\n    bucket: BAD\n    concurrency: 0\n');
    expect(await configError(ProfileStore.load(path, {env: {}}))).toBe(
      `${path}:5: profiles.home.bucket: expected a bucket name of 6..63 characters a-z, 0-9 and "-", got "BAD" (it has 3 characters) (and 1 more problem)`,
    );
  });
});

describe('loadProfile (what other commands call)', () => {
  test('reads the --config file and picks the --profile name, or B2_BACKUP_CONFIG and B2_PROFILE', async () => {
    const path = await file(HOME + '  office:\n    keyId: k\n    applicationKey: env:OFFICE_KEY\n    bucket: office-backups\n');
    const env = {OFFICE_KEY: 'office-secret'};
    expect(await loadProfile({configFlag: path, profileFlag: 'office', configDir: '/nowhere', env})).toMatchObject({name: 'office', applicationKey: 'office-secret'});
    expect(await loadProfile({configDir: '/nowhere', env: {...env, B2_BACKUP_CONFIG: path, B2_PROFILE: 'home'}})).toMatchObject({name: 'home'});
    expect((await loadProfile({configDir: join(dir, 'empty-config-dir'), env: {}})).name).toBe('local');
  });
});
