import {afterAll, beforeAll, expect, test} from '@jest/globals';
import type {SeedFile} from '../../src/emulator/index.js';
import {api, authorizeRaw, storedVersions} from '../emulator/helpers.js';
import {CrashWorld} from '../helpers/crash.js';
import {backupFilesToSeed} from '../helpers/seed-backups.js';

// `b2 cleanup --dry-run` reports what the real cleanup would do, changing nothing: it makes
// the real run's last looks too (reading only). A file the listing found alone whose other
// file has come since, an archive something else hid meanwhile, and what a cleanup killed
// while it hid an archive left are reported as the real cleanup reports them. Each case
// runs twice from the same start (a fresh profile each): once with --dry-run, once
// without; the two reports must be the same, and the dry run must change nothing. The
// emulator's request hook does what happens elsewhere at the moment of the cleanup's
// look; its clock, moved on a day and an hour, makes what was stored before older than
// the default 24h.

const HOUR = 3600e3;
let cw: CrashWorld;
let n = 0;

/** What cleanup changes in the bucket: a dry run makes none of these calls. */
const CHANGING_CALLS = ['b2_hide_file', 'b2_delete_file_version', 'b2_cancel_large_file', 'b2_upload_file', 'b2_finish_large_file'];

type Report = Record<string, unknown> & {dryRun: boolean};
interface Backup {
  profile: string;
  prefix: string;
  id: string;
  archive: SeedFile;
  metadataFile: SeedFile;
  archiveKey: string;
  metadataKey: string;
}

beforeAll(async () => {
  cw = await CrashWorld.start();
}, 60_000);

afterAll(async () => {
  cw?.world.expectNoSecretInAnyRun();
  await cw?.close();
});

/** One backup's files (not stored yet) under a fresh profile's own prefix. */
async function freshBackup(): Promise<Backup> {
  const profile = `p${++n}`;
  const prefix = `${profile}/`;
  await cw.world.addProfile(profile, {...(await cw.world.createKey()), prefix});
  const [archive, metadataFile] = backupFilesToSeed(prefix, 1, 0);
  const {backup_id: id} = JSON.parse(metadataFile.data.toString('utf8')) as {backup_id: string};
  return {profile, prefix, id, archive, metadataFile, archiveKey: archive.fileName.slice(prefix.length), metadataKey: metadataFile.fileName.slice(prefix.length)};
}

/** Stores `files` now, then moves the emulator's clock on 25 h: they are older than the default --older-than. */
async function storeOld(files: SeedFile[]): Promise<void> {
  await cw.emu.putFiles(cw.emu.bucket, files);
  cw.emu.clock.advance(25 * HOUR);
}

async function versionsUnder(prefix: string): Promise<string[]> {
  return storedVersions(cw.emu, (await authorizeRaw(cw.emu)).authorizationToken, prefix);
}

/** What happens elsewhere as the cleanup's `nth` request `call` arrives (before the emulator answers it). */
interface Meanwhile {
  call: string;
  nth: number;
  action: () => Promise<void>;
}

/**
 * `b2 cleanup [--dry-run] --json` of `b.profile`, `meanwhile` done as its request arrives;
 * its report without `dryRun`, its stderr, and whether `meanwhile` acted. A dry run must leave the prefix's versions
 * as they were once `meanwhile` had acted, and make no call that changes anything.
 */
async function cleanup(b: Backup, dryRun: boolean, meanwhile?: Meanwhile): Promise<{report: Record<string, unknown>; stderr: string; acted: boolean}> {
  let before = await versionsUnder(b.prefix);
  const calls: string[] = [];
  let acting = false;
  let seen = 0;
  const {result} = await cw.run(['cleanup', '--json', '--profile', b.profile, ...(dryRun ? ['--dry-run'] : [])], async (call) => {
    // the cleanup waits for its request's answer meanwhile: the requests that come now are the test's own
    if (acting) return;
    calls.push(call);
    if (call !== meanwhile?.call || ++seen !== meanwhile.nth) return;
    acting = true;
    try {
      await meanwhile.action();
      before = await versionsUnder(b.prefix); // what happened elsewhere is not the dry run's doing
    } finally {
      acting = false;
    }
  });
  expect({code: result.code, stderr: result.code === 0 ? '' : result.stderr}).toEqual({code: 0, stderr: ''});
  const {dryRun: said, ...report} = JSON.parse(result.stdout.toString('utf8')) as Report;
  expect(said).toBe(dryRun);
  if (dryRun) {
    expect(await versionsUnder(b.prefix)).toEqual(before);
    expect(calls.filter((c) => CHANGING_CALLS.includes(c))).toEqual([]);
  }
  return {report, stderr: result.stderr, acted: meanwhile !== undefined && seen >= meanwhile.nth};
}

/** The same start twice (each in a fresh profile): the real cleanup's report, and the dry run's, which must be the same. */
async function sameAsRealRun(setUp: () => Promise<{b: Backup; meanwhile?: Meanwhile}>): Promise<{report: Record<string, unknown>; stderr: string; b: Backup}> {
  const real = await setUp();
  const expected = await cleanup(real.b, false, real.meanwhile);
  const dry = await setUp();
  const got = await cleanup(dry.b, true, dry.meanwhile);
  // the two backups differ in their id and in when they were stored (the clock moved on between them)
  const ofBackup = (r: Record<string, unknown>, b: Backup) => JSON.parse(JSON.stringify(r).replaceAll(b.id, '<id>').replaceAll(/"stored":"[^"]*"/g, '"stored":"<date>"'));
  expect(ofBackup(got.report, dry.b)).toEqual(ofBackup(expected.report, real.b));
  expect(got.stderr.replaceAll(dry.b.id, '<id>')).toBe(expected.stderr.replaceAll(real.b.id, '<id>'));
  expect({real: expected.acted, dry: got.acted}).toEqual({real: real.meanwhile !== undefined, dry: dry.meanwhile !== undefined}); // what happened elsewhere did, at the look
  return {report: got.report, stderr: got.stderr, b: dry.b};
}

test('an archive whose metadata file came after the listing: the dry run looks again and reports it kept as part of a whole backup, not to be deleted', async () => {
  const {report, b} = await sameAsRealRun(async () => {
    const b = await freshBackup();
    await storeOld([b.archive]);
    // the first request by name is the cleanup's look for the metadata file, after its listing
    return {b, meanwhile: {call: 'b2_download_file_by_name', nth: 1, action: () => cw.emu.putFiles(cw.emu.bucket, [b.metadataFile])}};
  });
  expect(report).toMatchObject({kept: 0, deleted: [], whole: [{key: b.archiveKey, id: b.id, otherKey: b.metadataKey}]});
}, 60_000);

test('a metadata file whose archive came after the listing: the dry run looks again and reports it kept as part of a whole backup, not as a stray', async () => {
  const {report, b} = await sameAsRealRun(async () => {
    const b = await freshBackup();
    await storeOld([b.metadataFile]);
    // the first request by name reads the metadata file; the second is the look for its archive
    return {b, meanwhile: {call: 'b2_download_file_by_name', nth: 2, action: () => cw.emu.putFiles(cw.emu.bucket, [b.archive])}};
  });
  expect(report).toMatchObject({kept: 0, strays: [], whole: [{key: b.metadataKey, id: b.id, otherKey: b.archiveKey}]});
}, 60_000);

test('an archive something else hid after the listing: the dry run reports it left to that, not to be deleted', async () => {
  const {report, b} = await sameAsRealRun(async () => {
    const b = await freshBackup();
    await storeOld([b.archive]);
    return {b, meanwhile: {call: 'b2_download_file_by_name', nth: 1, action: () => hide(b.archive)}};
  });
  expect(report).toMatchObject({kept: 0, deleted: [], whole: [], hiddenMeanwhile: [{key: b.archiveKey, id: b.id}]});
}, 60_000);

/** Hides `file` as another client would (b2_hide_file). */
async function hide(file: SeedFile): Promise<void> {
  const auth = await authorizeRaw(cw.emu);
  expect((await api(cw.emu, auth.authorizationToken, 'b2_hide_file', {bucketId: cw.emu.bucketId, fileName: file.fileName})).status).toBe(200);
}

/**
 * An orphan archive a cleanup hid and was SIGKILLed deciding about (`at`: at its next
 * request, its hide's answer read and its marker recorded; or as its hide arrives, hidden
 * as B2 carries out a request whose answer never reaches the client), then its metadata
 * file stored.
 */
async function killedWhileHiding(at: 'after-hide' | 'hide'): Promise<Backup> {
  const b = await freshBackup();
  await storeOld([b.archive]);
  let hid = false;
  let acting = false;
  const killed = await cw.run(['cleanup', '--profile', b.profile], async (call, _i, kill) => {
    if (acting) return; // the test's own requests
    if (hid) return kill();
    hid = call === 'b2_hide_file';
    if (hid && at === 'hide') {
      acting = true;
      await hide(b.archive);
      await kill(); // the dead client's own request is dropped with it
    }
  });
  expect({killed: killed.killed, signal: killed.result.signal}).toEqual({killed: true, signal: 'SIGKILL'});
  expect(await versionsUnder(b.prefix)).toEqual([`hide ${b.archiveKey}`, `upload ${b.archiveKey}`]);
  await storeOld([b.metadataFile]);
  return b;
}

test('after a cleanup killed once its hide had answered, the metadata file come since: the dry run reports the archive kept whole, and its metadata file as nothing else, as the real run that unhides it', async () => {
  const {report, stderr, b} = await sameAsRealRun(async () => ({b: await killedWhileHiding('after-hide')}));
  expect(report).toMatchObject({kept: 0, deleted: [], strays: [], hidden: [], whole: [{key: b.archiveKey, id: b.id, otherKey: b.metadataKey}]});
  expect(stderr).toBe('');
}, 60_000);

test('after a cleanup killed during its hide (the marker unknown), the metadata file come since: the dry run warns as the real run does and reports the archive hidden, not whole', async () => {
  const {report, stderr, b} = await sameAsRealRun(async () => ({b: await killedWhileHiding('hide')}));
  expect(report).toMatchObject({kept: 0, deleted: [], whole: [], hidden: [{key: b.metadataKey, id: b.id, hiddenKey: b.archiveKey}]});
  // the same warning in both runs (sameAsRealRun compares their stderr), --json or not
  expect(stderr).toContain(`${b.archiveKey} is hidden (by a cleanup here that was stopped) while its metadata file ${b.metadataKey} is there`);
  // in text: the same dry run again (the first changed nothing)
  const text = await cw.world.b2(['cleanup', '--dry-run', '--profile', b.profile]);
  expect(text.code).toBe(0);
  expect(text.stderr).toBe(stderr);
  expect(text.stdout).toMatch(/^kept: other file hidden /m);
  expect(text.stdout).not.toContain('kept: backup whole');
}, 60_000);
