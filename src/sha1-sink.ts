import {createHash} from 'node:crypto';
import {availableParallelism} from 'node:os';
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
 * From this size a download's SHA1 may run on a second thread: on loopback or a fast LAN
 * hashing on the main thread is what limits a single stream (it reads, hashes and
 * writes on one core while another waits). Below it a thread's start-up is not worth it.
 */
export const OFF_THREAD_SHA1_FROM = 32 * 1024 * 1024;

/**
 * The thread only pays where a core is free for it: besides the main thread, the kernel's
 * network and disk work and whatever reads our stdout need one. On 2 cores it was as fast
 * as hashing inline and cost more (A/B, 1 GiB download to stdout: the copy into its shared
 * slabs and the messages took ~0.45 s of the main thread's CPU, where hashing itself takes
 * ~0.55 s; the thread's own 0.5 s came on top, and its slabs and buffers ~20 MiB of RSS).
 */
export const OFF_THREAD_SHA1_MIN_CORES = 3;

/**
 * A download written to a file is hashed by a thread that reads the written bytes back
 * itself (Sha1Thread.updateFromFile): this thread only receives and writes, and no byte is
 * copied between threads. Unlike a stream's hashing (OffThreadSha1), that pays from two
 * cores: 1 GiB, 4 ranges, 2 cores, against the emulator, 1.60 s against 1.95 s for
 * hashing here (medians of 6 alternating runs), at ~10 MiB more peak RSS (the thread).
 */
export const FILE_HASH_THREAD_MIN_CORES = 2;

/** Whether a download of `size` bytes to a file is hashed by a thread reading the file (FILE_HASH_THREAD_MIN_CORES). */
export function fileHashThreadPays(size: number, cores = availableParallelism()): boolean {
  return size >= OFF_THREAD_SHA1_FROM && cores >= FILE_HASH_THREAD_MIN_CORES;
}

/** Whether a machine with `cores` cores has one free for a hashing thread (OFF_THREAD_SHA1_MIN_CORES). */
export function hashThreadPays(cores = availableParallelism()): boolean {
  return cores >= OFF_THREAD_SHA1_MIN_CORES;
}

/**
 * A thread from OFF_THREAD_SHA1_FROM bytes on a machine with OFF_THREAD_SHA1_MIN_CORES
 * cores or more, unless the caller knows hashing cannot be what limits it (`mayUseThread` false).
 */
export function sha1Sink(size: number, mayUseThread = true, cores = availableParallelism()): Sha1Sink {
  return mayUseThread && size >= OFF_THREAD_SHA1_FROM && hashThreadPays(cores) ? new OffThreadSha1() : new InlineSha1();
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
