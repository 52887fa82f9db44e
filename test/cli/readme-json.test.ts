import {afterAll, beforeAll, describe, expect, test} from '@jest/globals';
import {spawn} from 'node:child_process';
import {randomBytes} from 'node:crypto';
import {readFileSync} from 'node:fs';
import {readFile, stat, utimes, writeFile} from 'node:fs/promises';
import {join} from 'node:path';
import {parse, stringify} from 'yaml';
import {api, authorizeRaw} from '../emulator/helpers.js';
import {FaultAt} from '../helpers/fault-at.js';
import {cleanEnv, repoRoot} from '../helpers/host-cli.js';
import {checkPrinted, documentedFields, parseShape, readmeText, shapeTextAfter, type ObjectShape, type Shape} from '../helpers/readme-json.js';
import {cliRoot, runCli, type CliResult} from '../helpers/run-cli.js';
import {E2EWorld, LOCKING_CAPABILITIES, parseJson} from '../e2e/helpers.js';

// README's lists of the fields each command prints with --json, against what the built
// CLI prints on the emulator: every field printed must be in README's list for that
// command (at every level README details), and every field README lists must be printed
// by one of the runs below, which make the cases that print the fields some runs leave
// out (a lock, a legal hold, an interrupted upload, a failed connection…).

const MB = 1_000_000;
const readme = readmeText();

/** Where README lists each command's fields: its row in "JSON output", or the sentence that gives them inline. */
const WHERE: Record<string, string> = {
  upload: '| `upload` |',
  'upload --dry-run': 'With `--json`, the same as data (',
  list: '| `list` |',
  show: '| `show` |',
  download: '| `download` |',
  verify: '| `verify` |',
  delete: '| `delete` |',
  'delete --dry-run': 'any unfinished uploads of it; `--json` prints',
  lock: '| `lock` |',
  cleanup: '`--dry-run` lists what would go; `--json` prints',
  prune: '(`daily`, `monthly`, `within 30d`, …). `--json` prints',
  copy: '| `copy` |',
  'local info': '| `local info` |',
  diagnostics: '| `diagnostics` |',
  'profile list': '| `profile list` |',
  'profile show': '| `profile show` |',
  'profile path': '| `profile path` |',
  'profile default': '| `profile default` |',
  'profile check': '| `profile check` |',
  emulator: '| `emulator` |',
};

/** Documented fields no run here prints, and why: the case that prints them is another test's. */
const NOT_MADE_HERE: Record<string, string> = {
  'delete.alreadyGone': 'another command deleting the backup meanwhile (test/backups/concurrent-prune)',
  'verify.disagrees': 'an archive replaced by a version that describes itself, its metadata file recording another SHA1 (test/e2e/restore-truth)',
  'prune.error': 'a prune that failed after deleting a backup (test/e2e/delete-reports)',
  'cleanup.error': 'a cleanup that failed after removing something (test/e2e/delete-reports)',
};

/** The "JSON output" section: a table row is looked for there only (other tables have rows named like commands). */
const section = readme.slice(readme.indexOf('### JSON output'), readme.indexOf('## Protecting backups'));
const shapeText = (marker: string) => shapeTextAfter(marker.startsWith('| ') ? section : readme, marker);
const named: Record<string, ObjectShape> = {};
named.backup = parseShape(shapeText('A **backup**, wherever one is printed:'), 'backup') as ObjectShape;
named.profile = parseShape(shapeText(WHERE['profile show']), 'profile', named) as ObjectShape;
const shapes: Record<string, Shape> = Object.fromEntries(Object.entries(WHERE).map(([command, marker]) => [command, parseShape(shapeText(marker), command, named)]));

const seen = new Set<string>();
const undocumented: string[] = [];

/** Checks what a run printed against README's list for `command`, and answers it. */
function printed<T = Record<string, unknown>>(command: string, r: CliResult): T {
  const json = parseJson<T>(r);
  checkPrinted(shapes[command], json, command, seen, undocumented);
  return json;
}

let world: E2EWorld;
const faultAt = new FaultAt();
let archive: string;
let small: string;
let big: {id: string};
let smallId: string;
let ha: {id: string; archive: string};

/** The profiles file with `edit` applied (profiles this test writes by hand). */
async function editProfiles(edit: (profiles: Record<string, Record<string, unknown>>) => void): Promise<void> {
  const file = parse(await readFile(world.config, 'utf8')) as {profiles: Record<string, Record<string, unknown>>};
  edit(file.profiles);
  await writeFile(world.config, stringify(file), {mode: 0o600});
}

beforeAll(async () => {
  world = await E2EWorld.start({onRequest: faultAt.onRequest, bootstrap: {fileLockEnabled: true}});
  const key = await world.createKey({capabilities: LOCKING_CAPABILITIES});
  await world.addProfile('home', {...key, prefix: 'home/', partSize: '5MB', concurrency: 1});
  await world.addProfile('offsite', {...key, prefix: 'offsite/'});
  await world.addProfile('broken', {keyId: '0051234abcd0000000000001', applicationKey: 'not-the-key', prefix: 'broken/', check: false});
  await editProfiles((p) => {
    p.home.retention = {keepLast: 10}; // an upload's dry run then shows the prune after it
    // every field a profile may add, for profile show (never connected: its key is a reference)
    p.dressed = {keyId: '0051234abcd0000000000002', applicationKey: 'env:DRESSED_KEY', bucket: 'dressed-bucket', endpoint: world.emu.url, bandwidth: {upload: '5MB/s'}, encryption: 'SSE-C', encryptionKey: 'env:DRESSED_SSE_KEY', lock: {days: 30}};
  });
  archive = join(world.dir, 'big.tar');
  await writeFile(archive, randomBytes(11 * MB)); // 3 parts of 5 MB
  small = join(world.dir, 'small.tar');
  await writeFile(small, randomBytes(1000));
  // a Home Assistant backup whose archive was streamed up (no SHA1 on record), under a legal hold
  const base = 'Automatic_backup_2026.4.1_2026-04-08_04.57_43001930';
  const meta = {metadata_version: '1', backup_id: 'ha5e1f00', backup_metadata: {addons: [], backup_id: 'ha5e1f00', date: '2026-04-08T04:57:43.001930+02:00', database_included: true, extra_metadata: {}, folders: [], homeassistant_included: true, homeassistant_version: '2026.4.1', name: 'Automatic backup 2026.4.1', protected: false, size: 3000}};
  await world.emu.putFiles(world.emu.bucket, [
    {fileName: `home/${base}.tar`, data: randomBytes(3000), contentType: 'application/x-tar', fileInfo: {}, partSize: 1000},
    {fileName: `home/${base}.metadata.json`, data: Buffer.from(JSON.stringify(meta)), contentType: 'application/json', fileInfo: {}},
  ]);
  ha = {id: 'ha5e1f00', archive: `home/${base}.tar`};
  const master = (await authorizeRaw(world.emu)).authorizationToken;
  const [file] = (await api(world.emu, master, 'b2_list_file_names', {bucketId: world.emu.bucketId, startFileName: ha.archive, maxFileCount: 1})).json.files as Array<{fileId: string}>;
  expect((await api(world.emu, master, 'b2_update_file_legal_hold', {fileName: ha.archive, fileId: file.fileId, legalHold: 'on'})).status).toBe(200);
});

afterAll(async () => {
  faultAt.clear(world.emu);
  world?.expectNoSecretInAnyRun();
  await world?.close();
});

describe('every command with --json has its fields listed in README', () => {
  test('the JSON output table names every command that takes --json', () => {
    const manifest = JSON.parse(readFileSync(join(cliRoot, 'oclif.manifest.json'), 'utf8')) as {commands: Record<string, {flags: Record<string, unknown>}>};
    const withJson = Object.entries(manifest.commands).filter(([, c]) => 'json' in c.flags).map(([id]) => id.replace(/^b2:/, '').replaceAll(':', ' ')).sort();
    const section = readFileSync(join(repoRoot, 'README.md'), 'utf8').split('### JSON output')[1].split('\n## ')[0];
    const rows = [...section.matchAll(/^\| `([^`]+)` \|/gm)].map((m) => m[1]);
    expect([...new Set(rows.map((r) => r.replace(/ --dry-run$/, '')))].sort()).toEqual(withJson);
  });
});

describe('what the commands print is what README lists', () => {
  test('upload, its dry run after an interrupted upload (with a lock and the prune after it), list, show', async () => {
    expect(printed('profile default', await world.b2(['profile', 'default', 'home', '--json']))).toEqual({default: 'home'});
    // B2 asks for a wait longer than the tool waits at the second part: the first is kept to resume
    faultAt.arm(world.emu, 'b2_upload_part', 2, {call: 'b2_upload_part', count: 1, status: 503, retryAfter: 301});
    expect((await world.b2(['upload', archive, '--name', 'big', '--lock-days', '1'])).code).toBe(1);
    faultAt.clear(world.emu);
    const plan = printed<{resumes?: unknown; archive: {resume?: unknown}; lock?: unknown; prune?: unknown}>('upload --dry-run', await world.b2(['upload', archive, '--name', 'big', '--lock-days', '1', '--dry-run', '--json']));
    expect(plan).toMatchObject({resumes: {stored: 'parts'}, archive: {kind: 'parts', resume: {partsStored: 1}}, lock: {mode: 'governance'}, prune: {delete: []}});
    // another part size asked: it would go on with the interrupted run's
    const otherSize = printed('upload --dry-run', await world.b2(['upload', archive, '--name', 'big', '--lock-days', '1', '--part-size', '6MB', '--dry-run', '--json']));
    expect(otherSize).toMatchObject({archive: {partSize: 5 * MB, resume: {partSizeAsked: 6 * MB}}});
    // the file changed since (another content, same file and name): it would cancel the interrupted run's parts once its own archive is stored
    const [content, {atime, mtime}] = [await readFile(archive), await stat(archive)];
    await writeFile(archive, randomBytes(11 * MB));
    const replacing = printed('upload --dry-run', await world.b2(['upload', archive, '--name', 'big', '--dry-run', '--json']));
    expect(replacing).toMatchObject({archive: {supersedes: [{parts: 1, why: 'content'}]}});
    await writeFile(archive, content); // as it was, so that the upload below resumes
    await utimes(archive, atime, mtime);
    big = printed<{id: string}>('upload', await world.b2(['upload', archive, '--name', 'big', '--json']));
    smallId = printed<{id: string}>('upload', await world.b2(['upload', small, '--name', 'small', '--json'])).id;
    expect(printed<unknown[]>('list', await world.b2(['list', '--json']))).toHaveLength(3);
    printed('show', await world.b2(['show', big.id, '--json']));
    // a backup with no SHA1 on record prints "sha1": null, as list does, not no field
    expect(printed('show', await world.b2(['show', ha.id, '--json']))).toMatchObject({id: ha.id, sha1: null, legalHold: true});
  }, 120_000);

  test('download, verify, copy, lock, delete and its dry run', async () => {
    printed('download', await world.b2(['download', big.id, '-o', join(world.dir, 'restored.tar'), '--json']));
    printed('verify', await world.b2(['verify', big.id, '--json']));
    expect(printed('copy', await world.b2(['copy', big.id, '--to', 'offsite', '--json']))).toMatchObject({existing: false});
    printed('lock', await world.b2(['lock', big.id, '--days', '2', '--json']));
    printed('show', await world.b2(['show', big.id, '--json'])); // now with its lock
    printed('delete --dry-run', await world.b2(['delete', smallId, '--dry-run', '--json']));
    expect(printed('delete', await world.b2(['delete', smallId, '--yes', '--json']))).toMatchObject({deleted: {id: smallId}, complete: true});
  }, 120_000);

  test('prune, cleanup', async () => {
    printed('prune', await world.b2(['prune', '--keep-last', '1', '--dry-run', '--json']));
    printed('cleanup', await world.b2(['cleanup', '--dry-run', '--json']));
  });

  test('profiles, local info, diagnostics (connected, not connected, a broken profiles file)', async () => {
    printed('profile list', await world.b2(['profile', 'list', '--json']));
    printed('profile show', await world.b2(['profile', 'show', 'dressed', '--json']));
    printed('profile path', await world.b2(['profile', 'path', '--json']));
    printed('profile default', await world.b2(['profile', 'default', '--json']));
    printed('profile check', await world.b2(['profile', 'check', 'home', '--json']));
    const failing = await world.b2(['profile', 'check', 'broken', '--json']);
    expect(failing.code).toBe(3);
    printed('profile check', failing);
    printed('local info', await world.b2(['local', 'info', '--json']));
    printed('diagnostics', await world.b2(['diagnostics', '--json']));
    printed('diagnostics', await world.b2(['diagnostics', '--profile', 'broken', '--json']));
    const badFile = join(world.dir, 'bad.yaml');
    await writeFile(badFile, 'profiles: [not, a, mapping\n', {mode: 0o600});
    printed('diagnostics', await runCli(['b2', 'diagnostics', '--json', '--config', badFile], {env: world.env}));
  });

  test('emulator: the line it prints at start', async () => {
    const child = spawn(process.execPath, [join(cliRoot, 'bin/run.js'), 'b2', 'emulator', '--port', '0', '--json'], {env: {...cleanEnv(), ...world.env}, stdio: ['ignore', 'pipe', 'pipe']});
    const exited = new Promise((resolve) => child.on('close', resolve));
    let out = '';
    const line = await new Promise<string>((resolve, reject) => {
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('\n')) resolve(out.split('\n')[0]);
      });
      child.on('close', () => reject(new Error(`the emulator exited before printing a line: ${out}`)));
    });
    child.kill('SIGTERM');
    await exited;
    printed('emulator', {code: 0, stdout: line, stderr: ''});
  });

  test('no field printed is missing from README, and README lists none that no run printed', () => {
    const documented = new Set(Object.values(shapes).flatMap((s) => [...documentedFields(s)]));
    const neverPrinted = [...documented].filter((f) => !seen.has(f)).sort();
    expect({undocumented: [...new Set(undocumented)].sort(), neverPrinted}).toEqual({undocumented: [], neverPrinted: Object.keys(NOT_MADE_HERE).sort()});
  });
});
