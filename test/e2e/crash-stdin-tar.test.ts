import {describe, test, expect, beforeAll, afterAll} from '@jest/globals';
import {randomBytes} from 'node:crypto';
import {api, authorizeRaw} from '../emulator/helpers.js';
import {startCrashLocation, type CrashLocation, type CrashWorld} from '../helpers/crash.js';
import {buildTar} from '../helpers/tar-builder.js';
import {haBackupAt, haBackupTar, supervisorBackupJson} from '../backups/ha-fixtures.js';
import {parseJson} from './helpers.js';

// `tar -c /etc | b2 upload -`: a tar from stdin whose first member is not backup.json
// (README's own example) goes up before its end, where a backup.json may still come, is
// read. A real `b2 upload -` SIGKILLed mid-way, and a real `b2 delete` killed half-way,
// must leave only what `b2 cleanup` and the same `b2 delete` (by the backup's id, Home
// Assistant's too) find as ours and remove.

const PREFIX = 'stdin/';
const PROFILE = 'stdin';
/** Three 5 MB parts: an unfinished large file while it goes up. */
const TAR = buildTar([
  {name: 'etc/hostname', data: Buffer.from('pi\n')},
  {name: 'etc/blob', data: randomBytes(11_000_000)},
]);

let location: CrashLocation;
let cw: CrashWorld;
let foreignSurvived: () => Promise<void>;

beforeAll(async () => {
  location = await startCrashLocation(PROFILE, PREFIX);
  ({cw, foreignSurvived} = location);
}, 60_000);

afterAll(() => location?.close());

const b2 = (args: string[]) => cw.world.b2([...args, '--profile', PROFILE]);
const uploadArgs = (name: string) => ['upload', '-', '--name', name, '--json', '--profile', PROFILE];

/** Every version (uploads, hide markers, unfinished large files) of the names starting with `start`. */
async function versionsOf(start: string): Promise<string[]> {
  const auth = await authorizeRaw(cw.emu);
  const r = await api(cw.emu, auth.authorizationToken, 'b2_list_file_versions', {bucketId: cw.emu.bucketId, prefix: PREFIX + start, maxFileCount: 1000});
  return (r.json.files as {fileName: string; action: string}[]).map((f) => `${f.action} ${f.fileName}`);
}

/** Kills `b2 upload -` (the tar on its stdin) once B2 stored its archive, before its metadata file is stored. */
async function killBeforeMetadata(name: string): Promise<void> {
  let finished = false;
  const killed = await cw.run(uploadArgs(name), (call, _n, kill) => {
    if (call === 'b2_finish_large_file') finished = true;
    if (call === 'b2_upload_file' && finished) {
      cw.emu.faults.add({call: 'b2_upload_file', count: 1, status: 503}); // this metadata upload is not stored
      return kill();
    }
  }, {input: TAR});
  expect(killed.killed).toBe(true);
  expect(await versionsOf(`${name}_`)).toEqual([expect.stringMatching(new RegExp(`^upload ${PREFIX}${name}_.*\\.tar$`))]);
}

/** The id `b2 list` names for an archive left without its metadata file (and the warning's advice). */
async function orphanIdOf(name: string): Promise<string> {
  const listed = await b2(['list']); // warnings go to stderr (not with --json)
  expect(listed.code).toBe(0);
  const warning = listed.stderr.split('\n').find((l) => l.includes(`${name}_`));
  const id = /backup (\S+) has no metadata file .*"backup-b2 b2 delete \1 --config \S+ --profile \S+" removes it, and so does "backup-b2 b2 cleanup --config \S+ --profile \S+"/.exec(warning ?? '')?.[1];
  expect({warning, id}).toEqual({warning, id: expect.stringMatching(/^[0-9a-f]{12}$/)});
  return id!;
}

describe('a tar from stdin whose first member is not backup.json', () => {
  test('killed while its parts go up: b2 cleanup cancels the unfinished upload as ours; other tools\' files stay', async () => {
    const killed = await cw.run(uploadArgs('etc-parts'), (call, _n, kill) => (call === 'b2_upload_part' ? kill() : undefined), {input: TAR});
    expect(killed.killed).toBe(true);
    expect(await versionsOf('etc-parts_')).toEqual([expect.stringMatching(/^start /)]);

    const done = await b2(['cleanup', '--older-than', '0s', '--json']);
    expect(done.code).toBe(0);
    const report = parseJson<{cancelled: {key: string}[]; foreign: number}>(done);
    expect(report.cancelled.map((c) => c.key)).toEqual([expect.stringMatching(/^etc-parts_.*\.tar$/)]);
    expect(report.foreign).toBe(1); // another tool's unfinished upload, laid out by startCrashLocation
    expect(await versionsOf('etc-parts_')).toEqual([]);
    await foreignSurvived();
  }, 60_000);

  test('killed before its metadata file was stored: list names the archive\'s id; b2 delete ID removes it, and b2 cleanup another one', async () => {
    await killBeforeMetadata('etc-delete');
    const id = await orphanIdOf('etc-delete');
    const deleted = await b2(['delete', id, '--yes']);
    expect(deleted.code).toBe(0);
    expect(await versionsOf('etc-delete_')).toEqual([]);

    await killBeforeMetadata('etc-cleanup');
    const other = await orphanIdOf('etc-cleanup');
    const done = await b2(['cleanup', '--older-than', '0s', '--json']);
    expect(done.code).toBe(0);
    const report = parseJson<{deleted: {id: string; name: string}[]; foreign: number}>(done);
    expect(report.deleted).toEqual([expect.objectContaining({id: other, name: 'etc-cleanup'})]);
    expect(await versionsOf('etc-cleanup_')).toEqual([]);
    await foreignSurvived();
  }, 60_000);

  test('a delete killed after the archive went: the same delete again removes the metadata file', async () => {
    const up = await cw.run(uploadArgs('etc-hd'), () => undefined, {input: TAR});
    expect(up.result.code).toBe(0);
    const {id} = JSON.parse(up.result.stdout.toString('utf8')) as {id: string};
    let versionListings = 0;
    // the delete lists the versions of the archive, deletes them, then lists the metadata file's: killed there
    const killed = await cw.run(['delete', id, '--yes', '--profile', PROFILE], (call, _n, kill) => (call === 'b2_list_file_versions' && ++versionListings === 2 ? kill() : undefined));
    expect(killed.killed).toBe(true);
    expect(await versionsOf('etc-hd_')).toEqual([expect.stringMatching(/^upload .*\.metadata\.json$/)]);

    const again = await b2(['delete', id, '--yes']);
    expect({code: again.code, stderr: again.stderr}).toEqual({code: 0, stderr: expect.any(String)});
    expect(await versionsOf('etc-hd_')).toEqual([]);
    await foreignSurvived();
  }, 60_000);

  test('a Home Assistant tar (its backup.json last) deleted by its HA id and killed between its two deletes: never listed half, and the same delete again removes everything', async () => {
    // the archive carries only the provisional marker (the upload's own id); the HA id is in the metadata file alone
    const at = haBackupAt(7);
    const up = await cw.run(['upload', '-', '--json', '--profile', PROFILE], () => undefined, {input: haBackupTar(supervisorBackupJson(at), {backupJsonLast: true})});
    expect(up.result.code).toBe(0);
    const made = JSON.parse(up.result.stdout.toString('utf8')) as {id: string; archiveKey: string};
    expect(made.id).toBe(at.backupId);
    const base = made.archiveKey.replace(/\.tar$/, '');
    let versionListings = 0;
    // the delete lists the versions of one of its two files, deletes them, then lists the other's: killed there
    const killed = await cw.run(['delete', at.backupId, '--yes', '--profile', PROFILE], (call, _n, kill) => (call === 'b2_list_file_versions' && ++versionListings === 2 ? kill() : undefined));
    expect(killed.killed).toBe(true);
    expect(await versionsOf(base)).toHaveLength(1);
    const listed = await b2(['list', '--json']);
    expect(listed.code).toBe(0);
    expect((JSON.parse(listed.stdout) as {id: string}[]).map((b) => b.id)).not.toContain(at.backupId);

    const again = await b2(['delete', at.backupId, '--yes', '--json']);
    expect({code: again.code, stderr: again.stderr}).toEqual({code: 0, stderr: ''});
    expect(parseJson(again)).toMatchObject({deleted: {id: at.backupId}, complete: false});
    expect(await versionsOf(base)).toEqual([]);
    await foreignSurvived();
  }, 60_000);
});
