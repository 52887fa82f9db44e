import {describe, test, expect, beforeAll, afterAll} from '@jest/globals';
import {randomBytes} from 'node:crypto';
import {writeFile} from 'node:fs/promises';
import {join} from 'node:path';
import type {B2Backend} from '../../src/b2/index.js';
import type {BackupCatalog} from '../../src/backups/index.js';
import {api, authorizeRaw} from '../emulator/helpers.js';
import {expectNoHalfBackup, killPoints, requestOf, startCrashLocation, type CrashLocation, type CrashWorld} from '../helpers/crash.js';
import {parseJson, sha1} from './helpers.js';

// SIGKILL a real `b2 upload` (bin/run.js) at seeded requests, counted by the emulator's
// request hook, then check what it left: a backup is listed whole or not at all; the same
// command again completes it without sending again what is stored; `b2 cleanup` (and its
// --dry-run) finds what is left, removes it, and never touches a file that is not ours.

const PREFIX = 'crash/';
const PART = 5_000_000;
const SIZE = 2 * PART + 1000; // three parts: 5 MB, 5 MB, 1000 bytes
const PARTS = 3;
const SEED = 20261130;
const POINTS = 20;

let cw: CrashWorld;
let backend: B2Backend;
let catalog: BackupCatalog;
let archive: string;
let archiveSha1: string;
let foreignSurvived: () => Promise<void>;
/** Requests of one complete upload, learnt from a first run: the range kill points are drawn from. */
let requestsPerUpload: number;

const upload = (name: string) => ['upload', archive, '--name', name, '--json', '--profile', 'crash'];

/** Bytes of our archive named `name` already stored: a finished archive, or the parts of an unfinished one. */
async function storedOf(name: string): Promise<{bytes: number; parts: number; id?: string}> {
  for await (const o of backend.list()) {
    if (o.key.startsWith(`${name}_`) && o.key.endsWith('.tar')) return {bytes: o.size, parts: PARTS, id: o.metadata.backup_id};
  }
  const auth = await authorizeRaw(cw.emu);
  let bytes = 0;
  let parts = 0;
  let id: string | undefined;
  for await (const u of backend.listUnfinished({prefix: `${name}_`})) {
    const listed = await api(cw.emu, auth.authorizationToken, 'b2_list_parts', {fileId: u.fileId, maxPartCount: 1000});
    for (const p of listed.json.parts as {contentLength: number}[]) {
      bytes += p.contentLength;
      parts++;
    }
    id = u.metadata.backup_id;
  }
  return {bytes, parts, id};
}

async function listedNamed(name: string) {
  return (await catalog.list()).filter((b) => b.name === name);
}

let location: CrashLocation;
beforeAll(async () => {
  location = await startCrashLocation('crash', PREFIX);
  ({cw, backend, catalog, foreignSurvived} = location);
  const data = randomBytes(SIZE);
  archive = join(cw.world.dir, 'archive.tar');
  await writeFile(archive, data);
  archiveSha1 = sha1(data);

  const first = await cw.run(upload('calibration'), () => undefined);
  expect(first.result.code).toBe(0);
  requestsPerUpload = first.calls.length;
  const [made] = await listedNamed('calibration');
  await catalog.delete(made.id);
}, 60_000);

afterAll(() => location?.close());

const points = killPoints(SEED, POINTS);

/** What each kill left (CRASH_SUMMARY=1 prints it at the end). */
const outcomes: string[] = [];

/** What the kill points whose leftovers are left for `b2 cleanup` left: unfinished uploads and archives of ours. */
const leftovers: {name: string; id: string}[] = [];

describe(`SIGKILL during upload at ${POINTS} request counts drawn with seed ${SEED}`, () => {
  test.each(points)('kill point $i', async (point) => {
    const i = point.i;
    const name = `crash-${i}`;
    const k = requestOf(point, POINTS, requestsPerUpload);
    const killed = await cw.killAt(upload(name), k);
    expect({k, killed: killed.killed, signal: killed.result.signal}).toEqual({k, killed: true, signal: 'SIGKILL'});

    // listed whole, or not at all
    await expectNoHalfBackup(backend);
    const listed = await listedNamed(name);
    expect(listed.length).toBeLessThanOrEqual(1);
    if (listed.length === 1) expect(await catalog.verify(listed[0].id)).toMatchObject({ok: true, sha1: archiveSha1});
    const stored = await storedOf(name);
    outcomes.push(`k=${k}: ${listed.length ? 'complete backup' : stored.parts === PARTS && stored.bytes === SIZE ? 'archive without metadata' : stored.id ? `unfinished, ${stored.parts} part(s)` : 'nothing'}`);

    if (i % 2 === 1) {
      // left for `b2 cleanup` (below): what it must find is ours, unless the backup completed
      if (listed.length === 0 && stored.id) leftovers.push({name, id: stored.id});
      for (const b of listed) await catalog.delete(b.id);
      return;
    }
    // the same command again completes the backup, sending only what is not stored
    const before = cw.emu.stats();
    const again = await cw.world.b2(upload(name));
    expect(again.code).toBe(0);
    const result = parseJson<{id: string; size: number; sha1: string; resumed: boolean; existing: boolean}>(again);
    expect(result).toMatchObject({size: SIZE, sha1: archiveSha1});
    const after = cw.emu.stats();
    expect((after.calls.b2_upload_part ?? 0) - (before.calls.b2_upload_part ?? 0)).toBe(stored.parts === PARTS ? 0 : PARTS - stored.parts);
    expect(after.bytesIn - before.bytesIn).toBeLessThan(SIZE - stored.bytes + 50_000);
    if (stored.id) expect(result.id).toBe(stored.id);
    expect(result.resumed || result.existing).toBe(stored.bytes > 0);
    expect((await listedNamed(name)).map((b) => b.id)).toEqual([result.id]);
    expect(await catalog.verify(result.id)).toMatchObject({ok: true, sha1: archiveSha1});
    expect(await storedOf(name)).toMatchObject({bytes: SIZE, id: result.id}); // no second archive, nothing unfinished
    await catalog.delete(result.id);
  }, 60_000);

  test('b2 cleanup --dry-run names exactly what the killed uploads left; b2 cleanup removes it; files that are not ours stay', async () => {
    const dry = await cw.world.b2(['cleanup', '--older-than', '0s', '--dry-run', '--json', '--profile', 'crash']);
    expect(dry.code).toBe(0);
    const report = parseJson<{cancelled: {key: string}[]; deleted: {id: string; name: string}[]; foreign: number}>(dry);
    expect(report.foreign).toBe(1);
    const expected = leftovers.map((l) => l.name);
    expect([...report.cancelled.map((c) => c.key.replace(/_\d{4}-.*/, '')), ...report.deleted.map((d) => d.name)].sort()).toEqual(expected.sort());
    expect(leftovers.length).toBeGreaterThan(0);

    const done = await cw.world.b2(['cleanup', '--older-than', '0s', '--json', '--profile', 'crash']);
    expect(done.code).toBe(0);
    expect(parseJson(done)).toMatchObject({cancelled: report.cancelled, deleted: report.deleted});
    for (const l of leftovers) expect(await storedOf(l.name)).toEqual({bytes: 0, parts: 0, id: undefined});
    expect(await catalog.cleanup({olderThanMs: 0, dryRun: true})).toMatchObject({cancelled: [], deleted: []});
    await foreignSurvived();
  }, 60_000);
});

describe('the window between the archive and its metadata file, hit exactly', () => {
  test('killed once B2 finished the archive, before the metadata file is stored: listed nowhere; the rerun writes only the metadata file', async () => {
    const name = 'window';
    let finished = false;
    const killed = await cw.run(upload(name), (call, _n, kill) => {
      if (call === 'b2_finish_large_file') finished = true;
      if (call === 'b2_upload_file' && finished) {
        cw.emu.faults.add({call: 'b2_upload_file', count: 1, status: 503}); // this metadata upload is not stored
        return kill();
      }
    });
    expect(killed.killed).toBe(true);
    expect(killed.calls).toContain('b2_finish_large_file');
    expect(await listedNamed(name)).toEqual([]);
    expect(await storedOf(name)).toMatchObject({bytes: SIZE, parts: PARTS});

    const before = cw.emu.stats();
    const again = await cw.world.b2(upload(name));
    expect(again.code).toBe(0);
    const after = cw.emu.stats();
    expect((after.calls.b2_upload_part ?? 0) - (before.calls.b2_upload_part ?? 0)).toBe(0);
    expect((after.calls.b2_upload_file ?? 0) - (before.calls.b2_upload_file ?? 0)).toBe(1);
    expect(after.bytesIn - before.bytesIn).toBeLessThan(10_000);
    const [made] = await listedNamed(name);
    expect(parseJson(again)).toMatchObject({id: made.id, resumed: true, existing: false});
    await catalog.delete(made.id);
  }, 60_000);

  test('killed after the metadata file was stored but before its answer arrived: the rerun answers the stored backup, uploads nothing, makes no duplicate', async () => {
    const name = 'answer-lost';
    let cut = false;
    let finished = false;
    const killed = await cw.run(upload(name), (call, _n, kill) => {
      if (call === 'b2_finish_large_file') finished = true;
      if (call === 'b2_upload_file' && finished && !cut) {
        cut = true;
        cw.emu.faults.add({call: 'b2_upload_file', count: 1, cutResponseAfterBytes: 0}); // stored, answer lost
        return;
      }
      if (cut) return kill(); // whatever comes next (a retry) meets a dead client
    });
    expect(killed.killed).toBe(true);
    const [stored] = await listedNamed(name);
    expect(stored).toBeDefined();

    const before = cw.emu.stats();
    const again = await cw.world.b2(upload(name));
    expect(again.code).toBe(0);
    expect(parseJson(again)).toMatchObject({id: stored.id, existing: true, resumed: false, sha1: archiveSha1});
    const after = cw.emu.stats();
    expect((after.calls.b2_upload_part ?? 0) + (after.calls.b2_upload_file ?? 0)).toBe((before.calls.b2_upload_part ?? 0) + (before.calls.b2_upload_file ?? 0));
    expect((await listedNamed(name)).map((b) => b.id)).toEqual([stored.id]);
    await catalog.delete(stored.id);
  }, 60_000);
});

test('files that are not ours survived every kill, rerun and cleanup', async () => {
  await foreignSurvived();
  if (process.env.CRASH_SUMMARY) console.log(`requests per upload: ${requestsPerUpload}\n${outcomes.join('\n')}`);
});
