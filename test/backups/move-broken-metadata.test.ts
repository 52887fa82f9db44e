import {expect, test} from '@jest/globals';
import {randomBytes} from 'node:crypto';
import {BackupCatalog} from '../../src/backups/index.js';
import {copyBackup} from '../../src/backups/copy-backup.js';
import {executeMove, planMove} from '../../src/backups/move.js';
import {isBackupError} from '../../src/errors.js';
import {keysOf, rejection, sharedEmulator} from './helpers.js';

// A backup made here whose metadata file another tool uploaded over (garbage, or another
// backup's file): B2 still keeps the valid version behind it. list shows the backup from
// its archive's own description, but a move copies only the current version and then
// deletes every version of the originals, so it would lose the last valid metadata file.
// Such a backup stays where it is, reported; copy refuses it. Over HTTP against the emulator.

const shared = sharedEmulator();
let n = 0;

/** Two backups made here; the second's metadata file then gets a new version, `replacement` (given the first). */
async function brokenBackup(replacement: (good: {metadataKey: string}, from: Awaited<ReturnType<typeof shared.open>>) => Promise<Buffer>) {
  n++;
  const prefix = `broken${n}/`;
  const from = await shared.open(prefix);
  const to = await shared.open(`moved${n}/`);
  const catalog = new BackupCatalog(from);
  const good = await catalog.upload(randomBytes(700), {name: 'good'});
  const broken = await catalog.upload(randomBytes(900), {name: 'broken'});
  await from.put(broken.metadataKey, await replacement(good, from));
  return {from, to, prefix, good, broken};
}

const garbageText = '<html>garbage from another tool';
const garbage = async () => Buffer.from(garbageText);
const jsonProblem = (() => {
  try {
    JSON.parse(garbageText);
  } catch (err) {
    return (err as Error).message;
  }
})();

test('a move leaves a backup whose current metadata file is garbage, with every version of it, and says why', async () => {
  const b = await brokenBackup(garbage);
  const plan = await planMove(b.from, b.to);
  expect(plan.items.map((i) => i.id)).toEqual([b.good.id]);
  expect(plan.staying).toEqual([`${b.broken.metadataKey} and ${b.broken.archiveKey} (backup ${b.broken.id}: its metadata file is not a backup metadata file (not JSON (${jsonProblem})); a move would delete the older versions B2 keeps of it: put a valid one back first (e.g. delete the newer version in the B2 web console))`]);
  const report = await executeMove(b.from, b.to, plan);
  expect(report.deleted).toBe(2);
  expect(await keysOf(b.from)).toEqual([b.broken.archiveKey, b.broken.metadataKey].sort());
  // the valid version is still stored behind the garbage one
  expect(await shared.versions(b.prefix)).toEqual([`upload ${b.broken.metadataKey}`, `upload ${b.broken.metadataKey}`, `upload ${b.broken.archiveKey}`]);
  expect(await keysOf(b.to)).toEqual([b.good.archiveKey, b.good.metadataKey].sort());
});

test('a metadata file of another backup over it is no better: the backup stays', async () => {
  const b = await brokenBackup(async (good, from) => Buffer.concat(await (await from.get(good.metadataKey)).stream.toArray()));
  const plan = await planMove(b.from, b.to);
  expect(plan.items.map((i) => i.id)).toEqual([b.good.id]);
  expect(plan.staying).toEqual([expect.stringContaining(`(backup ${b.broken.id}: its metadata file names backup ${b.good.id}`)]);
});

test('copy refuses such a backup and copies nothing', async () => {
  const b = await brokenBackup(garbage);
  const err = await rejection(copyBackup(new BackupCatalog(b.from), b.from, b.to, b.broken.id));
  expect(isBackupError(err, 'failure')).toBe(true);
  expect((err as Error).message).toMatch(new RegExp(`^backup ${b.broken.id}: its metadata file is not a backup metadata file .*; put a valid one back first .*; nothing was copied$`));
  expect(await keysOf(b.to)).toEqual([]);
});

test('a metadata file that cannot be read (encrypted with another SSE-C key) is not called damaged: the backup stays, with no advice to replace that file', async () => {
  n++;
  const key = () => ({mode: 'SSE-C' as const, key: randomBytes(32).toString('base64')});
  const prefix = `rotated${n}/`;
  const before = await shared.open(prefix, {encryption: key()});
  const stored = await new BackupCatalog(before).upload(randomBytes(800), {name: 'old key'});
  const from = await shared.open(prefix, {encryption: key()}); // the profile's key, rotated since
  const to = await shared.open(`rotated-to${n}/`, {encryption: key()});
  const plan = await planMove(from, to);
  expect(plan.items).toEqual([]);
  expect(plan.staying).toEqual([expect.stringMatching(new RegExp(`^${stored.metadataKey} and ${stored.archiveKey} \\(backup ${stored.id}: its metadata file cannot be read \\(.+\\); it is left as it is until it can be read\\)$`))]);
  const err = await rejection(copyBackup(new BackupCatalog(from), from, to, stored.id));
  expect((err as Error).message).not.toMatch(/put a valid one back|delete the newer version/);
  expect(await keysOf(to)).toEqual([]);
});
