import {describe, test, expect, beforeAll, afterAll, beforeEach} from '@jest/globals';
import {randomBytes} from 'node:crypto';
import {writeFile} from 'node:fs/promises';
import {join} from 'node:path';
import {Readable} from 'node:stream';
import type {Body, PutOptions, StoredObject, TransferProgress} from '../../src/backend.js';
import type {B2Backend} from '../../src/b2/index.js';
import {BackupCatalog, PENDING_UPLOAD_LIFETIME_MS, type UploadResult} from '../../src/backups/index.js';
import {PendingUploads} from '../../src/backups/pending-uploads.js';
import type {RunningEmulator} from '../../src/emulator/index.js';
import {BackupError, isBackupError} from '../../src/errors.js';
import {confirmed, emulator, openBackend, sha1, unfinishedCount} from '../b2/helpers.js';
import {api, authorizeRaw, libraryClient} from '../emulator/helpers.js';
import {DelegatingBackend, MetadataCrash} from './backend-wrappers.js';
import {coreBackupJson, haBackupAt, haBackupTar, putHaBackup} from './ha-fixtures.js';
import {catalogWithWarnings, freshArchive, interruptUpload, keysOf, rejection, tempDir} from './helpers.js';

// What interrupted uploads and deletes leave behind, and how the next run, `delete` and
// `cleanup` deal with it: the catalog over the real B2 provider and the emulator's HTTP API.

const PART = 10_000;
const PARTS = 5;

let emu: RunningEmulator;
let backend: B2Backend;
let dir: string;
let removeDir: () => Promise<void>;
let n = 0;

beforeAll(async () => {
  emu = await emulator({minPartSize: 1000});
  backend = await openBackend(emu, {prefix: 'crash/', partSize: PART, uploadCutoff: PART, concurrency: 1});
  ({dir, cleanup: removeDir} = await tempDir());
});

afterAll(async () => {
  await backend?.close();
  await emu?.stop();
  await removeDir?.();
});

/** A fresh file of PARTS parts, a fresh cache dir, and an empty prefix for each test. */
const fresh = () => freshArchive(backend, dir, ++n, PART * PARTS - 123);

const uploads = () => (emu.stats().calls.b2_upload_part ?? 0) + (emu.stats().calls.b2_upload_file ?? 0);


/** Uploads, aborting once `parts` parts are stored; answers the error. */
const interruptAfterParts = (catalog: BackupCatalog, path: string, parts: number): Promise<unknown> => interruptUpload(catalog, path, {storedBytes: parts * PART});

beforeEach(() => emu.resetStats());

describe('a rerun of an interrupted upload', () => {
  test('after the archive was stored but not its metadata file: only the metadata file is written, nothing is sent again', async () => {
    const {path, data, cacheDir} = await fresh();
    const err = await rejection(new BackupCatalog(new MetadataCrash(backend, 'before'), {cacheDir}).upload({path}, {name: 'nightly'}));
    expect(isBackupError(err, 'aborted')).toBe(true);
    const {catalog, warnings} = catalogWithWarnings(backend, {cacheDir});
    expect(await catalog.list()).toEqual([]); // an archive alone is no backup
    expect(warnings.join('\n')).toMatch(/has no metadata file \(an interrupted upload, copy or delete, or the file is hidden\)/);

    emu.resetStats();
    const again = await new BackupCatalog(backend, {cacheDir}).upload({path}, {name: 'nightly'});
    expect(again).toMatchObject({resumed: true, existing: false, size: data.length, sha1: sha1(data)});
    expect(emu.stats().calls.b2_upload_part ?? 0).toBe(0);
    expect(emu.stats().calls.b2_upload_file).toBe(1); // the metadata file
    expect(emu.stats().bytesIn).toBeLessThan(5_000);
    const listed = await catalog.list();
    expect(listed.map((b) => b.id)).toEqual([again.id]);
    expect(await catalog.verify(again.id)).toMatchObject({ok: true, sha1: sha1(data)});
    expect(await keysOf(backend)).toHaveLength(2);
  });

  test('after the whole backup was stored but the answer was lost: the stored backup is the result, nothing is uploaded', async () => {
    const {path, data, cacheDir} = await fresh();
    await rejection(new BackupCatalog(new MetadataCrash(backend, 'after'), {cacheDir}).upload({path}, {name: 'nightly', metadata: {host: 'pi'}}));
    const [stored] = await new BackupCatalog(backend).list();

    emu.resetStats();
    const again = await new BackupCatalog(backend, {cacheDir}).upload({path}, {name: 'nightly', metadata: {host: 'pi'}});
    expect(again).toMatchObject({id: stored.id, date: stored.date, existing: true, resumed: false, size: data.length, sha1: sha1(data)});
    expect(again.metadata?.extra_metadata).toEqual({host: 'pi'});
    expect(uploads()).toBe(0);
    expect((await new BackupCatalog(backend).list()).map((b) => b.id)).toEqual([stored.id]);

    // answered once: the same upload later is a new backup
    const third = await new BackupCatalog(backend, {cacheDir}).upload({path}, {name: 'nightly'});
    expect(third.existing).toBe(false);
    expect(third.id).not.toBe(stored.id);
  });

  test('after some parts were stored: resumed is true and only the missing parts are sent', async () => {
    const {path, data, cacheDir} = await fresh();
    expect(isBackupError(await interruptAfterParts(new BackupCatalog(backend, {cacheDir}), path, 2), 'aborted')).toBe(true);
    expect(await unfinishedCount(backend)).toBe(1);
    const sentBefore = emu.stats().calls.b2_upload_part ?? 0;

    emu.resetStats();
    const again = await new BackupCatalog(backend, {cacheDir}).upload({path}, {name: 'nightly'});
    expect(again).toMatchObject({resumed: true, size: data.length});
    expect(emu.stats().calls.b2_upload_part).toBe(PARTS - sentBefore);
    expect(await unfinishedCount(backend)).toBe(0);
  });

  test('interrupted while another run of the same upload holds its record: what it started is cancelled, since no rerun can continue it', async () => {
    const {path, data, cacheDir} = await fresh();
    const release = await new PendingUploads(join(cacheDir, 'pending-uploads'), () => undefined).lock({sha1: sha1(data), name: 'nightly'});
    try {
      expect(isBackupError(await interruptAfterParts(new BackupCatalog(backend, {cacheDir}), path, 2), 'aborted')).toBe(true);
    } finally {
      await release?.();
    }
    expect(await unfinishedCount(backend)).toBe(0);
    expect(await keysOf(backend)).toEqual([]);
  });

  test('the same, with B2 holding the cancel: the stop still ends (CANCEL_AFTER_STOP_MS), warning that the unfinished upload remains for a cleanup', async () => {
    const {path, data, cacheDir} = await fresh();
    const release = await new PendingUploads(join(cacheDir, 'pending-uploads'), () => undefined).lock({sha1: sha1(data), name: 'nightly'});
    const {catalog, warnings} = catalogWithWarnings(backend, {cacheDir});
    emu.faults.add({call: 'b2_cancel_large_file', latencyMs: 600_000}); // answered only once the client gives up
    try {
      expect(isBackupError(await interruptAfterParts(catalog, path, 2), 'aborted')).toBe(true);
    } finally {
      emu.faults.clear();
      await release?.();
    }
    expect(warnings).toEqual([expect.stringMatching(/^gave up cancelling the unfinished upload of nightly_\S+\.tar 15 s after the stop \(B2 busy or unreachable\): it may remain; run "backup-b2 b2 cleanup" to remove it once it is 24 hours old \(cleanup's default --older-than\)$/)]);
    expect(await unfinishedCount(backend)).toBe(1);
  });

  test('the same, with B2 refusing the cancel for the key (401 unauthorized): the warning says a cleanup with that key is refused too, and what may cancel it', async () => {
    const {path, data, cacheDir} = await fresh();
    const release = await new PendingUploads(join(cacheDir, 'pending-uploads'), () => undefined).lock({sha1: sha1(data), name: 'nightly'});
    const {catalog, warnings} = catalogWithWarnings(backend, {cacheDir});
    emu.faults.add({call: 'b2_cancel_large_file', status: 401, code: 'unauthorized', message: 'not entitled'});
    try {
      expect(isBackupError(await interruptAfterParts(catalog, path, 2), 'aborted')).toBe(true);
    } finally {
      emu.faults.clear();
      await release?.();
    }
    expect(warnings).toEqual([expect.stringMatching(/^the unfinished upload of nightly_\S+\.tar remains \(cancelling it failed: 401 unauthorized\); the key may not cancel it, nor can a cleanup with that key: run "backup-b2 b2 cleanup" with a key that has writeFiles once it is 24 hours old \(cleanup's default --older-than\)$/)]);
    expect(await unfinishedCount(backend)).toBe(1);
  });

  test('when nothing was stored, the same names are used but resumed is false', async () => {
    const {path, cacheDir} = await fresh();
    // every part fails; the first retry's wait is a Ctrl-C: the large file exists with no part
    const controller = new AbortController();
    const stopping = await openBackend(emu, {prefix: 'crash/', partSize: PART, uploadCutoff: PART, concurrency: 1, retry: {sleep: async () => controller.abort()}});
    emu.faults.add({call: 'b2_upload_part', status: 503});
    try {
      const err = await rejection(new BackupCatalog(stopping, {cacheDir}).upload({path}, {name: 'nightly', signal: controller.signal}));
      expect(isBackupError(err, 'aborted')).toBe(true);
    } finally {
      emu.faults.clear();
      await stopping.close();
    }
    const [unfinished] = await collect(backend.listUnfinished());
    const again = await new BackupCatalog(backend, {cacheDir}).upload({path}, {name: 'nightly'});
    expect(again).toMatchObject({id: unfinished.metadata.backup_id, resumed: false});
    expect(await unfinishedCount(backend)).toBe(0);
  });

  test('B2 busy through every retry after some parts were stored: the parts and the record stay, and the rerun resumes', async () => {
    const {path, cacheDir} = await fresh();
    let busy = false;
    const onProgress = (p: TransferProgress) => {
      if (busy || confirmed(p) < 2 * PART) return;
      busy = true;
      emu.faults.add({call: 'b2_upload_part', status: 503});
    };
    try {
      const err = await rejection(new BackupCatalog(backend, {cacheDir}).upload({path}, {name: 'nightly', onProgress}));
      expect(err).toMatchObject({resumable: true});
    } finally {
      emu.faults.clear();
    }
    const [unfinished] = await collect(backend.listUnfinished());
    const again = await new BackupCatalog(backend, {cacheDir}).upload({path}, {name: 'nightly'});
    expect(again).toMatchObject({id: unfinished.metadata.backup_id, resumed: true});
  });

  test('the same file uploaded under another name meanwhile: the interrupted upload still resumes, with its own id and only its missing parts', async () => {
    const {path, data, cacheDir} = await fresh();
    expect(isBackupError(await interruptAfterParts(new BackupCatalog(backend, {cacheDir}), path, 2), 'aborted')).toBe(true);
    const [unfinished] = await collect(backend.listUnfinished());
    const sentBefore = emu.stats().calls.b2_upload_part ?? 0;

    const other = await new BackupCatalog(backend, {cacheDir}).upload({path}, {name: 'weekly'});
    expect(other).toMatchObject({name: 'weekly', resumed: false});

    emu.resetStats();
    const again = await new BackupCatalog(backend, {cacheDir}).upload({path}, {name: 'nightly'});
    expect(again).toMatchObject({id: unfinished.metadata.backup_id, name: 'nightly', resumed: true, size: data.length});
    expect(emu.stats().calls.b2_upload_part).toBe(PARTS - sentBefore);
    expect(await unfinishedCount(backend)).toBe(0);
  });

  test('a record older than the resume window is not reused: the same content and name weeks later is a new backup with its own id and date', async () => {
    const {path, cacheDir} = await fresh();
    const start = new Date('2026-01-01T00:00:00Z');
    const err = await interruptAfterParts(new BackupCatalog(backend, {cacheDir, now: () => start}), path, 2);
    expect(isBackupError(err, 'aborted')).toBe(true);
    const [unfinished] = await collect(backend.listUnfinished());

    const later = new Date(start.getTime() + PENDING_UPLOAD_LIFETIME_MS + 1000);
    const again = await new BackupCatalog(backend, {cacheDir, now: () => later}).upload({path}, {name: 'nightly'});
    expect(again.resumed).toBe(false);
    expect(again.id).not.toBe(unfinished.metadata.backup_id);
    expect(again.date).toBe('2026-01-08T00:00:01.000000+00:00');
  });

  test('a record whose unfinished upload was cancelled (b2 cleanup) is dropped: a new id and date, not the old ones', async () => {
    const {path, cacheDir} = await fresh();
    const start = new Date('2026-01-01T00:00:00Z');
    await interruptAfterParts(new BackupCatalog(backend, {cacheDir, now: () => start}), path, 2);
    const [unfinished] = await collect(backend.listUnfinished());
    const cleaned = await new BackupCatalog(backend).cleanup({olderThanMs: 0});
    expect(cleaned.cancelled.map((u) => u.fileId)).toEqual([unfinished.fileId]);

    const next = new Date('2026-01-02T00:00:00Z');
    const again = await new BackupCatalog(backend, {cacheDir, now: () => next}).upload({path}, {name: 'nightly'});
    expect(again).toMatchObject({resumed: false, date: '2026-01-02T00:00:00.000000+00:00'});
    expect(again.id).not.toBe(unfinished.metadata.backup_id);
  });
});

describe('delete', () => {
  test('an archive left without its metadata file is found by its id and deleted; the rerun of an interrupted delete finishes it', async () => {
    const {path} = await fresh();
    const up = await new BackupCatalog(backend).upload({path}, {name: 'nightly'});
    // an interrupted delete: the metadata file went first, the archive stayed
    await backend.delete(up.metadataKey);
    const {catalog} = catalogWithWarnings(backend);
    expect(isBackupError(await rejection(catalog.show(up.id)), 'not_found')).toBe(true);
    const target = await catalog.deletable(up.id);
    expect(target).toMatchObject({complete: false, info: {id: up.id, archiveKey: up.archiveKey}});
    expect(await catalog.delete(up.id)).toMatchObject({info: {id: up.id}, alreadyGone: false});
    expect(await keysOf(backend)).toEqual([]);
    expect(isBackupError(await rejection(catalog.delete(up.id)), 'not_found')).toBe(true);
  });

  test('every version of the archive goes before the metadata file: the backup is listed whole until it is absent', async () => {
    const {path} = await fresh();
    const up = await new BackupCatalog(backend).upload({path}, {name: 'nightly'});
    // a second version of the archive (a put that was retried)
    const {info, stream} = await backend.get(up.archiveKey);
    await backend.put(up.archiveKey, Buffer.concat(await stream.toArray()), {metadata: info.metadata});
    const order: string[] = [];
    const observing = new (class extends DelegatingBackend {
      override async delete(key: string): Promise<boolean> {
        order.push(key);
        return super.delete(key);
      }
    })(backend);
    await new BackupCatalog(observing).delete(up.id);
    expect(order).toEqual([up.archiveKey, up.metadataKey]);
    expect(await keysOf(backend)).toEqual([]);
  });

  test('Home Assistant\'s own backup (its id only in its metadata file), the delete cut off after its first step: not listed, and the same delete again by its id removes the rest', async () => {
    await fresh();
    const ha = await putHaBackup(backend, 3);
    let deletes = 0;
    const cutOff = new (class extends DelegatingBackend {
      override async delete(key: string): Promise<boolean> {
        if (++deletes === 2) throw new BackupError('aborted', 'the operation was aborted');
        return super.delete(key);
      }
    })(backend);
    expect(isBackupError(await rejection(new BackupCatalog(cutOff).delete(ha.backupId)), 'aborted')).toBe(true);
    expect(await keysOf(backend)).toEqual([ha.metadataKey]);
    const {catalog, warnings} = catalogWithWarnings(backend);
    expect(await catalog.list()).toEqual([]);
    expect(warnings).toEqual([expect.stringContaining(`skipping ${ha.metadataKey}: it has no archive ${ha.archiveKey} (what an interrupted delete or prune left, or the archive is hidden): "backup-b2 b2 cleanup" removes it once older than its --older-than, unless the archive is hidden (unhiding it restores the backup)`)]);
    expect(await catalog.deletable(ha.backupId)).toMatchObject({complete: false, left: 'metadata file', info: {id: ha.backupId, metadataKey: ha.metadataKey}});
    expect(await catalog.delete(ha.backupId)).toMatchObject({info: {id: ha.backupId}, alreadyGone: false});
    expect(await keysOf(backend)).toEqual([]);
    expect(isBackupError(await rejection(catalog.delete(ha.backupId)), 'not_found')).toBe(true);
  });
});

describe('cleanup', () => {
  test('cancels our unfinished uploads and deletes our archives without metadata file; foreign files, young ones and complete backups stay; --dry-run removes nothing', async () => {
    const {path, cacheDir} = await fresh();
    const b2 = await libraryClient(emu);
    const elsewhere = await openBackend(emu, {prefix: 'elsewhere/'});
    // ours: an orphaned archive, an unfinished upload, and a complete backup
    await rejection(new BackupCatalog(new MetadataCrash(backend, 'before')).upload(randomBytes(100), {name: 'orphan'}));
    await interruptAfterParts(new BackupCatalog(backend, {cacheDir}), path, 1);
    const complete = await new BackupCatalog(backend).upload(randomBytes(100), {name: 'complete'});
    // not ours: files in the prefix and outside it, finished and unfinished (an orphan outside the prefix included)
    await backend.put('foreign.tar', Buffer.from('not made by this tool'));
    await backend.put('notes.txt', Buffer.from('hello'));
    for (const fileName of ['crash/foreign-big.tar', 'elsewhere/big.tar']) await b2.startLargeFile({bucketId: backend.bucketId, fileName, contentType: 'application/x-tar'});
    await rejection(new BackupCatalog(new MetadataCrash(elsewhere, 'before')).upload(randomBytes(100), {name: 'orphan'}));
    const outsideBefore = await keysOf(elsewhere);
    const keysBefore = await keysOf(backend);

    const catalog = new BackupCatalog(backend);
    const young = await catalog.cleanup({olderThanMs: 3_600_000, dryRun: false});
    expect(young).toMatchObject({cancelled: [], deleted: [], kept: 2, foreign: 1});
    const dry = await catalog.cleanup({olderThanMs: 0, dryRun: true});
    expect(dry.cancelled.map((u) => u.key)).toEqual([expect.stringMatching(/^nightly_.*\.tar$/)]);
    expect(dry.deleted.map((o) => o.name)).toEqual(['orphan']);
    expect(await keysOf(backend)).toEqual(keysBefore);
    expect(await unfinishedCount(backend)).toBe(2);

    const done = await catalog.cleanup({olderThanMs: 0});
    expect(done).toEqual({...dry, kept: 0});
    expect(await keysOf(backend)).toEqual(keysBefore.filter((k) => !k.startsWith('orphan_')));
    expect((await collect(backend.listUnfinished())).map((u) => u.key)).toEqual(['foreign-big.tar']);
    expect((await catalog.list()).map((b) => b.id)).toEqual([complete.id]);
    expect(outsideBefore).toEqual([expect.stringMatching(/^orphan_.*\.tar$/)]);
    expect(await keysOf(elsewhere)).toEqual(outsideBefore);
    expect(await unfinishedCount(elsewhere)).toBe(1);
    await elsewhere.close();
  });
});

/** Holds the metadata file's put until `gate` resolves (a resumed upload still running); `reached` once it is held. */
class HoldMetadata extends DelegatingBackend {
  constructor(
    inner: B2Backend,
    private readonly gate: Promise<unknown>,
    private readonly reached: () => void,
  ) {
    super(inner);
  }

  override async put(key: string, body: Body, opts?: PutOptions): Promise<StoredObject> {
    if (key.endsWith('.metadata.json')) {
      this.reached();
      await this.gate;
    }
    return super.put(key, body, opts);
  }
}

describe('a resumed Home Assistant upload and another upload of the same archive on this machine', () => {
  test('the other (under another --name) waits for the resumed one and answers its backup: one backup per id', async () => {
    const {cacheDir} = await fresh();
    const lockDir = join(dir, `locks-${n}`);
    const at = haBackupAt(8);
    const path = join(dir, `ha-${n}.tar`);
    await writeFile(path, haBackupTar(coreBackupJson(at), {innerBytes: 3 * PART}));
    await interruptAfterParts(new BackupCatalog(backend, {cacheDir, lockDir}), path, 1);
    // the resumed upload holds its metadata file back until the other one waits (fixed) or has answered (not)
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let reached!: () => void;
    const atGate = new Promise<void>((resolve) => (reached = resolve));
    const resumed = new BackupCatalog(new HoldMetadata(backend, gate, reached), {cacheDir, lockDir}).upload({path}, {name: 'nightly'});
    await atGate; // its archive is stored and its locks are held: only its metadata file is to come
    const other = new BackupCatalog(backend, {cacheDir, lockDir, onWarning: (m) => /waiting for it to finish/.test(m) && release()}).upload({path}, {name: 'other'});
    const second = await other.finally(release);
    const first = await resumed;
    expect({first: [first.id, first.resumed, first.existing], second: [second.id, second.existing]}).toEqual({first: [at.backupId, true, false], second: [at.backupId, true]});
    expect((await new BackupCatalog(backend).list()).map((b) => b.id)).toEqual([at.backupId]);
    expect(await keysOf(backend)).toHaveLength(2);
  });
});

describe('an interrupted Home Assistant upload resumed after the same archive was stored under another --name', () => {
  async function interruptedThenStoredElsewhere(interrupt: (path: string, cacheDir: string) => Promise<unknown>) {
    const {cacheDir} = await fresh();
    const at = haBackupAt(9);
    const path = join(dir, `ha-${n}.tar`);
    await writeFile(path, haBackupTar(coreBackupJson(at), {innerBytes: 3 * PART}));
    await interrupt(path, cacheDir);
    const other = await new BackupCatalog(backend, {cacheDir}).upload({path}, {name: 'other'});
    expect(other).toMatchObject({id: at.backupId, existing: false});
    return {cacheDir, path, at, other};
  }

  test('after some parts: answers the stored backup, cancels its unfinished upload; one backup per id', async () => {
    const {cacheDir, path, at, other} = await interruptedThenStoredElsewhere((p, cacheDir) => interruptAfterParts(new BackupCatalog(backend, {cacheDir}), p, 1));
    expect(await unfinishedCount(backend)).toBe(1);
    // the dry run says the same
    const planned = await new BackupCatalog(backend, {cacheDir}).planUpload({path}, {name: 'nightly'});
    expect(planned).toMatchObject({id: at.backupId, archiveKey: other.archiveKey, resumes: {stored: 'backup'}, calls: {}});
    const resumed = await new BackupCatalog(backend, {cacheDir}).upload({path}, {name: 'nightly'});
    expect(resumed).toMatchObject({id: at.backupId, existing: true, archiveKey: other.archiveKey});
    expect((await new BackupCatalog(backend).list()).map((b) => b.archiveKey)).toEqual([other.archiveKey]);
    expect(await keysOf(backend)).toEqual([other.archiveKey, other.metadataKey].sort());
    expect(await unfinishedCount(backend)).toBe(0);
  });

  // what the resume leaves of its own is cleaned up beside the backup it answers; a failure of that is a warning, not the upload's failure
  test('after some parts, B2 refusing the listing that looks for its unfinished upload to cancel: answers the stored backup all the same, warning that the upload could not be looked for', async () => {
    const {cacheDir, path, at, other} = await interruptedThenStoredElsewhere((p, cacheDir) => interruptAfterParts(new BackupCatalog(backend, {cacheDir}), p, 1));
    // the first listing (may the upload resume?) works; the next (what to cancel, once the stored backup was found) is refused
    let listings = 0;
    const refusing = new Proxy(backend, {
      get(target, prop) {
        if (prop === 'listUnfinished') {
          return (...args: Parameters<B2Backend['listUnfinished']>) => {
            if (++listings === 2) emu.faults.add({call: 'b2_list_unfinished_large_files', status: 400, code: 'bad_request', count: 1});
            return target.listUnfinished(...args);
          };
        }
        const v = Reflect.get(target, prop, target) as unknown;
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      },
    });
    emu.resetStats();
    const {catalog, warnings} = catalogWithWarnings(refusing, {cacheDir});
    const resumed = await catalog.upload({path}, {name: 'nightly'});
    expect(resumed).toMatchObject({id: at.backupId, existing: true, archiveKey: other.archiveKey});
    expect(emu.stats().faults).toMatchObject({http_400: 1});
    expect(warnings).toEqual([expect.stringMatching(new RegExp(`^could not look for the unfinished upload of nightly_\\S+\\.tar \\(B2 rejected b2_list_unfinished_large_files .*\\): it may remain; it is a second copy of backup ${at.backupId} \\(stored as ${other.archiveKey.replace(/\./g, '\\.')}\\), not a backup; run "backup-b2 b2 cleanup" to remove it once it is 24 hours old \\(cleanup's default --older-than\\)$`))]);
    expect(await unfinishedCount(backend)).toBe(1);
  });

  test('after its archive was stored: answers the stored backup and removes that second archive', async () => {
    const {cacheDir, path, at, other} = await interruptedThenStoredElsewhere((p, cacheDir) =>
      rejection(new BackupCatalog(new MetadataCrash(backend, 'before'), {cacheDir}).upload({path: p}, {name: 'nightly'})));
    expect(await keysOf(backend)).toHaveLength(3); // the lone archive, and the other backup's two files
    const resumed = await new BackupCatalog(backend, {cacheDir}).upload({path}, {name: 'nightly'});
    expect(resumed).toMatchObject({id: at.backupId, existing: true, archiveKey: other.archiveKey});
    expect(await keysOf(backend)).toEqual([other.archiveKey, other.metadataKey].sort());
  });
});

describe('an archive from a stream whose backup.json (if any) comes after the upload started', () => {
  test('carries a provisional marker of ours, not a description: listed by its metadata file (HA\'s id); without it, cleanup knows the archive as ours', async () => {
    await fresh();
    const at = haBackupAt(7);
    const tar = haBackupTar(coreBackupJson(at), {backupJsonLast: true, innerBytes: 3 * PART});
    const up = await new BackupCatalog(backend).upload(Readable.from([tar]), {name: 'piped'});
    expect(up).toMatchObject({id: at.backupId, name: 'piped'});
    const archive = (await backend.stat(up.archiveKey))!;
    expect(archive.metadata).toEqual({backup_upload_id: expect.stringMatching(/^[0-9a-f]{12}$/), backup_name: 'piped', backup_date: expect.any(String)});
    const catalog = new BackupCatalog(backend);
    expect((await catalog.list()).map((b) => [b.id, b.describedBy])).toEqual([[at.backupId, 'metadata-file']]);

    // the metadata file gone (an interrupted delete): an archive of ours, known by the id it was started with
    await backend.delete(up.metadataKey);
    const done = await catalog.cleanup({olderThanMs: 0});
    expect(done).toMatchObject({deleted: [{key: up.archiveKey, id: archive.metadata.backup_upload_id, name: 'piped'}], foreign: 0});
    expect(await keysOf(backend)).toEqual([]);
  });

  test('the marker is ours alone: a file with only part of it, or beside another tool\'s backup_id, is foreign and stays', async () => {
    await fresh();
    const date = '2026-01-01T00:00:00.000000+00:00';
    const partial: Record<string, Record<string, string>> = {
      'no-id': {backup_name: 'x', backup_date: date},
      'bad-id': {backup_upload_id: '../etc', backup_name: 'x', backup_date: date},
      'no-date': {backup_upload_id: '0badc0de', backup_name: 'x'},
      'both-ids': {backup_upload_id: '0badc0de', backup_id: '', backup_name: 'x', backup_date: date},
    };
    const auth = await authorizeRaw(emu);
    for (const [name, metadata] of Object.entries(partial)) {
      await backend.put(`${name}.tar`, Buffer.from('another tool'), {metadata});
      await api(emu, auth.authorizationToken, 'b2_start_large_file', {bucketId: backend.bucketId, fileName: `crash/${name}-big.tar`, contentType: 'application/x-tar', fileInfo: metadata});
    }
    const keysBefore = await keysOf(backend);
    const done = await new BackupCatalog(backend).cleanup({olderThanMs: 0});
    expect(done).toEqual({cancelled: [], deleted: [], kept: 0, foreign: 4, locked: [], strays: [], hidden: [], uploading: [], whole: [], hiddenMeanwhile: []});
    expect(await keysOf(backend)).toEqual(keysBefore);
    expect(await unfinishedCount(backend)).toBe(4);
  });
});

describe('a stream of a declared size (upload - --expect-size)', () => {
  const declared = 3 * PART;
  test.each([
    ['shorter, in one request', PART / 2],
    ['shorter, in parts', 2 * PART + 7],
    ['longer', 4 * PART],
  ])('%s: checksum_mismatch, and nothing is stored or left unfinished', async (_what, length) => {
    await fresh();
    const err = await rejection(new BackupCatalog(backend).upload(Readable.from([randomBytes(length)]), {name: 'piped', size: declared}));
    expect(isBackupError(err, 'checksum_mismatch')).toBe(true);
    expect((err as Error).message).toMatch(/^the archive stream failed verification: got .*bytes, expected 30000; its producer may have failed; nothing was stored$/);
    expect(await keysOf(backend)).toEqual([]);
    expect(await unfinishedCount(backend)).toBe(0);
  });

  test('exactly the declared size is a backup', async () => {
    await fresh();
    const data = randomBytes(declared);
    const up: UploadResult = await new BackupCatalog(backend).upload(Readable.from([data]), {name: 'piped', size: declared});
    expect(up).toMatchObject({size: declared, sha1: sha1(data)});
  });
});

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}
