import {Readable} from 'node:stream';
import type {ReadAt} from './tar-reader.js';

/**
 * Looks at the start of a stream without taking anything from it: bytes read through
 * `readAt` are kept, and `release()` puts them back in front of the rest (Readable#unshift),
 * so whoever consumes the stream afterwards sees every byte exactly once. At most
 * `maxBytes` are ever held; reading beyond answers as if the input ended there.
 */
export class StreamPeek {
  private readonly chunks: Buffer[] = [];
  private held = 0;
  private ended = false;
  private failure?: Error;
  private released = false;

  constructor(
    private readonly stream: Readable,
    private readonly maxBytes: number,
  ) {}

  readonly readAt: ReadAt = async (position, length) => {
    await this.fill(Math.min(position + length, this.maxBytes));
    const all = this.chunks.length === 1 ? this.chunks[0] : Buffer.concat(this.chunks);
    this.chunks.splice(0, this.chunks.length, all);
    return all.subarray(Math.min(position, all.length), Math.min(position + length, all.length, this.maxBytes));
  };

  /** The stream to consume from now on, starting with the bytes peeked at. */
  release(): Readable {
    if (this.released) throw new Error('StreamPeek released twice');
    this.released = true;
    const head = Buffer.concat(this.chunks);
    const failure = this.failure;
    if (failure) {
      // the source failed while we looked: hand the failure on after what it gave
      return Readable.from((async function* () {
        if (head.length > 0) yield head;
        throw failure;
      })());
    }
    if (head.length === 0) return this.stream;
    // after 'end' a stream takes nothing back: what was peeked is then all there is
    if (this.stream.readableEnded) return Readable.from([head]);
    this.stream.unshift(head);
    return this.stream;
  }

  private async fill(want: number): Promise<void> {
    while (this.held < want && !this.ended) {
      const chunk = this.stream.read() as Buffer | string | null;
      if (chunk !== null) {
        const buf = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
        this.chunks.push(buf);
        this.held += buf.length;
        continue;
      }
      if (this.stream.readableEnded || this.stream.destroyed) {
        this.ended = true;
        if (this.stream.errored) this.failure = this.stream.errored;
        break;
      }
      await this.nextEvent();
    }
  }

  /** Waits for more data, the end, or a failure (which ends the peek; release() passes it on). */
  private nextEvent(): Promise<void> {
    const s = this.stream;
    return new Promise((resolve) => {
      const done = () => {
        s.off('readable', done);
        s.off('end', onEnd);
        s.off('error', onError);
        s.off('close', onEnd);
        resolve();
      };
      const onEnd = () => {
        this.ended = true;
        done();
      };
      const onError = (err: Error) => {
        this.failure = err;
        onEnd();
      };
      s.on('readable', done);
      s.on('end', onEnd);
      s.on('error', onError);
      s.on('close', onEnd);
    });
  }
}
