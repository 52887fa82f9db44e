import {describe, test, expect, beforeEach, afterEach} from '@jest/globals';
import {execFileSync, spawnSync} from 'node:child_process';
import {readFile, writeFile} from 'node:fs/promises';
import {join} from 'node:path';
import {randomBytes} from 'node:crypto';
import {readAll} from '../../src/body.js';
import {BackupError} from '../../src/errors.js';
import {MemoryBackend} from '../../src/memory-backend.js';
import {BackupCatalog, suggestedBaseName} from '../../src/backups/index.js';
import {clashBaseName} from '../../src/backups/layout.js';
import {NoChecksumBackend} from './backend-wrappers.js';
import {coreBackupJson, haAgentBackupFromDict, haArchiveFor, haBackupAt, haBackupMetadata, haBackupTar, haParseMetadata, putHaBackup, pythonJsonDumps, supervisorBackupJson} from './ha-fixtures.js';
import {displayDate, renderDownloaded, renderVerifyResult} from '../../src/backups/display.js';
import {renderBackup, renderBackupTable} from '../../src/cli/backup-tables.js';
import {catalogWithWarnings, keysOf, tempDir} from './helpers.js';

const hasPython = spawnSync('python3', ['-c', 'import tarfile'], {stdio: 'ignore'}).status === 0;

describe('compatibility with Home Assistant\'s Backblaze B2 integration', () => {
  let backend: MemoryBackend;
  let dir: string;
  let cleanup: () => Promise<void>;

  beforeEach(async () => {
    backend = new MemoryBackend();
    ({dir, cleanup} = await tempDir());
  });
  afterEach(() => cleanup());

  test('base names follow HA\'s suggested_filename, using the date\'s own wall clock', () => {
    expect(suggestedBaseName('Automatic backup 2026.4.1', '2026-04-08T04:57:43.001930+02:00')).toBe('Automatic_backup_2026.4.1_2026-04-08_04.57_43001930');
    expect(suggestedBaseName('  My   backup ', '2025-01-09T20:14:35.45+01:00')).toBe('My_backup_2025-01-09_20.14_35450000');
    expect(suggestedBaseName('x', '2025-01-09T20:14:35+00:00')).toBe('x_2025-01-09_20.14_35000000');
    expect(haBackupAt(0).base).toBe('Automatic_backup_2026.4.1_2026-04-08_04.57_43001930');
  });

  test('a bucket laid out exactly as HA writes it is listed, shown, downloaded and verified', async () => {
    const ha = await putHaBackup(backend, 0, {archiveBytes: 40_000});
    expect(ha.archiveKey).toBe('Automatic_backup_2026.4.1_2026-04-08_04.57_43001930.tar');
    expect((await backend.stat(ha.metadataKey))?.metadata).toEqual({metadata_only: 'true'});

    const {catalog, warnings} = catalogWithWarnings(backend);
    const [listed, ...rest] = await catalog.list();
    expect(rest).toEqual([]);
    expect(listed).toMatchObject({id: ha.backupId, name: 'Automatic backup 2026.4.1', date: '2026-04-08T04:57:43.001930+02:00', size: 40_000, describedBy: 'metadata-file', archiveKey: ha.archiveKey, metadataKey: ha.metadataKey});
    expect(listed.metadata).toEqual(ha.backupMetadata);

    const shown = await catalog.show(ha.backupId);
    expect(shown.metadata?.addons).toHaveLength(2);
    expect(shown.metadata?.protected).toBe(true);

    const {stream} = await catalog.download(ha.backupId);
    expect((await readAll(stream)).equals(ha.archive)).toBe(true);
    const out = join(dir, 'ha.tar');
    await catalog.downloadToFile(ha.backupId, out);
    expect((await readFile(out)).equals(ha.archive)).toBe(true);
    expect(await catalog.verify(ha.backupId)).toMatchObject({ok: true, size: 40_000, sha1: ha.sha1});

    await catalog.delete(ha.backupId);
    expect(await catalog.list()).toEqual([]);
    expect(warnings).toEqual([]);
  });

  test('an HA backup with an empty name (the Supervisor\'s default, e.g. `ha backups new` without --name) is listed and downloaded', async () => {
    const at = {...haBackupAt(9), name: ''};
    const base = suggestedBaseName('', at.date); // HA's suggested_filename: the date alone
    expect(base).toBe(haBackupAt(9).base.replace(/^Automatic_backup_2026\.4\.1_/, ''));
    const archive = randomBytes(3000);
    await backend.put(`${base}.tar`, archive, {contentType: 'application/x-tar', metadata: {}});
    const metadata = pythonJsonDumps({metadata_version: '1', backup_id: at.backupId, backup_metadata: haBackupMetadata(at, archive.length)});
    await backend.put(`${base}.metadata.json`, Buffer.from(metadata, 'utf8'), {contentType: 'application/json', metadata: {metadata_only: 'true'}});

    const {catalog, warnings} = catalogWithWarnings(backend);
    expect(await catalog.list()).toMatchObject([{id: at.backupId, name: '', date: at.date, archiveKey: `${base}.tar`}]);
    expect(warnings).toEqual([]);
    expect((await readAll((await catalog.download(at.backupId)).stream)).equals(archive)).toBe(true);
  });

  test('a Supervisor backup tar with an empty name uploads as HA\'s, under its id and date, named by the date alone, protected; listed, verified, downloaded and known as ours', async () => {
    const at = {...haBackupAt(10), name: ''};
    const tar = haBackupTar({...supervisorBackupJson(at), name: ''});
    const base = haBackupAt(10).base.replace(/^Automatic_backup_2026\.4\.1_/, ''); // HA's suggested_filename for "": the date alone
    const {catalog, warnings} = catalogWithWarnings(backend);
    const info = await catalog.upload(tar);
    expect(info).toMatchObject({id: at.backupId, name: '', date: at.date, archiveKey: `${base}.tar`, metadataKey: `${base}.metadata.json`});
    expect(info.metadata).toMatchObject({name: '', protected: true, backup_id: at.backupId});
    expect(() => haAgentBackupFromDict(info.metadata as Record<string, unknown>)).not.toThrow();
    // the archive describes itself though its name is empty (no empty file info value)
    expect(Object.values((await backend.stat(info.archiveKey))?.metadata ?? {})).not.toContain('');

    const [listed] = await catalog.list();
    expect(listed).toMatchObject({id: at.backupId, name: '', date: at.date, describedBy: 'archive', sha1: info.sha1});
    const shown = await catalog.show(at.backupId);
    expect(shown.metadata?.protected).toBe(true);
    const verified = await catalog.verify(at.backupId);
    expect(verified).toMatchObject({ok: true, expectedSha1: info.sha1});
    expect((await readAll((await catalog.download(at.backupId)).stream)).equals(tar)).toBe(true);
    const out = join(dir, 'unnamed.tar');
    const downloaded = await catalog.downloadToFile(at.backupId, out);

    // read as a person reads them: the date stands in for the name
    const when = '2026-04-18 05:07:43 \\+02:00'; // a pattern
    expect(renderBackupTable([listed])).toMatch(new RegExp(`^${at.backupId}\\s+\\(no name\\)\\s+${when}`, 'm'));
    expect(renderBackup(shown)).toMatch(/^name\s+\(no name\)$/m);
    expect(renderVerifyResult(verified)).toMatch(new RegExp(`^OK backup ${at.backupId} \\(no name, ${when}\\), `));
    expect(renderDownloaded(downloaded)).toMatch(new RegExp(`^Downloaded backup \\(no name, ${when}\\) to `));

    // without its metadata file, the archive is still one of ours (cleanup removes it, not a foreign file)
    await backend.delete(info.metadataKey);
    expect(await catalog.cleanup({olderThanMs: 0})).toMatchObject({deleted: [{key: info.archiveKey, id: at.backupId, name: ''}], foreign: 0});
    expect(warnings).toEqual([]);
    // a name the user gives stays refused when empty
    await expect(catalog.upload(tar, {name: ''})).rejects.toThrow(/invalid backup name "": is empty/);
  });

  test('a name taken by another backup gets the id before the date, so that HA never pairs the other backup\'s metadata file with this archive', async () => {
    // HA pairs X.metadata.json with the first archive whose name starts with X: with X.tar
    // gone (HA's delete removes the archive first; an interruption leaves the metadata file),
    // an archive named X_<id>.tar would be listed, restored and deleted by HA as backup X
    const theirs = await putHaBackup(backend, 2);
    const at = haBackupAt(2);
    const {catalog, warnings} = catalogWithWarnings(backend);
    const ours = await catalog.upload(haBackupTar(supervisorBackupJson({...at, backupId: 'c1a5b0de'})));
    expect(ours).toMatchObject({id: 'c1a5b0de', name: at.name, date: at.date});
    expect(haArchiveFor(theirs.metadataKey, await keysOf(backend))).toBe(theirs.archiveKey);
    expect(haArchiveFor(ours.metadataKey, await keysOf(backend))).toBe(ours.archiveKey);

    await backend.delete(theirs.archiveKey);
    expect(haArchiveFor(theirs.metadataKey, await keysOf(backend))).toBeUndefined();
    expect(haArchiveFor(ours.metadataKey, await keysOf(backend))).toBe(ours.archiveKey);
    expect((await catalog.list()).map((b) => b.id)).toEqual(['c1a5b0de']);
    expect(warnings).toEqual([expect.stringContaining(`skipping ${theirs.metadataKey}: it has no archive`)]);
    // HA's name with the id as one more word before the date: `<name>_<id>_<date>`
    const clash = at.base.replace(/_(\d{4}-\d{2}-\d{2}_\d{2}\.\d{2}_\d{8})$/, '_c1a5b0de_$1');
    expect(ours).toMatchObject({archiveKey: `${clash}.tar`, metadataKey: `${clash}.metadata.json`});
    // a backup without a name (named by the date alone): the id, then the date
    const dateOnly = suggestedBaseName('', at.date);
    expect(clashBaseName('', at.date, 'c1a5b0de')).toBe(`c1a5b0de_${dateOnly}`);
    expect(haArchiveFor(`${dateOnly}.metadata.json`, [`c1a5b0de_${dateOnly}.tar`])).toBeUndefined();
  });

  test('an HA archive with no recorded checksum verifies by size and says so', async () => {
    const ha = await putHaBackup(backend, 1);
    const v = await new BackupCatalog(new NoChecksumBackend(backend)).verify(ha.backupId);
    expect(v).toMatchObject({ok: true, size: ha.archive.length, sha1: ha.sha1, expectedSha1: undefined});
  });

  test('HA and our backups list together, newest first', async () => {
    const old = await putHaBackup(backend, 0);
    const ours = await new BackupCatalog(backend, {now: () => new Date('2026-05-01T00:00:00Z')}).upload(randomBytes(100), {name: 'ours'});
    const newer = await putHaBackup(backend, 40); // 2026-05-18
    const ids = (await new BackupCatalog(backend).list()).map((b) => b.id);
    expect(ids).toEqual([newer.backupId, ours.id, old.backupId]);
  });

  test('our metadata file is what HA\'s parser and AgentBackup.from_dict accept, with every field typed as HA reads it', async () => {
    const catalog = new BackupCatalog(backend, {createdBy: 'backup-plugin-b2 0.1.0'});
    const info = await catalog.upload(randomBytes(1234), {name: 'Before upgrade', metadata: {host: 'nas', reason: 'manual'}});
    const raw = (await readAll((await backend.get(info.metadataKey)).stream)).toString('utf8');

    const data = haParseMetadata(raw);
    expect(data.metadata_version).toBe('1');
    expect(data.backup_id).toBe(info.id);
    const bm = data.backup_metadata as Record<string, unknown>;
    expect(() => haAgentBackupFromDict(bm)).not.toThrow();
    expect(bm).toMatchObject({
      addons: [],
      backup_id: info.id,
      date: info.date,
      database_included: false,
      extra_metadata: {host: 'nas', reason: 'manual'},
      folders: [],
      homeassistant_included: false,
      homeassistant_version: null,
      name: 'Before upgrade',
      protected: false,
      size: 1234,
      sha1: info.sha1,
      created_by: 'backup-plugin-b2 0.1.0',
    });
    // HA finds the archive as "<base of the metadata file>…tar".
    expect(info.metadataKey.replace(/\.metadata\.json$/, '.tar')).toBe(info.archiveKey);
  });

  test('a Home Assistant backup tar (a Buffer here) uploads under its own id, name, date and file name', async () => {
    const at = haBackupAt(5);
    const info = await new BackupCatalog(backend).upload(haBackupTar(coreBackupJson(at)));
    expect(info).toMatchObject({id: at.backupId, name: at.name, date: at.date, archiveKey: `${at.base}.tar`});
    expect(() => haAgentBackupFromDict(info.metadata as Record<string, unknown>)).not.toThrow();
  });

  test('a backup.json date without seconds (which HA\'s parse_datetime reads) is named as HA names it, seconds 00', async () => {
    const at = haBackupAt(7);
    const date = at.date.replace(/:\d{2}\.\d+(?=[+-])/, ''); // e.g. 2026-04-15T05:04+02:00
    expect(date).toMatch(/T\d{2}:\d{2}[+-]/);
    expect(suggestedBaseName(at.name, date)).toBe(`${at.base.replace(/_\d{8}$/, '')}_00000000`);
    const info = await new BackupCatalog(backend).upload(haBackupTar({...coreBackupJson(at), date}));
    expect(info).toMatchObject({id: at.backupId, name: at.name, date, archiveKey: `${at.base.replace(/_\d{8}$/, '')}_00000000.tar`});
  });

  test('uploading an archive HA stored without a SHA1 (streamed up) says it cannot be compared, not that its content differs', async () => {
    const at = haBackupAt(8);
    const tar = haBackupTar(coreBackupJson(at));
    await putHaBackup(backend, 8, {archive: tar});
    const path = join(dir, 'same.tar');
    await writeFile(path, tar);
    const catalog = new BackupCatalog(new NoChecksumBackend(backend));
    const err = await catalog.upload({path}).then(() => undefined, (e: unknown) => e as BackupError);
    expect(err).toBeInstanceOf(BackupError);
    expect(err?.kind).toBe('bad_input');
    expect(err?.message).not.toMatch(/other content/);
    expect(err?.message).toMatch(new RegExp(`^backup ${at.backupId} \\("${at.name}", ${displayDate(at.date).replace('+', '\\+')}\\) is already stored as ${at.base}\\.tar, with no SHA1 on record to compare this archive with`));
    expect((await catalog.list()).map((b) => b.id)).toEqual([at.backupId]);
  });

  (hasPython ? test : test.skip)('a tar written by Python\'s tarfile as HA Core writes it (PAX format, "./backup.json" first) is read', async () => {
    const at = haBackupAt(6);
    const path = join(dir, 'python.tar');
    const script = [
      'import io, json, sys, tarfile, time',
      'path, text = sys.argv[1], sys.argv[2].encode()',
      'with tarfile.open(path, "w", format=tarfile.PAX_FORMAT) as tar:',
      '    info = tarfile.TarInfo("./backup.json"); info.size = len(text); info.mtime = time.time()',
      '    tar.addfile(info, io.BytesIO(text))',
      '    inner = b"\\x1f\\x8b" + bytes(5000)',
      '    info = tarfile.TarInfo("./homeassistant.tar.gz"); info.size = len(inner); info.mtime = time.time()',
      '    tar.addfile(info, io.BytesIO(inner))',
    ].join('\n');
    execFileSync('python3', ['-c', script, path, JSON.stringify(coreBackupJson(at))]);
    const tar = await readFile(path);
    expect(tar.includes('mtime=')).toBe(true); // float mtimes: PAX headers, as HA's tars have
    const info = await new BackupCatalog(backend).upload({path});
    expect(info).toMatchObject({id: at.backupId, name: at.name, date: at.date, archiveKey: `${at.base}.tar`, size: tar.length});
  });

  test('the strict from_dict rendering does reject what HA would', () => {
    const good = haBackupMetadataLike();
    expect(() => haAgentBackupFromDict(good)).not.toThrow();
    for (const key of Object.keys(good)) {
      const bad = {...good};
      delete bad[key];
      expect(() => haAgentBackupFromDict(bad)).toThrow(key);
    }
    expect(() => haAgentBackupFromDict({...good, date: '2026-04-08 04:57'})).toThrow('date');
    expect(() => haAgentBackupFromDict({...good, folders: ['tmp']})).toThrow('folders');
  });
});

function haBackupMetadataLike(): Record<string, unknown> {
  return {addons: [], backup_id: 'abcd1234', date: '2026-04-08T04:57:43.001930+02:00', database_included: false, extra_metadata: {}, folders: [], homeassistant_included: false, homeassistant_version: null, name: 'n', protected: false, size: 1};
}
