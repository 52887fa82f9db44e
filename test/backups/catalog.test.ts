import {describe, test, expect, beforeEach, afterEach} from '@jest/globals';
import {createHash, randomBytes} from 'node:crypto';
import {readFile, readdir, writeFile} from 'node:fs/promises';
import {join} from 'node:path';
import {Readable} from 'node:stream';
import {readAll} from '../../src/body.js';
import {isBackupError} from '../../src/errors.js';
import {MemoryBackend} from '../../src/memory-backend.js';
import {BackupCatalog, parseMetadataFile} from '../../src/backups/index.js';
import {CorruptingPutBackend, DelegatingBackend, FailingPutBackend, NoChecksumBackend, TrickleBackend} from './backend-wrappers.js';
import type {Body, ObjectInfo, PutOptions} from '../../src/backend.js';
import {BackupError} from '../../src/errors.js';
import {catalogWithWarnings, keysOf, rejection, tempDir} from './helpers.js';

const sha1 = (b: Buffer) => createHash('sha1').update(b).digest('hex');

describe('BackupCatalog round trips over the in-memory backend', () => {
  let backend: MemoryBackend;
  let dir: string;
  let cleanup: () => Promise<void>;
  let clock: number;

  beforeEach(async () => {
    backend = new MemoryBackend();
    ({dir, cleanup} = await tempDir());
    clock = Date.UTC(2026, 10, 24, 14, 0, 0, 123);
  });
  afterEach(() => cleanup());

  const catalog = () => new BackupCatalog(backend, {now: () => new Date((clock += 61_000))});

  test('upload from a buffer writes the archive and the metadata file, and describes the archive in its object info', async () => {
    const data = randomBytes(10_000);
    const info = await catalog().upload(data, {name: 'Nightly backup', metadata: {host: 'nas'}});
    expect(info.id).toMatch(/^[0-9a-f]{12}$/);
    expect(info).toMatchObject({name: 'Nightly backup', size: data.length, sha1: sha1(data), describedBy: 'archive'});
    expect(info.date).toBe('2026-11-24T14:01:01.123000+00:00');
    expect(info.archiveKey).toBe('Nightly_backup_2026-11-24_14.01_01123000.tar');
    expect(info.metadataKey).toBe('Nightly_backup_2026-11-24_14.01_01123000.metadata.json');
    expect(await keysOf(backend)).toEqual([info.metadataKey, info.archiveKey]);

    const archive = await backend.stat(info.archiveKey);
    expect(archive?.metadata).toEqual({backup_id: info.id, backup_name: 'Nightly backup', backup_date: info.date, backup_sha1: sha1(data)});
    expect(archive?.contentType).toBe('application/x-tar');
    const metadataFile = await backend.stat(info.metadataKey);
    expect(metadataFile?.metadata).toEqual({metadata_only: 'true'});
    expect(metadataFile?.contentType).toBe('application/json');
  });

  test('list, show, download, verify and delete find the backup by id', async () => {
    const cat = catalog();
    const a = await cat.upload(randomBytes(3000), {name: 'first'});
    const bData = randomBytes(5000);
    const b = await cat.upload(bData, {name: 'second', metadata: {reason: 'before upgrade'}});

    const listed = await catalog().list();
    expect(listed.map((x) => x.id)).toEqual([b.id, a.id]); // newest first
    expect(listed[0]).toMatchObject({id: b.id, name: 'second', size: 5000, sha1: sha1(bData), date: b.date});

    const shown = await catalog().show(b.id);
    expect(shown.metadata?.extra_metadata).toEqual({reason: 'before upgrade'});
    expect(shown.metadata?.sha1).toBe(sha1(bData));

    const {stream, info} = await catalog().download(b.id);
    expect(info.id).toBe(b.id);
    expect(sha1(await readAll(stream))).toBe(sha1(bData));

    expect(await catalog().verify(b.id)).toMatchObject({ok: true, size: 5000, sha1: sha1(bData), expectedSize: 5000, expectedSha1: sha1(bData)});

    expect(await catalog().delete(b.id)).toMatchObject({info: {id: b.id}, alreadyGone: false});
    expect(await keysOf(backend)).toEqual([a.metadataKey, a.archiveKey]);
    const err = await rejection(catalog().show(b.id));
    expect(isBackupError(err, 'not_found')).toBe(true);
    expect((err as Error).message).toContain(b.id);
  });

  test('a file source is hashed up front; a stream source of unknown size records its SHA1 in the metadata file', async () => {
    const data = randomBytes(200_000);
    const path = join(dir, 'backup.tar');
    await writeFile(path, data);
    const fromFile = await catalog().upload({path}, {name: 'from file'});
    expect((await backend.stat(fromFile.archiveKey))?.metadata.backup_sha1).toBe(sha1(data));

    const fromStream = await catalog().upload(Readable.from([data.subarray(0, 1000), data.subarray(1000)]), {name: 'from stdin'});
    expect(fromStream).toMatchObject({size: data.length, sha1: sha1(data)});
    expect((await backend.stat(fromStream.archiveKey))?.metadata.backup_sha1).toBeUndefined();
    const file = parseMetadataFile((await readAll((await backend.get(fromStream.metadataKey)).stream)).toString());
    expect(file.ok && file.file.backup_metadata.sha1).toBe(sha1(data));
  });

  test('a file or buffer source hands its SHA1 to the backend (put sha1), so the backend need not read the file again', async () => {
    const given: Array<string | undefined> = [];
    class Recording extends DelegatingBackend {
      override put(key: string, body: Body, opts?: PutOptions): Promise<ObjectInfo> {
        if (key.endsWith('.tar')) given.push(opts?.sha1);
        return super.put(key, body, opts);
      }
    }
    const data = randomBytes(50_000);
    const path = join(dir, 'backup.tar');
    await writeFile(path, data);
    const recorded = new BackupCatalog(new Recording(backend));
    await recorded.upload({path}, {name: 'file'});
    await recorded.upload(data, {name: 'buffer'});
    await recorded.upload(Readable.from([data]), {name: 'stream'});
    expect(given).toEqual([sha1(data), sha1(data), undefined]);
  });

  test('a streamed archive on a backend that knows no checksums is listed and verified with the SHA1 of its metadata file', async () => {
    const data = randomBytes(4096);
    const blind = new NoChecksumBackend(backend);
    const cat = new BackupCatalog(blind);
    const up = await cat.upload(Readable.from([data]), {name: 'streamed'});
    expect((await new BackupCatalog(blind).list())[0].sha1).toBe(sha1(data));
    expect(await new BackupCatalog(blind).verify(up.id)).toMatchObject({ok: true, expectedSha1: sha1(data)});
  });

  test('progress is reported for upload and download', async () => {
    const data = randomBytes(50_000);
    const seen: number[] = [];
    const up = await catalog().upload(data, {onProgress: (p) => seen.push(p.loaded)});
    expect(seen.at(-1)).toBe(data.length);
    const down: {loaded: number; total?: number}[] = [];
    await catalog().verify(up.id, {onProgress: (p) => down.push(p)});
    expect(down.at(-1)).toEqual({loaded: data.length, total: data.length});
  });

  test('if the metadata upload fails, the archive is removed and the error surfaces', async () => {
    const failing = new FailingPutBackend(backend, (key) => key.endsWith('.metadata.json'));
    const {catalog: cat} = catalogWithWarnings(failing);
    const err = await rejection(cat.upload(randomBytes(1000), {name: 'doomed'}));
    expect((err as Error).message).toContain('injected failure');
    expect(await keysOf(backend)).toEqual([]);
    expect(await new BackupCatalog(backend).list()).toEqual([]);
  });

  test('an archive the backend did not store intact is removed and reported as a checksum mismatch', async () => {
    const {catalog: cat} = catalogWithWarnings(new CorruptingPutBackend(backend));
    const err = await rejection(cat.upload(randomBytes(1000), {name: 'mangled'}));
    expect(isBackupError(err, 'checksum_mismatch')).toBe(true);
    expect(await keysOf(backend)).toEqual([]);
  });

  test('verify and download stop with "aborted" when the signal fires midway', async () => {
    const up = await catalog().upload(randomBytes(64 * 1024));
    const slow = new BackupCatalog(new TrickleBackend(backend));
    for (const run of [
      (signal: AbortSignal, onProgress: () => void) => slow.verify(up.id, {signal, onProgress}),
      (signal: AbortSignal, onProgress: () => void) => slow.downloadToFile(up.id, join(dir, 'aborted.tar'), {signal, onProgress}),
    ]) {
      const ac = new AbortController();
      const err = await rejection(run(ac.signal, () => ac.abort()));
      expect(isBackupError(err, 'aborted')).toBe(true);
    }
    expect(await readdir(dir)).toEqual([]);
  });

  test('a listing aborted while metadata files download rejects with "aborted"', async () => {
    for (let i = 0; i < 20; i++) {
      await backend.put(`ha-${i}.tar`, Buffer.from('x'));
      await backend.put(`ha-${i}.metadata.json`, Buffer.from(JSON.stringify({metadata_version: '1', backup_id: `abcd00${String(i).padStart(2, '0')}`, backup_metadata: {name: 'n', date: '2026-01-01T00:00:00+00:00'}})));
    }
    const ac = new AbortController();
    class AbortOnFirstGet extends TrickleBackend {
      override get(...args: Parameters<TrickleBackend['get']>) {
        ac.abort();
        return super.get(...args);
      }
    }
    const probe = new AbortOnFirstGet(backend);
    const err = await rejection(new BackupCatalog(probe, {concurrency: 2}).list({signal: ac.signal}));
    expect(isBackupError(err, 'aborted')).toBe(true);
  });

  test('an aborted upload leaves nothing behind', async () => {
    const ac = new AbortController();
    ac.abort();
    const err = await rejection(catalog().upload(randomBytes(1000), {signal: ac.signal}));
    expect(isBackupError(err, 'aborted')).toBe(true);
    expect(await keysOf(backend)).toEqual([]);
  });

  test('two backups with the same name in the same millisecond get distinct names', async () => {
    const fixed = new BackupCatalog(backend, {now: () => new Date(Date.UTC(2026, 0, 1))});
    const a = await fixed.upload(randomBytes(10), {name: 'same'});
    const b = await fixed.upload(randomBytes(10), {name: 'same'});
    expect(a.archiveKey).toBe('same_2026-01-01_00.00_00000000.tar');
    expect(b.archiveKey).toBe(`same_${b.id}_2026-01-01_00.00_00000000.tar`);
    expect((await catalog().list()).map((x) => x.id).sort()).toEqual([a.id, b.id].sort());
  });

  describe('downloadToFile', () => {
    test('writes the verified archive and refuses to overwrite without force', async () => {
      const data = randomBytes(30_000);
      const up = await catalog().upload(data, {name: 'to disk'});
      const out = join(dir, 'restored.tar');
      const res = await catalog().downloadToFile(up.id, out);
      expect(res).toMatchObject({size: data.length, sha1: sha1(data), path: out});
      expect(sha1(await readFile(out))).toBe(sha1(data));

      await writeFile(out, 'precious');
      const err = await rejection(catalog().downloadToFile(up.id, out));
      expect(isBackupError(err, 'already_exists')).toBe(true);
      expect((err as Error).message).toContain('--force');
      expect(await readFile(out, 'utf8')).toBe('precious');

      await catalog().downloadToFile(up.id, out, {force: true});
      expect(sha1(await readFile(out))).toBe(sha1(data));
      expect(await readdir(dir)).toEqual(['restored.tar']);
    });

    test('a checksum mismatch fails, removes the partial output and leaves nothing in the directory', async () => {
      const data = randomBytes(20_000);
      const up = await catalog().upload(data, {name: 'corrupted later'});
      // Corrupt the stored archive in place: same size and object info, one byte flipped.
      const stored = await backend.stat(up.archiveKey);
      const bad = Buffer.from(data);
      bad[12_345] ^= 0xff;
      await backend.put(up.archiveKey, bad, {metadata: stored?.metadata, contentType: stored?.contentType});

      const out = join(dir, 'restored.tar');
      const err = await rejection(catalog().downloadToFile(up.id, out));
      expect(isBackupError(err, 'checksum_mismatch')).toBe(true);
      expect((err as Error).message).toContain(up.id);
      expect(await readdir(dir)).toEqual([]);

      const v = await catalog().verify(up.id);
      expect(v).toMatchObject({ok: false, size: data.length, sha1: sha1(bad), expectedSha1: sha1(data)});

      const streamErr = await rejection(catalog().download(up.id).then(({stream}) => readAll(stream)));
      expect(isBackupError(streamErr, 'checksum_mismatch')).toBe(true);
    });

    test('an unknown id fails before anything is written', async () => {
      const err = await rejection(catalog().downloadToFile('deadbeef', join(dir, 'x.tar')));
      expect(isBackupError(err, 'not_found')).toBe(true);
      expect(await readdir(dir)).toEqual([]);
    });

    test('a missing directory is a clear bad_input', async () => {
      const up = await catalog().upload(randomBytes(10));
      const err = await rejection(catalog().downloadToFile(up.id, join(dir, 'nope', 'x.tar')));
      expect(isBackupError(err, 'bad_input')).toBe(true);
      expect((err as Error).message).toContain('does not exist');
    });
  });

  describe('interrupted uploads', () => {
    /** Records every archive put, and interrupts the first `interruptions` of them as Ctrl-C would. */
    class InterruptingBackend extends DelegatingBackend {
      archivePuts: {key: string; metadata?: Record<string, string>}[] = [];
      constructor(private interruptions: number) {
        super(backend);
      }
      override async put(key: string, body: Body, opts?: PutOptions): Promise<ObjectInfo> {
        if (key.endsWith('.tar')) {
          this.archivePuts.push({key, metadata: opts?.metadata});
          if (this.interruptions-- > 0) throw new BackupError('aborted', 'the operation was aborted');
        }
        return super.put(key, body, opts);
      }
    }

    test('running the same upload again reuses the id, date and names, so that the backend can resume it', async () => {
      const path = join(dir, 'big.tar');
      await writeFile(path, randomBytes(100_000));
      const cacheDir = join(dir, 'cache');
      const flaky = new InterruptingBackend(1);
      const err = await rejection(new BackupCatalog(flaky, {cacheDir, now: () => new Date('2026-01-01T00:00:00Z')}).upload({path}, {name: 'big'}));
      expect(isBackupError(err, 'aborted')).toBe(true);

      const again = await new BackupCatalog(flaky, {cacheDir, now: () => new Date('2026-01-02T00:00:00Z')}).upload({path}, {name: 'big'});
      // the interruption came before anything was stored: same names, but nothing was reused
      expect(again.resumed).toBe(false);
      expect(again.date).toBe('2026-01-01T00:00:00.000000+00:00');
      expect(flaky.archivePuts).toHaveLength(2);
      expect(flaky.archivePuts[1]).toEqual(flaky.archivePuts[0]);
      expect(flaky.archivePuts[0].metadata?.backup_id).toBe(again.id);

      // Once complete, the same file makes a new backup.
      const third = await new BackupCatalog(flaky, {cacheDir}).upload({path}, {name: 'big'});
      expect(third.resumed).toBe(false);
      expect(third.id).not.toBe(again.id);
      expect((await new BackupCatalog(backend).list()).map((b) => b.id).sort()).toEqual([again.id, third.id].sort());
    });

    test('a different name or different content is a new backup, not a resumption', async () => {
      const path = join(dir, 'data.tar');
      await writeFile(path, 'version one');
      const cacheDir = join(dir, 'cache');
      const flaky = new InterruptingBackend(1);
      await rejection(new BackupCatalog(flaky, {cacheDir}).upload({path}, {name: 'a'}));
      expect((await new BackupCatalog(flaky, {cacheDir}).upload({path}, {name: 'b'})).resumed).toBe(false);
      await writeFile(path, 'version two');
      expect((await new BackupCatalog(flaky, {cacheDir}).upload({path}, {name: 'a'})).resumed).toBe(false);
      expect(new Set(flaky.archivePuts.map((p) => p.metadata?.backup_id)).size).toBe(3);
    });
  });
});
