import {test, expect, beforeAll, afterAll} from '@jest/globals';
import {randomBytes} from 'node:crypto';
import {readdir, writeFile} from 'node:fs/promises';
import {join} from 'node:path';
import {BackupCatalog} from '../../src/backups/index.js';
import {clockAhead} from '../backups/backend-wrappers.js';
import {inspector, startCrashLocation, type CrashLocation} from '../helpers/crash.js';
import {expectFailure} from './helpers.js';

// A real `b2 upload` of a large file while a cleanup elsewhere (its clock 25 h ahead: an
// upload that took longer than --older-than) deletes the archive just before the
// metadata file is stored: the command fails with one line, exit 1, and leaves nothing.
// Or the cleanup cancels the unfinished large file the upload is still sending parts to:
// exit 1 (not 2: parts were sent), one line saying so, and no record left to resume it.

let location: CrashLocation;

beforeAll(async () => {
  location = await startCrashLocation('race', 'race/');
}, 60_000);

afterAll(() => location?.close());

test('b2 upload whose archive a cleanup deleted before its metadata file was stored: exit 1, one line, no metadata file left, nothing listed', async () => {
  const {cw, catalog} = location;
  const path = join(cw.world.dir, 'big.tar');
  await writeFile(path, randomBytes(11_000_000)); // three 5 MB parts
  const cleaner = await inspector(cw.emu, 'race/');
  let finished = false;
  let deleted: string[] = [];
  const run = await cw.run(['upload', path, '--name', 'long', '--profile', 'race'], async (call) => {
    if (call === 'b2_finish_large_file') finished = true;
    if (call !== 'b2_upload_file' || !finished || deleted.length > 0) return;
    const report = await new BackupCatalog(clockAhead(cleaner.backend, 25 * 3600e3)).cleanup({olderThanMs: 24 * 3600e3});
    deleted = report.deleted.map((d) => d.name);
  });
  await cleaner.backend.close();
  expect(deleted).toEqual(['long']);
  expectFailure({code: run.result.code ?? -1, stdout: run.result.stdout.toString('utf8'), stderr: run.result.stderr}, 1, /^Error: the archive long_.*\.tar was deleted while its upload finished .*; no backup was stored: run the upload again$/, cw.world.secrets);
  expect(await catalog.list()).toEqual([]);
  const left: string[] = [];
  for await (const o of location.backend.list()) if (o.key.startsWith('long_')) left.push(o.key);
  expect(left).toEqual([]);
  await location.foreignSurvived();
}, 60_000);

/** The records of pending uploads the CLI keeps (under its XDG cache dir). */
async function pendingRecords(cacheDir: string): Promise<string[]> {
  const entries = await readdir(cacheDir, {recursive: true}).catch(() => [] as string[]);
  return entries.filter((e) => /pending-uploads\/[0-9a-f]{40}[^/]*\.json$/.test(e));
}

test('b2 upload whose unfinished large file a cleanup cancelled while it sent parts: exit 1, one line saying so and to run it again, no record left', async () => {
  const {cw} = location;
  const path = join(cw.world.dir, 'cancelled.tar');
  await writeFile(path, randomBytes(11_000_000)); // three 5 MB parts
  const cleaner = await inspector(cw.emu, 'race/');
  let seen = false;
  const cancelled: string[] = [];
  const run = await cw.run(['upload', path, '--name', 'cancelled', '--profile', 'race'], async (call) => {
    if (call !== 'b2_upload_part' || seen) return;
    seen = true; // the first part request (of two in parallel) is held while the cleanup cancels
    for await (const u of cleaner.backend.listUnfinished()) {
      if (!u.key.startsWith('cancelled_')) continue; // the foreign files stay
      await cleaner.backend.cancelUnfinished(u);
      cancelled.push(u.key);
    }
  });
  await cleaner.backend.close();
  expect(cancelled).toHaveLength(1);
  expectFailure({code: run.result.code ?? -1, stdout: run.result.stdout.toString('utf8'), stderr: run.result.stderr}, 1, /^Error: the unfinished upload of "race\/cancelled_.*\.tar" was finished or cancelled by another command \(e\.g\. a cleanup, or a second upload of the same file\) while this one was still writing it; run the upload again$/, cw.world.secrets);
  expect(await pendingRecords(join(cw.world.dir, 'cache'))).toEqual([]);
  await location.foreignSurvived();
}, 60_000);
