import {describe, test, expect, beforeAll, afterAll} from '@jest/globals';
import {randomBytes} from 'node:crypto';
import {execFileSync, spawn} from 'node:child_process';
import {closeSync, openSync} from 'node:fs';
import {lstat, readFile, stat, symlink, writeFile} from 'node:fs/promises';
import {join} from 'node:path';
import {api, authorizeRaw} from '../emulator/helpers.js';
import {cleanEnv} from '../helpers/host-cli.js';
import {cliRoot} from '../helpers/run-cli.js';
import {buildTar} from '../helpers/tar-builder.js';
import {BACKUP_CAPABILITIES, calls, downloadCalls, E2EWorld, expectFailure, expectNoSecrets, parseJson, sha1} from './helpers.js';

// Every backup command's happy path as a user runs it: the built CLI in a child process,
// a profile made with `b2 profile add`, the emulator over HTTP. Human and --json forms.

const PREFIX = 'home/';
let world: E2EWorld;
let key: {keyId: string; applicationKey: string};
let small: Buffer;
let big: Buffer;
const smallPath = () => join(world.dir, 'small.tar');
const home = (args: string[], input?: string) => world.b2([...args, '--profile', 'home'], {input});

interface Summary {
  id: string;
  name: string;
  date: string;
  size: number;
  sha1: string;
  resumed?: boolean;
  describedBy?: string;
}
const uploaded: Record<'plain' | 'named' | 'stdin' | 'big', Summary> = {} as never;
const stdinText = 'a tar stream piped in\n'.repeat(500);

/** Every version of every file under the prefix, unfinished large files included (read with the master key). */
async function versionsUnderPrefix(): Promise<{fileName: string; action: string}[]> {
  const auth = await authorizeRaw(world.emu);
  const r = await api(world.emu, auth.authorizationToken, 'b2_list_file_versions', {bucketId: world.emu.bucketId, prefix: PREFIX, maxFileCount: 10_000});
  return r.json.files;
}

beforeAll(async () => {
  world = await E2EWorld.start();
  key = await world.createKey();
  small = randomBytes(100_000);
  big = randomBytes(12 * 1024 * 1024); // 3 parts of 5 MB: the multi-part path
  await writeFile(smallPath(), small);
  await world.addProfile('home', {...key, prefix: PREFIX, partSize: '5MB'});
});

afterAll(async () => {
  await world?.close();
});

describe('b2 profile check', () => {
  test('every item ok, in both forms', async () => {
    const human = await world.b2(['profile', 'check', 'home']);
    expect(human.code).toBe(0);
    const items = human.stdout.trimEnd().split('\n');
    expect(items.length).toBeGreaterThanOrEqual(5);
    expect(items.every((l) => l.startsWith('ok '))).toBe(true);
    expect(human.stdout).toMatch(/^ok\s+Key capabilities\s+.*deleteFiles/m);

    const json = await world.b2(['profile', 'check', 'home', '--json']);
    expect(json.code).toBe(0);
    const report = parseJson<{ok: boolean; items: {id: string; status: string}[]}>(json);
    expect(report.ok).toBe(true);
    expect(report.items.map((i) => i.id)).toEqual(expect.arrayContaining(['credentials', 'bucket', 'capabilities', 'prefix']));
    expect(report.items.every((i) => i.status === 'ok')).toBe(true);
    for (const r of [human, json]) expectNoSecrets(r, [...world.secrets, key.keyId]);
  });
});

describe('b2 upload', () => {
  test('a file: the id on stdout, a summary on stderr', async () => {
    const r = await home(['upload', smallPath()]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^[0-9a-f]{12}\n$/);
    expect(r.stderr).toMatch(/^Uploaded backup "Backup" \(97\.7 KiB, sha1 [0-9a-f]{40}\)\n$/);
    // what it stored, read in this process (show is tested below)
    const info = await world.withLocation('home', ({catalog}) => catalog.show(r.stdout.trim()));
    expect(info).toMatchObject({id: r.stdout.trim(), name: 'Backup', size: small.length, sha1: sha1(small)});
    uploaded.plain = {...info, sha1: sha1(small)}; // its sha1 is on record: checked just above
  });

  test('--name, --meta and --json', async () => {
    const r = await home(['upload', smallPath(), '--name', 'before upgrade', '--meta', 'host=nas', '--meta', 'reason=os update', '--json']);
    expect(r.code).toBe(0);
    const out = parseJson<Summary>(r);
    expect(out).toMatchObject({name: 'before upgrade', size: small.length, sha1: sha1(small), resumed: false});
    expect(out.id).toMatch(/^[0-9a-f]{12}$/);
    expect(Number.isNaN(Date.parse(out.date))).toBe(false);
    uploaded.named = out;
  });

  test('- reads the archive from stdin', async () => {
    const r = await home(['upload', '-', '--name', 'piped', '--json'], stdinText);
    expect(r.code).toBe(0);
    uploaded.stdin = parseJson<Summary>(r);
    expect(uploaded.stdin).toMatchObject({name: 'piped', size: Buffer.byteLength(stdinText), sha1: sha1(stdinText)});
  });

  // The profile's part size also sets the single-upload cutoff, so a 12 MiB file goes up
  // in parallel 5 MB parts (resumable) rather than in one 12 MiB request.
  test('a 12 MiB file with --part-size 5MB goes up as a large file in parts', async () => {
    const parts = calls(world.emu, 'b2_upload_part');
    const finishes = calls(world.emu, 'b2_finish_large_file');
    const bigPath = join(world.dir, 'big.tar');
    await writeFile(bigPath, big);
    const uploads = calls(world.emu, 'b2_upload_file');
    const r = await world.spawn(['upload', bigPath, '--name', 'big one', '--json', '--profile', 'home'], {}).done;
    expect({code: r.code, stderr: r.stderr}).toEqual({code: 0, stderr: ''});
    uploaded.big = JSON.parse(r.stdout.toString('utf8')) as Summary;
    expect(uploaded.big).toMatchObject({name: 'big one', size: big.length, sha1: sha1(big), resumed: false});
    expect(calls(world.emu, 'b2_upload_part') - parts).toBeGreaterThanOrEqual(3);
    expect(calls(world.emu, 'b2_finish_large_file') - finishes).toBe(1);
    expect(calls(world.emu, 'b2_upload_file') - uploads).toBe(1); // the metadata file only
  });
});

describe('b2 list and b2 show', () => {
  test('list: a table and a JSON array, newest first', async () => {
    const newestFirst = [uploaded.big, uploaded.stdin, uploaded.named, uploaded.plain];
    const human = await home(['list']);
    expect(human).toMatchObject({code: 0, stderr: ''});
    const lines = human.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^ID\s+NAME\s+DATE\s+SIZE$/);
    expect(lines.slice(1).map((l) => l.split(/\s+/)[0])).toEqual(newestFirst.map((b) => b.id));
    expect(human.stdout).toMatch(new RegExp(`^${uploaded.big.id}\\s+big one\\s+\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d [+-]\\d\\d:\\d\\d\\s+12\\.0 MiB$`, 'm'));

    const json = await home(['list', '--json']);
    expect(json.code).toBe(0);
    const listed = parseJson<Summary[]>(json);
    expect(listed.map((b) => b.id)).toEqual(newestFirst.map((b) => b.id));
    for (const [i, b] of newestFirst.entries()) expect(listed[i]).toMatchObject({id: b.id, name: b.name, date: b.date, size: b.size});
    const times = listed.map((b) => Date.parse(b.date));
    expect([...times].sort((a, b) => b - a)).toEqual(times);
  });

  test('show: every field, in both forms', async () => {
    const human = await home(['show', uploaded.named.id]);
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(new RegExp(`^id\\s+${uploaded.named.id}$`, 'm'));
    expect(human.stdout).toMatch(/^name\s+before upgrade$/m);
    expect(human.stdout).toMatch(new RegExp(`^sha1\\s+${sha1(small)}$`, 'm'));
    expect(human.stdout).toMatch(/^meta host\s+nas$/m);
    expect(human.stdout).toMatch(/^meta reason\s+os update$/m);

    const json = await home(['show', uploaded.named.id, '--json']);
    expect(json.code).toBe(0);
    expect(parseJson(json)).toMatchObject({id: uploaded.named.id, name: uploaded.named.name, date: uploaded.named.date, size: small.length, sha1: sha1(small), metadata: {extra_metadata: {host: 'nas', reason: 'os update'}, name: 'before upgrade', size: small.length}});
  });
});

// describedBy says where a listing takes a backup's id, name and date from: the archive's own
// file info (a file uploaded here), or its metadata file (a tar from stdin, whose backup.json
// could come last, carries only a provisional description). upload --json says it as list and show do.
describe('describedBy', () => {
  test('upload --json, list --json and show --json agree, for a tar from stdin and for a file', async () => {
    const tar = buildTar([{name: 'etc/hosts', data: Buffer.from('127.0.0.1 localhost\n')}]);
    const r = await world.spawn(['upload', '-', '--name', 'piped tar', '--json', '--profile', 'home'], {input: tar}).done;
    expect({code: r.code, stderr: r.stderr}).toEqual({code: 0, stderr: ''});
    const piped = JSON.parse(r.stdout.toString('utf8')) as Summary;
    const listed = parseJson<Summary[]>(await home(['list', '--json']));
    const said = async (up: Summary) => ({upload: up.describedBy, list: listed.find((b) => b.id === up.id)?.describedBy, show: parseJson<Summary>(await home(['show', up.id, '--json'])).describedBy});
    const [tarSaid, fileSaid] = [await said(piped), await said(uploaded.named)];
    // first: the tests after this one list the four backups above (setup for them, in this process: delete is tested below)
    await world.withLocation('home', ({catalog}) => catalog.delete(piped.id));
    expect(tarSaid).toEqual({upload: 'metadata-file', list: 'metadata-file', show: 'metadata-file'});
    expect(fileSaid).toEqual({upload: 'archive', list: 'archive', show: 'archive'});
  });
});

describe('b2 download', () => {
  test('-o PATH writes the verified archive; the path on stdout; --json says where', async () => {
    const out = join(world.dir, 'restored.tar');
    const r = await home(['download', uploaded.big.id, '-o', out]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`${out}\n`);
    expect(r.stderr).toContain(`sha1 ${sha1(big)} verified`);
    expect((await readFile(out)).equals(big)).toBe(true);

    const out2 = join(world.dir, 'restored-small.tar');
    const json = await home(['download', uploaded.named.id, '-o', out2, '--json']);
    expect(json.code).toBe(0);
    expect(parseJson(json)).toMatchObject({id: uploaded.named.id, path: out2, sha1: sha1(small)});
    expect((await readFile(out2)).equals(small)).toBe(true);
  });

  test('-o - writes the archive bytes to stdout', async () => {
    const {done} = world.spawn(['download', uploaded.big.id, '-o', '-', '--profile', 'home']);
    const r = await done;
    expect(r.code).toBe(0);
    expect(r.stdout.length).toBe(big.length);
    expect(r.stdout.equals(big)).toBe(true);
  });

  // /dev/stdout into a file is a symlink to that very file: it is stdout all the same, never "already exists" or replaced
  test.each([['-o -', '-'], ['-o /dev/stdout', '/dev/stdout'], ['-o /dev/stdout --force', '/dev/stdout', '--force']])('%s into a file (`>> FILE`) and into a shell pipe (`| cat > FILE`): the bytes, in order, after what was there', async (_how, output, ...force) => {
    const appended = join(world.dir, 'appended.bin');
    await writeFile(appended, 'kept\n');
    const piped = join(world.dir, 'piped.bin');
    const argv = [process.execPath, join(cliRoot, 'bin/run.js'), 'b2', 'download', uploaded.big.id, '-o', output, ...force, '--profile', 'home', '--config', world.config];
    const run = (stdout: 'pipe' | number, shell?: string) =>
      new Promise<number | null>((resolve, reject) => {
        const [cmd, ...args] = shell ? ['bash', '-c', shell, 'sh', ...argv] : argv;
        const child = spawn(cmd, args, {cwd: world.dir, env: {...cleanEnv(), ...world.env}, stdio: ['ignore', stdout, 'inherit']});
        child.on('error', reject);
        child.on('close', resolve);
      });
    const fd = openSync(appended, 'a');
    try {
      expect(await run(fd)).toBe(0);
    } finally {
      closeSync(fd);
    }
    expect((await readFile(appended)).equals(Buffer.concat([Buffer.from('kept\n'), big]))).toBe(true);
    expect(await run('pipe', `"$@" | cat > '${piped}'`)).toBe(0);
    expect((await readFile(piped)).equals(big)).toBe(true);
  });

  test('never overwrites an existing file without --force; --force does', async () => {
    const out = join(world.dir, 'precious.tar');
    await writeFile(out, 'do not touch');
    const refused = await home(['download', uploaded.named.id, '-o', out]);
    expectFailure(refused, 2, /precious\.tar.*--force/, world.secrets);
    expect(await readFile(out, 'utf8')).toBe('do not touch');

    const forced = await home(['download', uploaded.named.id, '-o', out, '--force']);
    expect(forced.code).toBe(0);
    expect((await readFile(out)).equals(small)).toBe(true);
  });
});

describe('b2 download: where -o points', () => {
  test('-o /dev/null --force writes through the device and leaves it a device', async () => {
    const before = await stat('/dev/null');
    const r = await home(['download', uploaded.big.id, '-o', '/dev/null', '--force']);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain(`sha1 ${sha1(big)} verified`);
    const after = await stat('/dev/null');
    expect(after.isCharacterDevice()).toBe(true);
    expect(after.rdev).toBe(before.rdev);
  });

  test('-o a FIFO streams into the pipe and never replaces it', async () => {
    const fifo = join(world.dir, 'restore.fifo');
    execFileSync('mkfifo', [fifo]);
    const reader = readFile(fifo); // a FIFO opens once both ends are there
    const r = await home(['download', uploaded.big.id, '-o', fifo, '--force']);
    expect(r.code).toBe(0);
    expect((await reader).equals(big)).toBe(true);
    expect((await lstat(fifo)).isFIFO()).toBe(true);
  });

  test('-o /dev/stdout --force writes to stdout and leaves the symlink alone', async () => {
    const {done} = world.spawn(['download', uploaded.big.id, '-o', '/dev/stdout', '--force', '--profile', 'home']);
    const r = await done;
    expect(r.code).toBe(0);
    expect(r.stdout.subarray(0, big.length).equals(big)).toBe(true);
    expect((await lstat('/dev/stdout')).isSymbolicLink()).toBe(true);
  });

  test('-o DIR/ and -o a dangling symlink fail with exit 2 before any download', async () => {
    const before = downloadCalls(world.emu);
    const dir = await home(['download', uploaded.big.id, '-o', `${world.dir}/`]);
    expectFailure(dir, 2, /names a directory; give a file path/, world.secrets);
    const dangling = join(world.dir, 'dangling.tar');
    await symlink(join(world.dir, 'no-such-dir', 'x.tar'), dangling);
    const r = await home(['download', uploaded.big.id, '-o', dangling, '--force']);
    expectFailure(r, 2, /dangling\.tar is a symbolic link to .*x\.tar, which does not exist/, world.secrets);
    expect((await lstat(dangling)).isSymbolicLink()).toBe(true);
    expect(downloadCalls(world.emu)).toBe(before);
  });

  test('-o a symlink to a regular file replaces that file atomically, keeping the link', async () => {
    const real = join(world.dir, 'real-target.tar');
    const linkPath = join(world.dir, 'link-to-target.tar');
    await writeFile(real, 'old');
    await symlink(real, linkPath);
    const r = await home(['download', uploaded.named.id, '-o', linkPath, '--force']);
    expect(r.code).toBe(0);
    expect((await lstat(linkPath)).isSymbolicLink()).toBe(true);
    expect((await readFile(real)).equals(small)).toBe(true);
  });
});

describe('b2 verify', () => {
  test('ok, in both forms', async () => {
    const human = await home(['verify', uploaded.big.id]);
    expect(human).toMatchObject({code: 0, stderr: ''});
    expect(human.stdout).toMatch(new RegExp(`^OK backup ${uploaded.big.id} \\(big one\\), 12\\.0 MiB: size and SHA1 ${sha1(big)} match\\n$`));
    const json = await home(['verify', uploaded.stdin.id, '--json']);
    expect(json.code).toBe(0);
    expect(parseJson(json)).toMatchObject({ok: true, id: uploaded.stdin.id, size: uploaded.stdin.size, sha1: uploaded.stdin.sha1, expectedSha1: uploaded.stdin.sha1});
  });
});

describe('b2 cleanup', () => {
  const stale = `${PREFIX}stale_2026-01-01_00.00_00000000.tar`;
  // an unfinished upload that this tool did not start (no backup file info): never cancelled
  const foreign = `${PREFIX}foreign_2026-01-01_00.00_00000000.tar`;
  const unfinished = async () => (await versionsUnderPrefix()).filter((f) => f.action === 'start').map((f) => f.fileName).sort();

  beforeAll(async () => {
    const auth = await authorizeRaw(world.emu);
    const fileInfo = {backup_id: '0badc0de', backup_name: 'stale', backup_date: '2026-01-01T00:00:00.000000+00:00'};
    for (const [fileName, info] of [[stale, fileInfo], [foreign, {}]] as const) {
      const started = await api(world.emu, auth.authorizationToken, 'b2_start_large_file', {bucketId: world.emu.bucketId, fileName, contentType: 'application/x-tar', fileInfo: info});
      expect(started.status).toBe(200);
    }
  });

  test('--dry-run lists what it would cancel and cancels nothing', async () => {
    const human = await home(['cleanup', '--dry-run', '--older-than', '0s']);
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(/^WHAT\s+KEY\s+SINCE\s*$/m);
    expect(human.stdout).toMatch(/^unfinished upload\s+stale_2026-01-01_00.00_00000000.tar\s/m);
    expect(human.stdout).toMatch(/^Would cancel 1 unfinished upload and would delete 0 archives without metadata file; left 1 unfinished upload not of this location's backups \(another tool's, or under a deeper prefix\)\.$/m);
    const json = await home(['cleanup', '--dry-run', '--older-than', '0s', '--json']);
    expect(json.code).toBe(0);
    expect(parseJson(json)).toMatchObject({dryRun: true, cancelled: [{key: expect.stringContaining('stale_2026-01-01')}], deleted: [], foreign: 1});
    expect(await unfinished()).toEqual([foreign, stale]);
  });

  test('--older-than keeps uploads started more recently (the 24h default keeps a fresh one), and one line says how many and how to take them too', async () => {
    const keptLine = (verb: string, action: string) => `${verb} 1 unfinished upload or orphaned file from the last 24h, as an upload elsewhere may still be writing it; run again with --older-than 0s to ${action} it too (an upload still running would be cut off and have to run again).\n`;
    const r = await home(['cleanup']);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`Cancelled 0 unfinished uploads and deleted 0 archives without metadata file; left 1 unfinished upload not of this location's backups (another tool's, or under a deeper prefix).\n${keptLine('Kept', 'remove')}`);
    const dry = await home(['cleanup', '--dry-run']);
    expect(dry.stdout).toBe(`Would cancel 0 unfinished uploads and would delete 0 archives without metadata file; left 1 unfinished upload not of this location's backups (another tool's, or under a deeper prefix).\n${keptLine('Would keep', 'include')}`);
    expect(parseJson(await home(['cleanup', '--json']))).toMatchObject({kept: 1, olderThan: '24h', cancelled: []});
    expect(await unfinished()).toEqual([foreign, stale]);
  });

  test('cancels what is older than --older-than, in both forms', async () => {
    const json = await home(['cleanup', '--older-than', '0s', '--json']);
    expect(json.code).toBe(0);
    expect(parseJson(json)).toMatchObject({dryRun: false, kept: 0, cancelled: [{key: expect.stringContaining('stale_2026-01-01')}]});
    expect(await unfinished()).toEqual([foreign]);
    const again = await home(['cleanup', '--older-than', '0s']);
    expect(again.stdout).toBe('Cancelled 0 unfinished uploads and deleted 0 archives without metadata file; left 1 unfinished upload not of this location\'s backups (another tool\'s, or under a deeper prefix).\n');
    const auth = await authorizeRaw(world.emu);
    const [{fileId}] = (await api(world.emu, auth.authorizationToken, 'b2_list_unfinished_large_files', {bucketId: world.emu.bucketId, namePrefix: foreign})).json.files as {fileId: string}[];
    expect((await api(world.emu, auth.authorizationToken, 'b2_cancel_large_file', {fileId})).status).toBe(200);
  });
});

describe('b2 diagnostics', () => {
  test('valid JSON with the key\'s capabilities and no secret, not even the key id', async () => {
    const r = await home(['diagnostics']);
    expect(r.code).toBe(0);
    const report = parseJson<{profile: Record<string, unknown>; key: {capabilities: string[]}; partSizes: Record<string, number>}>(r);
    expect(report.profile).toMatchObject({name: 'home', bucket: world.emu.bucket, prefix: PREFIX, partSize: 5_000_000});
    expect(report.key.capabilities).toEqual(expect.arrayContaining(BACKUP_CAPABILITIES));
    expect(report.partSizes.absoluteMinimum).toBeGreaterThan(0);
    expectNoSecrets(r, [...world.secrets, key.keyId]);
  });
});

describe('b2 delete', () => {
  test('--yes deletes; --json reports; then nothing is left, not even old versions', async () => {
    const human = await home(['delete', uploaded.plain.id, '--yes']);
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(new RegExp(`^Deleted backup ${uploaded.plain.id} "Backup" of .*: \\S+\\.tar and \\S+\\.metadata\\.json\\n$`));
    const json = await home(['delete', uploaded.named.id, '--yes', '--json']);
    expect(json.code).toBe(0);
    expect(parseJson(json)).toMatchObject({deleted: {id: uploaded.named.id, name: uploaded.named.name}});
    // the other two go by the same code, in this process: they only empty the location for the checks below
    for (const b of [uploaded.stdin, uploaded.big]) {
      expect(await world.withLocation('home', ({catalog}) => catalog.delete(b.id))).toMatchObject({info: {id: b.id, name: b.name}, alreadyGone: false});
    }
    expect(await home(['list'])).toMatchObject({code: 0, stdout: 'No backups.\n'});
    expect(await world.listedIds('home')).toEqual([]); // `list --json` of nothing: test/cli/embedded
    expect(await versionsUnderPrefix()).toEqual([]);
  });
});

describe('prefix confinement', () => {
  test('every name the profile\'s key touched, in every command above, is under the profile prefix', () => {
    const touched = world.emu.stats().touchedNames[key.keyId] ?? [];
    expect(touched.length).toBeGreaterThan(8); // 4 backups × 2 objects, at least
    expect(touched.filter((n) => !n.startsWith(PREFIX))).toEqual([]);
  });
});

test('no run printed an application key', () => {
  world.expectNoSecretInAnyRun([key.keyId]);
});
