import {afterAll, beforeAll, expect, test} from '@jest/globals';
import {randomBytes} from 'node:crypto';
import {writeFile} from 'node:fs/promises';
import {join} from 'node:path';
import {coreBackupJson, haBackupAt, haBackupTar} from '../backups/ha-fixtures.js';
import {E2EWorld, parseJson, type SpawnedCli} from './helpers.js';

// Commands of one machine (one data dir) that run at the same time on one location, the
// real CLI in child processes against the emulator over HTTP. The emulator's request hook
// holds one command's request while the other runs up to a chosen point, so that each
// interleaving is the same on any machine: an upload and a cleanup (or delete) of what it
// has stored so far, two uploads that pick the same name, two uploads of one backup id.

let world: E2EWorld;
/** What the emulator's request hook does, per test. */
let onCall: ((call: string) => void | Promise<void>) | undefined;
let n = 0;

type Uploaded = {id: string; name: string; archiveKey: string; existing: boolean};
type CleanupJson = {deleted: unknown[]; cancelled: unknown[]; uploading: Array<{key: string; pids: number[]}>};

beforeAll(async () => {
  world = await E2EWorld.start({onRequest: (call) => onCall?.(call)});
});

afterAll(async () => {
  world?.expectNoSecretInAnyRun();
  await world?.close();
});

/** A fresh profile (its own prefix; 5 MB parts, 2 at once). */
async function freshProfile(): Promise<string> {
  const profile = `r${++n}`;
  await world.addProfile(profile, {...(await world.createKey()), prefix: `${profile}/`, partSize: '5MB', concurrency: 2});
  return profile;
}

/**
 * The backups profile `name` lists and the warnings `b2 list` would print with them (skipped
 * files), read in this process: checks of what the commands under test left, not subjects.
 */
async function listing(name: string): Promise<{backups: Array<{id: string; name: string}>; warnings: string[]}> {
  const warnings: string[] = [];
  const backups = await world.withLocation(name, ({catalog}) => catalog.list(), {warn: (line) => warnings.push(line)});
  return {backups, warnings};
}

const listedNames = async (name: string) => (await listing(name)).backups.map((b) => b.name);

const result = async (run: SpawnedCli) => {
  const r = await run.done;
  return {code: r.code ?? -1, stdout: r.stdout.toString('utf8'), stderr: r.stderr};
};

/** Resolves once the child has printed `text` on stderr. */
function printed(run: SpawnedCli, text: string): Promise<void> {
  let seen = '';
  return new Promise((resolve) => run.child.stderr.on('data', (d: Buffer) => (seen += d.toString('utf8')).includes(text) && resolve()));
}

test('a cleanup while an upload writes its metadata file: the archive is kept ("kept: upload running"), the upload answers a backup that is there', async () => {
  const profile = await freshProfile();
  const path = join(world.dir, 'big.bin');
  await writeFile(path, randomBytes(11_000_000)); // three 5 MB parts: dated from its start, as a day-long upload's would be
  const upload = world.spawn(['upload', path, '--name', 'race', '--profile', profile]);
  let phase: 'upload' | 'cleanup' | 'after' = 'upload';
  let finished = false;
  let cleanup: SpawnedCli | undefined;
  let reachedVersions!: () => void;
  const cleanupListsVersions = new Promise<void>((resolve) => (reachedVersions = resolve));
  onCall = async (call) => {
    if (phase === 'upload') {
      if (call === 'b2_finish_large_file') finished = true;
      else if (finished && call === 'b2_upload_file') {
        // the upload's metadata file waits while the cleanup finds the archive without one…
        phase = 'cleanup';
        cleanup = world.spawn(['cleanup', '--older-than', '0s', '--profile', profile, '--json']);
        await Promise.race([cleanup.done, cleanupListsVersions]);
        phase = 'after';
      }
    } else if (phase === 'cleanup' && call === 'b2_list_file_versions') {
      // …and, past its check for the metadata file, waits while the upload finishes and checks its archive
      reachedVersions();
      await upload.done;
    }
  };
  try {
    const up = await result(upload);
    const cleaned = await result(cleanup!);
    expect({code: up.code, stderr: up.stderr}).toMatchObject({code: 0, stderr: expect.stringContaining('Uploaded backup "race"')});
    const report = parseJson<CleanupJson>(cleaned);
    expect(report.deleted).toEqual([]);
    expect(report.uploading).toEqual([{key: expect.stringMatching(/^race_.*\.tar$/), since: expect.any(String), pids: [upload.child.pid]}]);
    expect(await listedNames(profile)).toEqual(['race']);
    const table = await world.b2(['cleanup', '--older-than', '0s', '--profile', profile, '--dry-run']);
    expect(table.stdout).not.toContain('kept: upload running'); // the upload has ended: nothing is held
  } finally {
    onCall = undefined;
  }
}, 120_000);

test('a cleanup while an upload sends its parts: the unfinished upload is not cancelled but listed, and the upload completes', async () => {
  const profile = await freshProfile();
  const path = join(world.dir, 'parts.bin');
  await writeFile(path, randomBytes(11_000_000));
  const upload = world.spawn(['upload', path, '--name', 'parts', '--profile', profile]);
  let cleanup: SpawnedCli | undefined;
  onCall = async (call) => {
    if (call !== 'b2_upload_part' || cleanup) return;
    cleanup = world.spawn(['cleanup', '--older-than', '0s', '--profile', profile]);
    await cleanup.done;
  };
  try {
    const up = await result(upload);
    const cleaned = await result(cleanup!);
    expect({code: cleaned.code, stdout: cleaned.stdout}).toMatchObject({code: 0, stdout: expect.stringMatching(/kept: upload running +parts_\S+\.tar .*being stored by process \d+ on this machine/)});
    expect(cleaned.stdout).toContain('Cancelled 0 unfinished uploads and deleted 0 archives without metadata file');
    expect(cleaned.stdout).toContain('kept 1 file that an upload running on this machine is still storing');
    expect({code: up.code, stderr: up.stderr}).toMatchObject({code: 0, stderr: expect.stringContaining('Uploaded backup "parts"')});
  } finally {
    onCall = undefined;
  }
}, 120_000);

test('delete ID of an archive whose upload is writing its metadata file: refused (exit 1, nothing deleted), the upload completes', async () => {
  const profile = await freshProfile();
  const path = join(world.dir, 'del.bin');
  await writeFile(path, randomBytes(11_000_000));
  const upload = world.spawn(['upload', path, '--name', 'del', '--profile', profile]);
  let finished = false;
  let deleted: Awaited<ReturnType<E2EWorld['b2']>> | undefined;
  onCall = async (call) => {
    if (call === 'b2_finish_large_file') finished = true;
    if (!finished || call !== 'b2_upload_file' || deleted) return;
    deleted = {code: -1, stdout: '', stderr: ''}; // once
    const skipped = (await listing(profile)).warnings.join('\n');
    const id = /backup (\w+) has no metadata file/.exec(skipped)?.[1];
    expect(id).toBeDefined();
    deleted = await world.b2(['delete', id!, '--yes', '--profile', profile]);
  };
  try {
    const up = await result(upload);
    expect({code: deleted?.code, stderr: deleted?.stderr}).toEqual({code: 1, stderr: expect.stringMatching(/^Error: the archive of backup \w+ is what an upload running on this machine \(process \d+\) has stored so far; nothing was deleted/)});
    expect({code: up.code, stderr: up.stderr}).toMatchObject({code: 0, stderr: expect.stringContaining('Uploaded backup "del"')});
    expect(await listedNames(profile)).toEqual(['del']);
  } finally {
    onCall = undefined;
  }
}, 120_000);

test('two Home Assistant archives with the same name and date uploaded at once: two backups under two names, each found by its id', async () => {
  const profile = await freshProfile();
  const at = haBackupAt(3);
  const paths = {first: join(world.dir, 'first.tar'), second: join(world.dir, 'second.tar')};
  await writeFile(paths.first, haBackupTar({...coreBackupJson(at), slug: 'aaaa1111'}));
  await writeFile(paths.second, haBackupTar({...coreBackupJson(at), slug: 'bbbb2222'}));
  const first = world.spawn(['upload', paths.first, '--profile', profile, '--json']);
  let second: SpawnedCli | undefined;
  onCall = async (call) => {
    if (call !== 'b2_upload_file' || second) return;
    // the first one's archive waits while the second, started now, picks its name and uploads
    second = world.spawn(['upload', paths.second, '--profile', profile, '--json']);
    await second.done;
  };
  try {
    const a = parseJson<Uploaded>(await result(first));
    const b = parseJson<Uploaded>(await result(second!));
    expect([a.id, b.id]).toEqual(['aaaa1111', 'bbbb2222']);
    expect(a.archiveKey).toBe(`${at.base}.tar`);
    // the id before the date: HA would pair the first's metadata file with `<base>_<id>.tar` once `<base>.tar` is gone
    expect(b.archiveKey).toBe(`${at.base.replace('Automatic_backup_2026.4.1_', 'Automatic_backup_2026.4.1_bbbb2222_')}.tar`);
    for (const id of [a.id, b.id]) expect((await world.withLocation(profile, ({catalog}) => catalog.show(id))).id).toBe(id);
  } finally {
    onCall = undefined;
  }
}, 120_000);

test('one Home Assistant archive streamed twice at once: the second waits, then answers the first one\'s backup (existing) and removes its own copy', async () => {
  const profile = await freshProfile();
  const tar = haBackupTar(coreBackupJson(haBackupAt(4)), {backupJsonLast: true}); // its id is known once it has streamed by
  const args = ['upload', '-', '--profile', profile]; // not --json: it would keep the warning in
  const first = world.spawn(args, {input: tar});
  let second: SpawnedCli | undefined;
  let uploads = 0;
  onCall = async (call) => {
    if (call !== 'b2_upload_file' || ++uploads !== 2) return;
    // the first one's metadata file (it found no backup of its id) waits while the second streams its archive, then looks for the id
    second = world.spawn(args, {input: tar});
    await Promise.race([second.done, printed(second, 'waiting for it to finish')]);
  };
  try {
    const a = await result(first);
    const b = await result(second!);
    const id = haBackupAt(4).backupId;
    expect({code: a.code, stdout: a.stdout, stderr: a.stderr}).toEqual({code: 0, stdout: `${id}\n`, stderr: expect.stringMatching(/^Uploaded backup /)});
    expect({code: b.code, stdout: b.stdout, stderr: b.stderr.split('\n')}).toEqual({code: 0, stdout: `${id}\n`, stderr: [
      expect.stringMatching(/^Warning: another upload of backup \w+ to this location is running on this machine \(process \d+\); waiting for it to finish$/),
      expect.stringMatching(/^Already stored: backup /),
      '',
    ]});
    const listed = await listing(profile);
    expect({ids: listed.backups.map((u) => u.id), warnings: listed.warnings}).toEqual({ids: [id], warnings: []}); // no second backup of the id skipped
    const cleaned = await world.withLocation(profile, ({catalog}) => catalog.cleanup({olderThanMs: 0, dryRun: true}));
    expect(cleaned.deleted).toEqual([]); // the second copy went at once
  } finally {
    onCall = undefined;
  }
}, 120_000);
