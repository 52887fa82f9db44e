import {writev} from 'node:fs';
import type {FileHandle} from 'node:fs/promises';

/**
 * Large writes for downloads: a network stream arrives in chunks of ~64 KiB, and one write
 * (a thread-pool round trip, a syscall) per chunk costs more than the copy itself. Chunks
 * are gathered into batches of this size and written with one writev.
 */
export const WRITE_BATCH_BYTES = 1024 * 1024;

/**
 * All of `bufs` at `position` (or at the current offset), however many writev calls that
 * takes, into a file handle or a plain descriptor (stdout).
 */
export async function writeAll(fh: FileHandle | number, bufs: Buffer[], position?: number): Promise<void> {
  let left = bufs;
  let at = position;
  while (left.length) {
    const {bytesWritten} = typeof fh === 'number' ? await writevFd(fh, left, at) : await fh.writev(left, at);
    if (bytesWritten <= 0) throw Object.assign(new Error('write made no progress'), {code: 'EIO'});
    if (typeof fh !== 'number') behind.get(fh)?.wrote(bytesWritten);
    if (at !== undefined) at += bytesWritten;
    left = dropBytes(left, bytesWritten);
  }
}

/** Bytes written between two datasyncs started behind the writes (see flushBehind). */
export const FLUSH_BEHIND_BYTES = 64 * 1024 * 1024;

const behind = new WeakMap<FileHandle, FlushBehind>();

/**
 * Flushes what writeAll writes to `fh` while the writing goes on, for a file that is
 * fsynced once complete (an atomic write). The kernel keeps written pages dirty until
 * they are a tenth of memory, so the final fsync of a large download wrote all of it
 * then, after the transfer (1 GiB: ~0.35 s of a 2.4 s download here); a datasync every
 * `every` bytes writes it to disk beside the transfer, and the final fsync finds only the
 * tail. `settle` waits for the datasync in flight (before the final fsync, and before
 * closing) and rethrows its failure.
 */
export function flushBehind(fh: FileHandle, every = FLUSH_BEHIND_BYTES): {settle(): Promise<void>} {
  const flusher = new FlushBehind(fh, every);
  behind.set(fh, flusher);
  return {
    async settle() {
      behind.delete(fh);
      await flusher.settle();
    },
  };
}

class FlushBehind {
  private unflushed = 0;
  private running?: Promise<void>;
  private failure?: unknown;

  constructor(
    private readonly fh: FileHandle,
    private readonly every: number,
  ) {}

  wrote(n: number): void {
    this.unflushed += n;
    if (this.unflushed < this.every || this.running) return;
    this.unflushed = 0;
    this.running = this.fh
      .datasync()
      .catch((err: unknown) => void (this.failure ??= err))
      .finally(() => (this.running = undefined));
  }

  async settle(): Promise<void> {
    await this.running;
    if (this.failure) throw this.failure;
  }
}

/** How long to wait before writing again to a descriptor that another process made non-blocking and that is full. */
const FULL_RETRY_MS = 2;

/** One writev on the thread pool; a full non-blocking descriptor (EAGAIN) is tried again shortly. */
function writevFd(fd: number, bufs: Buffer[], position?: number): Promise<{bytesWritten: number}> {
  return new Promise((resolve, reject) => {
    const attempt = () =>
      writev(fd, bufs, position ?? null, (err, bytesWritten) => {
        if (err?.code === 'EAGAIN') setTimeout(attempt, FULL_RETRY_MS);
        else if (err) reject(err);
        else resolve({bytesWritten});
      });
    attempt();
  });
}

function dropBytes(bufs: Buffer[], n: number): Buffer[] {
  let i = 0;
  while (i < bufs.length && n >= bufs[i].length) n -= bufs[i++].length;
  const rest = bufs.slice(i);
  if (n > 0) rest[0] = rest[0].subarray(n);
  return rest;
}

/**
 * Feeds `source` to `write` in batches of WRITE_BATCH_BYTES, one write in flight while the
 * next batch fills: memory stays at two batches, and the writer never waits for a read
 * nor the reader for a write unless one side is slower.
 */
export async function writeInBatches(source: AsyncIterable<Buffer>, write: (bufs: Buffer[]) => Promise<void>): Promise<void> {
  let batch: Buffer[] = [];
  let size = 0;
  let writing: Promise<void> | undefined;
  let failed: {err: unknown} | undefined;
  try {
    for await (const chunk of source) {
      // a failed write stops the reading at the next chunk, not a batch later
      if (failed) throw failed.err;
      batch.push(chunk);
      size += chunk.length;
      if (size < WRITE_BATCH_BYTES) continue;
      await writing;
      writing = write(batch);
      writing.catch((err: unknown) => void (failed ??= {err})); // and awaited before the next write or at the end
      batch = [];
      size = 0;
    }
    await writing;
    if (batch.length) await write(batch);
  } finally {
    await writing?.catch(() => undefined); // never leave a write running on a handle the caller closes
  }
}
