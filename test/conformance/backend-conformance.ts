import {describe, test, expect, beforeAll, afterAll} from '@jest/globals';
import {createHash, randomBytes} from 'node:crypto';
import {mkdtemp, rm, writeFile} from 'node:fs/promises';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {PassThrough, Readable} from 'node:stream';
import type {ObjectInfo, StorageBackend, TransferProgress} from '../../src/backend.js';
import {readAll} from '../../src/body.js';
import {isBackupError} from '../../src/errors.js';

export interface ConformanceSetup {
  backend: StorageBackend;
  teardown: () => Promise<void>;
  /**
   * Stores these keys directly, bypassing put(): the pagination test needs thousands of
   * keys, one round trip each through put() (which the other tests cover), so a backend
   * over the wire seeds them in its store instead. Without it, put() writes them.
   */
  seed?: (keys: string[], body: Buffer) => Promise<void>;
}

export interface ConformanceOptions {
  /** Size of the "multi-MB" body; pick it above the backend's upload cutoff to exercise multi-part paths. */
  largeSize?: number;
  /** How many keys the pagination test writes (default 2,500). */
  manyKeys?: number;
  /** The backend must have hide() and unhide() (optional in the contract). */
  hides?: boolean;
}

const sha1 = (b: Buffer) => createHash('sha1').update(b).digest('hex');

async function collect(it: AsyncIterable<ObjectInfo>): Promise<ObjectInfo[]> {
  const out: ObjectInfo[] = [];
  for await (const o of it) out.push(o);
  return out;
}

async function getBytes(backend: StorageBackend, key: string, range?: {start: number; end?: number}) {
  const {info, stream} = await backend.get(key, range ? {range} : {});
  return {info, data: await readAll(stream)};
}

/** Rejects like `promise` does and returns the error, failing the test if it resolves. */
async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (err) {
    return err;
  }
  throw new Error('expected the operation to fail, but it succeeded');
}

/**
 * The behaviour every StorageBackend must show (unstorage-style shared driver suite).
 * Each backend's test file calls this with a setup that gives it a fresh, empty root.
 */
export function describeBackendConformance(name: string, setup: () => Promise<ConformanceSetup>, options: ConformanceOptions = {}): void {
  const largeSize = options.largeSize ?? 3 * 1024 * 1024 + 17;
  const manyKeys = options.manyKeys ?? 2500;

  describe(`StorageBackend conformance: ${name}`, () => {
    let backend: StorageBackend;
    let teardown: () => Promise<void>;
    let seed: ConformanceSetup['seed'];
    let dir: string;

    beforeAll(async () => {
      ({backend, teardown, seed} = await setup());
      dir = await mkdtemp(join(tmpdir(), 'conformance-'));
    });

    afterAll(async () => {
      await backend?.close();
      await teardown?.();
      await rm(dir, {recursive: true, force: true});
    });

    test('an empty Buffer round-trips with size 0', async () => {
      const info = await backend.put('empty.bin', Buffer.alloc(0));
      expect(info.size).toBe(0);
      const {data} = await getBytes(backend, 'empty.bin');
      expect(data.length).toBe(0);
    });

    test('a small Buffer round-trips byte for byte with its SHA1', async () => {
      const body = Buffer.from('hello, backup\n');
      const info = await backend.put('small.txt', body, {contentType: 'text/plain'});
      expect(info.key).toBe('small.txt');
      expect(info.size).toBe(body.length);
      if (info.sha1 !== undefined) expect(info.sha1).toBe(sha1(body));
      const got = await getBytes(backend, 'small.txt');
      expect(got.data.equals(body)).toBe(true);
      expect(got.info.size).toBe(body.length);
    });

    test('a multi-MB file path body round-trips and reports its SHA1', async () => {
      const body = randomBytes(largeSize);
      const path = join(dir, 'large.bin');
      await writeFile(path, body);
      const progress: TransferProgress[] = [];
      const info = await backend.put('large/file.bin', {path}, {onProgress: (p) => progress.push({...p})});
      expect(info.size).toBe(body.length);
      expect(info.sha1).toBe(sha1(body));
      // the contract: a hashing phase (if any) comes first; the transfer ends at the total, all confirmed
      const firstTransfer = progress.findIndex((p) => p.phase !== 'hashing');
      expect(progress.slice(firstTransfer).every((p) => p.phase !== 'hashing')).toBe(true);
      expect(progress.every((p) => p.loaded <= body.length && (p.total === undefined || p.total === body.length))).toBe(true);
      expect(progress.at(-1)).toMatchObject({loaded: body.length});
      expect(progress.at(-1)?.inFlight ?? 0).toBe(0);
      const got = await getBytes(backend, 'large/file.bin');
      expect(got.data.length).toBe(body.length);
      expect(sha1(got.data)).toBe(sha1(body));
    });

    test('a Readable of unknown size round-trips', async () => {
      const body = randomBytes(largeSize + 4321);
      const chunks: Buffer[] = [];
      for (let i = 0; i < body.length; i += 64 * 1024) chunks.push(body.subarray(i, i + 64 * 1024));
      const info = await backend.put('stream/unknown.bin', Readable.from(chunks));
      expect(info.size).toBe(body.length);
      const got = await getBytes(backend, 'stream/unknown.bin');
      expect(sha1(got.data)).toBe(sha1(body));
    });

    test('a small Readable of unknown size round-trips', async () => {
      const body = Buffer.from('a few bytes from a pipe');
      await backend.put('stream/small.txt', Readable.from([body]));
      expect((await getBytes(backend, 'stream/small.txt')).data.equals(body)).toBe(true);
    });

    test('a put given the right sha1 stores the body and reports that SHA1', async () => {
      const body = randomBytes(largeSize);
      const path = join(dir, 'known-sha1.bin');
      await writeFile(path, body);
      const info = await backend.put('sha1/known.bin', {path}, {sha1: sha1(body)});
      expect(info.sha1).toBe(sha1(body));
      expect(sha1((await getBytes(backend, 'sha1/known.bin')).data)).toBe(sha1(body));
    });

    test('a put given a wrong sha1 rejects with checksum_mismatch and leaves nothing visible', async () => {
      const wrong = sha1(Buffer.from('something else'));
      const small = Buffer.from('a small body whose SHA1 is not the one given');
      const large = randomBytes(largeSize);
      const smallPath = join(dir, 'wrong-sha1.txt');
      await writeFile(smallPath, small);
      const chunked = (b: Buffer) => {
        const chunks: Buffer[] = [];
        for (let i = 0; i < b.length; i += 64 * 1024) chunks.push(b.subarray(i, i + 64 * 1024));
        return Readable.from(chunks);
      };
      const bodies = {
        'small-buffer': () => small,
        'large-buffer': () => large,
        'small-file': () => ({path: smallPath}),
        'small-stream': () => Readable.from([small]),
        'large-stream': () => chunked(large),
      };
      for (const [what, body] of Object.entries(bodies)) {
        const err = await rejection(backend.put(`sha1/wrong-${what}.bin`, body(), {sha1: wrong}));
        expect({what, mismatch: isBackupError(err, 'checksum_mismatch')}).toEqual({what, mismatch: true});
        expect(await backend.stat(`sha1/wrong-${what}.bin`)).toBeUndefined();
      }
      expect((await collect(backend.list({prefix: 'sha1/wrong-'}))).map((o) => o.key)).toEqual([]);
      const malformed = await rejection(backend.put('sha1/malformed.bin', small, {sha1: 'ABC'}));
      expect(isBackupError(malformed, 'bad_input')).toBe(true);
    });

    test('metadata and content type round-trip through put, stat, get and list', async () => {
      const metadata = {backup_id: 'abc123', name: 'Nightly backup', note: 'ünïcode ✓'};
      await backend.put('meta/one.json', Buffer.from('{}'), {metadata, contentType: 'application/json'});
      const st = await backend.stat('meta/one.json');
      expect(st?.metadata).toMatchObject(metadata);
      const {info, stream} = await backend.get('meta/one.json');
      stream.destroy(); // only its info is wanted: a stream left unread holds its connection (and, on B2, a stall timer) open
      expect(info.metadata).toMatchObject(metadata);
      const listed = await collect(backend.list({prefix: 'meta/'}));
      expect(listed.map((o) => o.key)).toEqual(['meta/one.json']);
      expect(listed[0].metadata).toMatchObject(metadata);
      expect(listed[0].size).toBe(2);
    });

    test('put replaces an existing object', async () => {
      await backend.put('replace.txt', Buffer.from('first'));
      await backend.put('replace.txt', Buffer.from('second!'));
      expect((await getBytes(backend, 'replace.txt')).data.toString()).toBe('second!');
      expect((await backend.stat('replace.txt'))?.size).toBe(7);
      expect((await collect(backend.list({prefix: 'replace'}))).length).toBe(1);
    });

    test('stat returns info for an object and undefined for a missing one', async () => {
      await backend.put('stat/here.txt', Buffer.from('12345'));
      const st = await backend.stat('stat/here.txt');
      expect(st?.size).toBe(5);
      expect(st?.modified).toBeInstanceOf(Date);
      expect(await backend.stat('stat/missing.txt')).toBeUndefined();
    });

    test('get of a missing key rejects with not_found', async () => {
      const err = await rejection(backend.get('nope/missing.bin'));
      expect(isBackupError(err, 'not_found')).toBe(true);
    });

    test('range reads return exactly the requested bytes', async () => {
      const body = randomBytes(100_000);
      await backend.put('range.bin', body);
      expect((await getBytes(backend, 'range.bin', {start: 0, end: 0})).data.equals(body.subarray(0, 1))).toBe(true);
      expect((await getBytes(backend, 'range.bin', {start: 1000, end: 1999})).data.equals(body.subarray(1000, 2000))).toBe(true);
      expect((await getBytes(backend, 'range.bin', {start: 99_990})).data.equals(body.subarray(99_990))).toBe(true);
      expect(await rejection(getBytes(backend, 'range.bin', {start: 100_000}))).toBeDefined();
    });

    test('keys with unicode and spaces round-trip and list in UTF-8 byte order', async () => {
      const keys = ['uni/Zürich backup.tar', 'uni/a b c.txt', 'uni/日本語/ファイル.bin', 'uni/emoji 🎉.txt', 'uni/plus+sign.txt', 'uni/percent%20.txt'];
      for (const k of keys) await backend.put(k, Buffer.from(k));
      for (const k of keys) expect((await getBytes(backend, k)).data.toString()).toBe(k);
      const listed = (await collect(backend.list({prefix: 'uni/'}))).map((o) => o.key);
      const expected = [...keys].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
      expect(listed).toEqual(expected);
    });

    test('invalid keys are rejected with bad_input before anything is written', async () => {
      for (const bad of ['', '/leading', 'double//slash', 'ctl\u0001char', 'x'.repeat(1025)]) {
        const err = await rejection(backend.put(bad, Buffer.from('x')));
        expect(isBackupError(err, 'bad_input')).toBe(true);
      }
    });

    test('delete removes an object, then returns false when it is absent', async () => {
      await backend.put('del/me.txt', Buffer.from('bye'));
      await backend.put('del/me.txt', Buffer.from('bye again'));
      expect(await backend.delete('del/me.txt')).toBe(true);
      expect(await backend.stat('del/me.txt')).toBeUndefined();
      expect(await collect(backend.list({prefix: 'del/'}))).toEqual([]);
      expect(await backend.delete('del/me.txt')).toBe(false);
      expect(await backend.delete('del/never-existed.txt')).toBe(false);
    });

    test('hide (when the backend has it): the key is gone from stat, get and list until unhide; a second hide finds nothing to hide; delete removes the hidden versions', async () => {
      const {hide, unhide} = backend;
      if (!hide || !unhide) return expect(options.hides ?? false).toBe(false); // optional: a backend without it keeps its objects visible until delete
      const stored = await backend.put('hide/me.txt', Buffer.from('hidden'));
      expect(await hide.call(backend, 'hide/never-existed.txt')).toBeUndefined();
      const markerId = await hide.call(backend, 'hide/me.txt');
      expect(markerId).toEqual(expect.any(String));
      expect(markerId).not.toBe(stored.id);
      expect(await backend.stat('hide/me.txt')).toBeUndefined();
      expect(isBackupError(await rejection(backend.get('hide/me.txt')), 'not_found')).toBe(true);
      expect(await collect(backend.list({prefix: 'hide/'}))).toEqual([]);
      expect(await hide.call(backend, 'hide/me.txt')).toBeUndefined(); // someone's marker already: not this caller's
      await unhide.call(backend, 'hide/me.txt', markerId!);
      await unhide.call(backend, 'hide/me.txt', markerId!); // done already: no error
      expect((await backend.stat('hide/me.txt'))?.id).toBe(stored.id);
      expect((await getBytes(backend, 'hide/me.txt')).data.toString()).toBe('hidden');
      await hide.call(backend, 'hide/me.txt');
      expect(await backend.delete('hide/me.txt')).toBe(true);
      expect(await hide.call(backend, 'hide/me.txt')).toBeUndefined();
      if (backend.planDelete) expect(await backend.planDelete('hide/me.txt')).toMatchObject({versions: 0});
    });

    test('an aborted put rejects with aborted and leaves no object visible', async () => {
      const ctl = new AbortController();
      const body = new PassThrough();
      body.write(randomBytes(256 * 1024));
      const put = backend.put('abort/half.bin', body, {signal: ctl.signal});
      setTimeout(() => ctl.abort(), 200);
      const err = await rejection(put);
      expect(isBackupError(err, 'aborted')).toBe(true);
      body.destroy();
      expect(await backend.stat('abort/half.bin')).toBeUndefined();
      expect(await collect(backend.list({prefix: 'abort/'}))).toEqual([]);
    });

    test('an already-aborted signal stops put before it writes', async () => {
      const err = await rejection(backend.put('abort/early.txt', Buffer.from('x'), {signal: AbortSignal.abort()}));
      expect(isBackupError(err, 'aborted')).toBe(true);
      expect(await backend.stat('abort/early.txt')).toBeUndefined();
    });

    test(`list pages through ${manyKeys} keys in order, filtered by prefix`, async () => {
      const keys = Array.from({length: manyKeys}, (_, i) => `many/${String(i).padStart(5, '0')}.txt`);
      const body = Buffer.from('x');
      if (seed) await seed(keys, body);
      else for (let i = 0; i < keys.length; i += 25) await Promise.all(keys.slice(i, i + 25).map((k) => backend.put(k, body)));
      await backend.put('many-not/other.txt', body);
      const listed = (await collect(backend.list({prefix: 'many/'}))).map((o) => o.key);
      expect(listed).toEqual(keys);
      const sub = (await collect(backend.list({prefix: 'many/0012'}))).map((o) => o.key);
      expect(sub).toEqual(keys.filter((k) => k.startsWith('many/0012')));
    });

    test('list without a prefix sees every key written by this suite', async () => {
      const all = (await collect(backend.list())).map((o) => o.key);
      expect(all).toContain('small.txt');
      expect(all).toContain('many-not/other.txt');
      expect(all).not.toContain('abort/half.bin');
      const sorted = [...all].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
      expect(all).toEqual(sorted);
    });

    test('list stops promptly when its signal is aborted', async () => {
      const ctl = new AbortController();
      const seen: string[] = [];
      const err = await rejection(
        (async () => {
          for await (const o of backend.list({prefix: 'many/', signal: ctl.signal})) {
            seen.push(o.key);
            if (seen.length === 3) ctl.abort();
          }
        })(),
      );
      expect(isBackupError(err, 'aborted')).toBe(true);
      expect(seen.length).toBeLessThan(manyKeys);
    });

    test('check reports ok for a working backend', async () => {
      const report = await backend.check();
      expect(report.ok).toBe(true);
      expect(report.items.length).toBeGreaterThan(0);
    });
  });
}
