import {describe, test, expect, beforeAll, afterAll} from '@jest/globals';
import {randomBytes} from 'node:crypto';
import {mkdtemp, open, readFile, rm} from 'node:fs/promises';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {WRITE_BATCH_BYTES, flushBehind, writeAll, writeInBatches} from '../../src/batched-writes.js';

// Downloads write in large batches instead of one write per network chunk; into real files.

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'batched-'));
});
afterAll(async () => {
  await rm(dir, {recursive: true, force: true});
});

const CHUNK = 64 * 1024;
const data = randomBytes(3 * WRITE_BATCH_BYTES + 12_345);
async function* chunks(onEnd?: () => void): AsyncGenerator<Buffer> {
  try {
    for (let at = 0; at < data.length; at += CHUNK) yield data.subarray(at, at + CHUNK);
  } finally {
    onEnd?.();
  }
}

describe('writeInBatches', () => {
  test('network-sized chunks become a few large writes, in order, one in flight at a time', async () => {
    const path = join(dir, 'out');
    const fh = await open(path, 'w');
    const sizes: number[] = [];
    let inFlight = 0;
    let maxInFlight = 0;
    try {
      await writeInBatches(chunks(), async (bufs) => {
        inFlight++;
        maxInFlight = Math.max(maxInFlight, inFlight);
        sizes.push(bufs.reduce((n, b) => n + b.length, 0));
        await writeAll(fh, bufs);
        inFlight--;
      });
    } finally {
      await fh.close();
    }
    expect((await readFile(path)).equals(data)).toBe(true);
    expect(sizes).toEqual([WRITE_BATCH_BYTES, WRITE_BATCH_BYTES, WRITE_BATCH_BYTES, 12_345]);
    expect(maxInFlight).toBe(1);
  });

  test('writeAll at a position writes there, leaving the rest of the file alone', async () => {
    const path = join(dir, 'positional');
    const fh = await open(path, 'w+');
    try {
      await writeAll(fh, [Buffer.from('bbbb')], 4);
      await writeAll(fh, [Buffer.from('aa'), Buffer.from('aa')], 0);
    } finally {
      await fh.close();
    }
    expect((await readFile(path)).toString()).toBe('aaaabbbb');
  });

  test('a failing write fails the copy and closes the source; no write runs after it returns', async () => {
    let sourceClosed = false;
    let writes = 0;
    let running = 0;
    const err = await writeInBatches(chunks(() => (sourceClosed = true)), async () => {
      running++;
      await new Promise((resolve) => setTimeout(resolve, 5));
      running--;
      if (++writes === 2) throw Object.assign(new Error('disk full'), {code: 'ENOSPC'});
    }).catch((e: Error) => e);
    expect((err as Error).message).toBe('disk full');
    expect(sourceClosed).toBe(true);
    expect(running).toBe(0);
  });
});

describe('flushBehind', () => {
  test('a file is datasynced behind its writes every `every` bytes, not only at the end; settle waits for it and stops it', async () => {
    const fh = await open(join(dir, 'behind'), 'w');
    const events: string[] = [];
    const datasync = fh.datasync.bind(fh);
    fh.datasync = async () => {
      events.push('datasync started');
      await datasync();
      events.push('datasync done');
    };
    try {
      const flushing = flushBehind(fh, WRITE_BATCH_BYTES);
      await writeInBatches(chunks(), async (bufs) => {
        await writeAll(fh, bufs);
        events.push('write');
      });
      await flushing.settle();
      expect(events.at(-1)).not.toBe('datasync started'); // none left running
      const started = events.filter((e) => e === 'datasync started').length;
      expect(started).toBeGreaterThanOrEqual(1);
      expect(events.indexOf('datasync started')).toBeLessThan(events.lastIndexOf('write')); // during the writing
      await writeAll(fh, [data]);
      expect(events.filter((e) => e === 'datasync started').length).toBe(started); // settled: no more
    } finally {
      await fh.close();
    }
    expect((await readFile(join(dir, 'behind'))).subarray(0, data.length).equals(data)).toBe(true);
  });

  test('writes below `every` bytes cost no datasync', async () => {
    const fh = await open(join(dir, 'small'), 'w');
    let syncs = 0;
    fh.datasync = async () => void syncs++;
    try {
      const flushing = flushBehind(fh, data.length + 1);
      await writeAll(fh, [data]);
      await flushing.settle();
    } finally {
      await fh.close();
    }
    expect(syncs).toBe(0);
  });

  test('a failed datasync fails settle (the file is not reported written)', async () => {
    const fh = await open(join(dir, 'failing'), 'w');
    fh.datasync = async () => {
      throw Object.assign(new Error('I/O error'), {code: 'EIO'});
    };
    try {
      const flushing = flushBehind(fh, WRITE_BATCH_BYTES);
      await writeAll(fh, [data]);
      await expect(flushing.settle()).rejects.toThrow('I/O error');
    } finally {
      await fh.close();
    }
  });
});
