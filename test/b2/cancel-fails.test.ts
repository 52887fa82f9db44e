import {describe, test, expect, beforeAll, afterAll, beforeEach} from '@jest/globals';
import {Readable} from 'node:stream';
import {setTimeout as sleep} from 'node:timers/promises';
import type {B2Backend} from '../../src/b2/index.js';
import {type BackupError, isBackupError} from '../../src/errors.js';
import type {RunningEmulator} from '../../src/emulator/index.js';
import {api, authorizeRaw} from '../emulator/helpers.js';
import {cancelEveryUnfinished, openBackend, type PartsFixture, startPartsFixture, unfinishedCount} from './helpers.js';

// A failed large upload cancels its unfinished file. When that cancel fails too, the error
// must say what is true of the unfinished file: still there (run cleanup), gone (someone
// else cancelled it: nothing to clean up), or unknown (B2 could not be asked).

const PART = 64 * 1024;
const SIZE = 4 * PART + 77;

let fixture: PartsFixture;
let emu: RunningEmulator;
let backend: B2Backend;
/** Runs as a b2_cancel_large_file request arrives, before the emulator handles it. */
let beforeCancel: (() => Promise<void>) | undefined;

beforeAll(async () => {
  fixture = await startPartsFixture({
    tag: 'cancelfails',
    part: PART,
    size: SIZE,
    emulator: {
      onRequest: async (call) => {
        if (call !== 'b2_cancel_large_file') return;
        const hook = beforeCancel;
        beforeCancel = undefined; // once: the hook's own cancel must not run it again
        await hook?.();
      },
    },
  });
  emu = fixture.emu;
});

afterAll(() => fixture?.stop());

beforeEach(async () => {
  emu.faults.clear();
  beforeCancel = undefined;
  await backend?.close();
  backend = await openBackend(emu, {uploadCutoff: 100_000, partSize: PART, concurrency: 2});
  // every part refused at once: the upload fails and cancels its large file
  emu.faults.add({call: 'b2_upload_part', status: 403, code: 'cap_exceeded', message: 'Cap exceeded.'});
  emu.resetStats();
});

afterAll(() => backend?.close());

/** What a concurrent `b2 cleanup` does. */
const cleanupElsewhere = () => cancelEveryUnfinished(emu);

describe('a failed large upload whose cancel fails too', () => {
  test('already cancelled by a concurrent cleanup: the error does not send the user to clean up', async () => {
    beforeCancel = cleanupElsewhere;
    const err = await backend.put('c/gone.bin', {path: fixture.path}).catch((e) => e);
    expect(isBackupError(err, 'cap_exceeded')).toBe(true);
    expect(err.message).not.toMatch(/remain|cleanup/);
    expect(emu.stats().errors.bad_request).toBe(1); // our cancel: no such unfinished file any more
    expect(await unfinishedCount(backend)).toBe(0);
  });

  test('B2 keeps refusing the cancel, the unfinished file is still listed: it says it remains and how to remove it', async () => {
    emu.faults.add({call: 'b2_cancel_large_file', status: 503});
    const err = await backend.put('c/remains.bin', {path: fixture.path}).catch((e) => e);
    expect(isBackupError(err, 'cap_exceeded')).toBe(true);
    expect(err.message).toMatch(/; an unfinished upload of backups\/c\/remains\.bin remains \(cancelling it failed: .*503.*\): run "backup-b2 b2 cleanup --profile test" to remove it once it is 24 hours old \(cleanup's default --older-than\)$/);
    emu.faults.clear();
    expect(await unfinishedCount(backend)).toBe(1);
    await cleanupElsewhere();
  });

  test('B2 refuses the cancel for the key (401 unauthorized): it says the key may not cancel it, nor a cleanup with that key, and what may', async () => {
    emu.faults.add({call: 'b2_cancel_large_file', status: 401, code: 'unauthorized', message: 'not entitled'});
    const err = await backend.put('c/refused.bin', {path: fixture.path}).catch((e) => e);
    expect(isBackupError(err, 'cap_exceeded')).toBe(true);
    expect(err.message).toMatch(/; an unfinished upload of backups\/c\/refused\.bin remains \(cancelling it failed: 401 unauthorized\): the key of profile test may not cancel it, nor can a cleanup with that key: run "backup-b2 b2 cleanup --profile test" with a key that has writeFiles once it is 24 hours old \(cleanup's default --older-than\)$/);
    expect(err.leftover).toMatch(/^an unfinished upload of backups\/c\/refused\.bin remains/);
    emu.faults.clear();
    expect(await unfinishedCount(backend)).toBe(1);
    await cleanupElsewhere();
  });

  test('B2 cannot be asked either: it says the unfinished upload may remain', async () => {
    emu.faults.add({call: 'b2_cancel_large_file', status: 503});
    // from the cancel on: the upload's own lookup for a file to resume, before it starts, must work
    beforeCancel = async () => emu.faults.add({call: 'b2_list_unfinished_large_files', status: 503});
    const err = await backend.put('c/unknown.bin', {path: fixture.path}).catch((e) => e);
    expect(isBackupError(err, 'cap_exceeded')).toBe(true);
    expect(err.message).toMatch(/; an unfinished upload of backups\/c\/unknown\.bin may remain: run "backup-b2 b2 cleanup --profile test" to remove it once it is 24 hours old \(cleanup's default --older-than\)$/);
    emu.faults.clear();
    await cleanupElsewhere();
  });

  test('the cancel lost on the network: no second wait for a listing, it may remain', async () => {
    emu.faults.add({call: 'b2_cancel_large_file', cutRequestAfterBytes: 0});
    let listedBefore = -1;
    beforeCancel = async () => void (listedBefore = emu.stats().calls.b2_list_unfinished_large_files ?? 0);
    const err = await backend.put('c/network.bin', {path: fixture.path}).catch((e) => e);
    expect(isBackupError(err, 'cap_exceeded')).toBe(true);
    expect(err.message).toMatch(/may remain: run "backup-b2 b2 cleanup --profile test" to remove it once it is 24 hours old \(cleanup's default --older-than\)$/);
    expect(emu.stats().calls.b2_list_unfinished_large_files ?? 0).toBe(listedBefore);
    emu.faults.clear();
    await cleanupElsewhere();
  });
});

describe('a failed large upload whose cancel gets no answer (a network gone dead after the failure)', () => {
  // the failure already waited out its own retries: its cleanup is bounded as one after a
  // stop is (CANCEL_AFTER_STOP_MS), not given B2's whole retry policy again (each attempt
  // waiting out the request timeout)
  test('the failure still ends, saying the unfinished upload may remain and how to remove it', async () => {
    emu.faults.add({call: 'b2_cancel_large_file', latencyMs: 600_000}); // held before B2 carries it out
    const err = await backend.put('c/dead.bin', {path: fixture.path}).catch((e) => e);
    expect(isBackupError(err, 'cap_exceeded')).toBe(true);
    expect(err.message).toMatch(/; an unfinished upload of backups\/c\/dead\.bin may remain: run "backup-b2 b2 cleanup --profile test" to remove it once it is 24 hours old \(cleanup's default --older-than\)$/);
    emu.faults.clear();
    expect(await unfinishedCount(backend)).toBe(1);
    await cleanupElsewhere();
  });
});

describe('a stopped upload that cannot resume (from a stream), whose cancel B2 refuses', () => {
  // after a stop, the user waits: the listing that would tell whether the file remains is
  // bounded with the cancel (CANCEL_AFTER_STOP_MS), not left to B2's whole retry policy
  test('B2 then holds the listing: the stop still ends, saying the unfinished upload may remain', async () => {
    emu.faults.clear(); // the parts go up
    emu.faults.add({call: 'b2_cancel_large_file', status: 403, code: 'access_denied', message: 'cancel refused'});
    beforeCancel = async () => emu.faults.add({call: 'b2_list_unfinished_large_files', latencyMs: 600_000});
    const ctl = new AbortController();
    const err = await backend.put('c/stopped.bin', Readable.from([fixture.data]), {signal: ctl.signal, onProgress: () => ctl.abort()}).catch((e) => e);
    expect(isBackupError(err, 'aborted')).toBe(true);
    expect(err.message).toMatch(/; an unfinished upload of backups\/c\/stopped\.bin may remain: run "backup-b2 b2 cleanup --profile test" to remove it once it is 24 hours old \(cleanup's default --older-than\)$/);
    emu.faults.clear();
    expect(await unfinishedCount(backend)).toBe(1);
    await cleanupElsewhere();
  });
});

describe('a stopped upload from a stream whose finish B2 carried out as it stopped (its answer never read)', () => {
  // the cancel finds nothing unfinished: the file's own record (by its id) says it was finished
  /** Puts `key` from a stream, its finish's answer held, and stops it once B2 has finished the file; answers the error. */
  const stoppedOnceFinished = async (key: string): Promise<BackupError> => {
    emu.faults.clear(); // the parts go up
    emu.faults.add({call: 'b2_finish_large_file', count: 1, answerLatencyMs: 600_000});
    const ctl = new AbortController();
    const put = backend.put(key, Readable.from([fixture.data]), {signal: ctl.signal}).catch((e: unknown) => e);
    while (!(await versionsOf(`backups/${key}`)).some((v) => v.action === 'upload')) await sleep(10);
    ctl.abort();
    const err = await put;
    expect(isBackupError(err, 'aborted')).toBe(true);
    return err as BackupError;
  };

  test('the finished file is deleted (this very version, by its id); the error says so and leaves nothing to clean up', async () => {
    const err = await stoppedOnceFinished('c/finished.bin');
    expect(err.message).toMatch(/^the operation was aborted; B2 finished backups\/c\/finished\.bin as the upload was stopped: that file was deleted$/);
    expect(err.leftover).toBeUndefined();
    expect(emu.stats().calls).toMatchObject({b2_cancel_large_file: 1, b2_get_file_info: 1, b2_delete_file_version: 1});
    expect(await versionsOf('backups/c/finished.bin')).toEqual([]);
  });

  test('B2 refuses to delete the finished file as Object Lock does (403 access_denied): the error says it remains until its lock ends', async () => {
    beforeCancel = async () => emu.faults.add({call: 'b2_delete_file_version', status: 403, code: 'access_denied', message: 'file is locked'});
    const err = await stoppedOnceFinished('c/locked.bin');
    emu.faults.clear();
    const [left] = await versionsOf('backups/c/locked.bin');
    expect(left.action).toBe('upload');
    expect(err.leftover).toBe(`backups/c/locked.bin remains, whole (file id ${left.fileId}): B2 finished it as the upload was stopped, and deleting it failed (403 access_denied); Object Lock keeps it until its retention date; then run "backup-b2 b2 cleanup --profile test" to remove it`);
    const auth = await authorizeRaw(emu);
    await api(emu, auth.authorizationToken, 'b2_delete_file_version', {fileId: left.fileId, fileName: left.fileName});
  });

  // a cleanup runs with the same key: it cannot delete the file either
  test('B2 refuses the delete for the key (401 unauthorized: no deleteFiles): the error says the key may not, and names the web console or a key with deleteFiles', async () => {
    beforeCancel = async () => emu.faults.add({call: 'b2_delete_file_version', status: 401, code: 'unauthorized', message: 'not allowed to delete'});
    const err = await stoppedOnceFinished('c/keyed.bin');
    emu.faults.clear();
    const [left] = await versionsOf('backups/c/keyed.bin');
    expect(left.action).toBe('upload');
    expect(err.leftover).toBe(`backups/c/keyed.bin remains, whole (file id ${left.fileId}): B2 finished it as the upload was stopped, and deleting it failed (401 unauthorized); the key of profile test may not delete it, nor can a cleanup with that key: delete it in the B2 web console, or run "backup-b2 b2 cleanup --profile test" with a key that has deleteFiles once it is 24 hours old (cleanup's default --older-than)`);
    const auth = await authorizeRaw(emu);
    await api(emu, auth.authorizationToken, 'b2_delete_file_version', {fileId: left.fileId, fileName: left.fileName});
  });

  test('B2 refuses the delete for an account cap (403 transaction_cap_exceeded): the error says a cleanup removes it once the cap allows', async () => {
    beforeCancel = async () => emu.faults.add({call: 'b2_delete_file_version', status: 403, code: 'transaction_cap_exceeded', message: 'cap'});
    const err = await stoppedOnceFinished('c/capped.bin');
    emu.faults.clear();
    const [left] = await versionsOf('backups/c/capped.bin');
    expect(left.action).toBe('upload');
    expect(err.leftover).toBe(`backups/c/capped.bin remains, whole (file id ${left.fileId}): B2 finished it as the upload was stopped, and deleting it failed (403 transaction_cap_exceeded); an account cap refuses it for now: raise it under "Caps & Alerts" in the B2 web console or wait until it resets, then run "backup-b2 b2 cleanup --profile test" to remove it once it is 24 hours old (cleanup's default --older-than)`);
    const auth = await authorizeRaw(emu);
    await api(emu, auth.authorizationToken, 'b2_delete_file_version', {fileId: left.fileId, fileName: left.fileName});
  });

  test('B2 deletes the finished file but its answer never comes within the bound: the error says it may remain, not that it remains', async () => {
    beforeCancel = async () => emu.faults.add({call: 'b2_delete_file_version', answerLatencyMs: 600_000}); // carried out, answer held
    const err = await stoppedOnceFinished('c/unanswered.bin');
    emu.faults.clear();
    expect(err.leftover).toBe('backups/c/unanswered.bin may remain (B2 finished it as the upload was stopped, and deleting it was given up: B2 busy or unreachable): run "backup-b2 b2 cleanup --profile test" to remove it once it is 24 hours old (cleanup\'s default --older-than)');
    expect(await versionsOf('backups/c/unanswered.bin')).toEqual([]);
  });

  test('the cancel lost on the network too: the error says the file may remain, unfinished or finished', async () => {
    beforeCancel = async () => emu.faults.add({call: 'b2_cancel_large_file', cutRequestAfterBytes: 0});
    const err = await stoppedOnceFinished('c/offline.bin');
    emu.faults.clear();
    expect(err.leftover).toBe('backups/c/offline.bin may remain (unfinished, or finished: B2 may have finished it as the upload was stopped): run "backup-b2 b2 cleanup --profile test" to remove it once it is 24 hours old (cleanup\'s default --older-than)');
    const [left] = await versionsOf('backups/c/offline.bin');
    const auth = await authorizeRaw(emu);
    await api(emu, auth.authorizationToken, 'b2_delete_file_version', {fileId: left.fileId, fileName: left.fileName});
  });

  test('B2 will not say what became of it (b2_get_file_info refused): the error says it may remain, finished, and how to remove it', async () => {
    beforeCancel = async () => emu.faults.add({call: 'b2_get_file_info', status: 403, code: 'access_denied', message: 'no'});
    const err = await stoppedOnceFinished('c/unasked.bin');
    expect(err.leftover).toMatch(/^backups\/c\/unasked\.bin may remain \(B2 may have finished it as the upload was stopped\): run "backup-b2 b2 cleanup --profile test" to remove it once it is 24 hours old \(cleanup's default --older-than\)$/);
    expect(emu.stats().calls.b2_delete_file_version).toBeUndefined();
    emu.faults.clear();
    const [left] = await versionsOf('backups/c/unasked.bin');
    expect(left.action).toBe('upload');
    const auth = await authorizeRaw(emu);
    await api(emu, auth.authorizationToken, 'b2_delete_file_version', {fileId: left.fileId, fileName: left.fileName});
  });
});

/** Every version whose name starts with `prefix`, read over the wire. */
async function versionsOf(prefix: string): Promise<Array<{fileId: string; fileName: string; action: string}>> {
  const auth = await authorizeRaw(emu);
  return (await api(emu, auth.authorizationToken, 'b2_list_file_versions', {bucketId: emu.bucketId, prefix, maxFileCount: 1000})).json.files;
}
