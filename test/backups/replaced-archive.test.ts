import {expect, test} from '@jest/globals';
import {randomBytes} from 'node:crypto';
import {existsSync} from 'node:fs';
import {join} from 'node:path';
import {BackupCatalog} from '../../src/backups/index.js';
import {copyBackup} from '../../src/backups/copy-backup.js';
import {executeMove, planMove} from '../../src/backups/move.js';
import {isBackupError} from '../../src/errors.js';
import {sha1} from '../b2/helpers.js';
import {keysOf, rejection, sharedEmulator, tempDir} from './helpers.js';

// A backup whose archive another tool uploaded over (rclone, a second machine): a new
// version under the archive's name, of the same size, without this tool's file info.
// The backup's metadata file still records the SHA1 of the bytes the backup stored, and
// it is that record, not B2's SHA1 of whatever is stored now, that every command checks
// against: verify and download fail (exit 5), copy and move refuse and touch nothing.

const SIZE = 30_000;
const shared = sharedEmulator();
let n = 0;

/** A backup made here, whose archive then gets a second version of other bytes of the same size. */
async function replacedBackup() {
  n++;
  const prefix = `src${n}/`;
  const from = await shared.open(prefix);
  const data = randomBytes(SIZE);
  const up = await new BackupCatalog(from).upload(data, {name: 'nightly'});
  const other = randomBytes(SIZE);
  await from.put(up.archiveKey, other);
  expect((await from.stat(up.archiveKey))?.sha1).toBe(sha1(other));
  return {from, prefix, id: up.id, archiveKey: up.archiveKey, metadataKey: up.metadataKey, sha1: sha1(data), otherSha1: sha1(other)};
}

test('list and show give the SHA1 its metadata file records, not B2\'s SHA1 of the version stored over it', async () => {
  const b = await replacedBackup();
  const catalog = new BackupCatalog(b.from);
  const [listed] = await catalog.list();
  expect({id: listed.id, sha1: listed.sha1}).toEqual({id: b.id, sha1: b.sha1});
  const shown = await catalog.show(b.id);
  expect(shown.sha1).toBe(b.sha1);
  expect(shown.metadata?.sha1).toBe(b.sha1);
});

test('verify reports it bad: the bytes stored are not the ones the backup recorded', async () => {
  const b = await replacedBackup();
  const result = await new BackupCatalog(b.from).verify(b.id);
  expect(result).toMatchObject({ok: false, size: SIZE, sha1: b.otherSha1, expectedSha1: b.sha1});
});

test('download fails with checksum_mismatch, to a stream and to a file (which is not created)', async () => {
  const b = await replacedBackup();
  const catalog = new BackupCatalog(b.from);
  const {stream} = await catalog.download(b.id);
  const streamed = await rejection(stream.toArray());
  expect(isBackupError(streamed, 'checksum_mismatch')).toBe(true);
  expect((streamed as Error).message).toContain(`expected ${b.sha1}`);
  const tmp = await tempDir();
  try {
    const path = join(tmp.dir, 'restore.tar');
    const toFile = await rejection(catalog.downloadToFile(b.id, path));
    expect(isBackupError(toFile, 'checksum_mismatch')).toBe(true);
    expect(existsSync(path)).toBe(false);
  } finally {
    await tmp.cleanup();
  }
});

test('copy refuses (checksum_mismatch) and copies nothing', async () => {
  const b = await replacedBackup();
  const to = await shared.open(`dst${n}/`);
  const err = await rejection(copyBackup(new BackupCatalog(b.from), b.from, to, b.id));
  expect(isBackupError(err, 'checksum_mismatch')).toBe(true);
  expect((err as Error).message).toContain(`B2 records SHA1 ${b.otherSha1} for it, the backup ${b.sha1}`);
  expect(await keysOf(to)).toEqual([]);
});

test('a move refuses (checksum_mismatch) and every version at the source stays, the backup\'s own included', async () => {
  const b = await replacedBackup();
  const to = await shared.open(`dst${n}/`);
  const before = await shared.versions(b.prefix);
  expect(before.filter((v) => v.endsWith('.tar'))).toHaveLength(2);
  const err = await rejection((async () => executeMove(b.from, to, await planMove(b.from, to)))());
  expect(isBackupError(err, 'checksum_mismatch')).toBe(true);
  expect(await shared.versions(b.prefix)).toEqual(before);
  expect(await keysOf(to)).toEqual([]);
});
