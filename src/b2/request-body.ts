import {createHash} from 'node:crypto';
import {createReadStream} from 'node:fs';
import {open} from 'node:fs/promises';
import type {ClientRequest} from 'node:http';
import {Readable} from 'node:stream';
import type {TokenBucket} from '../token-bucket.js';
import {BackupError} from '../errors.js';

/** SHA1 as hex is 40 bytes appended to the body when sent with hex_digits_at_end. */
export const HEX_SHA1_LENGTH = 40;
export const HEX_DIGITS_AT_END = 'hex_digits_at_end';

/**
 * Where an upload's bytes are, read by the sender itself (no stream in between). `whole`:
 * the file is the whole upload, so a file longer than planned fails too (it grew).
 */
export type BodyData =
  | {kind: 'file'; path: string; offset: number; length: number; whole?: boolean}
  | {kind: 'memory'; chunks: Buffer[]; length: number};

/** Bytes read from a file at a time, and how many such reads the socket may hold at once. */
const READ_BYTES = 1024 * 1024;
const IN_FLIGHT = 3;

export interface BodyWriteOptions {
  /** Known beforehand (sent as X-Bz-Content-Sha1); else the bytes are hashed as they go and the SHA1 trails them (hex_digits_at_end). */
  sha1?: string;
  /**
   * Without `sha1`: the SHA1 a caller gave for a file read from disk. A trailing SHA1 that
   * differs fails the request before it is sent, so nothing is stored and the attempt is
   * not retried (the same file would fail the same way; B2 refusing a header would be retried).
   */
  expect?: {sha1: string; source: string};
  /** Bytes the socket has taken, after each write. */
  onBytes(n: number): void;
  /** Bandwidth limit shared by every transfer. */
  bucket?: TokenBucket;
  signal?: AbortSignal;
}

/**
 * Writes `data` as the request's body and ends it; answers the SHA1 of what was written.
 * A file is read in place into a few reused buffers, each read again only once the socket
 * has taken it (the write's callback), and parts in memory are written as slices of their
 * own buffers: nothing is allocated per chunk, so a large upload leaves no garbage that
 * would make the collector run (with streams, a fresh buffer per read, which cost a full
 * collection every few tens of MiB). A file shorter than planned fails the request rather
 * than send something else than was promised.
 */
export async function writeBody(req: ClientRequest, data: BodyData, o: BodyWriteOptions): Promise<string> {
  const hash = o.sha1 ? undefined : createHash('sha1');
  const writes: Array<Promise<void> | undefined> = [];
  let slot = 0;
  /** Hands one chunk to the socket; settles once the socket is done with it. */
  const send = async (chunk: Buffer): Promise<void> => {
    await writes[slot]; // the buffer (or window place) the socket held IN_FLIGHT chunks ago
    hash?.update(chunk);
    const step = o.bucket ? o.bucket.slice : chunk.length;
    let last: Promise<void> = Promise.resolve();
    for (let at = 0; at < chunk.length; at += step) {
      const slice = chunk.subarray(at, at + step);
      if (o.bucket) await o.bucket.take(slice.length, o.signal);
      last = written(req, slice).then(() => o.onBytes(slice.length));
      last.catch(() => undefined); // met where it is awaited
    }
    writes[slot] = last;
    slot = (slot + 1) % IN_FLIGHT;
  };
  if (data.kind === 'file') await sendFile(data, send, () => writes[slot]);
  else for (const c of data.chunks) for (let at = 0; at < c.length; at += READ_BYTES) await send(c.subarray(at, at + READ_BYTES));
  await Promise.all(writes);
  const digest = o.sha1 ?? (hash as ReturnType<typeof createHash>).digest('hex');
  if (o.expect && digest !== o.expect.sha1) {
    throw new BackupError('checksum_mismatch', `${o.expect.source} has SHA1 ${digest}, not the ${o.expect.sha1} it was given with: it changed after it was hashed; nothing was stored, upload it again when it is no longer being written`);
  }
  if (o.sha1) req.end();
  else req.end(Buffer.from(digest, 'ascii'));
  return digest;
}

async function sendFile(data: Extract<BodyData, {kind: 'file'}>, send: (chunk: Buffer) => Promise<void>, nextFree: () => Promise<void> | undefined): Promise<void> {
  const fh = await open(data.path, 'r').catch((err: unknown) => {
    throw readError(err, data.path);
  });
  try {
    const ring = Array.from({length: IN_FLIGHT}, () => Buffer.allocUnsafeSlow(Math.max(1, Math.min(READ_BYTES, data.length))));
    for (let at = 0, turn = 0; at < data.length; turn = (turn + 1) % IN_FLIGHT) {
      await nextFree(); // the socket is done with ring[turn]
      const want = Math.min(ring[turn].length, data.length - at);
      const {bytesRead} = await fh.read(ring[turn], 0, want, data.offset + at).catch((err: unknown) => {
        throw readError(err, data.path);
      });
      if (bytesRead === 0) throw changed(data.length, at);
      await send(ring[turn].subarray(0, bytesRead));
      at += bytesRead;
    }
    if (data.whole && (await fh.read(Buffer.alloc(1), 0, 1, data.offset + data.length)).bytesRead > 0) throw changed(data.length, data.length + 1);
  } finally {
    await fh.close().catch(() => undefined);
  }
}

export function changed(expected: number, seen: number): BackupError {
  return new BackupError('checksum_mismatch', `the source changed during upload: expected ${expected} bytes, read ${seen}${seen > expected ? ' or more' : ''}; nothing was stored, upload it again when it is no longer being written`);
}

/** A local read that failed mid-upload (the file deleted, unreadable, a disk error): said as such, at once. */
export function readError(err: unknown, path?: unknown): BackupError {
  const e = err as NodeJS.ErrnoException;
  const what = e?.path ?? (typeof path === 'string' ? path : 'the source');
  const why = e?.code === 'ENOENT' ? 'ENOENT (it was deleted or moved)' : e?.code ?? e?.message ?? String(err);
  return new BackupError('failure', `cannot read ${what} while uploading it: ${why}; nothing was stored`, {cause: {code: e?.code ?? 'local', message: e?.message ?? String(err)}});
}

function written(req: ClientRequest, chunk: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    req.write(chunk, (err) => (err ? reject(err) : resolve()));
  });
}

/** The same bytes as a stream (hashing a part again, tests). */
export function openData(data: BodyData): Readable {
  if (data.kind === 'file') return createReadStream(data.path, {start: data.offset, end: data.offset + data.length - 1, highWaterMark: READ_BYTES});
  const slices: Buffer[] = [];
  for (const c of data.chunks) for (let at = 0; at < c.length; at += READ_BYTES) slices.push(c.subarray(at, at + READ_BYTES));
  return Readable.from(slices, {objectMode: false});
}
