import {Readable} from 'node:stream';
import type {Body, CheckReport, GetOptions, ListOptions, ObjectInfo, PutOptions, StorageBackend} from './backend.js';
import {checkReport} from './backend.js';
import {describeBody, openSource, readAll} from './body.js';
import {BackupError, throwIfAborted} from './errors.js';
import {checkedSha1Option, sha1Of} from './hash.js';
import {assertValidKey, compareUtf8} from './keys.js';

interface Stored {
  data: Buffer;
  info: ObjectInfo;
}

/**
 * The reference StorageBackend: everything in a Map. It defines by example what the
 * conformance suite expects of every backend, and stands in for B2 in catalog tests.
 */
export class MemoryBackend implements StorageBackend {
  readonly type = 'memory';
  private readonly objects = new Map<string, Stored>();
  private ids = 0;

  async check(): Promise<CheckReport> {
    return checkReport([{id: 'memory', title: 'In-memory store', status: 'ok', message: 'always available'}]);
  }

  async put(key: string, body: Body, opts: PutOptions = {}): Promise<ObjectInfo> {
    assertValidKey(key);
    const expectedSha1 = checkedSha1Option(opts.sha1, key);
    throwIfAborted(opts.signal);
    const src = await describeBody(body, opts.size);
    const data = await readAll(openSource(src), opts.signal);
    if (src.size !== undefined && data.length !== src.size) {
      throw new BackupError('bad_input', `body of ${key} has ${data.length} bytes, expected ${src.size}`);
    }
    const sha1 = sha1Of(data);
    if (expectedSha1 !== undefined && sha1 !== expectedSha1) {
      throw new BackupError('checksum_mismatch', `body of ${key} has SHA1 ${sha1}, but the caller gave ${expectedSha1}; nothing was stored`);
    }
    throwIfAborted(opts.signal);
    const info: ObjectInfo = {
      key,
      size: data.length,
      modified: new Date(),
      sha1,
      metadata: {...opts.metadata},
      id: `mem-${++this.ids}`,
      contentType: opts.contentType ?? 'application/octet-stream',
    };
    opts.onProgress?.({phase: 'transfer', loaded: data.length, inFlight: 0, total: data.length});
    this.objects.set(key, {data, info});
    return clone(info);
  }

  async get(key: string, opts: GetOptions = {}): Promise<{info: ObjectInfo; stream: Readable}> {
    assertValidKey(key);
    throwIfAborted(opts.signal);
    const stored = this.objects.get(key);
    if (!stored || (opts.version !== undefined && opts.version !== stored.info.id)) throw new BackupError('not_found', `${key} does not exist`);
    let data = stored.data;
    if (opts.range) {
      const {start} = opts.range;
      const end = Math.min(opts.range.end ?? data.length - 1, data.length - 1);
      if (start < 0 || start >= data.length || end < start) {
        throw new BackupError('bad_input', `range ${start}-${opts.range.end ?? ''} is outside ${key} (${data.length} bytes)`);
      }
      data = data.subarray(start, end + 1);
    }
    return {info: clone(stored.info), stream: Readable.from([data])};
  }

  async stat(key: string): Promise<ObjectInfo | undefined> {
    assertValidKey(key);
    const stored = this.objects.get(key);
    return stored ? clone(stored.info) : undefined;
  }

  async *list(opts: ListOptions = {}): AsyncIterable<ObjectInfo> {
    const prefix = opts.prefix ?? '';
    const keys = [...this.objects.keys()].filter((k) => k.startsWith(prefix)).sort(compareUtf8);
    for (const key of keys) {
      throwIfAborted(opts.signal);
      const stored = this.objects.get(key);
      if (stored) yield clone(stored.info);
    }
  }

  async delete(key: string): Promise<boolean> {
    assertValidKey(key);
    return this.objects.delete(key);
  }

  async close(): Promise<void> {}
}

function clone(info: ObjectInfo): ObjectInfo {
  return {...info, modified: new Date(info.modified), metadata: {...info.metadata}};
}
