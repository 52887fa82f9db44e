import {test, expect, beforeAll, afterAll} from '@jest/globals';
import {randomBytes} from 'node:crypto';
import {writeFile} from 'node:fs/promises';
import {join} from 'node:path';
import {BackupCatalog} from '../../src/backups/index.js';
import {inspector, startCrashLocation, type CrashLocation} from '../helpers/crash.js';
import {expectFailure} from './helpers.js';

// A real `b2 upload` of a large file while a cleanup elsewhere (its clock 25 h ahead: an
// upload that took longer than --older-than) deletes the archive just before the
// metadata file is stored: the command fails with one line, exit 1, and leaves nothing.

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
    const report = await new BackupCatalog(cleaner.backend, {now: () => new Date(Date.now() + 25 * 3600e3)}).cleanup({olderThanMs: 24 * 3600e3});
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
