import {randomBytes} from 'node:crypto';
import {Readable, Writable} from 'node:stream';
import {Segment} from './types.js';

/** A blob being written: feed `stream`, then `commit()` (durable, visible) or `abort()`. */
export interface BlobWriter {
  stream: Writable;
  commit(): Promise<string>;
  abort(): Promise<void>;
}

/** Where file and part bytes live: memory for tests, a directory with --data-dir. */
export interface BlobStore {
  createWriter(): Promise<BlobWriter>;
  /** Bytes start..end inclusive of one blob. */
  read(ref: string, start: number, end: number): Readable;
  remove(ref: string): Promise<void>;
  /** Flips one byte in place (tests of checksum verification). */
  flipByte(ref: string, offset: number): Promise<void>;
  /** Removes blobs no record refers to (after a crash between a blob write and its record). */
  collectGarbage(live: Set<string>): Promise<void>;
}

export function newBlobRef(): string {
  return randomBytes(16).toString('hex');
}

export class MemoryBlobStore implements BlobStore {
  private readonly blobs = new Map<string, Buffer>();

  async createWriter(): Promise<BlobWriter> {
    const chunks: Buffer[] = [];
    const stream = new Writable({
      write(chunk: Buffer, _enc, done) {
        chunks.push(chunk);
        done();
      },
    });
    return {
      stream,
      commit: async () => {
        const ref = newBlobRef();
        this.blobs.set(ref, Buffer.concat(chunks));
        return ref;
      },
      abort: async () => {
        chunks.length = 0;
      },
    };
  }

  read(ref: string, start: number, end: number): Readable {
    const blob = this.blobs.get(ref);
    if (!blob) throw new Error(`blob ${ref} is missing`);
    return Readable.from([blob.subarray(start, end + 1)]);
  }

  async remove(ref: string): Promise<void> {
    this.blobs.delete(ref);
  }

  async flipByte(ref: string, offset: number): Promise<void> {
    const blob = this.blobs.get(ref);
    if (blob && blob.length > offset) blob[offset] ^= 0xff;
  }

  async collectGarbage(live: Set<string>): Promise<void> {
    for (const ref of this.blobs.keys()) if (!live.has(ref)) this.blobs.delete(ref);
  }
}

/** Bytes start..end (inclusive) of a file made of segments, read lazily one segment at a time. */
export function segmentStream(blobs: BlobStore, segments: Segment[], start: number, end: number): Readable {
  async function* chunks() {
    let offset = 0;
    for (const seg of segments) {
      const segStart = offset;
      const segEnd = offset + seg.size - 1;
      offset += seg.size;
      if (segEnd < start || segStart > end || seg.size === 0) continue;
      for await (const chunk of blobs.read(seg.ref, Math.max(start, segStart) - segStart, Math.min(end, segEnd) - segStart)) {
        yield chunk as Buffer;
      }
    }
  }
  return Readable.from(chunks(), {objectMode: false});
}
