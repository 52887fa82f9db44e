import {createHash} from 'node:crypto';
import {createReadStream} from 'node:fs';
import {Readable} from 'node:stream';
import {BackupError} from '../errors.js';
import type {PartPlan} from './part-plan.js';

/** One part of an upload: where it is, and how to read it again for each attempt. */
export interface PartSource {
  partNumber: number;
  offset: number;
  length: number;
  /** A fresh stream over the part's bytes; every retry opens a new one (a consumed stream is never resent). */
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
    yield {partNumber: n, offset: start, length, sha1: sha1s[n - 1], fromDisk: true, open: () => createReadStream(path, {start, end: start + length - 1, highWaterMark: 1024 * 1024})};
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
  return {partNumber, offset, length, sha1: hash.digest('hex'), open: () => Readable.from(chunks, {objectMode: false}), release: () => void chunks.splice(0)};
}

/**
 * Reads exact byte counts from a stream of unknown length. The caller pulls one part at
 * a time, so only what it holds on to stays in memory.
 */
export class ExactReader {
  private readonly it: AsyncIterator<Buffer | string>;
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private done = false;
  /** Bytes handed out so far. */
  consumed = 0;
  /** SHA1 of everything handed out, in order (the whole stream's, once it ends). */
  readonly hash = createHash('sha1');

  constructor(stream: Readable) {
    this.it = stream[Symbol.asyncIterator]();
  }

  /** Makes at least n bytes available (fewer only at the end of the stream); answers how many are. */
  async fill(n: number): Promise<number> {
    while (this.pendingBytes < n && !this.done) {
      const next = await this.it.next();
      if (next.done) {
        this.done = true;
        break;
      }
      const chunk = typeof next.value === 'string' ? Buffer.from(next.value) : next.value;
      if (chunk.length === 0) continue;
      this.pending.push(chunk);
      this.pendingBytes += chunk.length;
    }
    return Math.min(n, this.pendingBytes);
  }

  /** Up to n bytes, as chunks; empty at the end. */
  async take(n: number): Promise<Buffer[]> {
    await this.fill(n);
    const out: Buffer[] = [];
    let want = n;
    while (want > 0 && this.pending.length > 0) {
      const head = this.pending[0];
      if (head.length <= want) {
        out.push(head);
        this.pending.shift();
        want -= head.length;
      } else {
        out.push(head.subarray(0, want));
        this.pending[0] = head.subarray(want);
        want = 0;
      }
    }
    for (const c of out) this.hash.update(c);
    const got = n - want;
    this.pendingBytes -= got;
    this.consumed += got;
    return out;
  }
}

/**
 * Stream parts: each is read into memory when the uploader asks for it. The uploader
 * asks only when a worker is free, so at most concurrency + 1 parts are held.
 * A declared size is enforced: a stream that ends early or runs long fails clearly.
 */
export async function* streamParts(reader: ExactReader, plan: PartPlan, declaredSize?: number): AsyncGenerator<PartSource> {
  for (let n = 1; ; n++) {
    if (plan.partCount !== undefined && n > plan.partCount) break;
    const offset = reader.consumed;
    const chunks = await reader.take(plan.sizeOf(n));
    const part = chunkPart(n, offset, chunks);
    if (part.length === 0 && n > 1) break;
    yield part;
    if (part.length < plan.sizeOf(n)) break;
  }
  if (declaredSize !== undefined) {
    const extra = await reader.fill(1);
    if (reader.consumed !== declaredSize || extra > 0) {
      throw new BackupError('bad_input', `the stream was declared as ${declaredSize} bytes but ${extra > 0 ? 'is longer' : `has ${reader.consumed}`}; pass the right size or none`);
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
