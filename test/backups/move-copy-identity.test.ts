import {describe, expect, test} from '@jest/globals';
import {randomBytes} from 'node:crypto';
import {Readable} from 'node:stream';
import type {B2Backend} from '../../src/b2/index.js';
import {BackupCatalog} from '../../src/backups/index.js';
import {copyBackup} from '../../src/backups/copy-backup.js';
import {copyBackupObjects, executeMove, planMove} from '../../src/backups/move.js';
import {isBackupError} from '../../src/errors.js';
import {sha1} from '../b2/helpers.js';
import {keysOf, rejection, sharedEmulator} from './helpers.js';

// Move and copy over the emulator via HTTP, when a file with a backup's archive name and
// size is already at the destination: it is the backup's copy only when SHA1s prove it
// (the backup's SHA1 taken from every record: the archive's info, B2's, the metadata
// file's). Otherwise the move or copy stops (already_exists: exit 2) and no original is
// touched. Archives streamed up (stdin, Home Assistant) are large files whose SHA1 B2
// does not know: parts of 4096 bytes make a 20 kB stream one.

const PART = 4096;
const SIZE = 20_000;
const shared = sharedEmulator({emulator: {minPartSize: 1000, recommendedPartSize: PART}, backend: {partSize: PART, uploadCutoff: PART, concurrency: 2}});
let n = 0;

/**
 * A fresh pair of locations (source, destination) in the shared emulator. The destination
 * makes the copies: in parts (b2_copy_part) above PART bytes, or with one b2_copy_file
 * up to `copyCutoff`.
 */
async function locations(copyCutoff?: number): Promise<{from: B2Backend; to: B2Backend}> {
  n++;
  return {from: await shared.open(`src${n}/`), to: await shared.open(`dst${n}/`, copyCutoff ? {copyCutoff} : {})};
}

/** A backup uploaded from a stream (as `upload -` does): its SHA1 is recorded only in its metadata file. */
async function stdinBackup(from: B2Backend): Promise<{id: string; archiveKey: string; sha1: string; data: Buffer}> {
  const data = randomBytes(SIZE);
  const up = await new BackupCatalog(from).upload(Readable.from([data]), {name: 'piped'});
  const sha = sha1(data);
  expect(up.sha1).toBe(sha);
  const [archive] = (await keysOf(from)).filter((k) => k === up.archiveKey);
  expect(archive).toBe(up.archiveKey);
  expect((await from.stat(up.archiveKey))?.sha1 ?? 'none').not.toBe(up.sha1); // B2 knows no SHA1 of it
  return {id: up.id, archiveKey: up.archiveKey, sha1: sha, data};
}

/** A Home Assistant backup whose archive was streamed up: no SHA1 on record anywhere. */
async function haBackupWithoutSha1(from: B2Backend): Promise<{id: string; archiveKey: string; data: Buffer}> {
  const base = `Automatic_backup_2026.4.1_2026-04-08_04.57_4300193${n}`;
  const id = `ha0c0ff${n}`;
  const data = randomBytes(SIZE);
  await from.put(`${base}.tar`, Readable.from([data]), {contentType: 'application/x-tar'});
  const meta = {metadata_version: '1', backup_id: id, backup_metadata: {addons: [], backup_id: id, date: '2026-04-08T04:57:43.001930+02:00', database_included: true, extra_metadata: {}, folders: [], homeassistant_included: true, homeassistant_version: '2026.4.1', name: 'Automatic backup 2026.4.1', protected: false, size: SIZE}};
  await from.put(`${base}.metadata.json`, Buffer.from(JSON.stringify(meta)), {contentType: 'application/json', metadata: {metadata_only: 'true'}});
  const [info] = await new BackupCatalog(from).list();
  expect(info).toMatchObject({id, sha1: undefined});
  return {id, archiveKey: `${base}.tar`, data};
}

const bytesOf = async (b: B2Backend, key: string) => Buffer.concat(await (await b.get(key)).stream.toArray());

describe('move onto a file of the same name and size', () => {
  test('a stdin backup (SHA1 only in its metadata file) and another file there: refused with exit 2, nothing copied or deleted', async () => {
    const {from, to} = await locations();
    const backup = await stdinBackup(from);
    const other = randomBytes(SIZE);
    await to.put(backup.archiveKey, other);
    const before = await keysOf(from);
    const err = await rejection((async () => executeMove(from, to, await planMove(from, to)))());
    expect(isBackupError(err, 'already_exists')).toBe(true);
    expect((err as Error).message).toMatch(new RegExp(`other files with the names of backups to move \\(${backup.archiveKey.replace(/\./g, '\\.')}\\).*nothing was moved`));
    expect(await keysOf(from)).toEqual(before);
    expect(await new BackupCatalog(from).verify(backup.id)).toMatchObject({ok: true, sha1: backup.sha1});
    expect(await keysOf(to)).toEqual([backup.archiveKey]);
    expect(await bytesOf(to, backup.archiveKey)).toEqual(other);
  });

  test('an archive with no SHA1 on record anywhere and a file of its size there: not proven the same, refused with exit 2 and how to fix it', async () => {
    const {from, to} = await locations();
    const ha = await haBackupWithoutSha1(from);
    await to.put(ha.archiveKey, randomBytes(SIZE));
    const before = await keysOf(from);
    const err = await rejection(planMove(from, to));
    expect(isBackupError(err, 'already_exists')).toBe(true);
    expect((err as Error).message).toEqual(`the new location already holds files with the names and sizes of backups to move that no SHA1 on record proves to be the same files (${ha.archiveKey}: no SHA1 is recorded for the backup, or for the file there); delete them there (or move them away), or choose another prefix; nothing was moved`);
    expect(await keysOf(from)).toEqual(before);
    expect(await bytesOf(from, ha.archiveKey)).toEqual(ha.data);
  });

  test('a stdin backup already copied (an interrupted run): recognised by the SHA1 of its metadata file, not copied again, the originals deleted', async () => {
    const {from, to} = await locations();
    const backup = await stdinBackup(from);
    const plan1 = await planMove(from, to);
    expect(plan1.items.map((i) => ({sha1: i.sha1, copy: i.copy}))).toEqual([{sha1: backup.sha1, copy: {archive: true, metadataFile: true}}]);
    // what a run killed before its deletes leaves: both copies made, the originals still there
    expect(await copyBackupObjects(from, to, plan1.items[0])).toHaveLength(2);
    const plan = await planMove(from, to);
    expect(plan.items.map((i) => i.copy)).toEqual([{archive: false, metadataFile: false}]);
    const report = await executeMove(from, to, plan);
    expect({copied: report.copied, deleted: report.deleted}).toEqual({copied: 0, deleted: 2});
    expect(await keysOf(from)).toEqual([]);
    expect(await new BackupCatalog(to).verify(backup.id)).toMatchObject({ok: true, sha1: backup.sha1});
  });

  test('an archive left without its metadata file by an interrupted move: deleted only when the copy is proven by the SHA1 in the metadata file copied there', async () => {
    const {from, to} = await locations();
    const good = await stdinBackup(from);
    const [item] = (await planMove(from, to)).items;
    await copyBackupObjects(from, to, item);
    await from.delete(item.metadataFile.key); // the run was killed between the two deletes
    const plan = await planMove(from, to);
    expect({items: plan.items, leftovers: plan.leftovers.map((o) => o.key)}).toEqual({items: [], leftovers: [good.archiveKey]});
    expect((await executeMove(from, to, plan)).deleted).toBe(1);
    expect(await new BackupCatalog(to).verify(good.id)).toMatchObject({ok: true, sha1: good.sha1});
  });

  test('an archive left without its metadata file, and other bytes of its size under its name there: it stays', async () => {
    const {from, to} = await locations();
    const backup = await stdinBackup(from);
    const [item] = (await planMove(from, to)).items;
    await copyBackupObjects(from, to, {...item, copy: {archive: false, metadataFile: true}});
    await to.put(backup.archiveKey, randomBytes(SIZE));
    await from.delete(item.metadataFile.key);
    const plan = await planMove(from, to);
    expect(plan.leftovers).toEqual([]);
    expect(plan.staying).toEqual([expect.stringContaining(backup.archiveKey)]);
    await executeMove(from, to, plan);
    expect(await bytesOf(from, backup.archiveKey)).toEqual(backup.data);
  });

  test('an archive with no SHA1 on record anywhere still moves to a free name: copied by this run, checked, then the originals go', async () => {
    const {from, to} = await locations();
    const ha = await haBackupWithoutSha1(from);
    const report = await executeMove(from, to, await planMove(from, to));
    expect({copied: report.copied, deleted: report.deleted}).toEqual({copied: 2, deleted: 2});
    expect(await bytesOf(to, ha.archiveKey)).toEqual(ha.data);
    expect(await keysOf(from)).toEqual([]);
  });
});

describe('an archive with no SHA1 on record anywhere, copied by an interrupted run', () => {
  // B2 made the copy server-side from that very version of the archive (its file id, which
  // names immutable bytes) and the copy records it: that proves it, where no SHA1 can
  test.each([
    ['in parts (b2_copy_part)', undefined],
    ['with one b2_copy_file', 1_000_000],
  ])('copied %s, killed before its deletes: the rerun proves the copy by the version B2 copied, copies nothing, and deletes the originals', async (_how, copyCutoff) => {
    const {from, to} = await locations(copyCutoff);
    const ha = await haBackupWithoutSha1(from);
    const [item] = (await planMove(from, to)).items;
    expect(item.sha1).toBeUndefined();
    expect(await copyBackupObjects(from, to, item)).toHaveLength(2);
    const plan = await planMove(from, to);
    expect(plan.items.map((i) => i.copy)).toEqual([{archive: false, metadataFile: false}]);
    shared.emu.resetStats();
    const report = await executeMove(from, to, plan);
    expect({copied: report.copied, deleted: report.deleted}).toEqual({copied: 0, deleted: 2});
    expect({copyFile: shared.emu.stats().calls.b2_copy_file, copyPart: shared.emu.stats().calls.b2_copy_part}).toEqual({copyFile: undefined, copyPart: undefined});
    expect(await keysOf(from)).toEqual([]);
    expect(await bytesOf(to, ha.archiveKey)).toEqual(ha.data);
    expect((await new BackupCatalog(to).list()).map((b) => b.id)).toEqual([ha.id]);
  });

  test('killed between its deletes (the metadata file gone at the source): the rerun deletes the archive left there, proven copied', async () => {
    const {from, to} = await locations();
    const ha = await haBackupWithoutSha1(from);
    const [item] = (await planMove(from, to)).items;
    await copyBackupObjects(from, to, item);
    await from.delete(item.metadataFile.key);
    const plan = await planMove(from, to);
    expect({items: plan.items, leftovers: plan.leftovers.map((o) => o.key), staying: plan.staying}).toEqual({items: [], leftovers: [ha.archiveKey], staying: []});
    expect((await executeMove(from, to, plan)).deleted).toBe(1);
    expect(await keysOf(from)).toEqual([]);
    expect(await bytesOf(to, ha.archiveKey)).toEqual(ha.data);
  });

  test('the archive replaced at the source since (same name and size, other bytes): the copy there is of another version, not proven, refused with exit 2', async () => {
    const {from, to} = await locations();
    const ha = await haBackupWithoutSha1(from);
    const [item] = (await planMove(from, to)).items;
    await copyBackupObjects(from, to, item);
    const replaced = randomBytes(SIZE);
    await from.put(ha.archiveKey, Readable.from([replaced]), {contentType: 'application/x-tar'});
    const err = await rejection(planMove(from, to));
    expect(isBackupError(err, 'already_exists')).toBe(true);
    expect((err as Error).message).toContain(`no SHA1 on record proves to be the same files (${ha.archiveKey}`);
    expect(await bytesOf(from, ha.archiveKey)).toEqual(replaced);
    expect(await bytesOf(to, ha.archiveKey)).toEqual(ha.data);
  });

  test('b2 copy cut off after the archive: the same copy again proves the archive there, copies only the metadata file', async () => {
    const {from, to} = await locations();
    const ha = await haBackupWithoutSha1(from);
    const [item] = (await planMove(from, to)).items;
    await copyBackupObjects(from, to, {...item, copy: {archive: true, metadataFile: false}});
    shared.emu.resetStats();
    expect((await copyBackup(new BackupCatalog(from), from, to, ha.id)).existing).toBe(false);
    expect({copyFile: shared.emu.stats().calls.b2_copy_file, copyPart: shared.emu.stats().calls.b2_copy_part}).toEqual({copyFile: 1, copyPart: undefined});
    expect((await new BackupCatalog(to).list()).map((b) => b.id)).toEqual([ha.id]);
    expect(await bytesOf(to, ha.archiveKey)).toEqual(ha.data);
    expect((await copyBackup(new BackupCatalog(from), from, to, ha.id)).existing).toBe(true);
  });
});

describe('copy onto a file of the same name and size', () => {
  test('an archive with no SHA1 on record anywhere and another file there: refused with exit 2, no metadata file written next to it', async () => {
    const {from, to} = await locations();
    const ha = await haBackupWithoutSha1(from);
    const other = randomBytes(SIZE);
    await to.put(ha.archiveKey, other);
    const err = await rejection(copyBackup(new BackupCatalog(from), from, to, ha.id));
    expect(isBackupError(err, 'already_exists')).toBe(true);
    expect((err as Error).message).toEqual(`the other location already holds files with the names and sizes of the backup's files that no SHA1 on record proves to be the same files (${ha.archiveKey}: no SHA1 is recorded for the backup, or for the file there); delete them there (or move them away), or copy to another profile; nothing was copied`);
    expect(await keysOf(to)).toEqual([ha.archiveKey]);
    expect(await bytesOf(to, ha.archiveKey)).toEqual(other);
    expect(await bytesOf(from, ha.archiveKey)).toEqual(ha.data);
  });

  test('a stdin backup and another file of its size there: refused (the metadata file holds the SHA1 that differs)', async () => {
    const {from, to} = await locations();
    const backup = await stdinBackup(from);
    await to.put(backup.archiveKey, randomBytes(SIZE));
    const err = await rejection(copyBackup(new BackupCatalog(from), from, to, backup.id));
    expect(isBackupError(err, 'already_exists')).toBe(true);
    expect(await keysOf(to)).toEqual([backup.archiveKey]);
  });

  test('a stdin backup copied, then copied again: the copy verifies, the second run finds it by SHA1 and copies nothing', async () => {
    const {from, to} = await locations();
    const backup = await stdinBackup(from);
    expect((await copyBackup(new BackupCatalog(from), from, to, backup.id)).existing).toBe(false);
    expect(await new BackupCatalog(to).verify(backup.id)).toMatchObject({ok: true, sha1: backup.sha1});
    shared.emu.resetStats();
    expect((await copyBackup(new BackupCatalog(from), from, to, backup.id)).existing).toBe(true);
    expect(shared.emu.stats().calls.b2_copy_file).toBeUndefined();
  });
});

describe('a copy refused by its records is refused before the first change at the destination', () => {
  test('a move of two backups, one an HA backup whose metadata file records another SHA1 than B2 does for its archive: refused (exit 5) before the other is copied', async () => {
    const {from, to} = await locations();
    const good = await stdinBackup(from);
    const base = `Automatic_backup_2026.4.2_2026-04-09_04.57_4300194${n}`;
    const data = randomBytes(SIZE);
    await from.put(`${base}.tar`, data, {contentType: 'application/x-tar'}); // one request: B2 records its SHA1
    const wrong = 'f'.repeat(40);
    const meta = {metadata_version: '1', backup_id: `ha1c0ff${n}`, backup_metadata: {addons: [], backup_id: `ha1c0ff${n}`, date: '2026-04-09T04:57:43.001930+02:00', database_included: true, extra_metadata: {}, folders: [], homeassistant_included: true, homeassistant_version: '2026.4.2', name: 'Automatic backup 2026.4.2', protected: false, size: SIZE, sha1: wrong}};
    await from.put(`${base}.metadata.json`, Buffer.from(JSON.stringify(meta)), {contentType: 'application/json', metadata: {metadata_only: 'true'}});
    const before = await keysOf(from);
    expect(before).toContain(good.archiveKey);
    shared.emu.resetStats();
    const err = await rejection((async () => executeMove(from, to, await planMove(from, to)))());
    expect(isBackupError(err, 'checksum_mismatch')).toBe(true);
    // the verify it names reads this backup: by the id list shows, from its metadata file (the archive does not describe itself)
    expect((err as Error).message).toMatch(new RegExp(`^src${n}/${base}\\.tar cannot be copied: B2 records SHA1 ${sha1(data)} for it, the backup ${wrong}; one record is wrong \\("backup-b2 b2 verify ha1c0ff${n} --profile test" reads the backup\\), and nothing was copied$`));
    expect(await keysOf(to)).toEqual([]);
    expect(await keysOf(from)).toEqual(before);
    expect((shared.emu.stats().calls.b2_copy_file ?? 0) + (shared.emu.stats().calls.b2_start_large_file ?? 0)).toBe(0);
  });
});
