import {createHash} from 'node:crypto';
import {Transform} from 'node:stream';
import {pipeline} from 'node:stream/promises';
import {setImmediate as nextTurn} from 'node:timers/promises';
import {badRequest} from './b2-error.js';
import {segmentStream} from './blob-store.js';
import {ConnectionLost, RequestContext} from './context.js';
import {EmulatorCore} from './core.js';
import {Segment} from './types.js';

export type Sha1Mode = {kind: 'hex'; expected: string} | {kind: 'hex_digits_at_end'} | {kind: 'do_not_verify'};

/** Marks a socket whose request went on past its Content-Length (set by the server's clientError handler). */
export const EXTRA_BYTES = Symbol('extraBytesAfterBody');

/** Reads the required Content-Length of an upload; chunked bodies are refused. */
export function uploadLength(ctx: RequestContext, max: number): number {
  const raw = ctx.header('content-length');
  if (raw === undefined || !/^\d+$/.test(raw)) {
    throw badRequest('Content-Length header is required (chunked transfer encoding is not supported)');
  }
  const length = Number(raw);
  if (length > max) throw badRequest(`Content-Length ${length} is more than the maximum of ${max} bytes`);
  return length;
}

export function sha1Mode(ctx: RequestContext): Sha1Mode {
  const raw = ctx.header('x-bz-content-sha1');
  if (raw === undefined || raw === '') throw badRequest('X-Bz-Content-Sha1 header is required');
  if (raw === 'hex_digits_at_end' || raw === 'do_not_verify') return {kind: raw};
  const hex = raw.startsWith('unverified:') ? raw.slice('unverified:'.length) : raw;
  if (!/^[0-9a-fA-F]{40}$/.test(hex)) throw badRequest('X-Bz-Content-Sha1 must be 40 hex digits, hex_digits_at_end or do_not_verify');
  return {kind: 'hex', expected: hex.toLowerCase()};
}

/**
 * Streams an upload body into a new blob while hashing it. With hex_digits_at_end the
 * last 40 bytes are the SHA1 and are not stored. The blob is committed only when the
 * body had exactly Content-Length bytes and its SHA1 matched.
 */
export async function receiveUploadBody(
  core: EmulatorCore,
  ctx: RequestContext,
  contentLength: number,
  mode: Sha1Mode,
): Promise<{ref: string; size: number; sha1: string}> {
  const trailerLength = mode.kind === 'hex_digits_at_end' ? 40 : 0;
  const dataLength = contentLength - trailerLength;
  if (dataLength < 0) throw badRequest('with hex_digits_at_end the body must be at least 40 bytes');
  const hash = createHash('sha1');
  const trailer: Buffer[] = [];
  let seen = 0;
  const splitter = new Transform({
    transform(chunk: Buffer, _enc, done) {
      const dataLeft = Math.max(0, dataLength - seen);
      seen += chunk.length;
      if (seen > contentLength) return done(badRequest('request body is longer than Content-Length'));
      const data = chunk.length > dataLeft ? chunk.subarray(0, dataLeft) : chunk;
      if (chunk.length > dataLeft) trailer.push(chunk.subarray(dataLeft));
      if (data.length > 0) {
        hash.update(data);
        this.push(data);
      }
      done();
    },
    flush(done) {
      done(seen < contentLength ? badRequest('request body is shorter than Content-Length') : undefined);
    },
  });
  const writer = await core.blobs.createWriter();
  try {
    await pipeline(ctx.body(), splitter, writer.stream);
  } catch (e) {
    await writer.abort();
    if (ctx.req.socket.destroyed || ctx.req.destroyed) throw new ConnectionLost('client went away during the upload');
    throw e;
  }
  // Bytes past Content-Length reach the HTTP parser as a broken next request; it flags the socket.
  await nextTurn();
  if ((ctx.req.socket as unknown as Record<symbol, boolean>)[EXTRA_BYTES]) {
    await writer.abort();
    throw badRequest('request body is longer than Content-Length');
  }
  const sha1 = hash.digest('hex');
  const expected = mode.kind === 'hex' ? mode.expected : mode.kind === 'hex_digits_at_end' ? Buffer.concat(trailer).toString('latin1').toLowerCase() : sha1;
  if (expected !== sha1) {
    await writer.abort();
    throw badRequest('Sha1 did not match data received');
  }
  const ref = await writer.commit();
  return {ref, size: dataLength, sha1};
}

/** Copies bytes start..end of stored segments into a new blob (b2_copy_file / b2_copy_part). */
export async function copyToBlob(core: EmulatorCore, segments: Segment[], start: number, end: number): Promise<{ref: string; size: number; sha1: string}> {
  const hash = createHash('sha1');
  let size = 0;
  const hasher = new Transform({
    transform(chunk: Buffer, _enc, done) {
      hash.update(chunk);
      size += chunk.length;
      done(null, chunk);
    },
  });
  const writer = await core.blobs.createWriter();
  try {
    await pipeline(segmentStream(core.blobs, segments, start, end), hasher, writer.stream);
  } catch (e) {
    await writer.abort();
    throw e;
  }
  return {ref: await writer.commit(), size, sha1: hash.digest('hex')};
}
