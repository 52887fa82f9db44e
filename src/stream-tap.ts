import {Transform, type TransformCallback} from 'node:stream';
import type {ReadAt} from './tar-reader.js';

/**
 * Lets a reader look at a stream while it passes through to its consumer (an upload),
 * for a reader that asks for positions in increasing order (tarEntries reads headers one
 * after the other and skips members' data). Each chunk is passed on once the reader has
 * taken what it wanted from it, and only bytes it may still ask for are held: at most its
 * current request and one chunk, never the members it skips. Once the reader is done
 * (`readerDone`) the tap is a plain pass-through; when the stream ends or fails, a read
 * gets what there was (short, as at the end of a file). `check`, when given, is asked once
 * the input has ended (the reader then gets its last answers): it rejecting fails the
 * stream instead of ending it, so that a consumer never takes the input for complete.
 */
export class StreamTap extends Transform {
  /** Bytes held, from position `start`; `seen` is the position after the last byte seen. */
  private held: Buffer[] = [];
  private start = 0;
  private seen = 0;
  private request?: {position: number; length: number; resolve: (data: Buffer) => void};
  /** The transform waiting for the reader's next request (or its end). */
  private wake?: () => void;
  private readerFinished = false;
  private inputOver = false;

  constructor(private readonly check?: () => Promise<void>) {
    super();
  }

  readonly readAt: ReadAt = (position, length) => {
    if (length <= 0) return Promise.resolve(Buffer.alloc(0));
    return new Promise((resolve) => {
      this.request = {position, length, resolve};
      if (this.inputOver) this.serve();
      this.nudge();
    });
  };

  /** Bytes held now (for tests: it stays near one request plus one chunk). */
  get holding(): number {
    return this.held.reduce((sum, b) => sum + b.length, 0);
  }

  /** The reader has what it wanted (or gave up): pass everything on untouched from now on. */
  readerDone(): void {
    this.readerFinished = true;
    this.held = [];
    this.nudge();
  }

  override async _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): Promise<void> {
    this.seen += chunk.length;
    if (!this.readerFinished) {
      this.held.push(chunk);
      // serve the reader from this chunk for as long as it asks for bytes the chunk has
      while (!this.readerFinished) {
        if (!this.request) {
          await new Promise<void>((resolve) => (this.wake = resolve));
          continue;
        }
        this.trim(this.request.position);
        if (this.request.position + this.request.length > this.seen) break; // it needs the next chunk
        this.serve();
      }
    }
    callback(null, chunk);
  }

  /** Bytes that have passed so far: once the input has ended, its length. */
  get bytesSeen(): number {
    return this.seen;
  }

  override _flush(callback: TransformCallback): void {
    this.close();
    if (!this.check) return callback();
    this.check().then(() => callback(), (err: Error) => callback(err));
  }

  override _destroy(err: Error | null, callback: (error?: Error | null) => void): void {
    this.close();
    callback(err);
  }

  private close(): void {
    this.inputOver = true;
    this.serve();
    this.nudge();
  }

  private nudge(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }

  /** Answers the request with the bytes held for it (fewer at the end of the stream). */
  private serve(): void {
    const r = this.request;
    if (!r) return;
    this.request = undefined;
    this.trim(r.position);
    const all = this.held.length === 1 ? this.held[0] : Buffer.concat(this.held);
    this.held = all.length > 0 ? [all] : [];
    const from = Math.max(0, r.position - this.start);
    r.resolve(all.subarray(from, from + r.length));
  }

  /** Drops what lies before `position`: the reader never asks for it again. */
  private trim(position: number): void {
    while (this.held.length > 0 && this.start + this.held[0].length <= position) {
      this.start += this.held[0].length;
      this.held.shift();
    }
    if (this.held.length > 0 && this.start < position) {
      this.held[0] = this.held[0].subarray(position - this.start);
      this.start = position;
    }
    if (this.held.length === 0) this.start = Math.max(this.start, Math.min(position, this.seen));
  }
}
