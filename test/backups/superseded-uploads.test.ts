import {describe, test, expect, beforeAll, afterAll, beforeEach} from '@jest/globals';
import {createHash, randomBytes} from 'node:crypto';
import {utimes, writeFile} from 'node:fs/promises';
import {join} from 'node:path';
import type {B2Backend} from '../../src/b2/index.js';
import {SSE_C_KEY_DIGEST} from '../../src/b2/wire-types.js';
import {BackupCatalog} from '../../src/backups/index.js';
import {renderUploadPlan} from '../../src/cli/dry-run-view.js';
import type {RunningEmulator} from '../../src/emulator/index.js';
import {isBackupError} from '../../src/errors.js';
import {emulator, openBackend, sha1, unfinishedCount} from '../b2/helpers.js';
import {api, authorizeRaw, raw} from '../emulator/helpers.js';
import {catalogWithWarnings, freshArchive, interruptUpload, tempDir} from './helpers.js';

// A rerun of an interrupted upload whose stored parts this run cannot use as they are (another
// part size, another SSE-C key, parts of no usable layout): it continues them where it can,
// else cancels them once it has stored the archive, and says so. The catalog over the real
// B2 provider and the emulator's HTTP API.

const PART = 10_000;
const PARTS = 5;
const PREFIX = 'superseded/';

let emu: RunningEmulator;
let dir: string;
let removeDir: () => Promise<void>;
let n = 0;
const opened: B2Backend[] = [];

const sseC = () => ({mode: 'SSE-C' as const, key: randomBytes(32).toString('base64')});

/** `oneRequest`: a file this size would go up in one request (the default part size, cutoff above it). */
async function backendWith(opts: {partSize?: number; encryption?: ReturnType<typeof sseC>; oneRequest?: boolean} = {}): Promise<B2Backend> {
  const sizes = opts.oneRequest ? {uploadCutoff: 10 * PART * PARTS} : {partSize: opts.partSize ?? PART, uploadCutoff: PART};
  const backend = await openBackend(emu, {prefix: PREFIX, ...sizes, concurrency: 1, encryption: opts.encryption});
  opened.push(backend);
  return backend;
}

beforeAll(async () => {
  emu = await emulator({minPartSize: 1000});
  ({dir, cleanup: removeDir} = await tempDir());
});

afterAll(async () => {
  for (const b of opened) await b.close();
  await emu?.stop();
  await removeDir?.();
});

beforeEach(() => emu.resetStats());

/** A fresh file of PARTS parts and cache dir; nothing under the prefix. */
const fresh = async () => freshArchive(await backendWith(), dir, ++n, PART * PARTS - 123);

/** Interrupts an upload once 2 parts are stored: the parts B2 holds (b2_upload_part calls, one at a time) and the archive's key. */
async function interrupted(backend: B2Backend, path: string, cacheDir: string): Promise<{parts: number; archiveKey: string}> {
  expect(isBackupError(await interruptUpload(new BackupCatalog(backend, {cacheDir}), path, {storedBytes: 2 * PART}), 'aborted')).toBe(true);
  const parts = emu.stats().calls.b2_upload_part ?? 0;
  const unfinished = [];
  for await (const u of backend.listUnfinished()) unfinished.push(u);
  expect(unfinished).toHaveLength(1);
  emu.resetStats();
  return {parts, archiveKey: unfinished[0].key};
}

describe('a rerun with another part size', () => {
  test('continues the interrupted upload with its part size (its parts are kept, none sent again); the dry run says so', async () => {
    const {path, data, cacheDir} = await fresh();
    const {parts, archiveKey} = await interrupted(await backendWith(), path, cacheDir);

    const {catalog, warnings} = catalogWithWarnings(await backendWith({partSize: 2 * PART}), {cacheDir});
    const plan = await catalog.planUpload({path}, {name: 'nightly'});
    expect(plan.archiveKey).toBe(archiveKey);
    expect(plan.archive).toMatchObject({partSize: PART, parts: PARTS, resume: {partsStored: parts, partsKept: parts, partSizeAsked: 2 * PART}});
    expect(renderUploadPlan(plan)).toMatch(new RegExp(`^Resumes the interrupted backup ${plan.id} of .*: ${parts} parts stored, ${parts} kept \\(.*\\), ${PARTS - parts} to send; with its own part size, 9\\.8 KiB, not this run's 19\\.5 KiB$`, 'm'));
    expect(plan.archive?.supersedes).toBeUndefined();
    expect(plan.calls.b2_start_large_file).toBeUndefined();

    emu.resetStats();
    const again = await catalog.upload({path}, {name: 'nightly'});
    expect(again).toMatchObject({resumed: true, archiveKey, size: data.length, sha1: sha1(data)});
    expect(emu.stats().calls.b2_start_large_file ?? 0).toBe(0);
    expect(emu.stats().calls.b2_upload_part).toBe(PARTS - parts);
    expect(await unfinishedCount(await backendWith())).toBe(0);
    expect(warnings).toEqual([]);
  });
});

describe('a rerun whose settings would send the file in one request', () => {
  test('continues the interrupted upload in parts all the same: its parts are kept, the rest sent as parts', async () => {
    const {path, data, cacheDir} = await fresh();
    const {parts, archiveKey} = await interrupted(await backendWith(), path, cacheDir);
    const {catalog, warnings} = catalogWithWarnings(await backendWith({oneRequest: true}), {cacheDir});
    const plan = await catalog.planUpload({path}, {name: 'nightly'});
    expect(plan.archive).toMatchObject({kind: 'parts', partSize: PART, parts: PARTS, resume: {partsKept: parts}});

    emu.resetStats();
    expect(await catalog.upload({path}, {name: 'nightly'})).toMatchObject({resumed: true, archiveKey, sha1: sha1(data)});
    expect(emu.stats().calls).toMatchObject({b2_upload_part: PARTS - parts, b2_upload_file: 1}); // the metadata file
    expect(emu.stats().calls.b2_start_large_file ?? 0).toBe(0);
    expect(await unfinishedCount(await backendWith())).toBe(0);
    expect(warnings).toEqual([]);
  });

  test('after the file changed: one request, and then the old content\'s parts are cancelled, saying so', async () => {
    const {path, cacheDir} = await fresh();
    const {parts, archiveKey: oldKey} = await interrupted(await backendWith(), path, cacheDir);
    const changed = randomBytes(PART * PARTS - 123);
    await writeFile(path, changed);
    const {catalog, warnings} = catalogWithWarnings(await backendWith({oneRequest: true}), {cacheDir});
    const line = `the interrupted upload's ${parts} stored parts (${(parts * PART / 1024).toFixed(1)} KiB) of ${oldKey}: they hold another content (the file changed since), so this upload cannot use them`;
    const plan = await catalog.planUpload({path}, {name: 'nightly'});
    expect(plan.archive).toMatchObject({kind: 'single'});
    expect(renderUploadPlan(plan).split('\n')).toContain(`Would cancel ${line} (once the archive is stored)`);

    emu.resetStats();
    expect(await catalog.upload({path}, {name: 'nightly'})).toMatchObject({resumed: false, sha1: sha1(changed)});
    expect(emu.stats().calls).toMatchObject({b2_upload_file: 2, b2_cancel_large_file: 1});
    expect(warnings).toEqual([`cancelled ${line}`]);
    expect(await unfinishedCount(await backendWith())).toBe(0);
  });
});

describe('a rerun with another SSE-C key', () => {
  test('stores the backup under the interrupted run\'s names, and then cancels the parts sent with the old key, saying so; the dry run says it would', async () => {
    const {path, data, cacheDir} = await fresh();
    const {parts, archiveKey} = await interrupted(await backendWith({encryption: sseC()}), path, cacheDir);

    const {catalog, warnings} = catalogWithWarnings(await backendWith({encryption: sseC()}), {cacheDir});
    const plan = await catalog.planUpload({path}, {name: 'nightly'});
    expect(plan.archive?.supersedes).toEqual([{key: archiveKey, parts, bytes: parts * PART, why: 'key', partSize: PART}]);
    expect(plan.archive?.resume).toBeUndefined();
    expect(plan.calls).toMatchObject({b2_start_large_file: 1, b2_upload_part: PARTS, b2_cancel_large_file: 1});
    const would = `Would cancel the interrupted upload's ${parts} stored parts (${(parts * PART / 1024).toFixed(1)} KiB) of ${archiveKey}: they were uploaded with another SSE-C key, so this upload cannot use them (once the archive is stored)`;
    expect(renderUploadPlan(plan).split('\n')).toContain(would);
    expect(await unfinishedCount(await backendWith())).toBe(1); // the dry run cancels nothing

    emu.resetStats();
    const again = await catalog.upload({path}, {name: 'nightly'});
    expect(again).toMatchObject({archiveKey, size: data.length, sha1: sha1(data)});
    expect(emu.stats().calls.b2_upload_part).toBe(PARTS);
    expect(warnings).toEqual([`cancelled the interrupted upload's ${parts} stored parts (${(parts * PART / 1024).toFixed(1)} KiB) of ${archiveKey}: they were uploaded with another SSE-C key, so this upload cannot use them`]);
    expect(await unfinishedCount(await backendWith())).toBe(0);
    expect(await catalog.verify(again.id)).toMatchObject({ok: true, sha1: sha1(data)});
  });

  test('a cancel B2 refuses for the key: the backup is stored, and the line says what remains and what cancels it', async () => {
    const {path, cacheDir} = await fresh();
    const {parts, archiveKey} = await interrupted(await backendWith({encryption: sseC()}), path, cacheDir);
    const {catalog, warnings} = catalogWithWarnings(await backendWith({encryption: sseC()}), {cacheDir});
    emu.faults.add({call: 'b2_cancel_large_file', status: 401, code: 'unauthorized', message: 'not entitled'});
    try {
      expect(await catalog.upload({path}, {name: 'nightly'})).toMatchObject({archiveKey});
    } finally {
      emu.faults.clear();
    }
    expect(warnings).toEqual([`could not cancel the interrupted upload's ${parts} stored parts (${(parts * PART / 1024).toFixed(1)} KiB) of ${archiveKey}: they were uploaded with another SSE-C key, so this upload cannot use them; it remains (cancelling it failed: 401 unauthorized): the key of profile test may not cancel it, nor can a cleanup with that key: run "backup-b2 b2 cleanup --profile test" with a key that has writeFiles once it is 24 hours old (cleanup's default --older-than)`]);
    expect(await unfinishedCount(await backendWith())).toBe(1);
  });
});

describe('a rerun of an SSE-C upload begun by an earlier version of this tool (no record of its key)', () => {
  test('with the same key: the line says the key could not be told the same, not that it is another', async () => {
    const {path, data, cacheDir} = await fresh();
    const encryption = sseC();
    const {archiveKey} = await interrupted(await backendWith({encryption}), path, cacheDir);
    // the same unfinished upload as an earlier version began it: its file info without the key's digest
    const token = (await authorizeRaw(emu)).authorizationToken;
    const [started] = (await api(emu, token, 'b2_list_unfinished_large_files', {bucketId: emu.bucketId, namePrefix: PREFIX})).json.files;
    const plain = await backendWith();
    for await (const u of plain.listUnfinished()) await plain.cancelUnfinished(u);
    const {[SSE_C_KEY_DIGEST]: digest, ...fileInfo} = started.fileInfo;
    expect(digest).toEqual(expect.any(String));
    const keyMd5 = createHash('md5').update(Buffer.from(encryption.key, 'base64')).digest('base64');
    const serverSideEncryption = {mode: 'SSE-C', algorithm: 'AES256', customerKey: encryption.key, customerKeyMd5: keyMd5};
    const {fileId} = (await api(emu, token, 'b2_start_large_file', {bucketId: emu.bucketId, fileName: started.fileName, contentType: started.contentType, fileInfo, serverSideEncryption})).json;
    const url = (await api(emu, token, 'b2_get_upload_part_url', {fileId})).json;
    const body = data.subarray(0, PART);
    const r = await raw(url.uploadUrl, {method: 'POST', body, headers: {
      Authorization: url.authorizationToken, 'X-Bz-Part-Number': '1', 'X-Bz-Content-Sha1': sha1(body),
      'X-Bz-Server-Side-Encryption-Customer-Algorithm': 'AES256', 'X-Bz-Server-Side-Encryption-Customer-Key': encryption.key, 'X-Bz-Server-Side-Encryption-Customer-Key-Md5': keyMd5,
    }});
    expect(r.status).toBe(200);

    const {catalog, warnings} = catalogWithWarnings(await backendWith({encryption}), {cacheDir});
    expect(await catalog.upload({path}, {name: 'nightly'})).toMatchObject({archiveKey, sha1: sha1(data)});
    expect(warnings).toEqual([`cancelled the interrupted upload's 1 stored part (${(PART / 1024).toFixed(1)} KiB) of ${archiveKey}: they were uploaded by an earlier version of this tool, which kept no record of their SSE-C key to tell it is the same key, so this upload cannot use them`]);
    expect(await unfinishedCount(plain)).toBe(0);
  });
});

describe('a rerun after the file changed (same name, another content)', () => {
  test('a new backup, and then the interrupted upload of the old content (under its own names) is cancelled, saying so; the dry run says it would', async () => {
    const {path, cacheDir} = await fresh();
    const backend = await backendWith();
    const {parts, archiveKey: oldKey} = await interrupted(backend, path, cacheDir);
    const changed = randomBytes(PART * PARTS - 123);
    await writeFile(path, changed);

    const {catalog, warnings} = catalogWithWarnings(backend, {cacheDir});
    const size = `${(parts * PART / 1024).toFixed(1)} KiB`;
    const line = `the interrupted upload's ${parts} stored parts (${size}) of ${oldKey}: they hold another content (the file changed since), so this upload cannot use them`;
    const plan = await catalog.planUpload({path}, {name: 'nightly'});
    expect(plan.archiveKey).not.toBe(oldKey);
    expect(renderUploadPlan(plan).split('\n')).toContain(`Would cancel ${line} (once the archive is stored)`);

    const again = await catalog.upload({path}, {name: 'nightly'});
    expect(again).toMatchObject({resumed: false, size: changed.length, sha1: sha1(changed)});
    expect(again.archiveKey).not.toBe(oldKey);
    expect(warnings).toEqual([`cancelled ${line}`]);
    expect(await unfinishedCount(backend)).toBe(0);
  });
  test('another file under the same name is another backup: the interrupted upload is left alone, and its own rerun resumes it', async () => {
    const {path, data, cacheDir} = await fresh();
    const backend = await backendWith();
    const {parts, archiveKey: oldKey} = await interrupted(backend, path, cacheDir);
    const otherPath = join(dir, `other-${n}.tar`);
    await writeFile(otherPath, randomBytes(PART * PARTS - 123));

    const {catalog, warnings} = catalogWithWarnings(backend, {cacheDir});
    expect(renderUploadPlan(await catalog.planUpload({path: otherPath}, {name: 'nightly'}))).not.toMatch(/Would cancel/);
    const other = await catalog.upload({path: otherPath}, {name: 'nightly'});
    expect(other.archiveKey).not.toBe(oldKey);
    expect(emu.stats().calls.b2_cancel_large_file).toBeUndefined();
    expect(warnings).toEqual([]);

    emu.resetStats();
    expect(await catalog.upload({path}, {name: 'nightly'})).toMatchObject({resumed: true, archiveKey: oldKey, sha1: sha1(data)});
    expect(emu.stats().calls.b2_upload_part).toBe(PARTS - parts);
    expect(await unfinishedCount(backend)).toBe(0);
  });
});

describe('a rerun as another backup (upload --id ID --date DATE)', () => {
  test('the interrupted upload, begun as another backup, is not continued: its parts are cancelled once this archive is stored, saying so; the dry run says it would', async () => {
    const {path, data, cacheDir} = await fresh();
    const backend = await backendWith();
    const {parts, archiveKey: oldKey} = await interrupted(backend, path, cacheDir);
    const {catalog, warnings} = catalogWithWarnings(backend, {cacheDir});
    const asked = {name: 'nightly', id: '0a1b2c3d4e5f', date: '2026-03-01T02:03:04.567890+01:00'};
    const line = `the interrupted upload's ${parts} stored parts (${(parts * PART / 1024).toFixed(1)} KiB) of ${oldKey}: they were uploaded with other file info (the file was modified since, or the backup was given another id or date), so this upload cannot use them`;
    expect(renderUploadPlan(await catalog.planUpload({path}, asked)).split('\n')).toContain(`Would cancel ${line} (once the archive is stored)`);
    const stored = await catalog.upload({path}, asked);
    expect(stored).toMatchObject({id: asked.id, date: asked.date, resumed: false, sha1: sha1(data)});
    expect(warnings).toEqual([`cancelled ${line}`]);
    expect(await unfinishedCount(backend)).toBe(0);
  });
});

describe('an unfinished upload of the same name that is not this machine\'s', () => {
  test('another machine\'s interrupted (or running) upload of the same archive and --date, of other file info, is left alone, and no line claims it', async () => {
    const {path, data} = await fresh();
    const backend = await backendWith();
    const date = '2026-01-02T03:04:05+01:00';
    // machine A (its own cache dir): same name and date give the same file names, with no random id in them
    expect(isBackupError(await interruptUpload(new BackupCatalog(backend, {cacheDir: join(dir, `machine-a-${n}`)}), path, {storedBytes: 2 * PART, date}), 'aborted')).toBe(true);
    expect(await unfinishedCount(backend)).toBe(1);
    // machine B's copy of the archive has another modification time: other file info
    await utimes(path, new Date('2025-12-31T00:00:00Z'), new Date('2025-12-31T00:00:00Z'));
    emu.resetStats();

    const {catalog, warnings} = catalogWithWarnings(backend, {cacheDir: join(dir, `machine-b-${n}`)});
    const plan = await catalog.planUpload({path}, {name: 'nightly', date});
    expect(plan.archive?.supersedes ?? []).toEqual([]);
    expect(renderUploadPlan(plan)).not.toMatch(/Would cancel/);
    expect(await catalog.upload({path}, {name: 'nightly', date})).toMatchObject({date, size: data.length, sha1: sha1(data)});
    expect(emu.stats().calls.b2_cancel_large_file).toBeUndefined();
    expect(warnings).toEqual([]);
    expect(await unfinishedCount(backend)).toBe(1);
  });
});

describe('stored parts of no layout this file can have', () => {
  test('a new upload under the same names, and then those parts are cancelled, saying so; nothing else of the name is touched', async () => {
    const {path, data, cacheDir} = await fresh();
    const backend = await backendWith();
    const {archiveKey} = await interrupted(backend, path, cacheDir);
    // the same unfinished upload, its parts laid out as no part size can lay out this file (3000 then 5000 bytes)
    const token = (await authorizeRaw(emu)).authorizationToken;
    const [started] = (await api(emu, token, 'b2_list_unfinished_large_files', {bucketId: emu.bucketId, namePrefix: PREFIX})).json.files;
    for await (const u of backend.listUnfinished()) await backend.cancelUnfinished(u);
    const {fileId} = (await api(emu, token, 'b2_start_large_file', {bucketId: emu.bucketId, fileName: started.fileName, contentType: started.contentType, fileInfo: started.fileInfo})).json;
    for (const [partNumber, size] of [[1, 3000], [2, 5000]]) {
      const body = randomBytes(size);
      const url = (await api(emu, token, 'b2_get_upload_part_url', {fileId})).json;
      const r = await raw(url.uploadUrl, {method: 'POST', headers: {Authorization: url.authorizationToken, 'X-Bz-Part-Number': String(partNumber), 'X-Bz-Content-Sha1': sha1(body)}, body});
      expect(r.status).toBe(200);
    }
    // another upload whose name only begins with the archive's: not this upload's, it stays
    const other = (await api(emu, token, 'b2_start_large_file', {bucketId: emu.bucketId, fileName: `${started.fileName}.other`, contentType: started.contentType, fileInfo: started.fileInfo})).json;

    const {catalog, warnings} = catalogWithWarnings(backend, {cacheDir});
    const again = await catalog.upload({path}, {name: 'nightly'});
    expect(again).toMatchObject({archiveKey, size: data.length, sha1: sha1(data)});
    expect(warnings).toEqual([`cancelled the interrupted upload's 2 stored parts (7.8 KiB) of ${archiveKey}: they were uploaded with part size 4.9 KiB, which cannot lay out this file, so this upload cannot use them`]);
    const left = [];
    for await (const u of backend.listUnfinished()) left.push(u.fileId);
    expect(left).toEqual([other.fileId]);
  });
});
