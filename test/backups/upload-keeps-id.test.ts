import {expect, test} from '@jest/globals';
import {randomBytes} from 'node:crypto';
import {Readable} from 'node:stream';
import {writeFile} from 'node:fs/promises';
import {join} from 'node:path';
import {BackupCatalog} from '../../src/backups/index.js';
import {isBackupError} from '../../src/errors.js';
import {MetadataCrash} from './backend-wrappers.js';
import {coreBackupJson, haBackupAt, haBackupTar} from './ha-fixtures.js';
import {catalogWithWarnings, keysOf, rejection, sharedEmulator, tempDir} from './helpers.js';

// upload() with an id and date of the backup's own (`upload --id --date`: a backup moved
// by hand keeps what it was), over the emulator via HTTP: the id goes the way a Home
// Assistant archive's own does (one backup per id), and a Home Assistant archive is not
// given an id or date its backup.json contradicts.

const shared = sharedEmulator();

const ID = '0a1b2c3d4e5f';
const DATE = '2026-03-01T02:03:04.567890+01:00';

/** A location under `prefix` holding one plain backup under ID, and its archive. */
async function holding(prefix: string) {
  const backend = await shared.open(prefix);
  const {catalog, warnings} = catalogWithWarnings(backend);
  const archive = randomBytes(3000);
  const first = await catalog.upload(archive, {name: 'moved', id: ID, date: DATE, metadata: {host: 'pi4'}});
  return {backend, catalog, warnings, archive, first};
}

test('the id and date asked for are the backup\'s, in its names, its listing and its metadata file', async () => {
  const {catalog, first, warnings} = await holding('kept/');
  expect(first).toMatchObject({id: ID, date: DATE, name: 'moved', existing: false, metadata: {backup_id: ID, date: DATE, extra_metadata: {host: 'pi4'}}});
  expect(first.archiveKey).toBe('moved_2026-03-01_02.03_04567890.tar');
  expect(await catalog.show(ID)).toMatchObject({id: ID, date: DATE, name: 'moved'});
  expect(warnings).toEqual([]);
});

test('the same archive under that id again: that backup is the answer, nothing uploaded; another archive under it: refused (exit 2), naming the backup that holds the id', async () => {
  const {catalog, archive, first} = await holding('twice/');
  const before = await shared.versions('twice/');
  expect(await catalog.upload(archive, {name: 'moved', id: ID, date: DATE})).toMatchObject({id: ID, existing: true, archiveKey: first.archiveKey});
  const err = await rejection(catalog.upload(randomBytes(3000), {name: 'other', id: ID}));
  expect(isBackupError(err, 'bad_input')).toBe(true);
  expect((err as Error).message).toBe(`backup ${ID} ("moved", 2026-03-01 02:03:04 +01:00) is already stored as ${first.archiveKey} with other content; delete it first ("backup-b2 b2 delete ${ID}") to upload this archive again`);
  expect(await shared.versions('twice/')).toEqual(before);
});

test('an id or a date no backup can have: refused (exit 2) before anything is stored', async () => {
  const {catalog} = catalogWithWarnings(await shared.open('bad/'));
  for (const [meta, message] of [
    [{id: 'no spaces'}, 'invalid --id "no spaces": a backup id must be 1-64 letters, digits, "_", "." or "-", starting with a letter or digit; give the backup\'s own id, as "show ID --json" prints it where the backup was'],
    [{id: 'latest'}, 'invalid --id "latest": a backup id is "latest", the word that always names the newest backup; give the backup\'s own id, as "show ID --json" prints it where the backup was'],
    [{date: '2026-02-30T01:02:03+00:00'}, 'invalid --date "2026-02-30T01:02:03+00:00": not an ISO 8601 date and time with an offset (e.g. 2026-04-08T04:57:43.001930+00:00); give the backup\'s own date, as "show ID --json" prints it where the backup was'],
    [{date: '2026-03-01 02:03:04'}, /^invalid --date "2026-03-01 02:03:04": not an ISO 8601 date and time with an offset/],
  ] as const) {
    const err = await rejection(catalog.upload(randomBytes(100), meta));
    expect(isBackupError(err, 'bad_input')).toBe(true);
    expect((err as Error).message).toMatch(typeof message === 'string' ? new RegExp(`^${message.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`) : message);
  }
  expect(await shared.versions('bad/')).toEqual([]);
});

test('a date after now by B2\'s clock: stored, with the warning prune gives such a backup', async () => {
  const {catalog, warnings} = catalogWithWarnings(await shared.open('future/'));
  const date = new Date(shared.emu.clock.now() + 2 * 3_600_000).toISOString();
  await catalog.upload(randomBytes(100), {name: 'ahead', id: 'a1', date});
  expect(warnings).toEqual([expect.stringMatching(/^backup a1 "ahead" is dated .*, after now by B2's clock: it is kept and not counted by the retention rules \(is --date right\?\)$/)]);
});

test('a Home Assistant archive: its own id and date agree (a date with another offset too); another id or date is refused (exit 2), also when its backup.json comes last on stdin', async () => {
  const at = haBackupAt(5);
  const backupJson = coreBackupJson(at);
  const {catalog} = catalogWithWarnings(await shared.open('ha/'));
  const contradicted = `--id ${ID} contradicts the Home Assistant archive, whose backup.json gives it the id ${at.backupId}: it keeps its own; leave out --id`;
  const fromFile = await rejection(catalog.upload(haBackupTar(backupJson), {id: ID}));
  expect({bad: isBackupError(fromFile, 'bad_input'), message: (fromFile as Error).message}).toEqual({bad: true, message: contradicted});
  const date = await rejection(catalog.upload(haBackupTar(backupJson), {date: DATE}));
  expect((date as Error).message).toBe(`--date ${DATE} contradicts the Home Assistant archive, whose backup.json dates it ${at.date}: it keeps its own; leave out --date`);
  // from stdin, backup.json last: known only once the archive went up, which then goes
  const stream = await rejection(catalog.upload(Readable.from(haBackupTar(backupJson, {backupJsonLast: true})), {id: ID}));
  expect((stream as Error).message).toBe(contradicted);
  expect(await shared.versions('ha/')).toEqual([]);
  const sameInstant = new Date(Date.parse(at.date)).toISOString();
  const stored = await catalog.upload(haBackupTar(backupJson), {id: at.backupId, date: sameInstant});
  expect(stored).toMatchObject({id: at.backupId, date: at.date, existing: false});
});

test('an interrupted upload of the same file and name begun with another id is not continued under --id: the backup asked for is stored beside what it left', async () => {
  const backend = await shared.open('resumed/');
  const {dir: cacheDir, cleanup} = await tempDir();
  try {
    const path = join(cacheDir, 'moved.tar');
    await writeFile(path, randomBytes(2000));
    // its archive stored, its metadata file never: the same upload run again would complete it
    await rejection(new BackupCatalog(new MetadataCrash(backend, 'before'), {cacheDir}).upload({path}, {name: 'moved'}));
    const [left] = await keysOf(backend);
    const {catalog, warnings} = catalogWithWarnings(backend, {cacheDir});
    const stored = await catalog.upload({path}, {name: 'moved', id: ID, date: DATE});
    expect(stored).toMatchObject({id: ID, date: DATE, resumed: false, existing: false});
    expect((await keysOf(backend)).sort()).toEqual([left, stored.archiveKey, stored.metadataKey].sort());
    // what it left is told, with what removes it
    expect(warnings).toEqual([expect.stringMatching(new RegExp(`^the interrupted upload of this file as backup [0-9a-f]+ left its archive ${left.replace(/\./g, '\\.')} without a metadata file, and this upload, as another backup, does not use it: "backup-b2 b2 cleanup" removes it once it is 24 hours old`))]);
  } finally {
    await cleanup();
  }
});
