import {afterAll, beforeAll, describe, expect, test} from '@jest/globals';
import {randomBytes} from 'node:crypto';
import {writeFile} from 'node:fs/promises';
import {join} from 'node:path';
import type {TransferEvent} from '../../src/b2/index.js';
import type {RunningEmulator} from '../../src/emulator/index.js';
import {BACKUP_CAPABILITIES, E2EWorld, calls, parseJson} from '../e2e/helpers.js';
import {api, authorizeRaw} from '../emulator/helpers.js';
import {coreBackupJson, haBackupAt, haBackupTar} from '../backups/ha-fixtures.js';

// --dry-run through the real CLI against the emulator: upload prints its plan (names,
// size, parts, calls, what an interrupted upload stored) and delete what it would remove;
// the emulator's counters show that neither made a single write (class A) call.

/** B2's class A calls: everything that writes (uploads, large files, deletes, hides, retention). */
const CLASS_A = ['b2_upload_file', 'b2_upload_part', 'b2_start_large_file', 'b2_finish_large_file', 'b2_cancel_large_file', 'b2_get_upload_url', 'b2_get_upload_part_url', 'b2_delete_file_version', 'b2_hide_file', 'b2_copy_file', 'b2_copy_part', 'b2_update_file_retention', 'b2_update_file_legal_hold'];
const classA = (emu: RunningEmulator) => Object.fromEntries(CLASS_A.map((c) => [c, calls(emu, c)]));

let world: E2EWorld;
let archive: string;
const MB = 1_000_000;
/** Time limits grow with the CLI runs a test makes (each a node process on a busy machine), not with a guess of its speed. */
const PER_RUN_MS = 30_000;

beforeAll(async () => {
  world = await E2EWorld.start();
  await world.addProfile('home', {...(await world.createKey()), prefix: 'home/', partSize: '5MB', concurrency: 2});
  archive = join(world.dir, 'archive.tar');
  await writeFile(archive, randomBytes(11 * MB)); // 3 parts: 5 MB, 5 MB, 1 MB
});
afterAll(async () => {
  await world?.close();
});

/** Runs the CLI and returns its result with the class A calls it made. */
async function counted(args: string[], input?: string) {
  const before = classA(world.emu);
  const r = await world.b2(args, {input});
  const after = classA(world.emu);
  return {...r, writes: Object.fromEntries(CLASS_A.map((c) => [c, after[c] - before[c]]).filter(([, n]) => n !== 0))};
}

interface PlanJson {
  dryRun: true;
  name: string;
  archiveKey: string;
  size: number;
  sha1: string;
  resumes?: {id: string; stored: string};
  archive: {kind: string; partSize: number; parts: number; concurrency: number; resume?: {partsStored: number; partsKept: number; bytesKept: number}};
  calls: Record<string, number>;
}

describe('b2 upload --dry-run', () => {
  test('prints the plan (name, size, part size, parts, calls) and makes no write call', async () => {
    const r = await counted(['upload', archive, '--name', 'planned', '--dry-run']);
    expect(r.code).toBe(0);
    expect(r.writes).toEqual({});
    expect(r.stdout).toMatch(/^Dry run: nothing was uploaded\.\nBackup "planned" \(10\.5 MiB, sha1 [0-9a-f]{40}\)\n {2}archive {8}"planned_[^"]+\.tar"\n {2}metadata file {2}"planned_[^"]+\.metadata\.json"\nUpload: 3 parts of 4\.8 MiB, 2 at a time\nAPI calls: .*b2_start_large_file ×1, b2_get_upload_part_url ×2, b2_upload_part ×3, b2_finish_large_file ×1.*b2_upload_file ×1/);
    expect(await world.withLocation('home', ({catalog}) => catalog.list())).toEqual([]); // as `b2 list` lists it (read in this process)
  });

  test('--json: the same plan as data', async () => {
    const r = await counted(['upload', archive, '--name', 'planned', '--dry-run', '--json']);
    expect(r.code).toBe(0);
    expect(r.writes).toEqual({});
    const plan = parseJson<PlanJson>(r);
    expect(plan).toMatchObject({dryRun: true, name: 'planned', size: 11 * MB, archive: {kind: 'parts', partSize: 5 * MB, parts: 3, concurrency: 2}});
    expect(plan.resumes).toBeUndefined();
    expect(plan.calls).toMatchObject({b2_start_large_file: 1, b2_upload_part: 3, b2_finish_large_file: 1, b2_upload_file: 1});
  });

  test('after an interrupted upload: what would be resumed; the real run then sends exactly the parts the plan said', async () => {
    // `upload --concurrency 1` stopped once part 1 is stored, as Ctrl-C stops it (its signal), run in this process: the setup of the plan below
    const stop = new AbortController();
    const partOneDone = (e: TransferEvent) => e.kind === 'part' && e.state === 'done' && e.part === 1 && stop.abort();
    const upload = world.withLocation('home', ({catalog}) => catalog.upload({path: archive}, {name: 'interrupted', signal: stop.signal}), {overrides: {concurrency: 1}, onEvent: partOneDone});
    await expect(upload).rejects.toMatchObject({kind: 'aborted'});

    const r = await counted(['upload', archive, '--name', 'interrupted', '--dry-run', '--json']);
    expect(r.code).toBe(0);
    expect(r.writes).toEqual({});
    const plan = parseJson<PlanJson>(r);
    expect(plan.resumes).toMatchObject({stored: 'parts'});
    const kept = plan.archive.resume!.partsKept;
    expect(kept).toBeGreaterThanOrEqual(1);
    expect(plan.archive.resume).toMatchObject({partsStored: kept, bytesKept: kept * 5 * MB});
    expect(plan.calls.b2_start_large_file).toBeUndefined();
    expect(plan.calls.b2_upload_part).toBe(3 - kept);
    const human = await world.b2(['upload', archive, '--name', 'interrupted', '--dry-run']);
    expect(human.stdout).toMatch(new RegExp(`^Resumes the interrupted backup ${plan.resumes!.id} of .*: ${kept} parts? stored, ${kept} kept \\(.*\\), ${3 - kept} to send$`, 'm'));

    const real = await counted(['upload', archive, '--name', 'interrupted', '--json']);
    expect(real.code).toBe(0);
    expect(parseJson<{id: string; resumed: boolean}>(real)).toMatchObject({id: plan.resumes!.id, resumed: true});
    expect(real.writes.b2_upload_part).toBe(3 - kept);
    expect(real.writes.b2_start_large_file).toBeUndefined();

    const again = parseJson<PlanJson>(await world.b2(['upload', archive, '--name', 'interrupted', '--dry-run', '--json']));
    expect(again.archive.resume).toBeUndefined(); // a finished upload leaves nothing to resume
  }, 4 * PER_RUN_MS);

  test('a Home Assistant backup tar: the plan uses its own name and id; once stored, nothing would be uploaded', async () => {
    const at = haBackupAt(3);
    const path = join(world.dir, 'ha.tar');
    await writeFile(path, haBackupTar(coreBackupJson(at)));
    const plan = parseJson<PlanJson>(await counted(['upload', path, '--dry-run', '--json']));
    expect(plan).toMatchObject({name: at.name, archive: {kind: 'single'}});
    expect(plan.resumes).toBeUndefined();
    await world.storeBackup('home', {path}); // as `b2 upload` stores it (in this process)
    const r = await counted(['upload', path, '--dry-run']);
    expect(r.writes).toEqual({});
    expect(r.stdout).toMatch(new RegExp(`^Already stored as backup ${at.backupId} of .*: nothing would be uploaded$`, 'm'));
  }, 2 * PER_RUN_MS);

  test('with a lock (--lock-days): the plan shows the retention both files would get; a key that cannot lock is refused as the real run is', async () => {
    const auth = await authorizeRaw(world.emu);
    await api(world.emu, auth.authorizationToken, 'b2_create_bucket', {accountId: auth.accountId, bucketName: 'dry-lock', bucketType: 'allPrivate', fileLockEnabled: true});
    const locker = await world.createKey({capabilities: [...BACKUP_CAPABILITIES, 'readFileRetentions', 'writeFileRetentions']});
    await world.addProfile('lockable', {...locker, bucket: 'dry-lock', prefix: 'lk/'});
    await world.setDefaultProfile('home'); // the other tests keep using "home" without naming it
    const small = join(world.dir, 'small.tar');
    await writeFile(small, randomBytes(2000));
    const shown = await counted(['upload', small, '--name', 'kept', '--profile', 'lockable', '--lock-days', '3', '--dry-run']);
    expect({code: shown.code, stderr: shown.stderr, writes: shown.writes}).toEqual({code: 0, stderr: '', writes: {}});
    expect(shown.stdout).toMatch(/^Lock: both files locked \(governance\) until \d{4}-\d\d-\d\d [\d:]+ .*\(B2 Object Lock, dated from now\)$/m);
    const before = world.emu.clock.now();
    const plan = parseJson<PlanJson & {lock: {mode: string; until: string}}>(await counted(['upload', small, '--name', 'kept', '--profile', 'lockable', '--lock-days', '3', '--lock-mode', 'compliance', '--dry-run', '--json']));
    expect(plan.lock.mode).toBe('compliance');
    const days = (Date.parse(plan.lock.until) - before) / 86_400_000;
    expect(days).toBeGreaterThan(2.99);
    expect(days).toBeLessThan(3.01);
    // the key of "home" may not set retentions: the plan is refused with the real run's line and exit code
    const real = await counted(['upload', small, '--name', 'kept', '--lock-days', '3']);
    const dry = await counted(['upload', small, '--name', 'kept', '--lock-days', '3', '--dry-run']);
    expect(real.code).not.toBe(0);
    expect({code: dry.code, stderr: dry.stderr, writes: dry.writes}).toEqual({code: real.code, stderr: real.stderr, writes: {}});
    expect(dry.stderr).toMatch(/writeFileRetentions/);
  }, 4 * PER_RUN_MS);

  test('from stdin: the stream is not read; the plan says how it would go up', async () => {
    const r = await counted(['upload', '-', '--name', 'piped', '--dry-run'], 'x'.repeat(1000));
    expect(r.code).toBe(0);
    expect(r.writes).toEqual({});
    expect(r.stdout).toMatch(/^Backup "piped" \(size unknown until the stream ends\)$/m);
    expect(r.stdout).toMatch(/^Upload: from stdin: one request if it ends within 4\.8 MiB, else parts of 4\.8 MiB, 2 at a time$/m);
  });
});

describe('b2 delete --dry-run', () => {
  test('lists the metadata file and the archive with their versions, removes nothing, needs no --yes', async () => {
    const {id, archiveKey, metadataKey} = await world.storeBackup('home', {path: archive}, {name: 'to keep'}); // as `b2 upload` stores it (in this process)
    const r = await counted(['delete', id, '--dry-run']);
    expect(r.code).toBe(0);
    expect(r.writes).toEqual({});
    const lines = r.stdout.trim().split('\n');
    expect(lines[0]).toMatch(new RegExp(`^Dry run: nothing was deleted\\. Would delete backup ${id} "to keep" of .* \\(10\\.5 MiB\\):$`));
    // a table: the second column starts in the same place on both lines (the archive's name is the shorter)
    expect(lines.slice(1)).toEqual([` "${archiveKey}"${' '.repeat(metadataKey.length - archiveKey.length)}  1 version, 10.5 MiB`, expect.stringMatching(new RegExp(`^ "${metadataKey}" {2}1 version, \\d+ B$`))]);

    const json = await counted(['delete', id, '--dry-run', '--json']);
    expect(json.writes).toEqual({});
    expect(parseJson(json)).toMatchObject({dryRun: true, complete: true, backup: {id}, remove: [{key: archiveKey, versions: 1, unfinished: 0, bytes: 11 * MB}, {key: metadataKey, versions: 1, unfinished: 0}]});
    await expect(world.withLocation('home', ({catalog}) => catalog.show(id))).resolves.toMatchObject({id}); // still there, as `b2 show` finds it (in this process)
  }, 2 * PER_RUN_MS);

  test('a long name: each file name whole, so the archive and its metadata file read apart (as the real delete prints them)', async () => {
    const name = 'Nightly backup of the living room server';
    const {id, archiveKey, metadataKey} = await world.storeBackup('home', Buffer.from('small archive'), {name});
    expect(archiveKey.length).toBeGreaterThan(64); // longer than a message quotes a value whole
    const r = await counted(['delete', id, '--dry-run']);
    expect(r.code).toBe(0);
    expect(r.writes).toEqual({});
    const [archiveLine, metadataLine] = r.stdout.trim().split('\n').slice(1);
    expect(archiveLine).toContain(` ${JSON.stringify(archiveKey)} `);
    expect(metadataLine).toContain(` ${JSON.stringify(metadataKey)} `);

    const plan = await counted(['upload', archive, '--name', name, '--dry-run']);
    expect(plan.code).toBe(0);
    expect(plan.stdout).toMatch(/^ {2}archive {8}"Nightly_backup_of_the_living_room_server_[^"…]+\.tar"$/m);
    expect(plan.stdout).toMatch(/^ {2}metadata file {2}"Nightly_backup_of_the_living_room_server_[^"…]+\.metadata\.json"$/m);
  }, 2 * PER_RUN_MS);
});
