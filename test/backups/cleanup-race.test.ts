import {describe, test, expect, beforeAll, afterAll, beforeEach} from '@jest/globals';
import {randomBytes} from 'node:crypto';
import {writeFile} from 'node:fs/promises';
import {join} from 'node:path';
import type {DeleteOptions, DeletePlan, ObjectInfo, StorageBackend} from '../../src/backend.js';
import type {B2Backend} from '../../src/b2/index.js';
import {BackupCatalog, emptyCleanupReport, type CleanupReport} from '../../src/backups/index.js';
import type {RunningEmulator} from '../../src/emulator/index.js';
import {isBackupError} from '../../src/errors.js';
import {emulator, openBackend} from '../b2/helpers.js';
import {DelegatingBackend, clockAhead} from './backend-wrappers.js';
import {catalogWithWarnings, keysOf, rejection, tempDir} from './helpers.js';

// A `b2 cleanup` on another machine (or from cron) while a large upload finishes. A large
// file keeps its start time, so an archive whose upload took longer than --older-than
// (24 h by default) looks like an interrupted upload's until its metadata file is
// stored. Here the clock the cleaner reads (B2's, as its backend tells it) runs 25 h
// ahead instead of the upload taking 25 h.
// Nothing may end with an upload reported good whose archive is gone.

const PART = 10_000;
const DAY = 24 * 3600e3;

let emu: RunningEmulator;
let backend: B2Backend;
let cleanerBackend: B2Backend;
let dir: string;
let removeDir: () => Promise<void>;
/** What the emulator does as each request arrives (before handling it). */
let onRequest: (call: string) => Promise<void> = async () => undefined;
let n = 0;

beforeAll(async () => {
  emu = await emulator({minPartSize: 1000, onRequest: (call) => onRequest(call)});
  backend = await openBackend(emu, {prefix: 'race/', partSize: PART, uploadCutoff: PART, concurrency: 1});
  cleanerBackend = await openBackend(emu, {prefix: 'race/'});
  ({dir, cleanup: removeDir} = await tempDir());
});

afterAll(async () => {
  await backend?.close();
  await cleanerBackend?.close();
  await emu?.stop();
  await removeDir?.();
});

beforeEach(async () => {
  onRequest = async () => undefined;
  for (const key of await keysOf(backend)) await backend.delete(key);
});

/** A file of three parts: a large file, dated from its start. */
async function largeFile(): Promise<string> {
  const path = join(dir, `archive-${++n}.tar`);
  await writeFile(path, randomBytes(3 * PART - 17));
  return path;
}

/** Runs `action` once, as the metadata file's upload (the first b2_upload_file after the large file finished) arrives. */
function atMetadataUpload(action: () => Promise<void>): void {
  let finished = false;
  let fired = false;
  onRequest = async (call) => {
    if (call === 'b2_finish_large_file') finished = true;
    if (call !== 'b2_upload_file' || !finished || fired) return;
    fired = true;
    await action();
  };
}

const cleanerAt25h = (b: StorageBackend = cleanerBackend) => new BackupCatalog(clockAhead(b, 25 * 3600e3));

/** How a report names an archive kept because its metadata file came (no age: not in `kept`, which --older-than alone decides). */
const wholeEntry = (b: {id: string; archiveKey: string; metadataKey: string}) => ({key: b.archiveKey, id: b.id, otherKey: b.metadataKey});

/** A promise and what settles it. */
function signal(): {fired: Promise<void>; fire: () => void} {
  let fire!: () => void;
  const fired = new Promise<void>((resolve) => (fire = resolve));
  return {fired, fire};
}

/** A DelegatingBackend that passes on hide, unhide and planDelete too (what a cleanup and an upload use to tell hidden from deleted). */
class VersionsBackend extends DelegatingBackend {
  constructor(protected readonly b2: B2Backend) {
    super(b2);
  }
  hide(key: string, opts?: {signal?: AbortSignal}): Promise<string | undefined> {
    return this.b2.hide(key, opts);
  }
  unhide(key: string, markerId: string, opts?: {signal?: AbortSignal}): Promise<void> {
    return this.b2.unhide(key, markerId, opts);
  }
  planDelete(key: string, opts?: {signal?: AbortSignal}): Promise<DeletePlan> {
    return this.b2.planDelete(key, opts);
  }
  override delete(key: string, opts?: DeleteOptions): Promise<boolean> {
    return this.b2.delete(key, opts);
  }
}

/**
 * The upload's side, over `backend`: `sawHidden` fires when it finds its archive hidden;
 * each look at the archive after that waits for `cleanupDone` first (so what it sees next
 * is the cleanup's decision, however long the cleanup takes).
 */
function watchedUploadBackend(cleanupDone: () => Promise<unknown>): {b: StorageBackend; sawHidden: Promise<void>} {
  const hidden = signal();
  let seen = false;
  const b = new (class extends VersionsBackend {
    override async stat(key: string): Promise<ObjectInfo | undefined> {
      if (seen) await cleanupDone();
      return super.stat(key);
    }
    override async planDelete(key: string, opts?: {signal?: AbortSignal}): Promise<DeletePlan> {
      const plan = await super.planDelete(key, opts);
      if (plan.hidden && !seen) {
        seen = true;
        hidden.fire();
      }
      return plan;
    }
  })(backend);
  return {b, sawHidden: hidden.fired};
}

describe('a cleanup elsewhere while a large upload writes its metadata file', () => {
  test('the cleanup deletes the archive before the metadata file is stored: the upload fails, its metadata file is removed, nothing is listed', async () => {
    let report: CleanupReport | undefined;
    atMetadataUpload(async () => {
      report = await cleanerAt25h().cleanup({olderThanMs: DAY});
    });
    const err = await rejection(new BackupCatalog(backend).upload({path: await largeFile()}, {name: 'long'}));
    expect(report?.deleted.map((d) => d.name)).toEqual(['long']);
    expect(isBackupError(err, 'failure')).toBe(true);
    expect((err as Error).message).toMatch(/^the archive long_.*\.tar was deleted while its upload finished .*; no backup was stored: run the upload again$/);
    expect(await keysOf(backend)).toEqual([]);
    expect(await new BackupCatalog(backend).list()).toEqual([]);
  });

  test('the same, with B2 refusing the removal of the metadata file for the key: the warning says it remains, that a cleanup with that key is refused too, and what removes it', async () => {
    atMetadataUpload(async () => {
      await cleanerAt25h().cleanup({olderThanMs: DAY});
      emu.faults.add({call: 'b2_delete_file_version', status: 401, code: 'unauthorized', message: 'not entitled'}); // from here on: the upload's removal
    });
    const {catalog, warnings} = catalogWithWarnings(backend);
    try {
      const err = await rejection(catalog.upload({path: await largeFile()}, {name: 'long'}));
      expect((err as Error).message).toMatch(/^the archive long_.*\.tar was deleted while its upload finished .*; no backup was stored: run the upload again$/);
    } finally {
      emu.faults.clear();
    }
    const [metadataKey] = await keysOf(backend);
    expect(metadataKey).toMatch(/^long_.*\.metadata\.json$/);
    expect(warnings).toEqual([
      `the metadata file of an archive that is gone: ${metadataKey} remains (removing it failed: 401 unauthorized): the key of profile test may not delete it, nor can a cleanup with that key: delete it in the B2 web console, or run "backup-b2 b2 cleanup" with a key that has deleteFiles once it is 24 hours old (cleanup's default --older-than); "backup-b2 b2 list" skips it meanwhile`,
    ]);
  });

  test('the cleanup listed before the metadata file was stored and deletes after: the archive is kept, the backup is whole', async () => {
    let cleanerListed!: () => void;
    const listed = new Promise<void>((resolve) => (cleanerListed = resolve));
    let settled!: () => void;
    const uploadSettled = new Promise<void>((resolve) => (settled = resolve));
    // the cleaner's calls after its listing wait for the upload to have answered
    const afterUpload = new (class extends DelegatingBackend {
      override async stat(key: string): Promise<ObjectInfo | undefined> {
        cleanerListed();
        await uploadSettled;
        return super.stat(key);
      }
      override async delete(key: string): Promise<boolean> {
        cleanerListed();
        await uploadSettled;
        return super.delete(key);
      }
    })(cleanerBackend);
    let cleaning: Promise<CleanupReport> | undefined;
    atMetadataUpload(async () => {
      cleaning = cleanerAt25h(afterUpload).cleanup({olderThanMs: DAY});
      await listed;
    });
    const uploading = new BackupCatalog(backend).upload({path: await largeFile()}, {name: 'long'});
    void uploading.catch(() => undefined).finally(settled);
    const up = await uploading;
    const report = await cleaning!;
    expect(report).toMatchObject({deleted: [], kept: 0, whole: [wholeEntry(up)]});
    const catalog = new BackupCatalog(backend);
    expect((await catalog.list()).map((b) => b.id)).toEqual([up.id]);
    expect(await catalog.verify(up.id)).toMatchObject({ok: true, sha1: up.sha1});
  });

  test('the cleanup found no metadata file just before the upload wrote it and checked its archive: the cleanup hides, finds the metadata file, unhides; the backup reported is whole', async () => {
    const cleanerChecked = signal();
    const uploadSettled = signal();
    // the cleaner's first look for the metadata file answers only once the upload has answered
    const cleaner = new (class extends VersionsBackend {
      private paused = false;
      override async stat(key: string): Promise<ObjectInfo | undefined> {
        const found = await super.stat(key);
        if (key.endsWith('.metadata.json') && !this.paused) {
          this.paused = true;
          cleanerChecked.fire();
          await uploadSettled.fired;
        }
        return found;
      }
    })(cleanerBackend);
    let cleaning: Promise<CleanupReport> | undefined;
    atMetadataUpload(async () => {
      cleaning = cleanerAt25h(cleaner).cleanup({olderThanMs: DAY});
      await cleanerChecked.fired;
    });
    const uploading = new BackupCatalog(backend).upload({path: await largeFile()}, {name: 'long'});
    void uploading.catch(() => undefined).finally(uploadSettled.fire);
    const up = await uploading;
    const report = await cleaning!;
    expect(report).toMatchObject({deleted: [], kept: 0, whole: [wholeEntry(up)], hidden: []});
    const catalog = new BackupCatalog(backend);
    expect((await catalog.list()).map((b) => b.id)).toEqual([up.id]);
    expect(await catalog.verify(up.id)).toMatchObject({ok: true, sha1: up.sha1});
    expect(await backend.planDelete(up.archiveKey)).toMatchObject({versions: 1, hidden: false});
  });

  test('the upload finds its archive hidden by a cleanup that then finds the metadata file: it waits, the cleanup unhides, the upload succeeds', async () => {
    let cleaning: Promise<CleanupReport> | undefined;
    const {b, sawHidden} = watchedUploadBackend(() => cleaning!);
    const cleanerHid = signal();
    // the cleaner's look for the metadata file after hiding waits until the upload has seen the archive hidden
    const cleaner = new (class extends VersionsBackend {
      override async hide(key: string, opts?: {signal?: AbortSignal}): Promise<string | undefined> {
        const id = await super.hide(key, opts);
        cleanerHid.fire();
        await sawHidden;
        return id;
      }
    })(cleanerBackend);
    atMetadataUpload(async () => {
      cleaning = cleanerAt25h(cleaner).cleanup({olderThanMs: DAY});
      await cleanerHid.fired;
    });
    const up = await new BackupCatalog(b).upload({path: await largeFile()}, {name: 'long'});
    expect(await cleaning!).toMatchObject({deleted: [], kept: 0, whole: [wholeEntry(up)]});
    const catalog = new BackupCatalog(backend);
    expect((await catalog.list()).map((x) => x.id)).toEqual([up.id]);
    expect(await catalog.verify(up.id)).toMatchObject({ok: true, sha1: up.sha1});
  });

  test('the upload finds its archive hidden by a cleanup that had found no metadata file: the cleanup deletes it, the upload fails honestly and leaves nothing', async () => {
    let cleaning: Promise<CleanupReport> | undefined;
    const {b, sawHidden} = watchedUploadBackend(() => cleaning!);
    const cleanerDecided = signal();
    // the cleaner has hidden the archive and found no metadata file; its delete waits until the upload has seen the archive hidden
    const cleaner = new (class extends VersionsBackend {
      override async delete(key: string, opts?: DeleteOptions): Promise<boolean> {
        cleanerDecided.fire();
        await sawHidden;
        return super.delete(key, opts);
      }
    })(cleanerBackend);
    atMetadataUpload(async () => {
      cleaning = cleanerAt25h(cleaner).cleanup({olderThanMs: DAY});
      await cleanerDecided.fired;
    });
    const err = await rejection(new BackupCatalog(b).upload({path: await largeFile()}, {name: 'long'}));
    expect((await cleaning!).deleted.map((d) => d.name)).toEqual(['long']);
    expect(isBackupError(err, 'failure')).toBe(true);
    expect((err as Error).message).toMatch(/^the archive long_.*\.tar was deleted while its upload finished .*; no backup was stored: run the upload again$/);
    expect(await keysOf(backend)).toEqual([]);
    expect(await new BackupCatalog(backend).list()).toEqual([]);
  });

  test('a cleanup interrupted right after hiding an archive still decides about it: deleted (no metadata file), nothing left hidden', async () => {
    const ctl = new AbortController();
    const cleaner = new (class extends VersionsBackend {
      override async hide(key: string, opts?: {signal?: AbortSignal}): Promise<string | undefined> {
        const id = await super.hide(key, opts);
        ctl.abort(); // the first Ctrl-C, between the hide and the decision
        return id;
      }
    })(cleanerBackend);
    const report = emptyCleanupReport();
    let archiveKey: string | undefined;
    atMetadataUpload(async () => {
      archiveKey = (await keysOf(backend)).find((k) => k.endsWith('.tar'));
      await cleanerAt25h(cleaner).cleanup({olderThanMs: DAY, signal: ctl.signal, report}).catch((err: unknown) => {
        if (!isBackupError(err, 'aborted')) throw err;
      });
    });
    await rejection(new BackupCatalog(backend).upload({path: await largeFile()}, {name: 'long'}));
    expect(ctl.signal.aborted).toBe(true);
    expect(report.deleted.map((d) => d.key)).toEqual([archiveKey]);
    expect(await backend.planDelete(archiveKey!)).toMatchObject({versions: 0, hidden: false});
  });
});

describe('an orphan archive a cleanup hid and then deletes', () => {
  /** An archive of ours without its metadata file, 25 h old to the cleaner. */
  async function orphan(name: string): Promise<string> {
    const up = await new BackupCatalog(backend).upload(randomBytes(2000), {name});
    await backend.delete(up.metadataKey);
    return up.archiveKey;
  }

  test('is never visible again while it goes: its versions are deleted before the cleanup\'s own hide marker', async () => {
    const archiveKey = await orphan('gone');
    // at each deletion of a version, what an upload's last look at its archive would see
    const seenWhileDeleting: boolean[] = [];
    onRequest = async (call) => {
      if (call === 'b2_delete_file_version') seenWhileDeleting.push((await backend.stat(archiveKey)) !== undefined);
    };
    const report = await cleanerAt25h(new VersionsBackend(cleanerBackend)).cleanup({olderThanMs: DAY});
    expect(report.deleted.map((d) => d.key)).toEqual([archiveKey]);
    expect(seenWhileDeleting).toEqual([false, false]); // the archive's version, then the hide marker
    expect(await backend.planDelete(archiveKey)).toMatchObject({versions: 0});
  });

  test('one hidden by a hide whose answer was lost (the cleanup fails) is deleted by the next cleanup with the same data dir', async () => {
    const archiveKey = await orphan('cut');
    const cacheDir = join(dir, 'lost-answer-cache');
    const cleanerWith = (b: StorageBackend) => new BackupCatalog(clockAhead(b, 25 * 3600e3), {cacheDir});
    const answerLost = new (class extends VersionsBackend {
      override async hide(key: string, opts?: {signal?: AbortSignal}): Promise<string | undefined> {
        await super.hide(key, opts);
        throw new Error('connection reset after the request was sent');
      }
    })(cleanerBackend);
    await expect(cleanerWith(answerLost).cleanup({olderThanMs: DAY})).rejects.toThrow('connection reset');
    expect(await backend.planDelete(archiveKey)).toMatchObject({hidden: true, uploads: 1}); // seen by no listing
    const report = await cleanerWith(new VersionsBackend(cleanerBackend)).cleanup({olderThanMs: DAY});
    expect(report.deleted.map((d) => d.key)).toEqual([archiveKey]);
    expect(await backend.planDelete(archiveKey)).toMatchObject({versions: 0});
  });

  test('one another cleanup removed first (nothing left to hide) is not counted as kept', async () => {
    const archiveKey = await orphan('taken');
    const cleaner = new (class extends VersionsBackend {
      override async hide(key: string, opts?: {signal?: AbortSignal}): Promise<string | undefined> {
        await cleanerBackend.delete(key); // the other cleanup, just before this one's hide
        return super.hide(key, opts);
      }
    })(cleanerBackend);
    const report = await cleanerAt25h(cleaner).cleanup({olderThanMs: DAY});
    expect(report).toMatchObject({deleted: [], kept: 0});
    expect(await backend.planDelete(archiveKey)).toMatchObject({versions: 0});
  });

  test('one another cleanup hid first (it decides about it) is left alone and reported so, not counted as kept by its age', async () => {
    const archiveKey = await orphan('elsewhere');
    const cleaner = new (class extends VersionsBackend {
      override async hide(key: string, opts?: {signal?: AbortSignal}): Promise<string | undefined> {
        await cleanerBackend.hide(key); // the other cleanup, just before this one's hide
        return super.hide(key, opts);
      }
    })(cleanerBackend);
    const report = await cleanerAt25h(cleaner).cleanup({olderThanMs: DAY});
    expect(report).toMatchObject({deleted: [], kept: 0, whole: [], hiddenMeanwhile: [{key: archiveKey, name: 'elsewhere'}]});
    expect(await backend.planDelete(archiveKey)).toMatchObject({versions: 2, hidden: true}); // the other cleanup's to decide
    await backend.delete(archiveKey);
  });
});
