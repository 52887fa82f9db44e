import {describe, test, expect, beforeAll, afterAll} from '@jest/globals';
import {randomBytes} from 'node:crypto';
import {appendFileSync} from 'node:fs';
import {mkdtemp, rm, stat, writeFile} from 'node:fs/promises';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {Readable} from 'node:stream';
import {readAll} from '../../src/body.js';
import type {B2BackendOptions} from '../../src/b2/index.js';
import {BackupCatalog} from '../../src/backups/index.js';
import type {TransferProgress} from '../../src/backend.js';
import {isBackupError} from '../../src/errors.js';
import {PARALLEL_HASH_FROM} from '../../src/b2/upload.js';
import type {RunningEmulator} from '../../src/emulator/index.js';
import {libraryClient} from '../emulator/helpers.js';
import {emulator, openBackend, sha1, unfinishedCount} from './helpers.js';

const PART = 64 * 1024;
const CHUNK = 16 * 1024;

describe('B2 provider uploads: memory bound, progress, declared sizes', () => {
  let emu: RunningEmulator;

  beforeAll(async () => {
    emu = await emulator({minPartSize: PART, recommendedPartSize: PART});
  });

  afterAll(async () => emu.stop());

  test('a stream of unknown size holds at most concurrency parts (one buffer per part in flight, reused)', async () => {
    const concurrency = 4;
    const backend = await openBackend(emu, {uploadCutoff: 100_000, partSize: PART, concurrency});
    emu.faults.add({call: 'b2_upload_part', latencyMs: 15}); // uploads slower than reading
    const data = randomBytes(40 * PART);
    let read = 0;
    let worst = 0;
    let loaded = 0;
    const source = Readable.from((function* () {
      for (let i = 0; i < data.length; i += CHUNK) {
        read += CHUNK;
        worst = Math.max(worst, read - loaded);
        yield data.subarray(i, i + CHUNK);
      }
    })(), {highWaterMark: 1});
    const events: TransferProgress[] = [];
    const info = await backend.put('mem/stream.bin', source, {onProgress: (p) => {
      loaded = p.loaded - (p.inFlight ?? 0); // confirmed by B2
      events.push(p);
    }});
    emu.faults.clear();
    expect(info.sha1).toBe(sha1(data));
    // bytes read but not yet confirmed: the parts in flight and a chunk or two of read-ahead
    expect(worst).toBeLessThanOrEqual(concurrency * PART + 2 * CHUNK);
    expect(worst).toBeGreaterThan(concurrency * PART); // the workers really were busy in parallel
    // progress: loaded never goes back, ends at the size, and bytes in flight were reported
    expect(events.every((e, i) => i === 0 || e.loaded >= events[i - 1].loaded)).toBe(true);
    expect(events.at(-1)?.loaded).toBe(data.length);
    expect(Math.max(...events.map((e) => e.inFlight ?? 0))).toBeGreaterThan(PART);
  });

  test('a Readable with a declared size uploads with a total, and a wrong size fails without leaving a large file', async () => {
    const backend = await openBackend(emu, {uploadCutoff: 100_000, partSize: PART});
    const data = randomBytes(5 * PART + 3);
    const totals = new Set<number | undefined>();
    const info = await backend.put('mem/sized.bin', Readable.from([data]), {size: data.length, onProgress: (p) => totals.add(p.total)});
    expect(info.sha1).toBe(sha1(data));
    expect([...totals]).toEqual([data.length]);
    expect(sha1(await readAll((await backend.get('mem/sized.bin')).stream))).toBe(sha1(data));
    const err = await backend.put('mem/lying.bin', Readable.from([data]), {size: data.length + 10}).catch((e) => e);
    expect(isBackupError(err, 'bad_input')).toBe(true);
    expect(err.message).toContain('declared');
    expect(await unfinishedCount(backend)).toBe(0);
    expect(await backend.stat('mem/lying.bin')).toBeUndefined();
  });

  test('a stream above the cutoff but within one part goes up in one b2_upload_file; a longer one as a large file of at least two parts', async () => {
    const backend = await openBackend(emu, {uploadCutoff: 16 * 1024, partSize: PART});
    const calls = () => emu.stats().calls;
    for (const [key, size, expected] of [
      ['mem/one-part.bin', 40 * 1024, {file: 1, parts: 0}],
      ['mem/exactly-one-part.bin', PART, {file: 1, parts: 0}],
      ['mem/two-parts.bin', PART + 10, {file: 0, parts: 2}],
    ] as const) {
      emu.resetStats();
      const data = randomBytes(size);
      const info = await backend.put(key, Readable.from([data]));
      expect(info.sha1).toBe(sha1(data));
      expect({key, file: calls().b2_upload_file ?? 0, parts: calls().b2_upload_part ?? 0}).toEqual({key, ...expected});
      expect(sha1(await readAll((await backend.get(key)).stream))).toBe(sha1(data));
    }
  });

  test('a large file with a caller SHA1 (put sha1): the right one is stored as large_file_sha1, a wrong one is refused before anything is stored', async () => {
    const backend = await openBackend(emu, {uploadCutoff: 100_000, partSize: PART, concurrency: 2});
    const dir = await mkdtemp(join(tmpdir(), 'b2-given-sha1-'));
    try {
      const data = randomBytes(4 * PART + 7);
      const path = join(dir, 'big.tar');
      await writeFile(path, data);
      const right = await backend.put('given/right.tar', {path}, {sha1: sha1(data)});
      expect(right.sha1).toBe(sha1(data));
      expect(sha1(await readAll((await backend.get('given/right.tar')).stream))).toBe(sha1(data));
      // The hashing pass (which records every part's SHA1) checks the caller's SHA1 first.
      emu.resetStats();
      const err = await backend.put('given/wrong.tar', {path}, {sha1: sha1('not the data')}).catch((e: unknown) => e);
      expect(isBackupError(err, 'checksum_mismatch')).toBe(true);
      expect((err as Error).message).toContain('nothing was stored');
      expect(emu.stats().calls.b2_start_large_file ?? 0).toBe(0);
      expect(await backend.stat('given/wrong.tar')).toBeUndefined();
      expect(await unfinishedCount(backend)).toBe(0);
    } finally {
      await rm(dir, {recursive: true, force: true});
    }
  });

  test('hashFile() then put() with its SHA1 reads the file once for checksums: the put has no hashing phase', async () => {
    const backend = await openBackend(emu, {uploadCutoff: 100_000, partSize: PART, concurrency: 2});
    const dir = await mkdtemp(join(tmpdir(), 'b2-hash-first-'));
    try {
      const data = randomBytes(5 * PART + 11);
      const path = join(dir, 'big.tar');
      await writeFile(path, data);
      const hashing: TransferProgress[] = [];
      const hashed = await backend.hashFile(path, {onProgress: (p) => hashing.push(p)});
      expect(hashed).toEqual({sha1: sha1(data), size: data.length});
      expect(hashing.every((p) => p.phase === 'hashing' && p.total === data.length)).toBe(true);
      expect(hashing.at(-1)?.loaded).toBe(data.length);
      const phases = new Set<string | undefined>();
      const info = await backend.put('hashed/big.tar', {path}, {sha1: hashed.sha1, onProgress: (p) => phases.add(p.phase)});
      expect(info.sha1).toBe(sha1(data));
      expect([...phases]).toEqual(['transfer']);
      // without hashFile, a put of a large file hashes it first, in its own phase
      const again = new Set<string | undefined>();
      await backend.put('hashed/again.tar', {path}, {onProgress: (p) => again.add(p.phase)});
      expect([...again]).toEqual(['hashing', 'transfer']);
    } finally {
      await rm(dir, {recursive: true, force: true});
    }
  });

  test('progress tells the truth: a hashing phase, then bytes counted as they are sent, a failed attempt taken back, ending at the total', async () => {
    const backend = await openBackend(emu, {uploadCutoff: 100_000, partSize: PART, concurrency: 2});
    const dir = await mkdtemp(join(tmpdir(), 'b2-progress-'));
    try {
      const data = randomBytes(8 * PART + 99);
      const path = join(dir, 'big.tar');
      await writeFile(path, data);
      emu.faults.add({call: 'b2_upload_part', count: 1, cutRequestAfterBytes: PART / 2}); // one attempt dies half-way
      const events: TransferProgress[] = [];
      await backend.put('progress/big.tar', {path}, {onProgress: (p) => events.push({...p})});
      emu.faults.clear();
      const hashing = events.filter((e) => e.phase === 'hashing');
      const transfer = events.filter((e) => e.phase === 'transfer');
      // phases in order: every hashing event before the first transfer event
      expect(events.findIndex((e) => e.phase === 'transfer')).toBe(hashing.length);
      expect(hashing.every((e, i) => i === 0 || e.loaded >= hashing[i - 1].loaded)).toBe(true);
      expect(hashing.at(-1)).toEqual({phase: 'hashing', loaded: data.length, total: data.length});
      // sent bytes count before B2 confirms them
      const firstSent = transfer.find((e) => e.loaded > 0)!;
      expect(firstSent.inFlight).toBe(firstSent.loaded);
      expect(transfer.every((e) => e.loaded <= data.length && (e.inFlight ?? 0) <= e.loaded)).toBe(true);
      // loaded only goes back when a failed attempt is taken back, by that attempt's unconfirmed bytes
      const drops = transfer.filter((e, i) => i > 0 && e.loaded < transfer[i - 1].loaded);
      expect(drops.length).toBe(1);
      const at = transfer.indexOf(drops[0]);
      expect(transfer[at - 1].loaded - drops[0].loaded).toBeLessThanOrEqual(PART);
      expect(transfer[at - 1].loaded - drops[0].loaded).toBeGreaterThan(0);
      expect(transfer.at(-1)).toEqual({phase: 'transfer', loaded: data.length, inFlight: 0, total: data.length});
      // a small file: transfer events only, ending at its size
      const small: TransferProgress[] = [];
      await backend.put('progress/small.bin', randomBytes(5000), {onProgress: (p) => small.push({...p})});
      expect(small.every((e) => e.phase === 'transfer')).toBe(true);
      expect(small.at(-1)).toEqual({phase: 'transfer', loaded: 5000, inFlight: 0, total: 5000});
    } finally {
      await rm(dir, {recursive: true, force: true});
    }
  });

  test('API call economy (issue 8): a 1 MB archive and its metadata file cost 4 calls with the authorization; a large backup at most 2 + 2 × parts + 3', async () => {
    // a key restricted to the bucket, as Backblaze and Home Assistant advise: authorization names the bucket
    const key = await emu.createKey({capabilities: ['listFiles', 'readFiles', 'writeFiles', 'deleteFiles'], bucketName: emu.bucket});
    const open = (o: Partial<B2BackendOptions>) => openBackend(emu, {...key, ...o});
    const total = () => Object.values(emu.stats().calls).reduce((a, b) => a + b, 0);
    emu.resetStats();
    const small = await open({});
    await small.put('economy/small.tar', randomBytes(1_000_000));
    await small.put('economy/small.metadata.json', Buffer.from('{"metadata_version": "1"}'));
    expect(emu.stats().calls).toEqual({b2_authorize_account: 1, b2_get_upload_url: 1, b2_upload_file: 2});
    expect(total()).toBeLessThanOrEqual(4);

    const dir = await mkdtemp(join(tmpdir(), 'b2-economy-'));
    try {
      const parts = 11;
      const path = join(dir, 'large.tar');
      await writeFile(path, randomBytes((parts - 1) * PART + 4321));
      emu.resetStats();
      const backend = await open({uploadCutoff: 100_000, partSize: PART, concurrency: 4});
      const up = await new BackupCatalog(backend).upload({path}, {name: 'economy'});
      expect(up.size).toBe((parts - 1) * PART + 4321);
      expect(emu.stats().calls.b2_upload_part).toBe(parts);
      expect(emu.stats().calls.b2_get_upload_part_url).toBeLessThanOrEqual(4);
      expect(total()).toBeLessThanOrEqual(2 + 2 * parts + 3);
    } finally {
      await rm(dir, {recursive: true, force: true});
    }
  });

  test('a large Buffer goes up in parts with large_file_sha1, and the listing reports it', async () => {
    const backend = await openBackend(emu, {uploadCutoff: 100_000, partSize: PART, concurrency: 2});
    const data = randomBytes(3 * PART + 5);
    emu.resetStats();
    await backend.put('mem/buffer.bin', data, {metadata: {backup_id: 'b1'}});
    expect(emu.stats().calls.b2_upload_part).toBe(4);
    const listed = [];
    for await (const o of backend.list({prefix: 'mem/buffer'})) listed.push(o);
    expect(listed).toEqual([expect.objectContaining({key: 'mem/buffer.bin', size: data.length, sha1: sha1(data), metadata: {backup_id: 'b1'}})]);
  });

  test('a file of PARALLEL_HASH_FROM bytes or more is hashed on two threads: stored with the right large_file_sha1, every part accepted under the SHA1 the hashing pass gave it', async () => {
    const partSize = 8 * 1024 * 1024;
    const backend = await openBackend(emu, {uploadCutoff: partSize, partSize, concurrency: 2});
    const dir = await mkdtemp(join(tmpdir(), 'b2-parallel-hash-'));
    try {
      const data = randomBytes(PARALLEL_HASH_FROM + 4321);
      const path = join(dir, 'big.bin');
      await writeFile(path, data);
      emu.resetStats();
      const events: TransferProgress[] = [];
      const stored = await backend.put('parallel/big.bin', {path}, {onProgress: (p) => events.push({...p})});
      expect({size: stored.size, sha1: stored.sha1}).toEqual({size: data.length, sha1: sha1(data)});
      expect(emu.stats().calls.b2_upload_part).toBe(Math.ceil(data.length / partSize));
      expect(events.filter((e) => e.phase === 'hashing').at(-1)).toEqual({phase: 'hashing', loaded: data.length, total: data.length});
      const b2 = await libraryClient(emu);
      const res = await b2.listFileNames({bucketId: emu.bucketId, prefix: 'backups/parallel/', maxFileCount: 10});
      expect(res.data.files.map((f: {fileInfo: Record<string, string>}) => f.fileInfo.large_file_sha1)).toEqual([sha1(data)]);
    } finally {
      await rm(dir, {recursive: true, force: true});
    }
  });

  test('a backup from a stream records the SHA1 of exactly the bytes read (the provider hashes them; the catalog takes its SHA1), one part or many', async () => {
    const backend = await openBackend(emu, {uploadCutoff: 100_000, partSize: PART, concurrency: 3});
    const catalog = new BackupCatalog(backend);
    for (const size of [PART - 1, 7 * PART + 123]) {
      const data = randomBytes(size);
      const chunks = [];
      for (let i = 0; i < data.length; i += 5000) chunks.push(data.subarray(i, i + 5000));
      const up = await catalog.upload(Readable.from(chunks), {name: `stream ${size}`});
      expect({size: up.size, sha1: up.sha1}).toEqual({size, sha1: sha1(data)});
      const checked = await catalog.verify(up.id);
      expect({ok: checked.ok, expectedSha1: checked.expectedSha1}).toEqual({ok: true, expectedSha1: sha1(data)});
    }
  });

  test('a large backup from a pipe has no large_file_sha1 (unknown at b2_start_large_file): its SHA1, computed while it was read, is in the metadata file, and downloads are checked against it end to end', async () => {
    const backend = await openBackend(emu, {uploadCutoff: 100_000, partSize: PART, concurrency: 3});
    const catalog = new BackupCatalog(backend);
    const data = randomBytes(5 * PART + 99);
    const up = await catalog.upload(Readable.from([data.subarray(0, 70_000), data.subarray(70_000)]), {name: 'piped'});
    const b2 = await libraryClient(emu);
    const res = await b2.listFileNames({bucketId: emu.bucketId, prefix: `backups/${up.archiveKey}`, maxFileCount: 1});
    expect(res.data.files[0].fileInfo.large_file_sha1).toBeUndefined();
    expect(res.data.files[0].contentSha1).toBe('none'); // B2 knows no SHA1 of the whole
    expect((await catalog.show(up.id)).sha1).toBe(sha1(data)); // from the metadata file
    expect(sha1(await readAll((await catalog.download(up.id)).stream))).toBe(sha1(data));

    await emu.corrupt(emu.bucket, `backups/${up.archiveKey}`);
    expect(await catalog.verify(up.id)).toMatchObject({ok: false, expectedSha1: sha1(data)});
    const err = await catalog.download(up.id).then(({stream}) => readAll(stream)).then(() => undefined, (e: unknown) => e);
    expect(isBackupError(err, 'checksum_mismatch')).toBe(true);
  });

  test('file uploads record src_last_modified_millis (and large ones large_file_sha1) in the file info', async () => {
    const backend = await openBackend(emu, {uploadCutoff: 100_000, partSize: PART});
    const dir = await mkdtemp(join(tmpdir(), 'b2-info-'));
    try {
      const small = join(dir, 'small.bin');
      const large = join(dir, 'large.bin');
      const largeData = randomBytes(2 * PART + 1);
      await writeFile(small, 'tiny');
      await writeFile(large, largeData);
      await backend.put('info/small.bin', {path: small});
      await backend.put('info/large.bin', {path: large});
      const b2 = await libraryClient(emu);
      const res = await b2.listFileNames({bucketId: emu.bucketId, prefix: 'backups/info/', maxFileCount: 10});
      const info = Object.fromEntries(res.data.files.map((f: {fileName: string; fileInfo: Record<string, string>}) => [f.fileName, f.fileInfo]));
      expect(info['backups/info/small.bin']).toEqual({src_last_modified_millis: String(Math.floor((await stat(small)).mtimeMs))});
      expect(info['backups/info/large.bin']).toEqual({src_last_modified_millis: String(Math.floor((await stat(large)).mtimeMs)), large_file_sha1: sha1(largeData)});
    } finally {
      await rm(dir, {recursive: true, force: true});
    }
  });

  test('a file at or below the cutoff goes up in one b2_upload_file, its SHA1 trailing the data (hex_digits_at_end): the stored bytes, SHA1 and info are the file\'s, progress counts data bytes only', async () => {
    const backend = await openBackend(emu, {uploadCutoff: 8 * 1024 * 1024, partSize: PART});
    const dir = await mkdtemp(join(tmpdir(), 'b2-single-'));
    try {
      const path = join(dir, 'one.bin');
      const data = randomBytes(3 * 1024 * 1024 + 7); // more than one read of the sender
      await writeFile(path, data);
      emu.resetStats();
      const events: TransferProgress[] = [];
      const info = await backend.put('single/one.bin', {path}, {metadata: {note: 'a b/c%'}, onProgress: (p) => events.push(p)});
      expect(info.sha1).toBe(sha1(data));
      expect(emu.stats().calls).toEqual(expect.objectContaining({b2_upload_file: 1}));
      expect(emu.stats().calls.b2_upload_part).toBeUndefined();
      expect(sha1(await readAll((await backend.get('single/one.bin')).stream))).toBe(sha1(data));
      expect((await backend.stat('single/one.bin'))?.metadata).toEqual({note: 'a b/c%'});
      expect(events.at(-1)?.loaded).toBe(data.length);
      expect(Math.max(...events.map((e) => e.loaded))).toBe(data.length); // the 40 trailing hex digits are not data
    } finally {
      await rm(dir, {recursive: true, force: true});
    }
  });

  test('a file that grows while it goes up in one request, or whose SHA1 is not the one the caller gave, fails before its request completes: checksum_mismatch, not retried, nothing stored', async () => {
    const backend = await openBackend(emu, {uploadCutoff: 8 * 1024 * 1024, partSize: PART});
    const dir = await mkdtemp(join(tmpdir(), 'b2-single-'));
    try {
      const path = join(dir, 'grows.bin');
      await writeFile(path, randomBytes(3 * 1024 * 1024));
      emu.resetStats();
      let grown = false;
      const err = await backend.put('single-bad/grows.bin', {path}, {
        onProgress: () => {
          if (grown) return;
          grown = true;
          appendFileSync(path, 'more');
        },
      }).then(() => undefined, (e: unknown) => e);
      expect(grown).toBe(true);
      expect(isBackupError(err, 'checksum_mismatch')).toBe(true);
      expect((err as Error).message).toMatch(/^the source changed during upload: expected 3145728 bytes, read 3145729 or more; nothing was stored/);
      expect(emu.stats().calls.b2_upload_file).toBe(1);

      const other = join(dir, 'other.bin');
      await writeFile(other, 'not what was hashed');
      const wrong = await backend.put('single-bad/other.bin', {path: other}, {sha1: sha1(Buffer.from('what was hashed'))}).then(() => undefined, (e: unknown) => e);
      expect(isBackupError(wrong, 'checksum_mismatch')).toBe(true);
      expect((wrong as Error).message).toContain(`${other} has SHA1 ${sha1(Buffer.from('not what was hashed'))}, not the`);
      expect(emu.stats().calls.b2_upload_file).toBe(2);
      const listed = [];
      for await (const o of backend.list({prefix: 'single-bad/'})) listed.push(o.key);
      expect(listed).toEqual([]);
    } finally {
      await rm(dir, {recursive: true, force: true});
    }
  });
});
