import {createHash, type Hash} from 'node:crypto';
import {availableParallelism} from 'node:os';
import type {Readable} from 'node:stream';
import {BackupError} from '../errors.js';
import type {PartPlan} from './part-plan.js';
import {openData, type BodyData} from './request-body.js';
import {hashThreadPays} from '../sha1-sink.js';
import {Sha1Thread, sharedBuffer} from '../sha1-thread.js';

/** One part of an upload: where it is, and how to read it again for each attempt. */
export interface PartSource {
  partNumber: number;
  offset: number;
  length: number;
  /** Where the part's bytes are: the sender reads them from there for each attempt. */
  data: BodyData;
  /** A fresh stream over the part's bytes (hashing it again). */
  open(): Readable;
  /** Known up front: from memory, or from the hashing pass over a file (then B2 refuses a part that changed since). */
  sha1?: string;
  /** Read again from disk for each attempt: a refused SHA1 may mean the file changed rather than damage on the way. */
  fromDisk?: boolean;
  /**
   * Drops an in-memory part's bytes once B2 has confirmed it: HTTP internals may hold the
   * request body a while longer, and a stream upload must not keep finished parts alive.
   */
  release?(): void;
}

/**
 * File parts are ranges re-read from disk: nothing is held in memory between attempts.
 * Their SHA1s come from the hashing pass (sha1s[n - 1] is part n's).
 */
export function* fileParts(path: string, plan: PartPlan, sha1s: string[]): Generator<PartSource> {
  const count = plan.partCount ?? 0;
  for (let n = 1, offset = 0; n <= count; offset += plan.sizeOf(n), n++) {
    const start = offset;
    const length = plan.sizeOf(n);
    yield withData(n, start, {kind: 'file', path, offset: start, length}, {sha1: sha1s[n - 1], fromDisk: true});
  }
}

/** Buffer parts are views of the caller's buffer (no copy). */
export function* bufferParts(buffer: Buffer, plan: PartPlan): Generator<PartSource> {
  const count = plan.partCount ?? 0;
  for (let n = 1, offset = 0; n <= count; offset += plan.sizeOf(n), n++) {
    yield chunkPart(n, offset, [buffer.subarray(offset, offset + plan.sizeOf(n))]);
  }
}

/** A part held in memory as the chunks it was read in (no concatenation copy). */
export function chunkPart(partNumber: number, offset: number, chunks: Buffer[]): PartSource {
  const hash = createHash('sha1');
  let length = 0;
  for (const c of chunks) {
    hash.update(c);
    length += c.length;
  }
  return withData(partNumber, offset, {kind: 'memory', chunks, length}, {sha1: hash.digest('hex'), release: () => void chunks.splice(0)});
}

function withData(partNumber: number, offset: number, data: BodyData, more: Pick<PartSource, 'sha1' | 'fromDisk' | 'release'>): PartSource {
  return {partNumber, offset, length: data.length, data, open: () => openData(data), ...more};
}

/**
 * Where a stream's parts are read into: at most `count` buffers in shared memory, reused
 * (a part's buffer stays taken until B2 has confirmed the part and the whole-stream SHA1
 * has read it), so memory stays count × part size whatever the garbage collector does.
 */
export class PartBuffers {
  private readonly free: Buffer[] = [];
  private allocated = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(private readonly count: number) {}

  /** A buffer of at least `size` bytes; waits for one to be given back when all are taken. */
  async take(size: number): Promise<Buffer> {
    for (;;) {
      const fit = this.free.findIndex((b) => b.length >= size);
      if (fit >= 0) return this.free.splice(fit, 1)[0];
      if (this.free.length > 0) {
        this.free.pop(); // too small for parts that grew: dropped, a larger one takes its place
        this.allocated--;
        continue;
      }
      if (this.allocated < this.count) {
        this.allocated++;
        return sharedBuffer(size);
      }
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    }
  }

  give(buffer: Buffer): void {
    this.free.push(buffer);
    this.waiting.shift()?.();
  }
}

/**
 * Reads a stream of unknown length part by part: each part is copied into a buffer of
 * `buffers` (one copy, so the stream's many small chunks die young) and hashed as it
 * arrives. The whole stream's SHA1 is computed, where a core is free for it
 * (hashThreadPays), on another thread, part after part while the next part is
 * read; on fewer cores here, chunk by chunk as it is copied (while it is in the cache):
 * on 2 cores the emulator or the network, the producer of the pipe and the kernel keep
 * the second core busy, and the thread cost more CPU than it saved (A/B, 1 GiB from a
 * pipe: CPU 2.62 -> 2.57 s, RSS -11 MiB, and no slower).
 */
export class StreamPartReader {
  private readonly it: AsyncIterator<Buffer | string>;
  /** The rest of a chunk read beyond the last part. */
  private leftover?: Buffer;
  private done = false;
  /** Bytes handed out so far. */
  consumed = 0;
  private thread?: Sha1Thread;
  /** The whole stream's SHA1 on this thread (instead of `thread`), updated as each chunk is copied. */
  private readonly inline?: Hash;
  private whole?: string;

  constructor(
    stream: Readable,
    readonly buffers: PartBuffers,
    cores = availableParallelism(),
  ) {
    this.it = stream[Symbol.asyncIterator]();
    if (!hashThreadPays(cores)) this.inline = createHash('sha1');
  }

  /** The next `size` bytes (fewer only at the end of the stream), in a taken buffer, and their SHA1. */
  async read(size: number): Promise<ReadPart> {
    const buffer = await this.buffers.take(size);
    const hash = createHash('sha1');
    let length = 0;
    try {
      while (length < size) {
        const chunk = await this.next();
        if (!chunk) break;
        const n = Math.min(chunk.length, size - length);
        chunk.copy(buffer, length, 0, n);
        const taken = chunk.subarray(0, n);
        hash.update(taken);
        this.inline?.update(taken);
        length += n;
        if (n < chunk.length) this.leftover = chunk.subarray(n);
      }
    } catch (err) {
      this.buffers.give(buffer);
      throw err;
    }
    this.consumed += length;
    return {data: buffer.subarray(0, length), buffer, sha1: hash.digest('hex')};
  }

  /** True when the stream has no byte left. */
  async atEnd(): Promise<boolean> {
    const chunk = await this.next();
    if (chunk) this.leftover = chunk;
    return !chunk;
  }

  /** Adds bytes just read to the whole stream's SHA1 (in the order read); settles when they are hashed. */
  hashWhole(data: Buffer): Promise<void> {
    if (this.inline) return Promise.resolve(); // hashed as read
    this.thread ??= new Sha1Thread();
    return this.thread.update(data);
  }

  /** SHA1 of everything given to hashWhole. */
  async wholeSha1(): Promise<string> {
    if (this.inline) return (this.whole ??= this.inline.digest('hex'));
    this.thread ??= new Sha1Thread();
    this.whole ??= await this.thread.digest();
    return this.whole;
  }

  /** Stops the hashing thread (at the end, or when the upload failed). */
  async close(): Promise<void> {
    await this.thread?.close();
  }

  private async next(): Promise<Buffer | undefined> {
    if (this.leftover) {
      const chunk = this.leftover;
      this.leftover = undefined;
      return chunk;
    }
    while (!this.done) {
      const next = await this.it.next();
      if (next.done) {
        this.done = true;
        break;
      }
      const chunk = typeof next.value === 'string' ? Buffer.from(next.value) : next.value;
      if (chunk.length > 0) return chunk;
    }
    return undefined;
  }
}

/** A part held in one buffer; given back (`free`) once confirmed and hashed into the whole. */
function heldPart(partNumber: number, offset: number, data: Buffer, sha1: string, free: () => void): PartSource {
  return withData(partNumber, offset, {kind: 'memory', chunks: [data], length: data.length}, {sha1, release: free});
}

/** Bytes of a stream read into one of the reader's buffers, and their SHA1. */
export interface ReadPart {
  data: Buffer;
  /** The taken buffer `data` lies in (given back to the reader's buffers once done with). */
  buffer: Buffer;
  sha1: string;
}

/**
 * Stream parts: each is read into memory when the uploader asks for it, into one of the
 * reader's buffers (so at most that many parts are held). A declared size is enforced: a stream that ends early or runs long
 * fails clearly. `first` is part 1 when it was already read (to tell a one-part stream
 * from a large one).
 */
export async function* streamParts(reader: StreamPartReader, plan: PartPlan, declaredSize?: number, first?: ReadPart): AsyncGenerator<PartSource> {
  for (let n = 1, offset = 0; ; n++) {
    if (plan.partCount !== undefined && n > plan.partCount) break;
    const part = n === 1 && first ? first : await reader.read(plan.sizeOf(n));
    if (part.data.length === 0 && n > 1) {
      reader.buffers.give(part.buffer);
      break;
    }
    const hashed = reader.hashWhole(part.data);
    let confirmed!: () => void;
    const sent = new Promise<void>((resolve) => (confirmed = resolve));
    // the buffer is reused only once B2 has the part and the whole-stream SHA1 has read it
    Promise.all([sent, hashed]).then(() => reader.buffers.give(part.buffer), () => undefined);
    yield heldPart(n, offset, part.data, part.sha1, confirmed);
    offset += part.data.length;
    if (part.data.length < plan.sizeOf(n)) break;
  }
  if (declaredSize !== undefined) {
    const more = !(await reader.atEnd());
    if (reader.consumed !== declaredSize || more) {
      throw new BackupError('bad_input', `the stream was declared as ${declaredSize} bytes but ${more ? 'is longer' : `has ${reader.consumed}`}; pass the right size or none`);
    }
  }
}

/** SHA1 of a part as stored locally (resume checks parts the server already has). */
export async function localSha1(part: PartSource, signal?: AbortSignal): Promise<string> {
  return part.sha1 ?? hashPart(part, signal);
}

/** SHA1 of a part's bytes as they read now (a refused part: did the file change?). */
export async function hashPart(part: PartSource, signal?: AbortSignal): Promise<string> {
  const hash = createHash('sha1');
  const stream = part.open();
  const onAbort = () => stream.destroy();
  signal?.addEventListener('abort', onAbort, {once: true});
  try {
    for await (const c of stream) hash.update(c);
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
  return hash.digest('hex');
}
