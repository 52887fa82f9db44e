import {afterAll, beforeAll, describe, expect, test} from '@jest/globals';
import {randomBytes} from 'node:crypto';
import {mkdir, readFile, rm, writeFile} from 'node:fs/promises';
import {dirname, join} from 'node:path';
import {stringify} from 'yaml';
import {haBackupMetadata, pythonJsonDumps} from '../backups/ha-fixtures.js';
import {api, authorizeRaw, uploadRaw} from '../emulator/helpers.js';
import {E2EWorld, parseJson} from '../e2e/helpers.js';
import {hasPty, onTerminal} from '../helpers/terminal.js';

// Text that comes from the bucket (names, Home Assistant metadata fields, file names) is
// written by whoever can write the bucket: another machine, Home Assistant, an attacker
// with a key. The real CLI must never pass its control characters to the terminal: ESC
// (colours, clearing the screen), OSC ... BEL (retitling the window), C1's CSI, and
// text-direction overrides (U+202E makes "evil.txt" read "txt.live"). Foreign metadata
// files are laid straight into the emulator over HTTP (b2_get_upload_url, b2_upload_file),
// as another tool would; every command that shows them runs as a child process.

const PREFIX = 'home/';
const hostile = (tag: string) => `${tag}\u001b[31mRED\u001b]0;pwned\u0007\u001b[2J\u009b1m\u202eexe.txt`;
/** What must never reach a terminal raw (newline ends lines; nothing else below U+0020 may pass). */
// eslint-disable-next-line no-control-regex
const RAW = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/u;

let world: E2EWorld;
let token: string;
let lockBucketId: string;

const home = (args: string[]) => world.b2([...args, '--profile', 'home']);
const rawChars = (text: string) => [...text].filter((c) => RAW.test(c)).map((c) => `U+${c.codePointAt(0)!.toString(16).padStart(4, '0')}`);
const expectClean = (r: {stdout: string; stderr: string}) => expect({stdout: rawChars(r.stdout), stderr: rawChars(r.stderr)}).toEqual({stdout: [], stderr: []});

/** A Home Assistant backup whose every text field is hostile, uploaded as raw HTTP calls. */
async function putForeign(bucketId: string, o: {id: string; day: number; name: string; base: string}): Promise<Record<string, unknown>> {
  const date = `2026-04-0${o.day}T03:00:00.000000+00:00`;
  const archive = randomBytes(1500);
  const meta = {
    ...haBackupMetadata({name: o.name, date, backupId: o.id}, archive.length, hostile('2026.4')),
    addons: [{name: hostile('addon'), slug: 'core_evil', version: hostile('6.')}],
    extra_metadata: {instance_id: hostile('inst'), [hostile('key')]: true},
    folders: [hostile('share')],
    created_by: hostile('maker'),
  };
  const put = async (key: string, data: Buffer, headers: Record<string, string>) => {
    const r = await uploadRaw(world.emu, token, bucketId, `${PREFIX}${key}`, data, headers);
    expect({key, status: r.status}).toEqual({key, status: 200});
  };
  await put(`${o.base}.tar`, archive, {'Content-Type': 'application/x-tar'});
  await put(`${o.base}.metadata.json`, Buffer.from(pythonJsonDumps({metadata_version: '1', backup_id: o.id, backup_metadata: meta})), {'Content-Type': 'application/json', 'X-Bz-Info-metadata_only': 'true'});
  return meta;
}

let firstMeta: Record<string, unknown>;

beforeAll(async () => {
  world = await E2EWorld.start();
  const auth = await authorizeRaw(world.emu);
  token = auth.authorizationToken;
  const made = await api(world.emu, token, 'b2_create_bucket', {accountId: auth.accountId, bucketName: 'locking-bucket-1', bucketType: 'allPrivate', fileLockEnabled: true});
  expect(made.status).toBe(200);
  lockBucketId = made.json.bucketId;
  // file names may hold U+202E and C1 characters (B2 refuses only C0 and DEL)
  firstMeta = await putForeign(world.emu.bucketId, {id: 'e1111111', day: 1, name: hostile('one'), base: 'evil\u202e\u009b_2026-04-01_03.00_00000000'});
  await putForeign(world.emu.bucketId, {id: 'e2222222', day: 2, name: hostile('two'), base: 'two_2026-04-02_03.00_00000000'});
  await putForeign(world.emu.bucketId, {id: 'f0000003', day: 3, name: 'plain', base: 'plain_2026-04-03_03.00_00000000'});
  await putForeign(lockBucketId, {id: 'a4444444', day: 4, name: hostile('lk'), base: 'lk_2026-04-04_03.00_00000000'});
  // not backups: an archive without its metadata file (listings warn about it), another tool's file
  for (const key of ['orphan\u202e\u009b_2026-04-05_03.00_00000000.tar', 'notes\u202e\u009b.txt']) {
    expect((await uploadRaw(world.emu, token, world.emu.bucketId, `${PREFIX}${key}`, Buffer.from('not a backup'))).status).toBe(200);
  }
  const endpoint = world.emu.url;
  const key = {keyId: world.emu.keyId, applicationKey: world.emu.applicationKey};
  const profiles = {home: {...key, bucket: world.emu.bucket, prefix: PREFIX, endpoint}, locking: {...key, bucket: 'locking-bucket-1', prefix: PREFIX, endpoint}};
  await writeFile(world.config, stringify({profiles}), {mode: 0o600});
});

afterAll(async () => {
  await world?.close();
});

describe('text from the bucket never reaches the terminal raw', () => {
  test('b2 show escapes the name, file names and every Home Assistant metadata field', async () => {
    const r = await home(['show', 'e1111111']);
    expect(r.code).toBe(0);
    expectClean(r);
    expect(r.stdout).toContain('one\\u{1b}[31mRED');
    for (const shown of ['addon\\u{1b}', '6.\\u{1b}', '2026.4\\u{1b}', 'inst\\u{1b}', 'key\\u{1b}', 'share\\u{1b}', 'maker\\u{1b}', 'evil\\u{202e}\\u{9b}_2026']) expect(r.stdout).toContain(shown);
  });

  test('b2 show --json stays raw JSON: the exact text, control characters written as JSON escapes', async () => {
    const r = await home(['show', 'e1111111', '--json']);
    expect(r.code).toBe(0);
    expectClean(r);
    const shown = parseJson<{name: string; archiveKey: string; metadata: Record<string, unknown>}>(r);
    expect(shown.name).toBe(hostile('one'));
    expect(shown.archiveKey).toContain('evil\u202e\u009b_2026');
    expect(shown.metadata).toMatchObject({addons: firstMeta.addons, extra_metadata: firstMeta.extra_metadata, folders: firstMeta.folders, homeassistant_version: firstMeta.homeassistant_version});
  });

  test('b2 list escapes names and the file names its warnings quote', async () => {
    const r = await home(['list']);
    expect(r.code).toBe(0);
    expectClean(r);
    expect(r.stderr).toContain('orphan\\u{202e}\\u{9b}_2026');
  });

  test('b2 profile check escapes the foreign file names it quotes', async () => {
    const r = await world.b2(['profile', 'check', 'home']);
    expectClean(r);
    expect(r.stdout).toContain('notes\\u{202e}\\u{9b}.txt');
  });

  test('an ambiguous id prefix: the error line and the error log that diagnostics prints are escaped', async () => {
    const r = await home(['show', 'e']);
    expect(r.code).toBe(2);
    expectClean(r);
    expect(r.stderr).toMatch(/^Error: backup id prefix e is ambiguous: it matches e2222222 \("two\\u001b\[31mRED.*\\u\{202e\}exe\.txt", 2026-04-02 .*e1111111 \("one/);
    const log = await readFile(join(world.env.XDG_CACHE_HOME, 'backup-plugin-b2', 'recent-errors.json'), 'utf8');
    expect(log).toContain('backup id prefix e is ambiguous');
    expect(rawChars(log)).toEqual([]);
    const diag = await home(['diagnostics']);
    expect(diag.code).toBe(0);
    expectClean(diag);
    expect(diag.stdout).toContain('backup id prefix e is ambiguous');
  });

  test('b2 prune --dry-run: the plan table is escaped', async () => {
    const r = await home(['prune', '--keep-last', '1', '--dry-run']);
    expect(r.code).toBe(0);
    expectClean(r);
    expect(r.stdout).toMatch(/delete +e2222222 .*two\\u\{1b\}\[31mRED/);
  });

  test('b2 prune --yes: the "Deleted backup" lines are escaped', async () => {
    const r = await home(['prune', '--keep-last', '1', '--yes']);
    expect(r.code).toBe(0);
    expectClean(r);
    expect(r.stderr).toMatch(/Deleted backup e1111111 "one\\u001b\[31mRED.*\\u\{202e\}exe\.txt" of /);
  });

  test('b2 lock: the name is escaped and quoted once', async () => {
    const r = await world.b2(['lock', 'a4444444', '--days', '2', '--profile', 'locking']);
    expect(r.code).toBe(0);
    expectClean(r);
    expect(r.stderr).toMatch(/^Locked backup a4444444 "lk\\u001b\[31mRED.*\\u\{202e\}exe\.txt": locked/);
    expect(r.stderr).not.toContain('""');
  });

  test('b2 delete of a locked backup: the refusal is escaped', async () => {
    const r = await world.b2(['delete', 'a4444444', '--yes', '--profile', 'locking']);
    expect(r.code).toBe(3);
    expectClean(r);
    expect(r.stderr).toMatch(/^Error: backup a4444444 "lk\\u001b\[31mRED.*\\u\{202e\}exe\.txt" is locked/);
  });
});

// oclif colours --json output when a theme gives JSON colours (theme.json in the config
// dir): on a terminal the plugin's escaping must still apply, and off one (FORCE_COLOR
// set or not) the output stays plain JSON that a script can parse.
describe('--json with a colour theme, FORCE_COLOR=1', () => {
  const SGR = /\u001b\[[0-9;]*m/g; // eslint-disable-line no-control-regex
  const env = () => ({...world.env, FORCE_COLOR: '1'});
  const themeFile = () => join(world.env.XDG_CONFIG_HOME, 'backup-plugin-b2', 'theme.json');

  beforeAll(async () => {
    await mkdir(dirname(themeFile()), {recursive: true});
    await writeFile(themeFile(), JSON.stringify({json: {brace: 'magenta', bracket: 'magenta', key: 'blue', string: 'green', number: 'yellow', boolean: 'cyan', null: 'red'}}));
  });

  afterAll(async () => {
    await rm(themeFile(), {force: true});
  });

  test('on a pipe: plain JSON, no colour codes, the name\'s control characters escaped', async () => {
    for (const args of [['show', 'a4444444', '--json'], ['list', '--json']]) {
      const r = await world.b2([...args, '--profile', 'locking'], {env: env()});
      expect(r.code).toBe(0);
      expect(r.stdout).not.toContain('\u001b');
      expectClean(r);
      expect(JSON.stringify(parseJson(r))).toContain(JSON.stringify(hostile('lk')));
    }
  });

  (hasPty ? test : test.skip)('on a terminal (needs python3): coloured, every control character of the name still escaped, the same JSON under the colours', async () => {
    const r = await onTerminal(['b2', 'show', 'a4444444', '--json', '--profile', 'locking', '--config', world.config], {env: env(), cols: 200});
    expect(r.code).toBe(0);
    const text = r.output.replace(/\r\n/g, '\n');
    expect(text).toMatch(SGR); // the theme's colours are on
    const plain = text.replace(SGR, '');
    expect(rawChars(plain)).toEqual([]);
    expect(JSON.parse(plain)).toMatchObject({id: 'a4444444', name: hostile('lk')});
  });
});
