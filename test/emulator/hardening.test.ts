/**
 * Requests that used to hold a connection for ever or crash a handler: a malformed
 * chunked body, Object.prototype names as calls, stalled upload bodies and slow headers.
 * Each answers B2's `{status, code, message}` and closes, and the emulator keeps serving.
 */
import {afterAll, beforeAll, describe, expect, test} from '@jest/globals';
import {mkdtemp, readdir, rm} from 'node:fs/promises';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {RunningEmulator, startEmulator} from '../../src/emulator/index.js';
import {api, authorizeRaw, raw, sha1} from './helpers.js';
import {rawExchange, rawUploadRequest} from './raw-socket.js';

/** Short enough that the stall tests finish quickly; nothing else here waits that long. */
const STALL_MS = 300;
let emu: RunningEmulator;
let token: string;
let dataDir: string;

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'emu-hardening-'));
  emu = await startEmulator({port: 0, dataDir, stallTimeoutMs: STALL_MS});
  token = (await authorizeRaw(emu)).authorizationToken;
});
afterAll(async () => {
  await emu.stop();
  await rm(dataDir, {recursive: true, force: true});
});

const b2Error = (status: number, code: string) => ({status, code, message: expect.any(String)});

async function stillServes(): Promise<void> {
  expect((await api(emu, token, 'b2_list_buckets', {})).status).toBe(200);
}

async function uploadUrl(): Promise<{path: string; token: string}> {
  const url = await api(emu, token, 'b2_get_upload_url', {bucketId: emu.bucketId});
  return {path: new URL(url.json.uploadUrl).pathname, token: url.json.authorizationToken};
}

describe('emulator hardening', () => {
  test('an invalid chunk size on a JSON call is answered 400 bad_request and the connection closed', async () => {
    const answer = await rawExchange(emu.url, [
      `POST /b2api/v2/b2_list_buckets HTTP/1.1\r\nHost: x\r\nAuthorization: ${token}\r\nTransfer-Encoding: chunked\r\n\r\n`,
      'zz\r\n{}\r\n0\r\n\r\n',
    ], {keepOpen: true});
    expect(answer.status).toBe(400);
    expect(answer.json).toEqual(b2Error(400, 'bad_request'));
    expect(answer.closed).toBe(true);
    await stillServes();
  });

  test.each(['constructor', '__proto__', 'toString', 'hasOwnProperty', 'valueOf', '__defineGetter__', 'isPrototypeOf'])(
    '/b2api/v2/%s is no call: 404 not_found',
    async (name) => {
      for (const method of ['GET', 'POST']) {
        const r = await raw(`${emu.url}/b2api/v2/${name}`, {method, headers: {Authorization: token}, body: method === 'POST' ? '{}' : undefined});
        expect({status: r.status, body: r.json}).toEqual({status: 404, body: b2Error(404, 'not_found')});
      }
    },
  );

  test('a stalled upload body is answered 408 request_timeout, its connection closed and its temp file removed', async () => {
    const up = await uploadUrl();
    const data = Buffer.alloc(1000, 7);
    const answer = await rawExchange(emu.url, [
      rawUploadRequest({path: up.path, token: up.token, fileName: 'stalled.bin', content: data}),
      data.subarray(0, 100),
    ], {keepOpen: true});
    expect(answer.status).toBe(408);
    expect(answer.json).toEqual(b2Error(408, 'request_timeout'));
    expect(answer.closed).toBe(true);
    expect(await readdir(join(dataDir, 'tmp'))).toEqual([]);
    const names = (await api(emu, token, 'b2_list_file_names', {bucketId: emu.bucketId})).json.files.map((f: any) => f.fileName);
    expect(names).not.toContain('stalled.bin');
    await stillServes();
  });

  test('a stalled part body is answered 408 too', async () => {
    const large = (await api(emu, token, 'b2_start_large_file', {bucketId: emu.bucketId, fileName: 'stalled-large.bin', contentType: 'b2/x-auto'})).json.fileId;
    const url = await api(emu, token, 'b2_get_upload_part_url', {fileId: large});
    const answer = await rawExchange(emu.url, [
      `POST ${new URL(url.json.uploadUrl).pathname} HTTP/1.1\r\nHost: x\r\nAuthorization: ${url.json.authorizationToken}\r\nX-Bz-Part-Number: 1\r\n` +
        `X-Bz-Content-Sha1: ${sha1('x'.repeat(500))}\r\nContent-Length: 500\r\n\r\nxxxxx`,
    ], {keepOpen: true});
    expect(answer.json).toEqual(b2Error(408, 'request_timeout'));
    expect(answer.closed).toBe(true);
    expect(await readdir(join(dataDir, 'tmp'))).toEqual([]);
    expect((await api(emu, token, 'b2_list_parts', {fileId: large})).json.parts).toEqual([]);
    await api(emu, token, 'b2_cancel_large_file', {fileId: large});
  });

  test('a stalled JSON body is answered 408 too', async () => {
    const answer = await rawExchange(emu.url, [
      `POST /b2api/v2/b2_list_buckets HTTP/1.1\r\nHost: x\r\nAuthorization: ${token}\r\nContent-Length: 100\r\n\r\n{"acc`,
    ], {keepOpen: true});
    expect(answer.json).toEqual(b2Error(408, 'request_timeout'));
    expect(answer.closed).toBe(true);
  });

  test('headers that never finish are answered 408 request_timeout, not 400', async () => {
    const answer = await rawExchange(emu.url, ['GET /b2api/v2/b2_list_buckets HTTP/1.1\r\nHost: x\r\nX-Slow: '], {keepOpen: true});
    expect(answer.status).toBe(408);
    expect(answer.json).toEqual(b2Error(408, 'request_timeout'));
    expect(answer.closed).toBe(true);
    await stillServes();
  });
});
