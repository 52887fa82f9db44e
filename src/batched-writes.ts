import type {FileHandle} from 'node:fs/promises';

/**
 * Large writes for downloads: a network stream arrives in chunks of ~64 KiB, and one write
 * (a thread-pool round trip, a syscall) per chunk costs more than the copy itself. Chunks
 * are gathered into batches of this size and written with one writev.
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
 * Feeds `source` to `write` in batches of WRITE_BATCH_BYTES, one write in flight while the
 * next batch fills: memory stays at two batches, and the writer never waits for a read
 * nor the reader for a write unless one side is slower.
 */
export async function writeInBatches(source: AsyncIterable<Buffer>, write: (bufs: Buffer[]) => Promise<void>): Promise<void> {
  let batch: Buffer[] = [];
  let size = 0;
  let writing: Promise<void> | undefined;
  try {
    for await (const chunk of source) {
      batch.push(chunk);
      size += chunk.length;
      if (size < WRITE_BATCH_BYTES) continue;
      await writing;
      writing = write(batch);
      writing.catch(() => undefined); // awaited before the next write or at the end
      batch = [];
      size = 0;
    }
    await writing;
    if (batch.length) await write(batch);
  } finally {
    await writing?.catch(() => undefined); // never leave a write running on a handle the caller closes
  }
}
