import {createReadStream} from 'node:fs';
import {stat} from 'node:fs/promises';
import {Readable} from 'node:stream';
import type {Body} from './backend.js';
import {BackupError, abortError} from './errors.js';

/** A body classified once, so that each consumer branches on `kind` instead of re-testing types. */
export type BodySource =
  | {kind: 'buffer'; buffer: Buffer; size: number}
  | {kind: 'file'; path: string; size: number; mtimeMs: number}
  | {kind: 'stream'; stream: Readable; size?: number};

export async function describeBody(body: Body, size?: number): Promise<BodySource> {
  if (Buffer.isBuffer(body)) return {kind: 'buffer', buffer: body, size: body.length};
  if (body instanceof Readable) return {kind: 'stream', stream: body, size};
  if (body && typeof (body as {path?: unknown}).path === 'string') {
    const path = (body as {path: string}).path;
    try {
      const st = await stat(path);
      if (!st.isFile()) throw new BackupError('bad_input', `${path} is not a regular file`);
      return {kind: 'file', path, size: st.size, mtimeMs: st.mtimeMs};
    } catch (err) {
      if (err instanceof BackupError) throw err;
      throw new BackupError('bad_input', `cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, {cause: err});
    }
  }
  throw new BackupError('bad_input', 'body must be a Buffer, a Readable or {path}');
}

/** A fresh stream over the whole source (files and buffers can be opened again for retries). */
export function openSource(src: BodySource): Readable {
  switch (src.kind) {
    case 'buffer':
      return Readable.from([src.buffer]);
    case 'file':
      return createReadStream(src.path);
    case 'stream':
      return src.stream;
  }
}

/** Reads a whole stream into memory; for small objects and reference backends only. */
export async function readAll(stream: Readable, signal?: AbortSignal): Promise<Buffer> {
  const chunks: Buffer[] = [];
  const onAbort = () => stream.destroy(abortError(signal));
  signal?.addEventListener('abort', onAbort, {once: true});
  try {
    if (signal?.aborted) throw abortError(signal);
    for await (const chunk of stream) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk));
    return Buffer.concat(chunks);
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
}
