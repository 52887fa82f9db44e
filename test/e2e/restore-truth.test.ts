import {afterAll, afterEach, beforeAll, beforeEach, describe, expect, test} from '@jest/globals';
import {execFileSync} from 'node:child_process';
import {randomBytes} from 'node:crypto';
import {createReadStream, existsSync, mkdirSync} from 'node:fs';
import {readdir, readFile, rm} from 'node:fs/promises';
import {join} from 'node:path';
import {E2EWorld, expectFailure, sha1} from './helpers.js';

// Restore tells the truth about whose bytes it restored. verify and download compare the
// archive with what the backup's metadata file records, not only with what the archive
// says of itself: a new version of the archive that describes itself (another machine's
// upload under the same name, with this backup's id and its own SHA1) fails them (exit 5)
// with the line show warns with, and no file is left at the target. A failure while
// writing to a pipe says that what the reader got is incomplete; commands about one
// backup print no warnings about other backups' files.

const PREFIX = 'home/';
let world: E2EWorld;
/** Runs at each API call the emulator answers (onRequest): a test holds a call there. */
let onCall: ((call: string) => Promise<void>) | undefined;

beforeAll(async () => {
  world = await E2EWorld.start({onRequest: (call) => onCall?.(call)});
  const key = await world.createKey();
  await world.addProfile('home', {...key, prefix: PREFIX});
});

afterAll(async () => {
  await world?.close();
});

/** A backup made here whose archive then gets a new version of other bytes (same size) that describes itself: this backup's id, name and date, and `sha1Info` of the new bytes. */
async function replacedBySelfDescribing(sha1Info: (other: Buffer) => Record<string, string>, partSize?: number) {
  const data = randomBytes(120_000);
  const up = await world.storeBackup('home', data, {name: 'victim'});
  const other = randomBytes(data.length);
  const fileInfo = {backup_id: up.id, backup_name: up.name, backup_date: up.date, ...sha1Info(other)};
  await world.emu.putFiles(world.emu.bucket, [{fileName: `${PREFIX}${up.archiveKey}`, data: other, contentType: 'application/x-tar', fileInfo, ...(partSize ? {partSize} : {})}]);
  const line = `${up.metadataKey} is not this backup's metadata file (it records SHA1 ${sha1(data)}, the archive ${sha1(other)})`;
  return {id: up.id, line};
}

const escaped = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

describe.each([
  ['a single-part version with backup_sha1 of its own bytes', (other: Buffer) => ({backup_sha1: sha1(other)}), undefined],
  ['a multi-part version whose large_file_sha1 is true for its own bytes', (other: Buffer) => ({large_file_sha1: sha1(other)}), 50_000],
])('the archive replaced by %s', (_what, info, partSize) => {
  let b: {id: string; line: string};
  beforeAll(async () => {
    b = await replacedBySelfDescribing(info, partSize);
  });

  test('show warns with the line verify and download fail with', async () => {
    const r = await world.b2(['show', b.id, '--profile', 'home']);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain(`Warning: ${b.line}; showing what the archive records`);
  });

  test('verify fails (exit 5) saying which record disagrees, never "OK"', async () => {
    const r = await world.b2(['verify', b.id, '--profile', 'home']);
    expectFailure(r, 5, new RegExp(`^Error: backup ${b.id} failed verification: ${escaped(b.line)}; the archive or its metadata file was replaced, restore from another backup$`), world.secrets);
    expect(r.stdout).toMatch(new RegExp(`^FAILED backup ${b.id} .*: ${escaped(b.line)}`, 'm'));
    expect(r.stdout).not.toMatch(/^OK/m);
  });

  test('verify --json prints the result with the reason (disagrees: the same line), then fails (exit 5)', async () => {
    const r = await world.b2(['verify', b.id, '--profile', 'home', '--json']);
    expect(r.code).toBe(5);
    const view = JSON.parse(r.stdout) as Record<string, unknown>;
    expect(view).toMatchObject({ok: false, id: b.id, disagrees: `${b.line}; the archive or its metadata file was replaced, restore from another backup`});
    // the archive matches its own record: the sizes and SHA1s alone would not say why it failed
    expect(view.sha1).toBe(view.expectedSha1);
  });

  test('download to a file fails (exit 5) and leaves no file there', async () => {
    const r = await world.b2(['download', b.id, '-o', `${b.id}.tar`, '--profile', 'home']);
    expectFailure(r, 5, new RegExp(`^Error: download of backup ${b.id} failed verification: ${escaped(b.line)}; `), world.secrets);
    expect(existsSync(join(world.dir, `${b.id}.tar`))).toBe(false);
  });

  test('download to stdout fails (exit 5), saying that what was written is incomplete', async () => {
    const r = await world.b2(['download', b.id, '-o', '-', '--profile', 'home']);
    expectFailure(r, 5, new RegExp(`^Error: download of backup ${b.id} failed verification: ${escaped(b.line)}; .*; the archive written to standard output is incomplete \\(discard it\\)$`), world.secrets);
  });
});

test('a backup whose records agree still verifies and downloads', async () => {
  const data = randomBytes(50_000);
  const up = await world.storeBackup('home', data, {name: 'fine'});
  const v = await world.b2(['verify', up.id, '--profile', 'home']);
  expect({code: v.code, stdout: v.stdout}).toMatchObject({code: 0, stdout: expect.stringMatching(/^OK backup/)});
  const d = await world.b2(['download', up.id, '-o', 'fine.tar', '--profile', 'home']);
  expect(d.code).toBe(0);
  expect(d.stderr).toBe(`Downloaded backup "fine" to fine.tar (48.8 KiB, sha1 ${sha1(data)} verified)\n`);
});

describe('the metadata file cannot be read (B2 fails every read of it, the archive read by id still works)', () => {
  let up: {id: string; metadataKey: string};
  let data: Buffer;
  beforeAll(async () => {
    data = randomBytes(40_000);
    up = await world.storeBackup('home', data, {name: 'sidecar-down'});
  });
  beforeEach(async () => {
    // the upload cached the metadata file: the CLI reads it from B2
    const locations = join(world.cliCacheDir, 'locations');
    for (const location of await readdir(locations)) await rm(join(locations, location, 'metadata-cache'), {recursive: true, force: true});
    // the archive is read by its file id, the metadata file by name: only the latter fails, past every retry
    world.emu.faults.add({call: 'b2_download_file_by_name', status: 503, code: 'service_unavailable', retryAfter: 0}); // busy through every retry, at once
  });
  afterEach(() => world.emu.faults.clear());

  const warning = (key: string) => new RegExp(`^Warning: ${escaped(key)} could not be read \\(.*\\); the archive is checked against its own record alone$`, 'm');

  test('verify of a good backup still passes (exit 0), warning once that only its own record was checked', async () => {
    const r = await world.b2(['verify', up.id, '--profile', 'home']);
    expect({code: r.code, stdout: r.stdout}).toMatchObject({code: 0, stdout: expect.stringMatching(/^OK backup/)});
    expect(r.stderr).toMatch(warning(up.metadataKey));
    expect(r.stderr.match(/Warning/g)).toHaveLength(1);
  });

  test('download of a good backup still writes it (exit 0), with the same warning', async () => {
    const r = await world.b2(['download', up.id, '-o', 'sidecar-down.tar', '--profile', 'home']);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/could not be read .*; the archive is checked against its own record alone$/m);
    expect(sha1(await readFile(join(world.dir, 'sidecar-down.tar')))).toBe(sha1(data));
  });
});

test('a new version of the archive uploaded while the download waits for its first request: it reads the version it listed and checked', async () => {
  const data = randomBytes(60_000);
  const up = await world.storeBackup('home', data, {name: 'raced'});
  let release!: () => void;
  const held = new Promise<void>((resolve) => (release = resolve));
  let reached!: () => void;
  const atDownload = new Promise<void>((resolve) => (reached = resolve));
  // every download request (the archive and its metadata file) waits until the new version is stored
  onCall = async (call) => {
    if (!call.startsWith('b2_download_file_by_')) return;
    reached();
    await held;
  };
  try {
    const run = world.b2(['download', up.id, '-o', 'raced.tar', '--profile', 'home']);
    await atDownload;
    await world.emu.putFiles(world.emu.bucket, [{fileName: `${PREFIX}${up.archiveKey}`, data: randomBytes(data.length), contentType: 'application/x-tar'}]);
    release();
    const r = await run;
    expect({code: r.code, stderr: r.stderr}).toEqual({code: 0, stderr: `Downloaded backup "raced" to raced.tar (58.6 KiB, sha1 ${sha1(data)} verified)\n`});
    expect(sha1(await readFile(join(world.dir, 'raced.tar')))).toBe(sha1(data));
  } finally {
    onCall = undefined;
    release();
  }
});

test('a failed verification while writing to a FIFO says that what was written there is incomplete, as for stdout', async () => {
  const up = await world.storeBackup('home', randomBytes(80_000), {name: 'damaged'});
  await world.emu.corrupt(world.emu.bucket, `${PREFIX}${up.archiveKey}`);
  const fifo = join(world.dir, 'ff');
  execFileSync('mkfifo', [fifo]);
  const reader = createReadStream(fifo).toArray(); // a reader, as `cat ff | …` would be
  const r = await world.b2(['download', up.id, '-o', 'ff', '--profile', 'home']);
  await reader;
  expectFailure(r, 5, /^Error: .*(downloaded data has SHA1|failed verification).*; the archive written to ff is incomplete \(discard it\)$/, world.secrets);
});

test('-o into a directory that does not exist says so at once, with the fix', async () => {
  const up = await world.storeBackup('home', randomBytes(1000), {name: 'small'});
  const r = await world.b2(['download', up.id, '-o', 'nodir/', '--profile', 'home']);
  expectFailure(r, 2, /^Error: the directory nodir\/ does not exist; create it first, then give a file path in it, e\.g\. nodir\/restore\.tar$/, world.secrets);
  mkdirSync(join(world.dir, 'out'));
  const existing = await world.b2(['download', up.id, '-o', 'out/', '--profile', 'home']);
  expectFailure(existing, 2, /^Error: out\/ names a directory; give a file path, e\.g\. out\/restore\.tar$/, world.secrets);
});

describe('commands about one backup print only warnings that concern it', () => {
  const otherBase = 'streamed_2026-01-01_00.00_00000000';
  let id: string;
  beforeAll(async () => {
    id = (await world.storeBackup('home', randomBytes(2000), {name: 'mine'})).id;
    // another backup's unreadable metadata file: a streamed archive of ours (no SHA1 of its own), and another tool's pair
    await world.emu.putFiles(world.emu.bucket, [
      {fileName: `${PREFIX}${otherBase}.tar`, data: randomBytes(100_000), partSize: 50_000, fileInfo: {backup_id: 'abcdef012345', backup_name: 'streamed', backup_date: '2026-01-01T00:00:00.000000+00:00'}},
      {fileName: `${PREFIX}${otherBase}.metadata.json`, data: Buffer.from('garbage'), fileInfo: {metadata_only: 'true'}},
      {fileName: `${PREFIX}Backup_x.tar`, data: Buffer.from('x')},
      {fileName: `${PREFIX}Backup_x.metadata.json`, data: Buffer.from('garbage')},
    ]);
  });

  test('list still warns of them', async () => {
    const r = await world.b2(['list', '--profile', 'home']);
    expect(r.stderr).toContain(`${otherBase}.metadata.json is not a valid backup metadata file`);
    expect(r.stderr).toContain('skipping Backup_x.metadata.json');
  });

  test.each([['show'], ['verify'], ['download', '-o', '/dev/null']])('%s of another backup does not', async (...args) => {
    const r = await world.b2([...args.slice(0, 1), id, ...args.slice(1), '--profile', 'home']);
    expect(r.code).toBe(0);
    expect(r.stderr).not.toMatch(/Warning|streamed_|Backup_x/);
  });
});

test('no run printed an application key', () => {
  world.expectNoSecretInAnyRun();
});
