import {connect, type Socket} from 'node:net';
import {sha1} from './helpers.js';

export interface SocketAnswer {
  /** The status of the first response, or undefined when the server sent nothing. */
  status?: number;
  headers: Record<string, string>;
  /** The first response's body parsed as JSON, when it is JSON. */
  json?: any;
  raw: string;
  /** The whole first response (headers and Content-Length body) has arrived. */
  complete: boolean;
  /** The server closed (or reset) the connection. */
  closed: boolean;
}

/** The emulator's host and port from its URL. */
export function hostPort(url: string): {host: string; port: number} {
  const u = new URL(url);
  return {host: u.hostname, port: Number(u.port)};
}

/** A header's value: a string is sent one byte a character (latin1); a Buffer sends bytes that are not text; null leaves the header out. */
type RawHeaderValue = string | Buffer | null;

/**
 * The raw text of a b2_upload_file request: its request line and headers, then `body` if
 * given (otherwise the caller writes the body itself). X-Bz-Content-Sha1 and Content-Length
 * describe `content`. `headers` replaces a header in its place (null leaves it out) and adds
 * any other after the last one, so a test can send a wrong or missing header; Connection has
 * a place after Host but is left out unless given.
 */
export function rawUploadRequest(opts: {
  path: string;
  token: string;
  fileName: string | Buffer;
  content: string | Buffer;
  headers?: Record<string, RawHeaderValue>;
  body?: string | Buffer;
}): Buffer {
  const {path, token, fileName, content, headers = {}, body = ''} = opts;
  const all: Record<string, RawHeaderValue> = {
    Host: 'x',
    Connection: null,
    Authorization: token,
    'X-Bz-File-Name': fileName,
    'Content-Type': 'b2/x-auto',
    'X-Bz-Content-Sha1': sha1(content),
    'Content-Length': String(Buffer.byteLength(content)),
    ...headers,
  };
  const bytes = (v: string | Buffer) => (Buffer.isBuffer(v) ? v : Buffer.from(v, 'latin1'));
  const lines = Object.entries(all).flatMap(([name, value]) => (value === null ? [] : [bytes(`${name}: `), bytes(value), bytes('\r\n')]));
  return Buffer.concat([bytes(`POST ${path} HTTP/1.1\r\n`), ...lines, bytes('\r\n'), bytes(body)]);
}

/**
 * Writes raw bytes to the emulator (in pieces, to send some and then stall) and collects
 * what comes back until the server closes the connection, or until `until` says the
 * answer is complete (then the client closes).
 */
export function rawExchange(
  url: string,
  pieces: Array<string | Buffer>,
  opts: {until?: (answer: Omit<SocketAnswer, 'closed'>) => boolean; keepOpen?: boolean; endWrite?: boolean} = {},
): Promise<SocketAnswer> {
  const {host, port} = hostPort(url);
  return new Promise((resolve) => {
    const socket: Socket = connect({host, port});
    const chunks: Buffer[] = [];
    let done = false;
    const finish = (closed: boolean) => {
      if (done) return;
      done = true;
      resolve({...parseAnswer(Buffer.concat(chunks).toString('latin1')), closed});
      socket.destroy();
    };
    socket.on('connect', () => {
      for (const p of pieces) socket.write(p);
      if (opts.endWrite || (!opts.keepOpen && !opts.until)) socket.end();
    });
    socket.on('data', (d: Buffer) => {
      chunks.push(d);
      if (opts.until?.(parseAnswer(Buffer.concat(chunks).toString('latin1')))) finish(false);
    });
    socket.on('close', () => finish(true));
    socket.on('error', () => finish(true));
  });
}

/** Parses the first HTTP response in `raw` (Content-Length bodies only, as the emulator sends). */
export function parseAnswer(raw: string): Omit<SocketAnswer, 'closed'> {
  const m = /^HTTP\/1\.1 (\d{3})[^\r\n]*\r\n/.exec(raw);
  if (!m) return {headers: {}, raw, complete: false};
  const end = raw.indexOf('\r\n\r\n');
  if (end < 0) return {status: Number(m[1]), headers: {}, raw, complete: false};
  const headers: Record<string, string> = {};
  for (const line of raw.slice(m[0].length, end).split('\r\n')) {
    const colon = line.indexOf(':');
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  const length = Number(headers['content-length'] ?? 0);
  const body = raw.slice(end + 4, end + 4 + length);
  let json: any;
  try {
    json = body.length === length && length > 0 ? JSON.parse(Buffer.from(body, 'latin1').toString('utf8')) : undefined;
  } catch {
    json = undefined;
  }
  return {status: Number(m[1]), headers, json, raw, complete: raw.length >= end + 4 + length};
}
