import {createHash, type Hash} from 'node:crypto';
import {open, stat} from 'node:fs/promises';
import {BackupError, throwIfAborted} from './errors.js';
import {quoteValue} from './redact.js';

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
  signal?: AbortSignal;
  /** Bytes hashed so far, after each read. */
  onBytes?: (loaded: number) => void;
}

const READ_SIZE = 1024 * 1024;

/**
 * SHA1 and size of a file, read once from start to end, and with `pieceLength` the SHA1
 * of each piece in that same read (the catalog's checksum, a large upload's
 * large_file_sha1 and its parts' SHA1s all come from here, so a file is hashed once).
 * Reads into two reused buffers, the next read running while the last one is hashed.
 */
export async function digestFile(path: string, opts: DigestOptions = {}): Promise<FileDigest> {
  const whole = createHash('sha1');
  const pieces: string[] = [];
  let piece: Hash | undefined;
  let pieceLeft = 0;
  let size = 0;
  const fh = await open(path, 'r').catch((err: unknown) => {
    throw unreadable(path, err);
  });
  let reading: Promise<{bytesRead: number}> | undefined;
  try {
    const st = await fh.stat();
    const buffers = [Buffer.allocUnsafe(READ_SIZE), Buffer.allocUnsafe(READ_SIZE)];
    let turn = 0;
    reading = fh.read(buffers[turn], 0, READ_SIZE, null);
    for (;;) {
      const {bytesRead} = await reading;
      throwIfAborted(opts.signal);
      if (bytesRead === 0) break;
      const chunk = buffers[turn].subarray(0, bytesRead);
      turn ^= 1;
      reading = fh.read(buffers[turn], 0, READ_SIZE, null);
      whole.update(chunk);
      if (opts.pieceLength) {
        for (let at = 0; at < chunk.length; ) {
          if (!piece) {
            piece = createHash('sha1');
            pieceLeft = opts.pieceLength(pieces.length + 1);
          }
          const n = Math.min(pieceLeft, chunk.length - at);
          piece.update(chunk.subarray(at, at + n));
          at += n;
          pieceLeft -= n;
          if (pieceLeft === 0) {
            pieces.push(piece.digest('hex'));
            piece = undefined;
          }
        }
      }
      size += bytesRead;
      opts.onBytes?.(size);
    }
    if (piece) pieces.push(piece.digest('hex'));
    return {sha1: whole.digest('hex'), size, mtimeMs: st.mtimeMs, pieceSha1s: pieces};
  } catch (err) {
    throwIfAborted(opts.signal);
    throw err instanceof BackupError ? err : unreadable(path, err);
  } finally {
    await reading?.catch(() => undefined); // a read still running when we stopped
    await fh.close().catch(() => undefined);
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
