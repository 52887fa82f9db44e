import {createHash, type Hash} from 'node:crypto';
import {open, stat} from 'node:fs/promises';
import {BackupError, throwIfAborted} from './errors.js';
import {quoteValue} from './redact.js';
import {Sha1Thread, sharedBuffer} from './sha1-thread.js';

/** A SHA1 as every layer writes it: 40 lowercase hex digits. */
export const SHA1_HEX = /^[0-9a-f]{40}$/;

export function sha1Of(data: Buffer): string {
  return createHash('sha1').update(data).digest('hex');
}

/** What one read of a file found: its SHA1 and size, and the SHA1 of each piece when asked for. */
export interface FileDigest {
  sha1: string;
  size: number;
  /** mtime when the read started (a later change of size or mtime means the digest is stale). */
  mtimeMs: number;
  /** SHA1 of each piece (pieceLength(1), pieceLength(2), …), in order; empty unless asked for. */
  pieceSha1s: string[];
}

export interface DigestOptions {
  /** Length of piece n (1-based): a large upload's parts, hashed in the same read as the whole. */
  pieceLength?: (n: number) => number;
  /**
   * With pieces: the whole file's SHA1 is computed on a second thread, over the very
   * buffers this thread hashes the pieces from, so both hashes run at once on two cores
   * (for large files: a thread costs some milliseconds to start).
   */
  parallel?: boolean;
  signal?: AbortSignal;
  /** Bytes hashed so far, after each read. */
  onBytes?: (loaded: number) => void;
}

const READ_SIZE = 1024 * 1024;
/** Larger reads when a thread hashes beside this one: fewer messages, fewer waits. */
const PARALLEL_READ_SIZE = 4 * 1024 * 1024;

/**
 * SHA1 and size of a file, read once from start to end, and with `pieceLength` the SHA1
 * of each piece in that same read (the catalog's checksum, a large upload's
 * large_file_sha1 and its parts' SHA1s all come from here, so a file is read once).
 * Reads into a ring of reused buffers, the next read running while the last one is
 * hashed; with `parallel`, the whole file is hashed on another thread meanwhile.
 */
export async function digestFile(path: string, opts: DigestOptions = {}): Promise<FileDigest> {
  const pieces = opts.pieceLength ? new PieceHashes(opts.pieceLength) : undefined;
  const fh = await open(path, 'r').catch((err: unknown) => {
    throw unreadable(path, err);
  });
  const whole = pieces && opts.parallel ? new ThreadedWhole() : new LocalWhole();
  let size = 0;
  let reading: Promise<{bytesRead: number}> | undefined;
  try {
    const st = await fh.stat();
    const readSize = whole instanceof ThreadedWhole ? PARALLEL_READ_SIZE : READ_SIZE;
    const ring = whole.buffers(readSize);
    let turn = 0;
    reading = fh.read(ring[turn], 0, readSize, null);
    for (;;) {
      const {bytesRead} = await reading;
      throwIfAborted(opts.signal);
      if (bytesRead === 0) break;
      const chunk = ring[turn].subarray(0, bytesRead);
      whole.update(turn, chunk);
      turn = (turn + 1) % ring.length;
      await whole.free(turn); // the other thread may still be reading that buffer
      reading = fh.read(ring[turn], 0, readSize, null);
      pieces?.update(chunk);
      size += bytesRead;
      opts.onBytes?.(size);
    }
    return {sha1: await whole.digest(), size, mtimeMs: st.mtimeMs, pieceSha1s: pieces?.end() ?? []};
  } catch (err) {
    throwIfAborted(opts.signal);
    throw err instanceof BackupError ? err : unreadable(path, err);
  } finally {
    await reading?.catch(() => undefined); // a read still running when we stopped
    await whole.close();
    await fh.close().catch(() => undefined);
  }
}

/** The whole file's SHA1 on this thread (two buffers: one read ahead). */
class LocalWhole {
  private readonly hash = createHash('sha1');
  buffers(size: number): Buffer[] {
    return [Buffer.allocUnsafe(size), Buffer.allocUnsafe(size)];
  }
  update(_slot: number, chunk: Buffer): void {
    this.hash.update(chunk);
  }
  async free(_slot: number): Promise<void> {}
  async digest(): Promise<string> {
    return this.hash.digest('hex');
  }
  async close(): Promise<void> {}
}

/** The whole file's SHA1 on another thread, over shared buffers (four, so that either thread may lag a little). */
class ThreadedWhole {
  private readonly thread = new Sha1Thread();
  private readonly busy: Array<Promise<void> | undefined> = [];
  buffers(size: number): Buffer[] {
    return Array.from({length: 4}, () => sharedBuffer(size));
  }
  update(slot: number, chunk: Buffer): void {
    const hashed = this.thread.update(chunk);
    hashed.catch(() => undefined); // its failure is met where it is awaited (free, digest)
    this.busy[slot] = hashed;
  }
  async free(slot: number): Promise<void> {
    await this.busy[slot];
  }
  digest(): Promise<string> {
    return this.thread.digest();
  }
  close(): Promise<void> {
    return this.thread.close();
  }
}

/** The SHA1 of each piece of a stream of chunks (piece n is length(n) bytes; the last may be short). */
class PieceHashes {
  private readonly done: string[] = [];
  private piece?: Hash;
  private left = 0;

  constructor(private readonly length: (n: number) => number) {}

  update(chunk: Buffer): void {
    for (let at = 0; at < chunk.length; ) {
      if (!this.piece) {
        this.piece = createHash('sha1');
        this.left = this.length(this.done.length + 1);
      }
      const n = Math.min(this.left, chunk.length - at);
      this.piece.update(chunk.subarray(at, at + n));
      at += n;
      this.left -= n;
      if (this.left === 0) {
        this.done.push(this.piece.digest('hex'));
        this.piece = undefined;
      }
    }
  }

  end(): string[] {
    if (this.piece) this.done.push(this.piece.digest('hex'));
    this.piece = undefined;
    return this.done;
  }
}

/** SHA1 and size of a file, read once from start to end. */
export async function sha1OfFile(path: string, signal?: AbortSignal): Promise<{sha1: string; size: number}> {
  const {sha1, size} = await digestFile(path, {signal});
  return {sha1, size};
}

function unreadable(path: string, err: unknown): BackupError {
  return new BackupError('bad_input', `cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, {cause: err});
}

/**
 * A hash taken from a file holds only while the file is unchanged: this fails when its
 * size or mtime now differ from what they were before it was hashed and read.
 */
export async function assertFileUnchanged(file: {path: string; size: number; mtimeMs: number}): Promise<void> {
  const now = await stat(file.path).catch(() => undefined);
  if (now?.size === file.size && now.mtimeMs === file.mtimeMs) return;
  throw new BackupError('checksum_mismatch', `${file.path} changed while it was being uploaded; nothing was stored, upload it again when it is no longer being written`);
}

/** A caller's SHA1 (PutOptions.sha1): absent, or 40 lowercase hex digits. */
export function checkedSha1Option(value: string | undefined, key: string): string | undefined {
  if (value === undefined || (typeof value === 'string' && SHA1_HEX.test(value))) return value;
  throw new BackupError('bad_input', `the sha1 given for ${quoteValue(key)} must be 40 lowercase hex digits, got ${quoteValue(value)}`);
}
