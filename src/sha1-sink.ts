import {createHash} from 'node:crypto';
import {Sha1Thread, sharedBuffer} from './sha1-thread.js';

/**
 * The SHA1 of bytes given in order. `update` settles once the caller may reuse its
 * buffer; calls are hashed in the order they are made, even without awaiting each.
 */
export interface Sha1Sink {
  update(data: Buffer): Promise<void> | void;
  digest(): Promise<string>;
  /** Releases the thread, if any (after a failure; digest releases it too). */
  close(): void;
}

/**
 * From this size a download's SHA1 runs on a second thread: on loopback or a fast LAN
 * hashing on the main thread is what limits a single stream (it reads, hashes and
 * writes on one core while the other waits). Below it a thread's start-up is not worth it.
 */
export const OFF_THREAD_SHA1_FROM = 32 * 1024 * 1024;

/** A thread from OFF_THREAD_SHA1_FROM bytes, unless the caller knows hashing cannot be what limits it (`mayUseThread` false). */
export function sha1Sink(size: number, mayUseThread = true): Sha1Sink {
  return mayUseThread && size >= OFF_THREAD_SHA1_FROM ? new OffThreadSha1() : new InlineSha1();
}

class InlineSha1 implements Sha1Sink {
  private readonly hash = createHash('sha1');
  update(data: Buffer): void {
    this.hash.update(data);
  }
  async digest(): Promise<string> {
    return this.hash.digest('hex');
  }
  close(): void {}
}

const SLAB_BYTES = 2 * 1024 * 1024;
const SLABS = 4;

/**
 * Bytes are copied (a memcpy, far cheaper than SHA1) into a few shared slabs that a
 * Sha1Thread hashes while this thread goes on receiving and writing; memory stays at
 * SLABS × SLAB_BYTES, and a slab is refilled only once the thread is done with it.
 */
export class OffThreadSha1 implements Sha1Sink {
  private readonly thread = new Sha1Thread();
  private readonly slabs = Array.from({length: SLABS}, () => ({buf: sharedBuffer(SLAB_BYTES), hashed: Promise.resolve()}));
  private current = 0;
  private fill = 0;
  private tail: Promise<void> = Promise.resolve();

  update(data: Buffer): Promise<void> {
    this.tail = this.tail.then(() => this.copyIn(data));
    return this.tail;
  }

  async digest(): Promise<string> {
    try {
      await this.tail;
      if (this.fill > 0) this.send();
      return await this.thread.digest();
    } finally {
      this.close();
    }
  }

  close(): void {
    this.thread.close().catch(() => undefined);
  }

  private async copyIn(data: Buffer): Promise<void> {
    for (let at = 0; at < data.length; ) {
      const slab = this.slabs[this.current];
      if (this.fill === 0) await slab.hashed;
      const n = data.copy(slab.buf, this.fill, at);
      at += n;
      this.fill += n;
      if (this.fill === SLAB_BYTES) this.send();
    }
  }

  private send(): void {
    const slab = this.slabs[this.current];
    slab.hashed = this.thread.update(slab.buf.subarray(0, this.fill));
    slab.hashed.catch(() => undefined); // a failed thread fails the next update or the digest
    this.current = (this.current + 1) % SLABS;
    this.fill = 0;
  }
}
