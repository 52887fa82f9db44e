import {afterAll, beforeAll, expect, test} from '@jest/globals';
import type {SeedFile} from '../../src/emulator/index.js';
import {api, authorizeRaw} from '../emulator/helpers.js';
import {backupFilesToSeed} from '../helpers/seed-backups.js';
import {E2EWorld, parseJson} from './helpers.js';

// `b2 cleanup` keeps a file for one of several reasons, and its last line ("Kept N … from
// the last 24h …; run again with --older-than 0s to remove them") is about those kept for
// their age alone. An archive that the listing found without its metadata file, but whose
// metadata file is there when the cleanup looks again (an upload elsewhere that finished
// meanwhile), is part of a backup however old it is, and --older-than 0s would not remove
// it: it is named as such, never counted in that line. The emulator's request hook stores
// the metadata file as the cleanup's look for it arrives; its clock, moved on a day and an
// hour, makes the archive older than the default 24h.

const HOUR = 3600e3;
let world: E2EWorld;
/** What the emulator's request hook does, per test. */
let onCall: ((call: string) => Promise<void>) | undefined;
let n = 0;

type Seeded = {id: string; archiveKey: string; metadataKey: string};
type CleanupJson = {kept: number; deleted: Array<{key: string}>; whole: Array<{key: string; id: string; otherKey: string}>};

beforeAll(async () => {
  world = await E2EWorld.start({onRequest: (call) => onCall?.(call)});
});

afterAll(async () => {
  world?.expectNoSecretInAnyRun();
  await world?.close();
});

/** A seeded backup's id and its files' keys within `prefix`. */
function seeded(prefix: string, [archive, metadataFile]: SeedFile[]): Seeded {
  const {backup_id: id} = JSON.parse(metadataFile.data.toString('utf8')) as {backup_id: string};
  return {id, archiveKey: archive.fileName.slice(prefix.length), metadataKey: metadataFile.fileName.slice(prefix.length)};
}

/** A fresh profile (its own key and prefix). */
async function freshProfile(): Promise<{profile: string; prefix: string}> {
  const profile = `k${++n}`;
  await world.addProfile(profile, {...(await world.createKey()), prefix: `${profile}/`});
  return {profile, prefix: `${profile}/`};
}

/** An archive of ours stored under `prefix` without its metadata file, 25 h old by B2's clock (the emulator's, moved on); the metadata file, to store later. */
async function oldArchive(prefix: string): Promise<{old: Seeded; metadataFile: SeedFile}> {
  const files = backupFilesToSeed(prefix, 1, 0);
  await world.emu.putFiles(world.emu.bucket, [files[0]]);
  world.emu.clock.advance(25 * HOUR);
  return {old: seeded(prefix, files), metadataFile: files[1]};
}

/** Runs `action` once, as the first request of `call` arrives (and not for the requests `action` makes). */
function atFirst(call: string, action: () => Promise<void>): void {
  let fired = false;
  onCall = async (c) => {
    if (c !== call || fired) return;
    fired = true;
    await action();
  };
}

/**
 * A fresh profile whose prefix holds two archives without their metadata file: `old`, whose
 * metadata file is stored as the next cleanup's first look at a file arrives (after its
 * listing: what an upload finishing elsewhere does), and `young`, stored just now.
 */
async function oldAndYoungArchives(): Promise<{profile: string; old: Seeded; young: Seeded}> {
  const {profile, prefix} = await freshProfile();
  const {old, metadataFile} = await oldArchive(prefix);
  const youngFiles = backupFilesToSeed(prefix, 1, 1);
  await world.emu.putFiles(world.emu.bucket, [youngFiles[0]]);
  atFirst('b2_download_file_by_name', () => world.emu.putFiles(world.emu.bucket, [metadataFile]));
  return {profile, old, young: seeded(prefix, youngFiles)};
}

const escaped = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const listedIds = async (profile: string) => parseJson<Array<{id: string}>>(await world.b2(['list', '--profile', profile, '--json'])).map((b) => b.id);

test('an archive whose metadata file came since the listing is named as part of a whole backup; the --older-than line counts the young archive alone, and --older-than 0s removes that one only', async () => {
  const {profile, old, young} = await oldAndYoungArchives();
  try {
    const r = await world.b2(['cleanup', '--profile', profile]);
    expect({code: r.code, stderr: r.stderr}).toEqual({code: 0, stderr: ''});
    expect(r.stdout).toMatch(new RegExp(`^kept: backup whole\\s+${escaped(old.archiveKey)}\\s.*backup ${old.id}: ${escaped(old.metadataKey)} is there now$`, 'm'));
    expect(r.stdout).toContain(
      'Cancelled 0 unfinished uploads and deleted 0 archives without metadata file; kept 1 file whose other file is there now (stored after the listing found it missing: an upload that finished, or a file put back), so that each is part of a whole backup.\n' +
        'Kept 1 unfinished upload or orphaned file from the last 24h, as an upload elsewhere may still be writing it; run again with --older-than 0s to remove it too (an upload still running would be cut off and have to run again).\n',
    );
  } finally {
    onCall = undefined;
  }
  // what that line promises: --older-than 0s removes the young archive, and the whole backup stays
  const all = parseJson<CleanupJson>(await world.b2(['cleanup', '--older-than', '0s', '--json', '--profile', profile]));
  expect({kept: all.kept, deleted: all.deleted.map((d) => d.key), whole: all.whole}).toEqual({kept: 0, deleted: [young.archiveKey], whole: []});
  expect(await listedIds(profile)).toEqual([old.id]);
}, 60_000);

test('--json: `kept` counts what --older-than kept, `whole` the archive whose metadata file came, with its key', async () => {
  const {profile, old} = await oldAndYoungArchives();
  try {
    const report = parseJson<CleanupJson>(await world.b2(['cleanup', '--json', '--profile', profile]));
    expect(report).toMatchObject({kept: 1, deleted: [], whole: [{key: old.archiveKey, id: old.id, otherKey: old.metadataKey}]});
  } finally {
    onCall = undefined;
  }
  expect(await listedIds(profile)).toEqual([old.id]);
}, 60_000);

test('an old archive that something else hid just before the cleanup\'s own hide is left alone and named so; no --older-than line', async () => {
  const {profile, prefix} = await freshProfile();
  const {old} = await oldArchive(prefix);
  // a cleanup on another machine (or a user) hides it first
  atFirst('b2_hide_file', async () => {
    const auth = await authorizeRaw(world.emu);
    expect((await api(world.emu, auth.authorizationToken, 'b2_hide_file', {bucketId: world.emu.bucketId, fileName: prefix + old.archiveKey})).status).toBe(200);
  });
  try {
    const r = await world.b2(['cleanup', '--profile', profile]);
    expect({code: r.code, stderr: r.stderr}).toEqual({code: 0, stderr: ''});
    expect(r.stdout).toMatch(new RegExp(`^left: hidden meanwhile\\s+${escaped(old.archiveKey)}\\s.*backup ${old.id}: hidden by something else while this cleanup ran$`, 'm'));
    expect(r.stdout).toMatch(/\nCancelled 0 unfinished uploads and deleted 0 archives without metadata file; left 1 archive without metadata file that something else hid while this cleanup ran \(a cleanup on another machine deciding about it, or a user\)\.\n$/);
  } finally {
    onCall = undefined;
  }
}, 60_000);
