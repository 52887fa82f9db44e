import {Readable} from 'node:stream';
import type {Body, CheckReport, GetOptions, ListOptions, ObjectInfo, PutOptions, StorageBackend, StoredObject} from '../../src/backend.js';
import {BackupError} from '../../src/errors.js';

/** Passes every call to an inner backend; subclasses override what they observe or break. */
export class DelegatingBackend implements StorageBackend {
  readonly type: string;
  readonly readScope?: string;
  constructor(protected readonly inner: StorageBackend) {
    this.type = inner.type;
    this.readScope = inner.readScope;
  }
  check(opts?: {signal?: AbortSignal}): Promise<CheckReport> {
    return this.inner.check(opts);
  }
  put(key: string, body: Body, opts?: PutOptions): Promise<ObjectInfo> {
    return this.inner.put(key, body, opts);
  }
  get(key: string, opts?: GetOptions): Promise<{info: ObjectInfo; stream: Readable}> {
    return this.inner.get(key, opts);
  }
  stat(key: string): Promise<ObjectInfo | undefined> {
    return this.inner.stat(key);
  }
  list(opts?: ListOptions): AsyncIterable<ObjectInfo> {
    return this.inner.list(opts);
  }
  delete(key: string): Promise<boolean> {
    return this.inner.delete(key);
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}

/** Interrupts the metadata-file put as a crash would: before it (`before`) or after it was stored, its answer lost (`after`). */
export class MetadataCrash extends DelegatingBackend {
  constructor(
    inner: StorageBackend,
    private readonly when: 'before' | 'after',
  ) {
    super(inner);
  }

  override async put(key: string, body: Body, opts?: PutOptions): Promise<StoredObject> {
    if (!key.endsWith('.metadata.json')) return super.put(key, body, opts);
    if (this.when === 'after') await super.put(key, body, opts);
    throw new BackupError('aborted', 'the operation was aborted');
  }
}

/**
 * `backend` as it is, but for its clock (B2's, for a B2 backend) `ms` later: to a cleanup,
 * everything stored looks `ms` older, as if an upload had taken that long.
 */
export function clockAhead<T extends StorageBackend>(backend: T, ms: number): T {
  const now = () => new Date((backend.now?.() ?? new Date()).getTime() + ms);
  return new Proxy(backend, {
    get(target, prop) {
      if (prop === 'now') return now;
      const value: unknown = Reflect.get(target, prop, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

/** Counts calls by kind, and gets per key, so tests can assert what an operation cost. */
export class CountingBackend extends DelegatingBackend {
  counts = {list: 0, get: 0, put: 0, stat: 0, delete: 0};
  getsByKey = new Map<string, number>();

  reset(): void {
    this.counts = {list: 0, get: 0, put: 0, stat: 0, delete: 0};
    this.getsByKey.clear();
  }
  override put(key: string, body: Body, opts?: PutOptions): Promise<ObjectInfo> {
    this.counts.put++;
    return super.put(key, body, opts);
  }
  override get(key: string, opts?: GetOptions): Promise<{info: ObjectInfo; stream: Readable}> {
    this.counts.get++;
    this.getsByKey.set(key, (this.getsByKey.get(key) ?? 0) + 1);
    return super.get(key, opts);
  }
  override stat(key: string): Promise<ObjectInfo | undefined> {
    this.counts.stat++;
    return super.stat(key);
  }
  override list(opts?: ListOptions): AsyncIterable<ObjectInfo> {
    this.counts.list++;
    return super.list(opts);
  }
  override delete(key: string): Promise<boolean> {
    this.counts.delete++;
    return super.delete(key);
  }
}

/** Rejects puts of matching keys, after consuming nothing: a metadata upload that fails. */
export class FailingPutBackend extends DelegatingBackend {
  constructor(
    inner: StorageBackend,
    private readonly fails: (key: string) => boolean,
  ) {
    super(inner);
  }
  override async put(key: string, body: Body, opts?: PutOptions): Promise<ObjectInfo> {
    if (this.fails(key)) throw new Error(`injected failure storing ${key}`);
    return super.put(key, body, opts);
  }
}

/** Hides the checksums a backend knows, like B2 for a large file uploaded without large_file_sha1. */
export class NoChecksumBackend extends DelegatingBackend {
  override async get(key: string, opts?: GetOptions): Promise<{info: ObjectInfo; stream: Readable}> {
    const got = await super.get(key, opts);
    return {info: {...got.info, sha1: undefined}, stream: got.stream};
  }
  override async *list(opts?: ListOptions): AsyncIterable<ObjectInfo> {
    for await (const o of super.list(opts)) yield {...o, sha1: undefined};
  }
}

/** Stores archives with one byte flipped: a store that does not keep what it was sent. */
export class CorruptingPutBackend extends DelegatingBackend {
  override async put(key: string, body: Body, opts?: PutOptions): Promise<ObjectInfo> {
    if (!key.endsWith('.tar') || !Buffer.isBuffer(body) || body.length === 0) return super.put(key, body, opts);
    const bad = Buffer.from(body);
    bad[0] ^= 0xff;
    return super.put(key, bad, opts);
  }
}

/** Serves objects in small chunks, one per event-loop turn, so that a transfer can be interrupted midway. */
export class TrickleBackend extends DelegatingBackend {
  override async get(key: string, opts?: GetOptions): Promise<{info: ObjectInfo; stream: Readable}> {
    const {info, stream} = await super.get(key, opts);
    async function* trickle() {
      for await (const chunk of stream as AsyncIterable<Buffer>) {
        for (let i = 0; i < chunk.length; i += 1024) {
          await new Promise((r) => setImmediate(r));
          yield chunk.subarray(i, i + 1024);
        }
      }
    }
    return {info, stream: Readable.from(trickle())};
  }
}
