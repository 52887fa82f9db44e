import type {Readable} from 'node:stream';
import {BackupError} from '../errors.js';
import type {B2ErrorBody} from './wire-types.js';

/**
 * One failed wire attempt, normalised from whatever rejected (an axios error with B2's
 * JSON body, a socket error, a timeout, an abort, a local check). The retry policy
 * decides on it; errors.ts turns it into the user's BackupError. The rejected error
 * itself is not kept: an axios error holds the request's Authorization header.
 */
export interface Failure {
  /** HTTP status when the server answered. */
  status?: number;
  /** B2's error code, or one of: network, timeout, aborted, bad_answer, wrong_range (a download answered with other bytes than asked), local. */
  code: string;
  message: string;
  /** From a Retry-After header, in milliseconds. */
  retryAfterMs?: number;
  /** An already-classified error (thrown by our own checks) passes through unchanged. */
  error?: BackupError;
  /** No connection was made at all (refused, no such host, unreachable, connect timeout). */
  connect?: boolean;
  /** The connection was not made in time (packets dropped): the attempt already waited. */
  connectTimeout?: boolean;
}

/**
 * The request may have reached B2 and been carried out, but its answer never arrived
 * (the connection broke or timed out after it was made): what the call did is unknown.
 */
export function answerMayBeLost(f: Failure): boolean {
  return f.status === undefined && !f.connect && (f.code === 'network' || f.code === 'timeout');
}

/**
 * Watches a call's failed attempts (the retry policy's `refine` hook) for one whose answer
 * may have been lost: `seen()` then says the call may have been carried out more than once.
 */
export function lostAnswerWatch(): {refine: (f: Failure) => Promise<Failure>; seen: () => boolean} {
  let lost = false;
  return {
    refine: async (f) => ((lost ||= answerMayBeLost(f)), f),
    seen: () => lost,
  };
}

/** Errors of a connection that was not made in time. */
const CONNECT_TIMEOUT_CODES = new Set(['ERR_SOCKET_CONNECTION_TIMEOUT', 'ECONNECT_TIMEOUT']);
/** Errors of a connection that was never made. */
export const CONNECT_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'ENETDOWN', 'ERR_SOCKET_CONNECTION_TIMEOUT', 'ECONNECT_TIMEOUT']);
const NETWORK_CODES = new Set([...CONNECT_CODES, 'ECONNRESET', 'EPIPE', 'ERR_STREAM_PREMATURE_CLOSE', 'ECONNABORTED_BY_PEER', 'UND_ERR_SOCKET', 'ERR_BAD_RESPONSE']);

/** A retryable mismatch between what we sent and what the server says it received. */
export class WireMismatch extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WireMismatch';
  }
}

export async function toFailure(err: unknown): Promise<Failure> {
  // axios wraps errors of the request body stream (our own checks among them)
  const inner = (err as {cause?: unknown})?.cause;
  if (inner instanceof BackupError || inner instanceof WireMismatch) err = inner;
  if (err instanceof BackupError) return {code: err.kind === 'aborted' ? 'aborted' : 'local', message: err.message, error: err};
  if (err instanceof WireMismatch) return {code: 'bad_answer', message: err.message};
  const e = err as {isAxiosError?: boolean; onWire?: boolean; code?: string; message?: string; name?: string; response?: {status: number; data?: unknown; headers?: Record<string, unknown>}};
  if (e?.name === 'CanceledError' || e?.code === 'ERR_CANCELED' || e?.name === 'AbortError') return {code: 'aborted', message: 'aborted'};
  // headers arrived, then the body was cut (an error answer's too: its code never came): a broken connection, not an answer
  const cut = e?.code === 'ERR_BAD_RESPONSE' && /aborted/i.test(e.message ?? '');
  if (e?.response && (e.response.status < 400 || cut)) return {code: 'network', message: `${e.code ?? 'connection broken'} (${e.message ?? 'response cut off'})`};
  if (e?.response) {
    const body = await errorBody(e.response.data);
    return {
      status: e.response.status,
      code: body?.code ?? `http_${e.response.status}`,
      message: body?.message ?? `HTTP ${e.response.status}`,
      retryAfterMs: retryAfterMs(e.response.headers?.['retry-after']),
    };
  }
  if (e?.code === 'ETIMEDOUT' || e?.code === 'ECONNABORTED') return {code: 'timeout', message: e.message ?? 'timed out'};
  // only what went wrong on the wire: a file read's ENOENT or EIO is not the network
  // (onWire: an error of the uploads' own node:http sender, upload-request.ts)
  if (e?.isAxiosError || e?.onWire || (e?.code && NETWORK_CODES.has(e.code))) {
    return {code: 'network', message: `${e.code ?? 'network error'}${e.message && e.message !== e.code ? ` (${e.message})` : ''}`, ...(e.code && CONNECT_CODES.has(e.code) ? {connect: true} : {}), ...(e.code && CONNECT_TIMEOUT_CODES.has(e.code) ? {connectTimeout: true} : {})};
  }
  if (typeof err === 'string') return {code: 'local', message: err};
  return {code: 'local', message: `${e?.code ? `${e.code}: ` : ''}${e?.message ?? String(err)}`};
}

async function errorBody(data: unknown): Promise<Partial<B2ErrorBody> | undefined> {
  if (data && typeof (data as Readable).pipe === 'function') data = await readSmall(data as Readable);
  if (Buffer.isBuffer(data)) data = data.toString('utf8');
  if (typeof data === 'string') {
    try {
      data = JSON.parse(data);
    } catch {
      return undefined;
    }
  }
  if (data && typeof data === 'object' && typeof (data as B2ErrorBody).code === 'string') return data as B2ErrorBody;
  return undefined;
}

/** Error bodies are small; a stream that is not (or never ends) is cut off rather than awaited. */
async function readSmall(stream: Readable): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const c of stream) {
      chunks.push(Buffer.from(c));
      size += c.length;
      if (size > 64 * 1024) break;
    }
  } catch {
    // a broken error body still leaves the status to go on
  }
  stream.destroy();
  return Buffer.concat(chunks).toString('utf8');
}

function retryAfterMs(value: unknown): number | undefined {
  if (typeof value !== 'string' && typeof value !== 'number') return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
  const date = Date.parse(String(value));
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}
