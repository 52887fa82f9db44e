import {createReadStream} from 'node:fs';
import {open, readdir, rename, rm, unlink} from 'node:fs/promises';
import {join} from 'node:path';
import {Readable} from 'node:stream';
import {makeDirs} from '../make-dirs.js';
import {BlobStore, BlobWriter, newBlobRef} from './blob-store.js';
import {syncDir} from './sync-dir.js';

/**
 * Blobs as files under `<dataDir>/blobs`. A blob is written to `tmp/`, fsynced and only
 * then renamed into place, so a crash never leaves a half-written blob visible; bytes
 * stream straight to and from disk and are never held whole in memory. `commit()`
 * resolves once the rename is durable too (blobs/ fsynced): only then may a journal entry
 * name the blob, or a power cut could keep the entry and lose the file.
 */
export class DiskBlobStore implements BlobStore {
  private readonly blobDir: string;
  private readonly tmpDir: string;

  constructor(private readonly dataDir: string) {
    this.blobDir = join(dataDir, 'blobs');
    this.tmpDir = join(dataDir, 'tmp');
  }

  async init(): Promise<void> {
    await rm(this.tmpDir, {recursive: true, force: true});
    await makeDirs(this.tmpDir);
    await makeDirs(this.blobDir);
    await syncDir(this.dataDir); // blobs/ itself must outlast a power cut before anything is put in it
  }

  async createWriter(): Promise<BlobWriter> {
    const ref = newBlobRef();
    const tmpPath = join(this.tmpDir, ref);
    const handle = await open(tmpPath, 'wx');
    const stream = handle.createWriteStream({autoClose: false, highWaterMark: 1024 * 1024});
    let closed = false;
    const close = async () => {
      if (closed) return;
      closed = true;
      // A FileHandle's close() waits until its streams release it, and a stream with
      // autoClose: false only does so when destroyed: without this, close() never settles.
      stream.destroy();
      await handle.close();
    };
    const abort = async () => {
      stream.destroy();
      await close().catch(() => undefined);
      await unlink(tmpPath).catch(() => undefined);
    };
    return {
      stream,
      commit: async () => {
        const blobPath = join(this.blobDir, ref);
        try {
          await handle.sync();
          await close();
          await rename(tmpPath, blobPath);
          await syncDir(this.blobDir); // blobs are flat in blobs/: the rename creates no directory
        } catch (err) {
          await abort(); // no caller aborts after a failed commit: the temp file would stay open and on disk
          await unlink(blobPath).catch(() => undefined); // renamed but maybe not durably: no record will name it
          throw err;
        }
        return ref;
      },
      abort,
    };
  }

  read(ref: string, start: number, end: number): Readable {
    if (end < start) return Readable.from([]);
    return createReadStream(join(this.blobDir, ref), {start, end, highWaterMark: 256 * 1024});
  }

  async remove(ref: string): Promise<void> {
    await unlink(join(this.blobDir, ref)).catch(() => undefined);
  }

  async flipByte(ref: string, offset: number): Promise<void> {
    const handle = await open(join(this.blobDir, ref), 'r+');
    try {
      const one = Buffer.alloc(1);
      const {bytesRead} = await handle.read(one, 0, 1, offset);
      if (bytesRead === 1) {
        one[0] ^= 0xff;
        await handle.write(one, 0, 1, offset);
        await handle.sync();
      }
    } finally {
      await handle.close();
    }
  }

  async collectGarbage(live: Set<string>): Promise<void> {
    for (const ref of await readdir(this.blobDir)) if (!live.has(ref)) await this.remove(ref);
  }
}
