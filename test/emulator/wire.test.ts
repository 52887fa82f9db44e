/**
 * Wire-level rules a client library hides: Content-Length must match the body
 * exactly, chunked bodies are refused.
 */
import {afterAll, beforeAll, describe, expect, test} from '@jest/globals';
import {connect} from 'node:net';
import {RunningEmulator, startEmulator} from '../../src/emulator/index.js';
import {api, authorizeRaw} from './helpers.js';
import {rawUploadRequest} from './raw-socket.js';

let emu: RunningEmulator;
let token: string;

beforeAll(async () => {
  emu = await startEmulator({port: 0});
  token = (await authorizeRaw(emu)).authorizationToken;
});
afterAll(async () => {
  await emu.stop();
});

/** Sends raw bytes on a fresh connection and collects whatever comes back until it closes. */
function rawExchange(chunks: Buffer[], endAfter = true): Promise<string> {
  const {port} = new URL(emu.url);
  return new Promise((resolve) => {
    const socket = connect(Number(port), '127.0.0.1');
    let out = '';
    socket.on('data', (d) => (out += d.toString('latin1')));
    const timer = setTimeout(() => socket.destroy(), 5000);
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(out);
    });
    socket.on('error', () => undefined);
    socket.on('connect', () => {
      for (const c of chunks) socket.write(c);
      if (endAfter) socket.end();
    });
  });
}

async function uploadRequest(body: Buffer, contentLength: number | undefined, name: string): Promise<Buffer> {
  const url = await api(emu, token, 'b2_get_upload_url', {bucketId: emu.bucketId});
  const length: Record<string, string | null> = contentLength === undefined ? {'Content-Length': null, 'Transfer-Encoding': 'chunked'} : {'Content-Length': String(contentLength)};
  const payload = contentLength === undefined ? Buffer.concat([Buffer.from(`${body.length.toString(16)}\r\n`), body, Buffer.from('\r\n0\r\n\r\n')]) : body;
  return rawUploadRequest({
    path: new URL(url.json.uploadUrl).pathname,
    token: url.json.authorizationToken,
    fileName: name,
    content: body,
    headers: {Host: '127.0.0.1', 'Content-Type': 'text/plain', ...length},
    body: payload,
  });
}

async function names(): Promise<string[]> {
  const r = await api(emu, token, 'b2_list_file_versions', {bucketId: emu.bucketId});
  return r.json.files.map((f: any) => f.fileName);
}

describe('upload bodies and Content-Length', () => {
  test('an exact body is stored', async () => {
    const out = await rawExchange([await uploadRequest(Buffer.from('exact'), 5, 'exact.txt')]);
    expect(out).toMatch(/^HTTP\/1.1 200/);
    expect(await names()).toEqual(['exact.txt']);
  });

  test('a body longer than Content-Length fails and stores nothing', async () => {
    const body = Buffer.from('longer than announced');
    const out = await rawExchange([await uploadRequest(body, 6, 'longer.txt')]);
    expect(out).not.toMatch(/^HTTP\/1.1 200/);
    expect(out).toMatch(/^HTTP\/1.1 400/);
    expect(await names()).toEqual(['exact.txt']);
  });

  test('a body shorter than Content-Length fails and stores nothing', async () => {
    const out = await rawExchange([await uploadRequest(Buffer.from('short'), 50, 'short.txt')]);
    expect(out).not.toMatch(/^HTTP\/1.1 200/);
    expect(await names()).toEqual(['exact.txt']);
  });

  test('a chunked body (no Content-Length) is refused with 400 bad_request', async () => {
    const out = await rawExchange([await uploadRequest(Buffer.from('chunked'), undefined, 'chunked.txt')]);
    expect(out).toMatch(/^HTTP\/1.1 400/);
    expect(out).toContain('"code":"bad_request"');
    expect(await names()).toEqual(['exact.txt']);
  });
});
