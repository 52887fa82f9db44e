import {describe, test, expect, beforeAll, afterAll} from '@jest/globals';
import {readFile, writeFile} from 'node:fs/promises';
import {join} from 'node:path';
import {authorizeRaw} from '../emulator/helpers.js';
import type {BackupInfo} from '../../src/backups/index.js';
import type {CliResult} from '../helpers/run-cli.js';
import {coreBackupJson, haAgentBackupFromDict, haBackupAt, haBackupTar, haParseMetadata, supervisorBackupJson} from '../backups/ha-fixtures.js';
import {E2EWorld, expectFailure, parseJson, sha1} from './helpers.js';

// Home Assistant's own backup tars, carried to B2 with `b2 upload` (the built CLI in a
// child process, the emulator over HTTP): they name, date and describe themselves from
// their backup.json, and are stored under HA's own file name, so that HA lists them as its own.

const PREFIX = 'ha/';
let world: E2EWorld;

interface Uploaded {
  id: string;
  name: string;
  date: string;
  size: number;
  sha1: string;
  archiveKey: string;
  metadataKey: string;
}

const home = (args: string[]) => world.b2([...args, '--profile', 'home']);

async function uploadFile(tar: Buffer, file: string, extra: string[] = []) {
  const path = join(world.dir, file);
  await writeFile(path, tar);
  return home(['upload', path, '--json', ...extra]);
}

async function uploadStdin(tar: Buffer, extra: string[] = []): Promise<CliResult> {
  const {done} = world.spawn(['upload', '-', '--json', '--profile', 'home', ...extra], {input: tar});
  const r = await done;
  return {code: r.code ?? -1, stdout: r.stdout.toString('utf8'), stderr: r.stderr};
}

/** The backups profile home lists, as `b2 list --json` lists them (read in this process: list has its own tests). */
const listed = () => world.withLocation('home', ({catalog}) => catalog.list());

/** A stored file's exact bytes, read over HTTP with the master key (not through the tool). */
async function stored(key: string): Promise<Buffer> {
  const auth = await authorizeRaw(world.emu);
  const res = await fetch(`${auth.downloadUrl}/file/${world.emu.bucket}/${PREFIX}${key}`, {headers: {Authorization: auth.authorizationToken}});
  expect(res.status).toBe(200);
  return Buffer.from(await res.arrayBuffer());
}

/** The metadata file as HA's integration reads it: its parser, then AgentBackup.from_dict (strict copies). */
async function metadataAsHaReadsIt(u: Pick<Uploaded, 'id' | 'archiveKey' | 'metadataKey'>): Promise<Record<string, unknown>> {
  const data = haParseMetadata((await stored(u.metadataKey)).toString('utf8'));
  expect(data).toMatchObject({metadata_version: '1', backup_id: u.id});
  const bm = data.backup_metadata as Record<string, unknown>;
  expect(() => haAgentBackupFromDict(bm)).not.toThrow();
  // HA finds the archive beside it under the same base name
  expect(u.metadataKey.replace(/\.metadata\.json$/, '.tar')).toBe(u.archiveKey);
  return bm;
}

beforeAll(async () => {
  world = await E2EWorld.start();
  const key = await world.createKey();
  await world.addProfile('home', {...key, prefix: PREFIX});
});

afterAll(async () => {
  await world?.close();
});

describe('b2 upload of a Home Assistant backup tar', () => {
  test('from a path: id, name, date and contents from backup.json, stored under HA\'s file name, every byte kept', async () => {
    const at = haBackupAt(0);
    const tar = haBackupTar(supervisorBackupJson(at), {backupJsonLast: true}); // where the Supervisor writes it
    const r = await uploadFile(tar, 'supervisor.tar');
    expect(r).toMatchObject({code: 0, stderr: ''});
    const u = parseJson<Uploaded>(r);
    // the request date (extra."supervisor.backup_request_date") wins over `date`, as in read_backup
    expect(u).toMatchObject({id: at.backupId, name: 'Automatic backup 2026.4.1', date: '2026-04-08T04:57:43.001930+02:00', size: tar.length, sha1: sha1(tar)});
    expect(u.archiveKey).toBe('Automatic_backup_2026.4.1_2026-04-08_04.57_43001930.tar');
    expect(u.metadataKey).toBe('Automatic_backup_2026.4.1_2026-04-08_04.57_43001930.metadata.json');

    expect(await metadataAsHaReadsIt(u)).toEqual({
      addons: [
        {name: 'Mosquitto broker', slug: 'core_mosquitto', version: '6.5.1'},
        {name: 'File editor', slug: 'core_configurator', version: '5.8.0'},
      ],
      backup_id: at.backupId,
      date: '2026-04-08T04:57:43.001930+02:00',
      database_included: true,
      extra_metadata: {instance_id: '0c5bd6d0a6a84c1c9d0e2b9d1c6e4f7a', with_automatic_settings: true, 'supervisor.backup_request_date': '2026-04-08T04:57:43.001930+02:00'},
      folders: ['share', 'media'], // "homeassistant" is not a folder to HA
      homeassistant_included: true,
      homeassistant_version: '2026.4.1',
      name: 'Automatic backup 2026.4.1',
      protected: true,
      size: tar.length,
      sha1: sha1(tar),
      created_by: expect.stringMatching(/^backup-plugin-b2/),
    });
    expect((await stored(u.archiveKey)).equals(tar)).toBe(true);

    expect((await listed()).find((b) => b.id === at.backupId)).toMatchObject({name: 'Automatic backup 2026.4.1', date: '2026-04-08T04:57:43.001930+02:00'});
  });

  test('uploaded again: the stored backup is the answer (no second backup with its id); from stdin, refused with one line', async () => {
    const at = haBackupAt(0);
    const path = join(world.dir, 'supervisor.tar');
    const again = await home(['upload', path, '--json']);
    expect(again).toMatchObject({code: 0, stderr: ''});
    expect(parseJson(again)).toMatchObject({id: at.backupId, existing: true, archiveKey: `${at.base}.tar`});

    // the same id with backup.json first (so that stdin sees it) and other bytes
    const sameId = haBackupTar(supervisorBackupJson(at));
    const r = await uploadStdin(sameId);
    expectFailure(r, 2, new RegExp(`^Error: backup ${at.backupId} \\("Automatic backup 2026.4.1", 2026-04-08 04:57:43 \\+02:00\\) is already stored as ${at.base}\\.tar \\(an upload from stdin cannot be compared with it\\); delete it first`), world.secrets);
    const other = await uploadFile(sameId, 'same-id.tar');
    expectFailure(other, 2, new RegExp(`^Error: backup ${at.backupId} \\("Automatic backup 2026.4.1", 2026-04-08 04:57:43 \\+02:00\\) is already stored as ${at.base}\\.tar with other content;`), world.secrets);

    expect((await listed()).filter((b) => b.id === at.backupId)).toHaveLength(1);
  });

  test('from stdin, with PAX headers and "backup.json" without "./": the same description, and the SHA1 of every byte', async () => {
    const at = haBackupAt(1);
    const tar = haBackupTar(coreBackupJson(at), {pax: true, memberName: 'backup.json', innerBytes: 3_000_000});
    const r = await uploadStdin(tar);
    expect(r).toMatchObject({code: 0, stderr: ''});
    const u = parseJson<Uploaded>(r);
    expect(u).toMatchObject({id: at.backupId, name: at.name, date: at.date, size: tar.length, sha1: sha1(tar), archiveKey: `${at.base}.tar`});
    expect(await metadataAsHaReadsIt(u)).toMatchObject({
      addons: [],
      backup_id: at.backupId,
      date: at.date,
      database_included: false, // homeassistant.exclude_database: true
      extra_metadata: {instance_id: '0c5bd6d0a6a84c1c9d0e2b9d1c6e4f7a', with_automatic_settings: false},
      folders: [],
      homeassistant_included: true,
      homeassistant_version: '2026.4.1',
      protected: false,
      size: tar.length,
      sha1: sha1(tar),
    });
    expect((await stored(u.archiveKey)).equals(tar)).toBe(true);
    const downloaded = join(world.dir, 'restored.tar');
    expect((await home(['download', at.backupId, '-o', downloaded])).code).toBe(0);
    expect(sha1(await readFile(downloaded))).toBe(sha1(tar));
  });

  test('--name overrides the name (and so the file name); id, date and contents still come from backup.json; --meta adds to extra', async () => {
    const at = haBackupAt(2);
    const tar = haBackupTar(supervisorBackupJson(at), {pax: true});
    const r = await uploadFile(tar, 'renamed.tar', ['--name', 'Before the upgrade', '--meta', 'host=pi4']);
    expect(r).toMatchObject({code: 0, stderr: ''});
    const u = parseJson<Uploaded>(r);
    const wall = at.base.slice('Automatic_backup_2026.4.1_'.length);
    expect(u).toMatchObject({id: at.backupId, name: 'Before the upgrade', date: at.date, archiveKey: `Before_the_upgrade_${wall}.tar`});
    expect(await metadataAsHaReadsIt(u)).toMatchObject({name: 'Before the upgrade', homeassistant_included: true, protected: true, extra_metadata: {host: 'pi4', with_automatic_settings: true}});
  });

  test('backup.json after the inner archives (where the Supervisor writes it), from stdin: read as the upload streams it by, the same description; then from a path, or again, it is the stored one', async () => {
    const at = haBackupAt(3);
    const tar = haBackupTar(coreBackupJson(at), {backupJsonLast: true, pax: true, innerBytes: 3_000_000});
    const r = await uploadStdin(tar);
    expect(r).toMatchObject({code: 0, stderr: ''});
    const u = parseJson<Uploaded>(r);
    expect(u).toMatchObject({id: at.backupId, name: at.name, date: at.date, size: tar.length, sha1: sha1(tar)});
    expect(await metadataAsHaReadsIt(u)).toMatchObject({
      backup_id: at.backupId,
      name: at.name,
      date: at.date,
      database_included: false,
      extra_metadata: {instance_id: '0c5bd6d0a6a84c1c9d0e2b9d1c6e4f7a', with_automatic_settings: false},
      homeassistant_included: true,
      homeassistant_version: '2026.4.1',
      protected: false,
      size: tar.length,
    });
    expect((await stored(u.archiveKey)).equals(tar)).toBe(true);
    const list = async () => (await listed()).filter((b) => b.id === at.backupId);
    expect(await list()).toEqual([expect.objectContaining({name: at.name, date: at.date, archiveKey: u.archiveKey})]);

    // HA lists one backup per id: the same archive again, from a path or from stdin, is the stored one
    expect(parseJson(await uploadFile(tar, 'last.tar'))).toMatchObject({id: at.backupId, existing: true, archiveKey: u.archiveKey});
    const again = await uploadStdin(tar);
    expect(again).toMatchObject({code: 0, stderr: ''});
    expect(parseJson(again)).toMatchObject({id: at.backupId, existing: true, archiveKey: u.archiveKey});
    expect(await list()).toHaveLength(1);
    const auth = await authorizeRaw(world.emu);
    const names = await fetch(`${auth.apiUrl}/b2api/v2/b2_list_file_names`, {method: 'POST', headers: {Authorization: auth.authorizationToken}, body: JSON.stringify({bucketId: world.emu.bucketId, prefix: PREFIX, maxFileCount: 1000})});
    const tars = ((await names.json()) as {files: Array<{fileName: string; contentSha1: string}>}).files.filter((f) => f.contentSha1 === sha1(tar));
    expect(tars.map((f) => f.fileName)).toEqual([PREFIX + u.archiveKey]); // the second stdin copy was removed
  });

  test('a Supervisor backup without a name (`ha backups new` without --name): stored under its id, named by the date alone as HA names it, protected; its lines show "(no name)" and the date', async () => {
    const at = {...haBackupAt(4), name: ''};
    const tar = haBackupTar({...supervisorBackupJson(at), name: ''}, {backupJsonLast: true});
    const path = join(world.dir, 'unnamed.tar');
    await writeFile(path, tar);
    const r = await home(['upload', path]);
    expect(r).toMatchObject({code: 0, stdout: `${at.backupId}\n`});
    const when = '2026-04-12 05:01:43 \\+02:00'; // at.date, as lines show it (a pattern)
    expect(r.stderr).toMatch(new RegExp(`^Uploaded backup \\(no name, ${when}\\) \\(`));
    const base = '2026-04-12_05.01_43001958'; // HA's suggested_filename for "": the date alone
    expect(haBackupAt(4).base).toBe(`Automatic_backup_2026.4.1_${base}`);
    const u = {id: at.backupId, archiveKey: `${base}.tar`, metadataKey: `${base}.metadata.json`};
    expect(await metadataAsHaReadsIt(u)).toMatchObject({backup_id: at.backupId, name: '', date: at.date, protected: true, sha1: sha1(tar)});
    // the archive describes itself without an empty file info value, which B2 does not document
    const auth = await authorizeRaw(world.emu);
    const names = await fetch(`${auth.apiUrl}/b2api/v2/b2_list_file_names`, {method: 'POST', headers: {Authorization: auth.authorizationToken}, body: JSON.stringify({bucketId: world.emu.bucketId, startFileName: PREFIX + u.archiveKey, maxFileCount: 1})});
    const [archive] = ((await names.json()) as {files: Array<{fileName: string; fileInfo: Record<string, string>}>}).files;
    expect(archive).toMatchObject({fileName: PREFIX + u.archiveKey, fileInfo: {backup_id: at.backupId, backup_name_empty: 'true', backup_date: at.date}});

    const out = join(world.dir, 'unnamed-restored.tar');
    const d = await home(['download', at.backupId, '-o', out]);
    expect(d.code).toBe(0);
    expect(d.stderr.trimEnd()).toMatch(new RegExp(`^Downloaded backup \\(no name, ${when}\\) to \\S+unnamed-restored\\.tar \\(\\S+ KiB, sha1 ${sha1(tar)} verified\\)$`));
    expect((await readFile(out)).equals(tar)).toBe(true);
  });

  const malformed: Array<[string, string, RegExp]> = [
    ['bad JSON', '{"slug": "0badf00d", "name": ', /not JSON/],
    ['no slug', JSON.stringify({...coreBackupJson(), slug: undefined}), /slug is missing/],
    ['a wrong type', JSON.stringify({...coreBackupJson(), protected: 'yes'}), /protected is not true or false/],
    ['a folder HA does not know', JSON.stringify({...coreBackupJson(), folders: ['tmp']}), /folder "tmp"/],
    // anyone who can write to the bucket could otherwise make "latest" name an old backup
    ['the slug "latest"', JSON.stringify({...coreBackupJson(), slug: 'latest'}), /\(slug is "latest", the word that always names the newest backup\)/],
  ];

  /** A human-form run (with --json the CLI keeps stderr quiet): its warning line, and the backup it stored (as `b2 show` shows it, read in this process). */
  async function warnedUpload(r: CliResult): Promise<{warning: string; u: BackupInfo}> {
    expect(r.code).toBe(0);
    const lines = r.stderr.trimEnd().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[1]).toMatch(/^Uploaded backup "Backup" /);
    const u = await world.withLocation('home', ({catalog}) => catalog.show(r.stdout.trim()));
    return {warning: lines[0], u};
  }

  test.each(malformed)('a backup.json with %s: one warning line, then a plain upload', async (_what, text, problem) => {
    const tar = haBackupTar(text);
    const path = join(world.dir, 'malformed.tar');
    await writeFile(path, tar);
    const {warning, u} = await warnedUpload(await home(['upload', path]));
    expect(warning).toMatch(/^Warning: \S+malformed\.tar: its \.\/backup\.json is not a usable Home Assistant backup description \(/);
    expect(warning).toMatch(problem);
    expect(warning).toMatch(/; uploading it as a plain archive$/);
    expect(u).toMatchObject({name: 'Backup', sha1: sha1(tar), size: tar.length});
    expect(u.id).toMatch(/^[0-9a-f]{12}$/); // an id made here, not the slug
    expect(await metadataAsHaReadsIt(u)).toMatchObject({homeassistant_included: false, protected: false, extra_metadata: {}});
  });

  test('a malformed backup.json from stdin: the same warning, and every byte stored', async () => {
    const tar = haBackupTar('{"slug": 12}');
    const {done} = world.spawn(['upload', '-', '--profile', 'home'], {input: tar});
    const r = await done;
    const {warning, u} = await warnedUpload({code: r.code ?? -1, stdout: r.stdout.toString('utf8'), stderr: r.stderr});
    expect(warning).toBe('Warning: stdin: its ./backup.json is not a usable Home Assistant backup description (slug is not a string); uploading it as a plain archive');
    expect((await stored(u.archiveKey)).equals(tar)).toBe(true);
  });

  test('a backup.json over 1 MiB is not read: malformed', async () => {
    const tar = haBackupTar(JSON.stringify({...coreBackupJson(), padding: 'x'.repeat(1024 * 1024)}));
    const path = join(world.dir, 'huge.tar');
    await writeFile(path, tar);
    const {warning} = await warnedUpload(await home(['upload', path]));
    expect(warning).toMatch(/^Warning: .*\(1048\d+ bytes, more than the 1048576 read\); uploading it as a plain archive$/);
  });

  test('no secret in anything printed', () => {
    world.expectNoSecretInAnyRun();
  });
});
