import {request as httpRequest, type ClientRequest, type IncomingMessage} from 'node:http';
import {request as httpsRequest} from 'node:https';
import {BackupError} from '../errors.js';
import type {Agents} from './connect-timeout.js';
import {WireMismatch} from './failure.js';

export interface UploadRequestOptions<B> {
  url: string;
  headers: Record<string, string>;
  agents: Agents;
  /** Idle timeout: no byte moving either way for this long fails the attempt. */
  timeoutMs: number;
  signal?: AbortSignal;
  /** Writes the body and ends the request (see writeBody); what it answers comes with the answer. */
  body: (req: ClientRequest) => Promise<B>;
}

/**
 * One upload POST on node:http, its JSON answer parsed. Uploads do not go through axios:
 * the sender writes the body itself, from reused buffers whose reuse waits for the
 * socket (axios takes a stream, so every chunk would be a fresh buffer). Failures are
 * shaped as the failure classification reads axios's (failure.ts): an answer >= 300 as
 * `response` {status, data, headers}, a broken or timed-out connection by its code,
 * an abort as `ERR_CANCELED`; our own errors (the source changed or cannot be read)
 * pass through unchanged. No error holds the request's headers (the upload token).
 */
export function postUpload<T, B>(o: UploadRequestOptions<B>): Promise<{data: T; body: B}> {
  return new Promise<{data: T; body: B}>((resolve, reject) => {
    const url = new URL(o.url);
    const secure = url.protocol === 'https:';
    const req = (secure ? httpsRequest : httpRequest)(url, {method: 'POST', headers: o.headers, agent: secure ? o.agents.httpsAgent : o.agents.httpAgent});
    let settled = false;
    let answered = false;
    const onAbort = () => fail(Object.assign(new Error('canceled'), {name: 'CanceledError', code: 'ERR_CANCELED'}));
    const settle = () => {
      settled = true;
      o.signal?.removeEventListener('abort', onAbort);
    };
    function fail(err: unknown): void {
      if (settled) return;
      settle();
      req.destroy();
      reject(err);
    }
    if (o.signal?.aborted) return onAbort();
    o.signal?.addEventListener('abort', onAbort, {once: true});
    req.setTimeout(o.timeoutMs, () => fail(wireError(`timeout of ${o.timeoutMs}ms exceeded`, 'ETIMEDOUT')));
    req.on('error', (err: NodeJS.ErrnoException) => fail(wireError(err.message, err.code ?? 'ECONNRESET')));
    req.on('response', (res: IncomingMessage) => {
      answered = true;
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', (err: NodeJS.ErrnoException) => fail(wireError(`response cut off: ${err.message}`, err.code ?? 'ECONNRESET')));
      res.on('aborted', () => fail(wireError('response cut off', 'ECONNRESET')));
      res.on('end', () => {
        if (settled) return;
        const text = Buffer.concat(chunks).toString('utf8');
        const status = res.statusCode ?? 0;
        if (status < 200 || status >= 300) {
          return fail(Object.assign(wireError(`Request failed with status code ${status}`, status >= 500 ? 'ERR_BAD_RESPONSE' : 'ERR_BAD_REQUEST'), {response: {status, data: text, headers: res.headers}}));
        }
        let data: T;
        try {
          data = JSON.parse(text) as T;
        } catch {
          return fail(new WireMismatch(`the answer to an upload is not JSON: ${text.slice(0, 200)}`));
        }
        // the answer may come before the last write's callback (B2 had every byte): both count
        writing.then((body) => {
          if (settled) return;
          settle();
          resolve({data, body});
        }, (err: unknown) => fail(asWire(err)));
      });
    });
    const writing = o.body(req);
    writing.catch((err: unknown) => {
      // our own failure (the source) ends the attempt; a failed write is the connection's,
      // which the request reports itself (or B2 answered early, and that answer counts)
      if (err instanceof BackupError) fail(err);
      else if (!answered) setImmediate(() => fail(asWire(err)));
    });
  });
}

/** A failure of the body: ours (a BackupError) as it is, else the connection's. */
function asWire(err: unknown): unknown {
  if (err instanceof BackupError) return err;
  return wireError((err as Error)?.message ?? String(err), (err as NodeJS.ErrnoException)?.code ?? 'ECONNRESET');
}

/** A failure of the wire, marked as such for the failure classification (any code is the network's). */
function wireError(message: string, code: string): Error {
  return Object.assign(new Error(message), {code, onWire: true});
}
