import type {FileHandle} from 'node:fs/promises';

/**
 * Large writes for downloads: a network stream arrives in chunks of ~64 KiB, and one write
 * (a thread-pool round trip, a syscall) per chunk costs more than the copy itself. Chunks
 * are copied into batches of this size and written with one write.
 */
export const WRITE_BATCH_BYTES = 1024 * 1024;

/** All of `bufs` at `position` (or at the handle's current offset), however many writev calls that takes. */
export async function writeAll(fh: FileHandle, bufs: Buffer[], position?: number): Promise<void> {
  let left = bufs;
  let at = position;
  while (left.length) {
    const {bytesWritten} = await fh.writev(left, at);
    if (bytesWritten <= 0) throw Object.assign(new Error('write made no progress'), {code: 'EIO'});
    if (at !== undefined) at += bytesWritten;
    left = dropBytes(left, bytesWritten);
  }
}

function dropBytes(bufs: Buffer[], n: number): Buffer[] {
  let i = 0;
  while (i < bufs.length && n >= bufs[i].length) n -= bufs[i++].length;
  const rest = bufs.slice(i);
  if (n > 0) rest[0] = rest[0].subarray(n);
  return rest;
}

/**
 * Feeds `source` to `write` in batches of `batchBytes`, one write in flight while the next
 * batch fills. Each chunk is copied, as it arrives, into one of two buffers allocated once
 * and reused (memory: two batches): a network chunk that waited in a batch list for its
 * write would outlive a young-generation GC, be promoted, and cost a full GC per few dozen
 * MiB (and that much resident garbage) to free; copied at once it dies young, which is
 * far cheaper than the copy. `write` must be done with its buffers when it settles: they
 * are filled again afterwards.
 */
export async function writeInBatches(source: AsyncIterable<Buffer>, write: (bufs: Buffer[]) => Promise<void>, batchBytes = WRITE_BATCH_BYTES): Promise<void> {
  const buffers = [Buffer.allocUnsafe(batchBytes), Buffer.allocUnsafe(batchBytes)];
  let turn = 0;
  let fill = 0;
  let writing: Promise<void> | undefined;
  // waits for the write in flight (whose buffer is the other one), then writes the full one
  const flush = async () => {
    await writing;
    writing = write([buffers[turn].subarray(0, fill)]);
    writing.catch(() => undefined); // awaited before the next write or at the end
    turn ^= 1;
    fill = 0;
  };
  try {
    for await (const chunk of source) {
      for (let at = 0; at < chunk.length; ) {
        const n = chunk.copy(buffers[turn], fill, at);
        at += n;
        fill += n;
        if (fill === batchBytes) await flush();
      }
    }
    if (fill > 0) await flush();
    await writing;
  } finally {
    await writing?.catch(() => undefined); // never leave a write running on a handle the caller closes
  }
}
