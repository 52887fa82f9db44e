import {afterAll, beforeAll, describe, expect, test} from '@jest/globals';
import {randomBytes} from 'node:crypto';
import {readFile, rm, writeFile} from 'node:fs/promises';
import {join} from 'node:path';
import {parse, stringify} from 'yaml';
import {B2Backend} from '../../src/b2/index.js';
import {BackupCatalog} from '../../src/backups/index.js';
import {startEmulator, type RunningEmulator} from '../../src/emulator/index.js';
import {seedBackups, seedLargeBackup} from '../helpers/seed-backups.js';
import {api, authorizeRaw} from '../emulator/helpers.js';
import {BACKUP_CAPABILITIES, calls, downloadCalls, E2EWorld, expectFailure, parseJson} from './helpers.js';

// The real CLI against the emulator over HTTP: `b2 profile update NAME --prefix NEW
// --move-backups` moves 50 backups (two of them large files, copied in parts) with
// server-side copies and no download; --dry-run changes nothing; a prefix change without
// the flag warns; `b2 copy ID --to PROFILE` and its refusals.

const PART = 5_000_000; // the smallest part size a profile takes: archives above it are copied in parts
const LARGE = 2 * PART + 123_456;

let world: E2EWorld;
let emu: RunningEmulator;
let keyArgs: {keyId: string; applicationKey: string};
const large: Array<{id: string; sha1: string}> = [];

const b2 = (args: string[]) => world.b2(args);
/** The prefix profile `name` has saved (what a command run next would use). */
const savedPrefix = async (name: string) => (await world.storedProfile(name))?.prefix;
/** Backup `id` verified through profile `name`, in this process (a check of the state, not under test). */
const verified = (name: string, id: string) => world.withLocation(name, ({catalog}) => catalog.verify(id));

/** A B2Backend and catalog at `prefix`, the test's own view (not under test). */
async function location(prefix: string): Promise<{backend: B2Backend; catalog: BackupCatalog; keys: () => Promise<string[]>}> {
  const backend = await B2Backend.open({keyId: emu.keyId, applicationKey: emu.applicationKey, bucket: emu.bucket, prefix, endpoint: emu.url, partSize: PART, uploadCutoff: PART});
  const keys = async () => {
    const out: string[] = [];
    for await (const o of backend.list()) out.push(o.key);
    return out;
  };
  return {backend, catalog: new BackupCatalog(backend), keys};
}

async function withLocation<T>(prefix: string, work: (l: Awaited<ReturnType<typeof location>>) => Promise<T>): Promise<T> {
  const l = await location(prefix);
  try {
    return await work(l);
  } finally {
    await l.backend.close();
  }
}

beforeAll(async () => {
  world = await E2EWorld.start();
  emu = world.emu;
  keyArgs = await world.createKey();
  await world.addProfile('home', {...keyArgs, prefix: 'old/', partSize: '5MB', concurrency: 4});
  // 48 small backups and two whose archives are large files (in parts) laid straight into the emulator
  await seedBackups(emu, 'old/', 48);
  for (const i of [1, 2]) large.push(await seedLargeBackup(emu, 'old/', {name: `large ${i}`, size: LARGE, partSize: PART}));
});

afterAll(async () => {
  world?.expectNoSecretInAnyRun();
  await world?.close();
});

describe('b2 profile update --prefix NEW --move-backups', () => {
  test('--dry-run shows the plan and changes nothing', async () => {
    const before = await withLocation('old/', (l) => l.keys());
    emu.resetStats();
    const r = await b2(['profile', 'update', 'home', '--prefix', 'new/', '--move-backups', '--dry-run']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/Would move 50 backups from "old\/" to "new\/"/);
    expect(r.stdout).toMatch(/Dry run: nothing was copied, deleted or saved/);
    expect(r.stdout).not.toMatch(/Updated profile/);
    expect(calls(emu, 'b2_copy_file') + calls(emu, 'b2_copy_part') + calls(emu, 'b2_start_large_file') + calls(emu, 'b2_delete_file_version')).toBe(0);
    expect(await withLocation('old/', (l) => l.keys())).toEqual(before);
    expect(await withLocation('new/', (l) => l.keys())).toEqual([]);
    expect(await savedPrefix('home')).toBe('old/');
  });

  test('moves 50 backups (two large ones in parts) with server-side copies: all under the new prefix, verified, none under the old, zero downloads', async () => {
    const ids = (await world.listedIds('home')).sort();
    expect(ids).toHaveLength(50);
    emu.resetStats();
    const r = await b2(['profile', 'update', 'home', '--prefix', 'new/', '--move-backups']);
    expect({code: r.code, stderr: r.stderr}).toEqual({code: 0, stderr: ''});
    expect(r.stdout).toMatch(/Moved 50 backups from "old\/" to "new\/".*: 100 files copied on the server \(no archive downloaded\), 100 originals deleted/);
    expect(r.stdout).toMatch(/Updated profile "home"/);
    // no archive: only each backup's metadata file, read once to check it is the backup's own before its versions are deleted
    expect(downloadCalls(emu)).toBe(50);
    // 98 copies in one call; the two large archives in parts of 5 MB (3 each)
    expect({copyFile: calls(emu, 'b2_copy_file'), copyPart: calls(emu, 'b2_copy_part'), started: calls(emu, 'b2_start_large_file')}).toEqual({copyFile: 98, copyPart: 6, started: 2});

    expect(await savedPrefix('home')).toBe('new/');
    expect((await world.listedIds('home')).sort()).toEqual(ids);
    expect(await withLocation('old/', (l) => l.keys())).toEqual([]);
    await withLocation('new/', async ({catalog, keys}) => {
      expect(await keys()).toHaveLength(100);
      for (const id of ids) expect(await catalog.verify(id)).toMatchObject({ok: true});
    });
    for (const {id, sha1} of large) expect(await verified('home', id)).toMatchObject({ok: true, sha1, size: LARGE});
  }, 120_000);

  test('run again with the prefix it already has: refused with one line, nothing changes', async () => {
    const r = await b2(['profile', 'update', 'home', '--prefix', 'new/', '--move-backups']);
    expectFailure(r, 2, /already uses "new\/" in bucket \S+; give --prefix a different one/, world.secrets);
  });

  test('a prefix change without --move-backups warns that the backups stay behind and names the flag', async () => {
    await world.addProfile('side', {...keyArgs, prefix: 'side-a/'});
    await seedBackups(emu, 'side-a/', 3, 100);
    const r = await b2(['profile', 'update', 'side', '--prefix', 'side-b/']);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/Warning: 3 backups stay under the old prefix "side-a\/".*--move-backups/);
    expect(await withLocation('side-a/', (l) => l.keys())).toHaveLength(6);
  });

  test('--move-backups without --prefix, or --dry-run alone: one line, exit 2', async () => {
    expectFailure(await b2(['profile', 'update', 'home', '--move-backups']), 2, /give it with --prefix NEW/, world.secrets);
    expectFailure(await b2(['profile', 'update', 'home', '--prefix', 'x/', '--dry-run']), 2, /--dry-run shows what --move-backups would do/, world.secrets);
  });
});

describe('b2 copy ID --to PROFILE', () => {
  beforeAll(async () => {
    await world.addProfile('offsite', {...keyArgs, prefix: 'offsite/', partSize: '5MB'});
  });

  test('copies a backup (by a prefix of its id) on the server; it lists and verifies there; again: already there', async () => {
    const [newest] = await world.withLocation('home', ({catalog}) => catalog.list());
    // an earlier verify or download of it cached its metadata file: without the cache, the copy reads it once
    await rm(join(world.cliCacheDir, 'locations'), {recursive: true, force: true});
    emu.resetStats();
    const r = await b2(['copy', newest.id.slice(0, 6), '--to', 'offsite', '--profile', 'home', '--json']);
    expect(r.code).toBe(0);
    expect(parseJson(r)).toMatchObject({to: 'offsite', existing: false, copied: {id: newest.id}});
    expect(downloadCalls(emu)).toBe(1); // its metadata file, checked to be the backup's own; not the archive
    const listed = await world.withLocation('offsite', ({catalog}) => catalog.list());
    expect(listed.map((b) => [b.id, b.name])).toEqual([[newest.id, newest.name]]);
    expect(await verified('offsite', newest.id)).toMatchObject({ok: true});
    // the original stays
    expect(await world.listedIds('home')).toContain(newest.id);

    emu.resetStats();
    const again = await b2(['copy', 'latest', '--to', 'offsite', '--profile', 'home']);
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/already holds backup .*nothing was copied/);
    expect(calls(emu, 'b2_copy_file')).toBe(0);
  });

  test('a large archive is copied in parts', async () => {
    emu.resetStats();
    const r = await b2(['copy', large[0].id, '--to', 'offsite', '--profile', 'home']);
    expect(r.code).toBe(0);
    expect(calls(emu, 'b2_copy_part')).toBe(3);
    expect(await verified('offsite', large[0].id)).toMatchObject({ok: true, sha1: large[0].sha1});
  });

  test('to the same profile, or to a profile naming the same location: one line, exit 2, nothing copied', async () => {
    await world.addProfile('home-again', {...keyArgs, prefix: 'new/'});
    emu.resetStats();
    expectFailure(await b2(['copy', 'latest', '--to', 'home', '--profile', 'home']), 2, /--to home: it is the profile the backup is in; give another profile/, world.secrets);
    expectFailure(await b2(['copy', 'latest', '--to', 'home-again', '--profile', 'home']), 2, /--to home-again: it names the same location as profile "home"/, world.secrets);
    expect(calls(emu, 'b2_copy_file')).toBe(0);
  });

  test('to a profile on another account or endpoint: one line, exit 2, nothing copied; one that already holds the backup is the answer (exit 0), with a warning', async () => {
    const other = await startEmulator({port: 0});
    world.secrets.push(other.applicationKey);
    try {
      await world.addProfile('far', {keyId: other.keyId, applicationKey: other.applicationKey, bucket: other.bucket, endpoint: other.url, prefix: 'far/'});
      emu.resetStats();
      const r = await b2(['copy', 'latest', '--to', 'far', '--profile', 'home']);
      expectFailure(r, 2, /profile "home" and profile "far" are on different B2 accounts or endpoints .*nothing was copied/, world.secrets);
      expect(calls(emu, 'b2_copy_file')).toBe(0);
      expect(other.stats().calls.b2_copy_file).toBeUndefined();

      // the same backup put there another way (same names, bytes and SHA1: seedBackups is deterministic)
      await seedBackups(other, 'far/', 1, 5);
      const there = await b2(['copy', '10000005', '--to', 'far', '--profile', 'home']);
      expect(there.code).toBe(0);
      expect(there.stdout).toMatch(/^Profile "far" already holds backup 10000005 "nightly 5" .*; nothing was copied\.\n$/);
      // a setup tried with a backup that is there already must not pass for one that copies
      const warnings = there.stderr.split('\n').filter(Boolean);
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toMatch(/^Warning: profile "home" and profile "far" are on different B2 accounts or endpoints \(.*\): a server-side copy works only within one account and endpoint, so a backup that profile "far" does not hold yet cannot be copied there \(exit 2\); download the backup and upload it there as the same backup: "backup-b2 b2 download ID -o FILE --config \S+ --profile home", then "backup-b2 b2 upload FILE --name NAME --id ID --date DATE --config \S+ --profile far" \(NAME, ID and DATE: its name, id and date, NAME quoted for the shell, DATE with an offset; .*"backup-b2 b2 show ID --json --config \S+ --profile home" shows them all; a Home Assistant archive carries its id, date and Home Assistant metadata in its backup.json; an Object Lock on it is not carried over: the upload is locked as the profile it goes to locks uploads\)$/);
      expect(parseJson(await b2(['copy', '10000005', '--to', 'far', '--profile', 'home', '--json']))).toMatchObject({to: 'far', existing: true, copiedFiles: [], copied: {id: '10000005'}});
      expect(calls(emu, 'b2_copy_file')).toBe(0);
      expect(other.stats().calls.b2_copy_file).toBeUndefined();
    } finally {
      await other.stop();
    }
  });

  test('onto a file of the same name and size that no SHA1 proves the same: copy and move stop with one line (exit 2), the backup stays', async () => {
    // a Home Assistant backup whose archive was streamed up: a large file with no SHA1 on record anywhere
    const base = 'Automatic_backup_2026.4.1_2026-04-08_04.57_43001930';
    const id = 'ha5e1f00';
    const data = randomBytes(3000);
    const meta = {metadata_version: '1', backup_id: id, backup_metadata: {addons: [], backup_id: id, date: '2026-04-08T04:57:43.001930+02:00', database_included: true, extra_metadata: {}, folders: [], homeassistant_included: true, homeassistant_version: '2026.4.1', name: 'Automatic backup 2026.4.1', protected: false, size: data.length}};
    await emu.putFiles(emu.bucket, [
      {fileName: `ha-src/${base}.tar`, data, contentType: 'application/x-tar', fileInfo: {}, partSize: 1000},
      {fileName: `ha-src/${base}.metadata.json`, data: Buffer.from(JSON.stringify(meta)), contentType: 'application/json', fileInfo: {}},
      {fileName: `ha-dst/${base}.tar`, data: randomBytes(data.length), contentType: 'application/x-tar', fileInfo: {}},
    ]);
    await world.addProfile('ha-src', {...keyArgs, prefix: 'ha-src/'});
    await world.addProfile('ha-dst', {...keyArgs, prefix: 'ha-dst/'});
    emu.resetStats();
    const unproven = new RegExp(`already holds files with the names and sizes of .* that no SHA1 on record proves to be the same files \\(${base}\\.tar: no SHA1 is recorded for the backup, or for the file there\\); delete them there`);
    expectFailure(await b2(['copy', id, '--to', 'ha-dst', '--profile', 'ha-src']), 2, unproven, world.secrets);
    expectFailure(await b2(['profile', 'update', 'ha-src', '--prefix', 'ha-dst/', '--move-backups']), 2, unproven, world.secrets);
    expect(calls(emu, 'b2_copy_file') + calls(emu, 'b2_copy_part') + calls(emu, 'b2_delete_file_version')).toBe(0);
    expect(await savedPrefix('ha-src')).toBe('ha-src/');
    expect(await withLocation('ha-dst/', (l) => l.keys())).toEqual([`${base}.tar`]);
    await withLocation('ha-src/', async ({backend, keys}) => {
      expect(await keys()).toEqual([`${base}.metadata.json`, `${base}.tar`]);
      expect(Buffer.concat(await (await backend.get(`${base}.tar`)).stream.toArray())).toEqual(data);
    });
  });

  test('an unknown id: exit 4', async () => {
    expectFailure(await b2(['copy', 'deadbeef', '--to', 'offsite', '--profile', 'home']), 4, /no backup with id deadbeef/, world.secrets);
  });
});

describe('Object Lock', () => {
  type RawFile = {fileName: string; fileRetention: {value: {mode: string | null; retainUntilTimestamp: number | null} | null}};
  let master: string;
  let bucketId: string;

  beforeAll(async () => {
    const auth = await authorizeRaw(emu);
    master = auth.authorizationToken;
    const made = await api(emu, master, 'b2_create_bucket', {accountId: auth.accountId, bucketName: 'lock-move-1', bucketType: 'allPrivate', fileLockEnabled: true});
    bucketId = made.json.bucketId;
    const locker = await world.createKey({capabilities: [...BACKUP_CAPABILITIES, 'readFileRetentions', 'writeFileRetentions', 'readFileLegalHolds']});
    // written as a user would: two profiles on the Object Lock bucket, the first locking its uploads for 3 days
    const file = parse(await readFile(world.config, 'utf8')) as {profiles: Record<string, unknown>};
    const common = {...locker, bucket: 'lock-move-1', endpoint: emu.url};
    file.profiles.locking = {...common, prefix: 'lk1/', lock: {days: 3}};
    file.profiles['lock-copies'] = {...common, prefix: 'lk-copies/'};
    file.profiles.holding = {...common, prefix: 'lk3/'};
    await writeFile(world.config, stringify(file), {mode: 0o600});
  });

  test('a move of locked backups is refused up front with one line (exit 3); b2 copy keeps the lock on the copies', async () => {
    const {id} = await world.storeBackup('locking', randomBytes(3000), {name: 'locked'}); // locked by the profile's "lock:"

    const source = (await api(emu, master, 'b2_list_file_versions', {bucketId, prefix: 'lk1/'})).json.files as RawFile[];
    const until = source[0].fileRetention.value?.retainUntilTimestamp;
    expect(until).toBeGreaterThan(Date.now());

    emu.resetStats();
    const refused = await b2(['profile', 'update', 'locking', '--prefix', 'lk2/', '--move-backups']);
    expectFailure(refused, 3, /1 backup is under Object Lock \(until \d{4}-.*\): a move deletes the originals, which B2 refuses before then, so nothing was moved; copy them with "backup-b2 b2 copy ID --to PROFILE --config \S+ --profile locking"/, world.secrets);
    expect(calls(emu, 'b2_copy_file')).toBe(0);
    expect(await savedPrefix('locking')).toBe('lk1/');

    const copied = await b2(['copy', id, '--to', 'lock-copies', '--profile', 'locking']);
    expect({code: copied.code, stderr: copied.stderr}).toEqual({code: 0, stderr: ''});
    const copies = (await api(emu, master, 'b2_list_file_versions', {bucketId, prefix: 'lk-copies/'})).json.files as RawFile[];
    expect(copies.map((f) => f.fileRetention.value)).toEqual(source.map((f) => f.fileRetention.value));
    expect(copies).toHaveLength(2);
  });

  test('a move of backups under a legal hold (no retention) is refused up front the same way: one line, exit 3, nothing copied', async () => {
    await world.storeBackup('holding', randomBytes(3000), {name: 'held'});
    const source = (await api(emu, master, 'b2_list_file_versions', {bucketId, prefix: 'lk3/'})).json.files as Array<RawFile & {fileId: string}>;
    const archive = source.find((f) => f.fileName.endsWith('.tar'))!;
    expect(archive.fileRetention.value?.mode ?? null).toBeNull();
    const hold = await api(emu, master, 'b2_update_file_legal_hold', {fileName: archive.fileName, fileId: archive.fileId, legalHold: 'on'});
    expect(hold.status).toBe(200);

    emu.resetStats();
    const refused = await b2(['profile', 'update', 'holding', '--prefix', 'lk4/', '--move-backups']);
    expectFailure(refused, 3, /^Error: 1 backup is under Object Lock \(a legal hold, until it is removed\): a move deletes the originals, which B2 refuses before then, so nothing was moved; copy them with "backup-b2 b2 copy ID --to PROFILE --config \S+ --profile holding" \(the copies keep a retention, not a legal hold\), or change the prefix without --move-backups \(they stay under the old one\), or have the legal hold removed$/, world.secrets);
    expect(calls(emu, 'b2_copy_file') + calls(emu, 'b2_copy_part') + calls(emu, 'b2_delete_file_version')).toBe(0);
    expect(await savedPrefix('holding')).toBe('lk3/');
    expect((await api(emu, master, 'b2_list_file_versions', {bucketId, prefix: 'lk4/'})).json.files).toEqual([]);
  });
});
