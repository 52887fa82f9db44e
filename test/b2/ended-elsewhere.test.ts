import {describe, test, expect, beforeAll, afterAll, beforeEach} from '@jest/globals';
import type {B2Backend} from '../../src/b2/index.js';
import {DEFAULT_RETRY} from '../../src/b2/retry-policy.js';
import {type BackupError, isBackupError} from '../../src/errors.js';
import type {RunningEmulator} from '../../src/emulator/index.js';
import {api, authorizeRaw} from '../emulator/helpers.js';
import {cancelEveryUnfinished, confirmed, openBackend, type PartsFixture, sha1, startPartsFixture, unfinishedCount} from './helpers.js';

// Another command (a cleanup, or a second upload of the same file) cancels or finishes the
// unfinished large file an upload is still writing into. B2 then answers 400 bad_request
// "No active upload for: <fileId>" to its next call on that file: a failure (exit 1; parts
// were sent and billed), not bad input (exit 2: nothing changed), said in words.

const PART = 64 * 1024;
const SIZE = 4 * PART + 77;

let fixture: PartsFixture;
let emu: RunningEmulator;
let backend: B2Backend;
/** The call whose first request cancels the upload's large file (from another client) before the emulator handles it. */
let cancelAt: string | undefined;
/** Runs as the first b2_finish_large_file request arrives, before the emulator handles it. */
let beforeFinish: (() => Promise<void>) | undefined;

beforeAll(async () => {
  fixture = await startPartsFixture({
    tag: 'ended-elsewhere',
    part: PART,
    size: SIZE,
    emulator: {
      onRequest: async (call) => {
        if (call === 'b2_finish_large_file' && beforeFinish) {
          const hook = beforeFinish;
          beforeFinish = undefined; // once: the hook's own finish must not run it again
          await hook();
        }
        if (call !== cancelAt) return;
        cancelAt = undefined; // once
        await cleanupElsewhere();
      },
    },
  });
  emu = fixture.emu;
});

afterAll(async () => {
  await backend?.close();
  await fixture?.stop();
});

beforeEach(async () => {
  cancelAt = undefined;
  beforeFinish = undefined;
  emu.faults.clear();
  await backend?.close();
  backend = await openBackend(emu, {uploadCutoff: 100_000, partSize: PART, concurrency: 2});
});

/** What a concurrent `b2 cleanup` does. */
const cleanupElsewhere = () => cancelEveryUnfinished(emu);

describe('the unfinished large file cancelled by another command during the upload', () => {
  test.each(['b2_get_upload_part_url', 'b2_upload_part', 'b2_finish_large_file'])('before %s: a failure (exit 1) that says what happened and to run the upload again', async (call) => {
    cancelAt = call;
    const err = await backend.put(`e/${call}.bin`, {path: fixture.path}).catch((e: unknown) => e);
    expect(isBackupError(err, 'failure')).toBe(true);
    expect((err as Error).message).toBe(`the unfinished upload of "backups/e/${call}.bin" was finished or cancelled by another command (e.g. a cleanup, or a second upload of the same file) while this one was still writing it; run the upload again`);
    expect(await unfinishedCount(backend)).toBe(0);
  });
});

describe('an upload that continued an unfinished file another run started, which that run finished meanwhile', () => {
  // Two runs of the same upload (the same name and file info: e.g. the same Home Assistant
  // archive from two machines) continue one unfinished large file. The other finishes it just
  // before this one's finish, which B2 then refuses; B2 is busy for this run's look at the
  // file's record, and the cancel finds nothing unfinished. The finished file may be the other
  // run's backup: this run, which did not start it, must not delete it.
  test('the finished file stays (it may be that run\'s), and the error says so and how a cleanup removes it if it is no backup', async () => {
    const key = 'e/both.bin';
    const name = `backups/${key}`;
    // the other run: started the upload, stored a part, and was interrupted
    const elsewhere = await openBackend(emu, {uploadCutoff: 100_000, partSize: PART, concurrency: 1});
    const ctl = new AbortController();
    await elsewhere.put(key, {path: fixture.path}, {signal: ctl.signal, onProgress: (p) => void (confirmed(p) >= PART && ctl.abort())}).catch(() => undefined);
    await elsewhere.close();
    expect(await unfinishedCount(backend)).toBe(1);
    beforeFinish = () => finishElsewhere(name);
    const err = (await backend.put(key, {path: fixture.path}).catch((e: unknown) => e)) as BackupError;
    expect(isBackupError(err, 'failure')).toBe(true);
    const [left] = await versionsOf(name);
    expect(left).toMatchObject({action: 'upload', contentLength: SIZE});
    expect(err.leftover).toBe(`${name} remains, whole (file id ${left.fileId}): B2 finished it as the upload failed, by this run's finish or by that of another run that continued the same unfinished upload, so it was not deleted (it may be that run's); run "backup-b2 b2 cleanup --profile test" to remove it once it is 24 hours old (cleanup's default --older-than) (a cleanup leaves a file that is part of a backup)`);
    await deleteVersion(left);
  });

  test('the same for a server-side copy in parts that continued an unfinished copy another run started', async () => {
    const name = 'copies/e/both.bin';
    await backend.put('e/source.bin', {path: fixture.path});
    const to = await openBackend(emu, {prefix: 'copies/', partSize: PART, copyCutoff: PART, concurrency: 1, profileName: 'offsite', locationFlags: '--profile offsite'});
    try {
      // the other run: started the copy, and B2 stayed busy for its parts (kept for a rerun)
      emu.faults.add({call: 'b2_copy_part', status: 503});
      expect(await backend.copyTo('e/source.bin', {backend: to, key: 'e/both.bin'}).catch((e: unknown) => e)).toMatchObject({resumable: true});
      emu.faults.clear();
      beforeFinish = () => finishElsewhere(name);
      const err = (await backend.copyTo('e/source.bin', {backend: to, key: 'e/both.bin'}).catch((e: unknown) => e)) as BackupError;
      expect(isBackupError(err, 'failure')).toBe(true);
      const [left] = await versionsOf(name);
      expect(left).toMatchObject({action: 'upload', contentLength: SIZE});
      expect(err.leftover).toBe(`${name} remains, whole (file id ${left.fileId}): B2 finished it as the copy failed, by this run's finish or by that of another run that continued the same unfinished copy, so it was not deleted (it may be that run's); run "backup-b2 b2 cleanup --profile offsite" to remove it once it is 24 hours old (cleanup's default --older-than) (a cleanup leaves a file that is part of a backup)`);
      await deleteVersion(left);
    } finally {
      await to.close();
      for (const v of await versionsOf('backups/e/source.bin')) await deleteVersion(v);
    }
  });
});

/**
 * What another run that continued the unfinished large file `name` does just before this
 * run's finish: finishes it (the fixture's bytes); B2 is then busy through every retry of
 * this run's look at the file's record.
 */
async function finishElsewhere(name: string): Promise<void> {
  const auth = await authorizeRaw(emu);
  const [started] = (await api(emu, auth.authorizationToken, 'b2_list_unfinished_large_files', {bucketId: emu.bucketId, namePrefix: name})).json.files;
  const partSha1Array = Array.from({length: Math.ceil(SIZE / PART)}, (_, i) => sha1(fixture.data.subarray(i * PART, (i + 1) * PART)));
  expect((await api(emu, auth.authorizationToken, 'b2_finish_large_file', {fileId: started.fileId, partSha1Array})).status).toBe(200);
  emu.faults.add({call: 'b2_get_file_info', status: 503, count: DEFAULT_RETRY.maxAttempts});
}

async function deleteVersion(v: {fileId: string; fileName: string}): Promise<void> {
  const auth = await authorizeRaw(emu);
  await api(emu, auth.authorizationToken, 'b2_delete_file_version', {fileId: v.fileId, fileName: v.fileName});
}

/** Every version whose name starts with `prefix`, read over the wire. */
async function versionsOf(prefix: string): Promise<Array<{fileId: string; fileName: string; action: string; contentLength: number}>> {
  const auth = await authorizeRaw(emu);
  return (await api(emu, auth.authorizationToken, 'b2_list_file_versions', {bucketId: emu.bucketId, prefix, maxFileCount: 1000})).json.files;
}
