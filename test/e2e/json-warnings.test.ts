import {describe, test, expect, beforeAll, afterAll} from '@jest/globals';
import {randomBytes} from 'node:crypto';
import {writeFile} from 'node:fs/promises';
import {join} from 'node:path';
import {api, authorizeRaw} from '../emulator/helpers.js';
import type {CliResult} from '../helpers/run-cli.js';
import {BACKUP_CAPABILITIES, E2EWorld, parseJson} from './helpers.js';

// With --json, stdout is one JSON document for a script to parse; a warning must still
// reach that script, on stderr, one line each and worded as without --json. Lines that
// only repeat what the JSON says ("Uploaded backup …", "Downloaded backup …") stay silent.

const PUBLIC = 'public-json-1';
let world: E2EWorld;
let archive: string;

/** The non-empty lines of a run's stderr. */
const stderrLines = (r: CliResult) => r.stderr.split('\n').filter((l) => l.length > 0);
const warnings = (r: CliResult) => stderrLines(r).filter((l) => l.startsWith('Warning: '));

beforeAll(async () => {
  world = await E2EWorld.start();
  archive = join(world.dir, 'backup.tar');
  await writeFile(archive, randomBytes(50_000));
  const key = await world.createKey({capabilities: BACKUP_CAPABILITIES});
  await world.addProfile('home', {...key, prefix: 'home/'});
  // a metadata file without its archive: every listing skips it with a warning
  await world.emu.putFiles(world.emu.bucket, [{fileName: 'home/stray.metadata.json', data: Buffer.from('{}')}]);
  const auth = await authorizeRaw(world.emu);
  const made = await api(world.emu, auth.authorizationToken, 'b2_create_bucket', {accountId: auth.accountId, bucketName: PUBLIC, bucketType: 'allPublic'});
  expect(made.status).toBe(200);
  // saved without a check: the check is what refuses a public bucket
  await world.addProfile('pub', {...key, bucket: PUBLIC, prefix: 'home/', check: false});
});

afterAll(async () => {
  await world?.close();
});

describe('--json: warnings on stderr, the JSON alone on stdout', () => {
  test('list: the catalog\'s warning about a skipped file, the same line as without --json', async () => {
    const plain = await world.b2(['list', '--profile', 'home']);
    const json = await world.b2(['list', '--profile', 'home', '--json']);
    expect({code: json.code, stderr: json.stderr}).toMatchObject({code: 0});
    expect(Array.isArray(parseJson<unknown[]>(json))).toBe(true);
    expect(warnings(plain)).toEqual([expect.stringMatching(/^Warning: skipping stray\.metadata\.json: it has no archive stray\.tar /)]);
    expect(warnings(json)).toEqual(warnings(plain));
  });

  test('upload to a public bucket with --allow-public-bucket: its warning, and no "Uploaded backup" line', async () => {
    const r = await world.b2(['upload', archive, '--name', 'public', '--profile', 'pub', '--allow-public-bucket', '--json']);
    expect({code: r.code, stderr: r.stderr}).toMatchObject({code: 0});
    expect(parseJson<{name: string}>(r).name).toBe('public');
    expect(stderrLines(r)).toEqual([`Warning: bucket ${PUBLIC} is public (allPublic): anyone could download the backup by its name, without a key (uploading anyway: --allow-public-bucket)`]);
  });

  test('upload where no lock can be taken (a data dir under /proc): "Warning: cannot take a lock in …"', async () => {
    const r = await world.b2(['upload', archive, '--name', 'unlocked', '--profile', 'home', '--json'], {env: {XDG_DATA_HOME: '/proc/nonexist/data'}});
    expect({code: r.code, stderr: r.stderr}).toMatchObject({code: 0});
    expect(parseJson<{name: string}>(r).name).toBe('unlocked');
    expect(warnings(r)).toContainEqual(expect.stringMatching(/^Warning: cannot take a lock in \/proc\/nonexist\/data\/backup-plugin-b2\/upload-locks\/\S+ \(ENOENT\): uploads and cleanups of this location running at the same time on this machine are not kept apart$/));
  });
});

test('download --json: "Downloaded backup … to …" stays silent (the JSON says it), as it did', async () => {
  const {id} = await world.storeBackup('home', {path: archive}, {name: 'to-download'});
  const plain = await world.b2(['download', id, '--profile', 'home', '-o', join(world.dir, 'plain.tar')]);
  expect({code: plain.code, stderr: plain.stderr}).toMatchObject({code: 0, stderr: expect.stringMatching(/^Downloaded backup /m)});
  const json = await world.b2(['download', id, '--profile', 'home', '-o', join(world.dir, 'json.tar'), '--json']);
  expect({code: json.code, stderr: json.stderr}).toMatchObject({code: 0, stderr: ''});
  expect(parseJson<{id: string; path: string}>(json)).toMatchObject({id, path: join(world.dir, 'json.tar')});
});

test('no secret in any output', () => {
  world.expectNoSecretInAnyRun();
});

test('download --json -v: the lines -v asked for reach stderr (the JSON alone on stdout), as without --json', async () => {
  const {id} = await world.storeBackup('home', {path: archive}, {name: 'verbose'});
  const r = await world.b2(['download', id, '--profile', 'home', '-o', join(world.dir, 'verbose.tar'), '--json', '-v']);
  expect({code: r.code, stderr: r.stderr}).toMatchObject({code: 0});
  expect(parseJson<{id: string}>(r)).toMatchObject({id});
  expect(stderrLines(r)).toEqual(['Range 0-49999 (48.8 KiB): downloading', 'Range 0-49999 (48.8 KiB): done']);
});
