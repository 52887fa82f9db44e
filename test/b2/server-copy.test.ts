import {afterAll, beforeAll, beforeEach, describe, expect, test} from '@jest/globals';
import {randomBytes} from 'node:crypto';
import {mkdtemp, rm, writeFile} from 'node:fs/promises';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {Readable} from 'node:stream';
import {B2Backend} from '../../src/b2/index.js';
import type {RunningEmulator} from '../../src/emulator/index.js';
import {MAX_FILE_INFO_KEYS} from '../../src/b2/wire-types.js';
import type {FaultRule} from '../../src/emulator/types.js';
import {isBackupError} from '../../src/errors.js';
import {api, authorizeRaw} from '../emulator/helpers.js';
import {emulator, openBackend, sha1, unfinishedCount} from './helpers.js';

// B2Backend.copyTo over HTTP: b2_copy_file up to the copy cutoff (checked by size and the
// SHA1 B2 computes for the copy), b2_copy_part parts above it (checked part by part; an
// interrupted copy resumes only from the same source version), records that disagree
// refused up front, never a download, each side confined to its own prefix.

const PART = 1000;
let emu: RunningEmulator;
let from: B2Backend;
let to: B2Backend;

const downloads = () => (emu.stats().calls.b2_download_file_by_name ?? 0) + (emu.stats().calls.b2_download_file_by_id ?? 0);
const bytesOf = async (b: B2Backend, key: string) => Buffer.concat(await (await b.get(key)).stream.toArray());
const unfinishedOf = async (key: string) => (await collect(to.listUnfinished())).filter((u) => u.key === key).length;

beforeAll(async () => {
  emu = await emulator({minPartSize: PART});
  from = await openBackend(emu, {prefix: 'old/', partSize: PART, uploadCutoff: PART, concurrency: 2});
  // its own profile name: what a copy leaves unfinished is there, and a cleanup hint must name it
  to = await openBackend(emu, {prefix: 'new/', partSize: PART, copyCutoff: PART, concurrency: 2, profileName: 'offsite', locationFlags: '--profile offsite'});
});

afterAll(async () => {
  await from?.close();
  await to?.close();
  await emu?.stop();
});

beforeEach(() => emu.resetStats());

describe('copyTo', () => {
  test('a small object: one b2_copy_file, its info and content type kept, checked, nothing downloaded', async () => {
    const data = randomBytes(PART - 1);
    await from.put('a.tar', data, {contentType: 'application/x-tar', metadata: {backup_id: 'aaaa1111'}});
    const [listed] = await collect(from.list({prefix: 'a.tar'}));
    const copy = await from.copyTo('a.tar', {backend: to, key: 'a.tar'}, {id: listed.id, sha1: sha1(data)});
    expect(copy).toMatchObject({key: 'a.tar', size: data.length, sha1: sha1(data), metadata: {backup_id: 'aaaa1111'}, contentType: 'application/x-tar'});
    expect(emu.stats().calls).toMatchObject({b2_copy_file: 1});
    expect(downloads()).toBe(0);
    expect(await bytesOf(to, 'a.tar')).toEqual(data);
  });

  test('a large object: b2_copy_part parts of partSize, the source\'s large_file_sha1 carried over, the source version named in the info (not in the metadata)', async () => {
    const data = randomBytes(PART * 3 + 17);
    await from.put('big.tar', data, {metadata: {backup_id: 'bbbb2222'}});
    emu.resetStats();
    const copy = await from.copyTo('big.tar', {backend: to, key: 'big.tar'});
    expect(copy).toMatchObject({size: data.length, sha1: sha1(data), metadata: {backup_id: 'bbbb2222'}});
    expect(emu.stats().calls).toMatchObject({b2_copy_part: 4, b2_start_large_file: 1, b2_finish_large_file: 1});
    expect(emu.stats().calls.b2_copy_file).toBeUndefined();
    expect(downloads()).toBe(0);
    const [listed] = await collect(to.list({prefix: 'big.tar'}));
    expect(listed.sha1).toBe(sha1(data));
    expect(listed.metadata).toEqual({backup_id: 'bbbb2222'});
    const [source] = await collect(from.list({prefix: 'big.tar'}));
    const auth = await authorizeRaw(emu);
    expect((await api(emu, auth.authorizationToken, 'b2_get_file_info', {fileId: listed.id})).json.fileInfo).toMatchObject({copy_source_file_id: source.id});
    expect(await bytesOf(to, 'big.tar')).toEqual(data);
  });

  test('an interrupted large copy resumes: the parts it stored are kept, only the missing ones are copied', async () => {
    const data = randomBytes(PART * 4);
    await from.put('resume.tar', data);
    emu.resetStats();
    const err = await copyStoppedAfter(2, 'resume.tar');
    expect(isBackupError(err, 'aborted')).toBe(true);
    const [unfinished] = await collect(to.listUnfinished());
    const auth = await authorizeRaw(emu);
    const stored = (await api(emu, auth.authorizationToken, 'b2_list_parts', {fileId: unfinished.fileId})).json.parts.length as number;
    expect(stored).toBeGreaterThan(0);
    expect(stored).toBeLessThan(4);

    emu.resetStats();
    const copy = await from.copyTo('resume.tar', {backend: to, key: 'resume.tar'});
    expect(copy).toMatchObject({size: data.length, sha1: sha1(data)});
    expect(emu.stats().calls.b2_copy_part).toBe(4 - stored);
    expect(emu.stats().calls.b2_start_large_file).toBeUndefined();
    expect(await unfinishedCount(to)).toBe(0);
    expect(await bytesOf(to, 'resume.tar')).toEqual(data);
  });

  test('an unfinished copy of another version of the same name and info is not continued: its parts are not this source\'s', async () => {
    const first = randomBytes(PART * 4);
    const second = randomBytes(PART * 4);
    // streamed up: large files with no SHA1, so name, content type and info are all alike
    await from.put('again.tar', Readable.from([first]), {metadata: {backup_id: 'cccc3333'}});
    expect(isBackupError(await copyStoppedAfter(2, 'again.tar'), 'aborted')).toBe(true);
    expect(await unfinishedCount(to)).toBe(1);
    await from.put('again.tar', Readable.from([second]), {metadata: {backup_id: 'cccc3333'}});
    emu.resetStats();
    await from.copyTo('again.tar', {backend: to, key: 'again.tar'});
    expect(emu.stats().calls).toMatchObject({b2_start_large_file: 1, b2_copy_part: 4});
    expect(await bytesOf(to, 'again.tar')).toEqual(second);
  });

  test('a lost answer to b2_start_large_file of a copy in parts: the copy continues with the file the lost start made, none is left unfinished', async () => {
    const data = randomBytes(PART * 3);
    await from.put('lost-start.tar', data);
    emu.resetStats();
    emu.faults.add({call: 'b2_start_large_file', count: 1, cutResponseAfterBytes: 10});
    const copy = await from.copyTo('lost-start.tar', {backend: to, key: 'lost-start.tar'});
    const {calls, faults} = emu.stats(); // before the test's own calls below
    expect(faults).toMatchObject({cut_response: 1});
    expect(copy).toMatchObject({size: data.length, sha1: sha1(data)});
    const unfinished = (await collect(to.listUnfinished())).filter((u) => u.key === 'lost-start.tar').length;
    // one start (the lost one): the file B2 made was used, not a second one beside it
    expect({calls, unfinished}).toMatchObject({calls: {b2_start_large_file: 1, b2_copy_part: 3, b2_finish_large_file: 1}, unfinished: 0});
    expect(await bytesOf(to, 'lost-start.tar')).toEqual(data);
  });

  test('a SHA1 expected that is not the one B2 records for the source: refused before anything is copied, small or large', async () => {
    await from.put('wrong.tar', Buffer.from('some bytes'));
    await from.put('wrong-large.tar', randomBytes(PART * 2 + 1));
    emu.resetStats();
    for (const key of ['wrong.tar', 'wrong-large.tar']) {
      const err = await from.copyTo(key, {backend: to, key}, {sha1: 'f'.repeat(40), backup: 'abcd1234'}).then(() => undefined, (e: unknown) => e);
      expect(isBackupError(err, 'checksum_mismatch')).toBe(true);
      expect((err as Error).message).toMatch(/cannot be copied: B2 records SHA1 [0-9a-f]{40} for it, the backup f{40}; one record is wrong \("backup-b2 b2 verify abcd1234 --profile test" reads the backup\), and nothing was copied/);
      expect(await to.stat(key)).toBeUndefined();
    }
    expect((emu.stats().calls.b2_copy_file ?? 0) + (emu.stats().calls.b2_copy_part ?? 0) + (emu.stats().calls.b2_start_large_file ?? 0)).toBe(0);
  });

  test('a copy whose SHA1 (computed by B2) is not the one expected is deleted and fails with checksum_mismatch', async () => {
    const wide = await openBackend(emu, {prefix: 'new/', copyCutoff: PART * 10});
    try {
      await from.put('unrecorded.tar', Readable.from([randomBytes(PART * 2)])); // no SHA1 on record at B2
      const err = await from.copyTo('unrecorded.tar', {backend: wide, key: 'unrecorded.tar'}, {sha1: 'f'.repeat(40)}).then(() => undefined, (e: unknown) => e);
      expect(isBackupError(err, 'checksum_mismatch')).toBe(true);
      expect((err as Error).message).toMatch(/the server-side copy new\/unrecorded\.tar has SHA1 [0-9a-f]{40} instead of f{40} \(its source was left as it was\); the copy was deleted$/);
      expect(await to.stat('unrecorded.tar')).toBeUndefined();
    } finally {
      await wide.close();
    }
  });

  describe('a copy in parts that B2 stays busy for (503 through every retry): kept for the same copy to continue, as an upload is', () => {
    const keptFor = (key: string) => new RegExp(`; the unfinished copy of new/${key.replace('.', '\\.')} \\((\\d+) parts? stored\\) was kept to be resumed$`);
    /** Copies `key` (parts × PART bytes) while B2 answers 503 to `call`: a resumable error that says the copy was kept. */
    const copyWhileBusy = async (key: string, parts: number, call: string) => {
      const data = randomBytes(PART * parts);
      await from.put(key, data);
      emu.resetStats();
      emu.faults.add({call, status: 503});
      const err = await from.copyTo(key, {backend: to, key}).then(() => undefined, (e: unknown) => e);
      emu.faults.clear();
      expect(err).toMatchObject({transient: true, resumable: true});
      expect((err as Error).message).toMatch(keptFor(key));
      return {data, message: (err as Error).message};
    };

    test('parts: the unfinished copy stays (resumable error, no cancel); the copy run again continues it, no second start', async () => {
      const {data} = await copyWhileBusy('busy.tar', 4, 'b2_copy_part');
      expect(emu.stats().calls).toMatchObject({b2_start_large_file: 1});
      expect(emu.stats().calls.b2_cancel_large_file ?? 0).toBe(0);
      expect(await unfinishedOf('busy.tar')).toBe(1);
      emu.resetStats();
      expect(await from.copyTo('busy.tar', {backend: to, key: 'busy.tar'})).toMatchObject({size: data.length, sha1: sha1(data)});
      // (a part whose request B2 took in before the failure ended may be stored: not copied again)
      expect(emu.stats().calls.b2_copy_part).toBeLessThanOrEqual(4);
      expect(emu.stats().calls.b2_finish_large_file).toBe(1);
      expect(emu.stats().calls.b2_start_large_file).toBeUndefined();
      expect(await unfinishedOf('busy.tar')).toBe(0);
      expect(await bytesOf(to, 'busy.tar')).toEqual(data);
    });

    test('the finish: every part stays (resumable error, no cancel); the copy run again only finishes', async () => {
      const {data, message} = await copyWhileBusy('busy-finish.tar', 3, 'b2_finish_large_file');
      expect(keptFor('busy-finish.tar').exec(message)?.[1]).toBe('3');
      expect(emu.stats().calls.b2_cancel_large_file ?? 0).toBe(0);
      emu.resetStats();
      await from.copyTo('busy-finish.tar', {backend: to, key: 'busy-finish.tar'});
      expect(emu.stats().calls).toMatchObject({b2_finish_large_file: 1});
      expect(emu.stats().calls.b2_copy_part).toBeUndefined();
      expect(await unfinishedOf('busy-finish.tar')).toBe(0);
      expect(await bytesOf(to, 'busy-finish.tar')).toEqual(data);
    });

    test('a finish B2 refuses for good is cancelled (no unfinished copy left behind), as a part refused is', async () => {
      await from.put('refused-finish.tar', randomBytes(PART * 3));
      emu.resetStats();
      emu.faults.add({call: 'b2_finish_large_file', status: 400, code: 'bad_request', message: 'Refused.'});
      const err = await from.copyTo('refused-finish.tar', {backend: to, key: 'refused-finish.tar'}).then(() => undefined, (e: unknown) => e);
      emu.faults.clear();
      expect(err).toMatchObject({transient: false, resumable: false});
      expect(emu.stats().calls.b2_cancel_large_file).toBe(1);
      expect(await unfinishedOf('refused-finish.tar')).toBe(0);
    });
  });

  describe('a copy in parts whose source\'s file info leaves no room to name the source version (B2 keeps 10 entries): stopped, it is cancelled, since no run would continue it', () => {
    /** A large source of `parts` parts whose file info is full: the most metadata put() takes, and a file upload's own two entries (its mtime, large_file_sha1). */
    const putFullInfo = async (key: string, parts: number) => {
      const data = randomBytes(PART * parts);
      const metadata = Object.fromEntries(Array.from({length: MAX_FILE_INFO_KEYS - 2}, (_, i) => [`entry_${i}`, String(i)]));
      const dir = await mkdtemp(join(tmpdir(), 'copy-full-info-'));
      try {
        await writeFile(join(dir, 'source'), data);
        await from.put(key, {path: join(dir, 'source')}, {metadata});
      } finally {
        await rm(dir, {recursive: true, force: true});
      }
      const [source] = await collect(from.list({prefix: key}));
      const auth = await authorizeRaw(emu);
      expect(Object.keys((await api(emu, auth.authorizationToken, 'b2_get_file_info', {fileId: source.id})).json.fileInfo)).toHaveLength(MAX_FILE_INFO_KEYS);
      emu.resetStats();
      return {data, metadata};
    };
    const cancelled = (key: string) => new RegExp(`^the operation was aborted; no unfinished copy of new/${key.replace('.', '\\.')} was left \\(none could be resumed: its file info has no room to name the source version\\)$`);

    test('stopped after 2 parts: the unfinished copy is cancelled, none is left; the copy run again copies it whole', async () => {
      const {data, metadata} = await putFullInfo('full-info.tar', 4);
      const err = await copyStoppedAfter(2, 'full-info.tar');
      expect(isBackupError(err, 'aborted')).toBe(true);
      expect((err as Error).message).toMatch(cancelled('full-info.tar'));
      expect(emu.stats().calls.b2_cancel_large_file).toBe(1);
      expect(await unfinishedOf('full-info.tar')).toBe(0);
      emu.resetStats();
      const copy = await from.copyTo('full-info.tar', {backend: to, key: 'full-info.tar'});
      expect(copy).toMatchObject({size: data.length, sha1: sha1(data), metadata});
      expect(emu.stats().calls).toMatchObject({b2_start_large_file: 1, b2_copy_part: 4, b2_finish_large_file: 1});
      expect(await unfinishedOf('full-info.tar')).toBe(0);
      expect(await bytesOf(to, 'full-info.tar')).toEqual(data);
    });

    test('stopped during the finish (every part copied): cancelled too, none is left', async () => {
      await putFullInfo('full-info-finish.tar', 3);
      emu.faults.add({call: 'b2_finish_large_file', latencyMs: 600_000}); // answered only once the stop closes it
      try {
        const err = await copyStoppedAfter(1, 'full-info-finish.tar', 'b2_finish_large_file');
        expect(isBackupError(err, 'aborted')).toBe(true);
        expect((err as Error).message).toMatch(cancelled('full-info-finish.tar'));
      } finally {
        emu.faults.clear();
      }
      expect(emu.stats().calls).toMatchObject({b2_copy_part: 3, b2_cancel_large_file: 1});
      expect(await unfinishedOf('full-info-finish.tar')).toBe(0);
      expect(await to.stat('full-info-finish.tar')).toBeUndefined();
    });

    test('stopped as B2 finishes it (the finish carried out, its answer never read): the finished copy is deleted, none is left', async () => {
      await putFullInfo('full-info-finished.tar', 3);
      emu.faults.add({call: 'b2_finish_large_file', count: 1, answerLatencyMs: 600_000});
      const stopping = await openBackend(emu, {prefix: 'new/', partSize: PART, copyCutoff: PART, concurrency: 1, profileName: 'offsite', locationFlags: '--profile offsite'});
      const controller = new AbortController();
      let err: unknown;
      try {
        const copy = from.copyTo('full-info-finished.tar', {backend: stopping, key: 'full-info-finished.tar'}, {signal: controller.signal}).catch((e: unknown) => e);
        while (!(await to.stat('full-info-finished.tar'))) await new Promise((r) => setTimeout(r, 10));
        controller.abort();
        err = await copy;
      } finally {
        emu.faults.clear();
        await stopping.close();
      }
      expect(isBackupError(err, 'aborted')).toBe(true);
      expect((err as Error).message).toMatch(/^the operation was aborted; B2 finished new\/full-info-finished\.tar as the copy was stopped: that file was deleted; no unfinished copy of new\/full-info-finished\.tar was left/);
      expect(emu.stats().calls).toMatchObject({b2_cancel_large_file: 1, b2_get_file_info: expect.any(Number), b2_delete_file_version: 1});
      expect(await unfinishedOf('full-info-finished.tar')).toBe(0);
      expect(await to.stat('full-info-finished.tar')).toBeUndefined();
    });

    test('stopped, and B2 keeps refusing the cancel: the error says the unfinished copy remains and how to remove it', async () => {
      await putFullInfo('full-info-refused.tar', 4);
      emu.faults.add({call: 'b2_cancel_large_file', status: 503});
      let err: unknown;
      try {
        err = await copyStoppedAfter(2, 'full-info-refused.tar');
      } finally {
        emu.faults.clear();
      }
      expect(isBackupError(err, 'aborted')).toBe(true);
      const leftover = /^an unfinished copy of new\/full-info-refused\.tar remains \(cancelling it failed: .*503.*\): run "backup-b2 b2 cleanup --profile offsite" to remove it once it is 24 hours old \(cleanup's default --older-than\)$/;
      expect(err).toMatchObject({leftover: expect.stringMatching(leftover)});
      expect((err as Error).message).toMatch(/^the operation was aborted; an unfinished copy of new\/full-info-refused\.tar remains/);
      const unfinished = (await collect(to.listUnfinished())).filter((u) => u.key === 'full-info-refused.tar');
      expect(unfinished).toHaveLength(1);
      for (const u of unfinished) await to.cancelUnfinished(u);
    });
  });

  describe('a copy in parts that fails (every part refused) and whose cancel fails too', () => {
    /** Copies `key` with every b2_copy_part refused and the cancel answered by `cancelFault`; answers the error and what stays unfinished. */
    const failedCopy = async (key: string, cancelFault: Omit<FaultRule, 'call'>) => {
      await from.put(key, randomBytes(PART * 3));
      emu.faults.add({call: 'b2_copy_part', status: 403, code: 'cap_exceeded', message: 'Cap exceeded.'});
      emu.faults.add({call: 'b2_cancel_large_file', ...cancelFault});
      try {
        const err = await from.copyTo(key, {backend: to, key}).then(() => undefined, (e: unknown) => e);
        emu.faults.clear();
        return {err: err as Error, unfinished: (await collect(to.listUnfinished())).filter((u) => u.key === key)};
      } finally {
        emu.faults.clear();
      }
    };

    test('B2 keeps refusing the cancel, the unfinished copy is still listed: the error says it remains and how to remove it', async () => {
      const {err, unfinished} = await failedCopy('cancel-refused.tar', {status: 503});
      expect(isBackupError(err, 'cap_exceeded')).toBe(true);
      expect(err.message).toMatch(/; an unfinished copy of new\/cancel-refused\.tar remains \(cancelling it failed: .*503.*\): run "backup-b2 b2 cleanup --profile offsite" to remove it once it is 24 hours old \(cleanup's default --older-than\)$/);
      expect(unfinished).toHaveLength(1);
      for (const u of unfinished) await to.cancelUnfinished(u);
    });

    test('the cancel\'s answer was lost and its retry finds nothing to cancel: the copy is gone, the error does not send the user to clean up', async () => {
      const {err, unfinished} = await failedCopy('cancel-lost.tar', {count: 1, cutResponseAfterBytes: 0});
      expect(isBackupError(err, 'cap_exceeded')).toBe(true);
      expect(err.message).not.toMatch(/remain|cleanup/);
      expect(emu.stats().faults).toMatchObject({cut_response: 1});
      expect(emu.stats().errors.bad_request).toBe(1); // the retried cancel: no such unfinished file any more
      expect(unfinished).toEqual([]);
    });
  });

  test('each side names only its own prefix: keys are checked against each backend', async () => {
    await expect(from.copyTo('../x', {backend: to, key: 'x'})).rejects.toMatchObject({kind: 'bad_input'});
    await expect(from.copyTo('a.tar', {backend: to, key: '../../escape'})).rejects.toMatchObject({kind: 'bad_input'});
    expect(emu.stats().calls.b2_copy_file).toBeUndefined();
  });

  test('another account (another emulator) is refused up front; so is a destination key that cannot read the source', async () => {
    const other = await emulator();
    const elsewhere = await B2Backend.open({keyId: other.keyId, applicationKey: other.applicationKey, bucket: other.bucket, prefix: 'x/', endpoint: other.url, profileName: 'elsewhere'});
    try {
      const err = await from.copyTo('a.tar', {backend: elsewhere, key: 'a.tar'}).then(() => undefined, (e: unknown) => e);
      expect(err).toMatchObject({kind: 'bad_input', message: expect.stringMatching(/different B2 accounts or endpoints.*nothing was copied/)});
    } finally {
      await elsewhere.close();
      await other.stop();
    }
    const key = await emu.createKey({capabilities: ['listBuckets', 'listFiles', 'readFiles', 'writeFiles', 'deleteFiles'], bucketName: emu.bucket, namePrefix: 'new/'});
    const confined = await openBackend(emu, {keyId: key.keyId, applicationKey: key.applicationKey, prefix: 'new/'});
    try {
      const err = await from.copyTo('a.tar', {backend: confined, key: 'a2.tar'}).then(() => undefined, (e: unknown) => e);
      expect(err).toMatchObject({kind: 'missing_capabilities', message: expect.stringMatching(/cannot read .*old\/a\.tar.*restricted to names starting with "new\/"/)});
    } finally {
      await confined.close();
    }
    expect(emu.stats().calls.b2_copy_file).toBeUndefined();
  });

  test('SSE-C: the source key reads, the destination key writes; the copy is readable only with the destination key', async () => {
    const keyA = randomBytes(32).toString('base64');
    const keyB = randomBytes(32).toString('base64');
    const encA = await openBackend(emu, {prefix: 'enc-a/', encryption: {mode: 'SSE-C', key: keyA}});
    const encB = await openBackend(emu, {prefix: 'enc-b/', encryption: {mode: 'SSE-C', key: keyB}, partSize: PART, copyCutoff: PART});
    try {
      const small = randomBytes(100);
      const large = randomBytes(PART * 2 + 5);
      await encA.put('s.tar', small);
      await encA.put('l.tar', large);
      await encA.copyTo('s.tar', {backend: encB, key: 's.tar'});
      await encA.copyTo('l.tar', {backend: encB, key: 'l.tar'});
      expect(await bytesOf(encB, 's.tar')).toEqual(small);
      expect(await bytesOf(encB, 'l.tar')).toEqual(large);
      const auth = await authorizeRaw(emu);
      const listed = await api(emu, auth.authorizationToken, 'b2_list_file_names', {bucketId: emu.bucketId, prefix: 'enc-b/'});
      expect(listed.json.files.map((f: {serverSideEncryption: {mode: string}}) => f.serverSideEncryption.mode)).toEqual(['SSE-C', 'SSE-C']);
      // the old key does not read the copies
      const withA = await openBackend(emu, {prefix: 'enc-b/', encryption: {mode: 'SSE-C', key: keyA}});
      await expect(bytesOf(withA, 's.tar')).rejects.toBeTruthy();
      await withA.close();
    } finally {
      await encA.close();
      await encB.close();
    }
  });
});

/** A copy of `key` to new/ in parts, one at a time, stopped (aborted) once `count` requests of `call` were made; answers its error. */
async function copyStoppedAfter(count: number, key: string, call = 'b2_copy_part'): Promise<unknown> {
  const stopping = await openBackend(emu, {prefix: 'new/', partSize: PART, copyCutoff: PART, concurrency: 1, profileName: 'offsite', locationFlags: '--profile offsite'});
  const controller = new AbortController();
  const start = emu.stats().calls[call] ?? 0;
  const watch = setInterval(() => {
    if ((emu.stats().calls[call] ?? 0) - start >= count) controller.abort();
  }, 1);
  try {
    return await from.copyTo(key, {backend: stopping, key}, {signal: controller.signal}).then(() => undefined, (e: unknown) => e);
  } finally {
    clearInterval(watch);
    await stopping.close();
  }
}

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}
