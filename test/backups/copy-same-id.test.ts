import {expect, test} from '@jest/globals';
import {BackupCatalog} from '../../src/backups/index.js';
import {copyBackup} from '../../src/backups/copy-backup.js';
import {isBackupError} from '../../src/errors.js';
import {putHaBackup} from './ha-fixtures.js';
import {rejection, sharedEmulator} from './helpers.js';

// copyBackup over the emulator via HTTP into a location that already holds the backup's id
// under other names (the same Home Assistant archive uploaded there with --name): one
// backup per id, as an upload keeps it, since a second one hides one of them from list,
// show, download and delete. The same content is the backup already there; other content
// is refused with nothing copied.

const shared = sharedEmulator();

/** A Home Assistant backup in `src`, and in `dst` one with its id and archive under the name "Other" (metadata `edit`ed). */
async function twins(n: number, edit: (archive: Buffer) => Buffer = (a) => a) {
  const [from, to] = [await shared.open(`src${n}/`), await shared.open(`dst${n}/`)];
  const ha = await putHaBackup(from, 0);
  const archive = edit(ha.archive);
  await to.put('Other.tar', archive, {contentType: 'application/x-tar', metadata: {}});
  await to.put('Other.metadata.json', Buffer.from(ha.metadataJson.replace('"name": "Automatic backup 2026.4.1"', '"name": "Other"')), {contentType: 'application/json', metadata: {metadata_only: 'true'}});
  return {from, to, ha};
}

test('the same backup there under other names: answered as already there, nothing copied', async () => {
  const {from, to, ha} = await twins(1);
  expect(await copyBackup(new BackupCatalog(from), from, to, ha.backupId, {destination: new BackupCatalog(to)})).toMatchObject({existing: true, copied: [], info: {id: ha.backupId, archiveKey: 'Other.tar'}});
  expect(await shared.versions('dst1/')).toEqual(['upload Other.metadata.json', 'upload Other.tar']);
});

test('another archive there with the backup\'s id: refused (exit 2), nothing copied', async () => {
  const {from, to, ha} = await twins(2, (a) => Buffer.from(a.map((b) => b ^ 1)));
  const err = await rejection(copyBackup(new BackupCatalog(from), from, to, ha.backupId, {destination: new BackupCatalog(to)}));
  expect(isBackupError(err, 'already_exists')).toBe(true);
  expect((err as Error).message).toBe(`the other location already holds a backup with the id ${ha.backupId} under other names (Other.tar), with other content: a second one would hide one of them; delete it there, or copy to another profile; nothing was copied`);
  expect(await shared.versions('dst2/')).toEqual(['upload Other.metadata.json', 'upload Other.tar']);
});
