/**
 * Server-side encryption over raw HTTP, as Backblaze documents it: the bucket's
 * defaultServerSideEncryption (SSE-B2 only, behind read/writeBucketEncryption),
 * X-Bz-Server-Side-Encryption: AES256 per file, SSE-C headers on upload, parts, copy and
 * download (a read without the right key: 403 access_denied), serverSideEncryption in
 * file JSON (never the key or its MD5).
 */
import {afterAll, beforeAll, describe, expect, test} from '@jest/globals';
import {createHash, randomBytes} from 'node:crypto';
import {RunningEmulator, startEmulator} from '../../src/emulator/index.js';
import {api, authorizeRaw, bytes, raw, sha1, uploadRaw} from './helpers.js';

let emu: RunningEmulator;
let token: string;
let accountId: string;

/** An SSE-C key as B2 wants it: 256 bits base64, and the base64 MD5 of the raw key. */
function customerKey(): {key: string; md5: string} {
  const raw = randomBytes(32);
  return {key: raw.toString('base64'), md5: createHash('md5').update(raw).digest('base64')};
}
const sseCHeaders = (k: {key: string; md5: string}) => ({
  'X-Bz-Server-Side-Encryption-Customer-Algorithm': 'AES256',
  'X-Bz-Server-Side-Encryption-Customer-Key': k.key,
  'X-Bz-Server-Side-Encryption-Customer-Key-Md5': k.md5,
});
const sseCJson = (k: {key: string; md5: string}) => ({mode: 'SSE-C', algorithm: 'AES256', customerKey: k.key, customerKeyMd5: k.md5});
const download = (name: string, headers: Record<string, string> = {}, method = 'GET') =>
  raw(`${emu.url}/file/${emu.bucket}/${name}`, {method, headers: {Authorization: token, ...headers}});

beforeAll(async () => {
  emu = await startEmulator({port: 0, minPartSize: 100});
  const auth = await authorizeRaw(emu);
  token = auth.authorizationToken;
  accountId = auth.accountId;
});
afterAll(async () => {
  await emu.stop();
});

describe('bucket defaultServerSideEncryption', () => {
  test('set on create and update (writeBucketEncryption), shown only with readBucketEncryption', async () => {
    const made = await api(emu, token, 'b2_create_bucket', {accountId, bucketName: 'sse-default-1', bucketType: 'allPrivate', defaultServerSideEncryption: {mode: 'SSE-B2', algorithm: 'AES256'}});
    expect(made.status).toBe(200);
    expect(made.json.defaultServerSideEncryption).toEqual({isClientAuthorizedToRead: true, value: {algorithm: 'AES256', mode: 'SSE-B2'}});

    const reader = await emu.createKey({capabilities: ['listBuckets']});
    const readerToken = (await authorizeRaw(emu, 2, reader.keyId, reader.applicationKey)).authorizationToken;
    const seen = await api(emu, readerToken, 'b2_list_buckets', {accountId, bucketName: 'sse-default-1'});
    expect(seen.json.buckets[0].defaultServerSideEncryption).toEqual({isClientAuthorizedToRead: false});

    // The start-up bucket stands for one B2 has not enabled for default encryption (see
    // default-encryption.test.ts): update sets SSE-B2 on it, and mode null turns it off again.
    const on = await api(emu, token, 'b2_update_bucket', {accountId, bucketId: emu.bucketId, defaultServerSideEncryption: {mode: 'SSE-B2', algorithm: 'AES256'}});
    expect(on.json.defaultServerSideEncryption).toEqual({isClientAuthorizedToRead: true, value: {algorithm: 'AES256', mode: 'SSE-B2'}});
    const off = await api(emu, token, 'b2_update_bucket', {accountId, bucketId: emu.bucketId, defaultServerSideEncryption: {mode: null}});
    expect(off.json.defaultServerSideEncryption).toEqual({isClientAuthorizedToRead: true, value: {mode: null}});
  });

  test('without writeBucketEncryption: 401 unauthorized; SSE-C as a default: 400 bad_request', async () => {
    const writer = await emu.createKey({capabilities: ['writeBuckets', 'listBuckets']});
    const writerToken = (await authorizeRaw(emu, 2, writer.keyId, writer.applicationKey)).authorizationToken;
    const denied = await api(emu, writerToken, 'b2_create_bucket', {accountId, bucketName: 'sse-default-2', bucketType: 'allPrivate', defaultServerSideEncryption: {mode: 'SSE-B2', algorithm: 'AES256'}});
    expect(denied.json).toMatchObject({status: 401, code: 'unauthorized'});
    const sseC = await api(emu, token, 'b2_update_bucket', {accountId, bucketId: emu.bucketId, defaultServerSideEncryption: sseCJson(customerKey())});
    expect(sseC.json).toMatchObject({status: 400, code: 'bad_request'});
  });

  test('a file uploaded without asking gets the bucket default', async () => {
    const bucket = await api(emu, token, 'b2_create_bucket', {accountId, bucketName: 'sse-default-3', bucketType: 'allPrivate', defaultServerSideEncryption: {mode: 'SSE-B2', algorithm: 'AES256'}});
    const up = await uploadRaw(emu, token, bucket.json.bucketId, 'by-default.txt', Buffer.from('x'));
    expect(up.json.serverSideEncryption).toEqual({algorithm: 'AES256', mode: 'SSE-B2'});
  });
});

describe('SSE-B2 per file', () => {
  test('X-Bz-Server-Side-Encryption: AES256 is stored, listed and sent back on download', async () => {
    const up = await uploadRaw(emu, token, emu.bucketId, 'b2.txt', Buffer.from('sse-b2'), {'X-Bz-Server-Side-Encryption': 'AES256'});
    expect(up.json.serverSideEncryption).toEqual({algorithm: 'AES256', mode: 'SSE-B2'});
    const info = await api(emu, token, 'b2_get_file_info', {fileId: up.json.fileId});
    expect(info.json.serverSideEncryption).toEqual({algorithm: 'AES256', mode: 'SSE-B2'});
    const down = await download('b2.txt');
    expect({status: down.status, text: down.text, sse: down.headers.get('x-bz-server-side-encryption')}).toEqual({status: 200, text: 'sse-b2', sse: 'AES256'});
  });

  test('any other value: 400 bad_request', async () => {
    const up = await uploadRaw(emu, token, emu.bucketId, 'b2bad.txt', Buffer.from('x'), {'X-Bz-Server-Side-Encryption': 'AES128'});
    expect(up.json).toMatchObject({status: 400, code: 'bad_request'});
  });
});

describe('SSE-C', () => {
  const k = customerKey();
  const data = Buffer.from('customer-key data');
  let fileId: string;

  beforeAll(async () => {
    const up = await uploadRaw(emu, token, emu.bucketId, 'c.txt', data, sseCHeaders(k));
    expect(up.status).toBe(200);
    fileId = up.json.fileId;
    // the JSON says SSE-C and never carries the key or its MD5
    expect(up.json.serverSideEncryption).toEqual({algorithm: 'AES256', mode: 'SSE-C'});
    expect(up.text).not.toContain(k.key);
    expect(up.text).not.toContain(k.md5);
  });

  test('download with the key: the bytes and the SSE-C response headers', async () => {
    const down = await download('c.txt', sseCHeaders(k));
    expect(down.status).toBe(200);
    expect(down.text).toBe(data.toString());
    expect(down.headers.get('x-bz-server-side-encryption-customer-algorithm')).toBe('AES256');
    expect(down.headers.get('x-bz-server-side-encryption-customer-key-md5')).toBe(k.md5);
    const byId = await raw(`${emu.url}/b2api/v2/b2_download_file_by_id?fileId=${encodeURIComponent(fileId)}`, {headers: {Authorization: token, ...sseCHeaders(k)}});
    expect(byId.status).toBe(200);
  });

  test('download without a key, or with another key: 403 access_denied (GET, HEAD, by name and by id)', async () => {
    for (const headers of [{}, sseCHeaders(customerKey())]) {
      expect((await download('c.txt', headers)).json).toMatchObject({status: 403, code: 'access_denied'});
      expect((await download('c.txt', headers, 'HEAD')).status).toBe(403);
      const byId = await raw(`${emu.url}/b2api/v2/b2_download_file_by_id?fileId=${encodeURIComponent(fileId)}`, {headers: {Authorization: token, ...headers}});
      expect(byId.json).toMatchObject({status: 403, code: 'access_denied'});
    }
  });

  test('the file\'s info and listing need no key', async () => {
    const info = await api(emu, token, 'b2_get_file_info', {fileId});
    expect(info.json.serverSideEncryption).toEqual({algorithm: 'AES256', mode: 'SSE-C'});
  });

  test.each([
    ['a key that is not 256 bits', {...sseCHeaders(k), 'X-Bz-Server-Side-Encryption-Customer-Key': randomBytes(16).toString('base64')}],
    ['an MD5 that does not match', {...sseCHeaders(k), 'X-Bz-Server-Side-Encryption-Customer-Key-Md5': customerKey().md5}],
    ['an algorithm other than AES256', {...sseCHeaders(k), 'X-Bz-Server-Side-Encryption-Customer-Algorithm': 'AES128'}],
    ['no MD5', {'X-Bz-Server-Side-Encryption-Customer-Algorithm': 'AES256', 'X-Bz-Server-Side-Encryption-Customer-Key': k.key}],
    ['SSE-B2 and SSE-C at once', {...sseCHeaders(k), 'X-Bz-Server-Side-Encryption': 'AES256'}],
  ])('upload with %s: 400 bad_request, nothing stored', async (_what, headers) => {
    const up = await uploadRaw(emu, token, emu.bucketId, 'c-bad.txt', Buffer.from('x'), headers);
    expect(up.json).toMatchObject({status: 400, code: 'bad_request'});
    expect((await download('c-bad.txt')).status).toBe(404);
  });

  test('a large file with SSE-C parts: every part needs the key; the result reads only with it', async () => {
    const start = await api(emu, token, 'b2_start_large_file', {bucketId: emu.bucketId, fileName: 'c-large.bin', contentType: 'application/octet-stream', serverSideEncryption: sseCJson(k)});
    expect(start.json.serverSideEncryption).toEqual({algorithm: 'AES256', mode: 'SSE-C'});
    const url = await api(emu, token, 'b2_get_upload_part_url', {fileId: start.json.fileId});
    const parts = [bytes(300, 1), bytes(200, 2)];
    const sendPart = (n: number, headers: Record<string, string>) =>
      raw(url.json.uploadUrl, {method: 'POST', headers: {Authorization: url.json.authorizationToken, 'X-Bz-Part-Number': String(n), 'X-Bz-Content-Sha1': sha1(parts[n - 1]), ...headers}, body: parts[n - 1]});
    expect((await sendPart(1, {})).json).toMatchObject({status: 400, code: 'bad_request'});
    expect((await sendPart(1, sseCHeaders(customerKey()))).json).toMatchObject({status: 400, code: 'bad_request'});
    for (const n of [1, 2]) {
      const ok = await sendPart(n, sseCHeaders(k));
      expect(ok.status).toBe(200);
      expect(ok.json.serverSideEncryption).toEqual({algorithm: 'AES256', mode: 'SSE-C'});
    }
    const listed = await api(emu, token, 'b2_list_parts', {fileId: start.json.fileId});
    expect(listed.json.parts.map((p: {partNumber: number}) => p.partNumber)).toEqual([1, 2]);
    const done = await api(emu, token, 'b2_finish_large_file', {fileId: start.json.fileId, partSha1Array: parts.map(sha1)});
    expect(done.json.serverSideEncryption).toEqual({algorithm: 'AES256', mode: 'SSE-C'});
    expect((await download('c-large.bin')).json).toMatchObject({status: 403, code: 'access_denied'});
    const down = await download('c-large.bin', sseCHeaders(k));
    expect({status: down.status, length: down.headers.get('content-length')}).toEqual({status: 200, length: '500'});
  });

  test('parts of a file that is not SSE-C take no customer key', async () => {
    const start = await api(emu, token, 'b2_start_large_file', {bucketId: emu.bucketId, fileName: 'plain-large.bin', contentType: 'application/octet-stream'});
    const url = await api(emu, token, 'b2_get_upload_part_url', {fileId: start.json.fileId});
    const part = bytes(100, 3);
    const r = await raw(url.json.uploadUrl, {method: 'POST', headers: {Authorization: url.json.authorizationToken, 'X-Bz-Part-Number': '1', 'X-Bz-Content-Sha1': sha1(part), ...sseCHeaders(k)}, body: part});
    expect(r.json).toMatchObject({status: 400, code: 'bad_request'});
  });

  test('copy: the source needs its key (403 access_denied without); the copy takes its own', async () => {
    const denied = await api(emu, token, 'b2_copy_file', {sourceFileId: fileId, fileName: 'c-copy.txt'});
    expect(denied.json).toMatchObject({status: 403, code: 'access_denied'});
    const other = customerKey();
    const copied = await api(emu, token, 'b2_copy_file', {sourceFileId: fileId, fileName: 'c-copy.txt', sourceServerSideEncryption: sseCJson(k), destinationServerSideEncryption: sseCJson(other)});
    expect(copied.status).toBe(200);
    expect(copied.json.serverSideEncryption).toEqual({algorithm: 'AES256', mode: 'SSE-C'});
    expect((await download('c-copy.txt', sseCHeaders(k))).json).toMatchObject({status: 403, code: 'access_denied'});
    expect((await download('c-copy.txt', sseCHeaders(other))).text).toBe(data.toString());
  });

  test('copy: sourceServerSideEncryption is given only for an SSE-C source (B2: "must be provided only if"), else 400', async () => {
    const plain = await uploadRaw(emu, token, emu.bucketId, 'plain-copy-src.bin', bytes(50, 5));
    const wrong = await api(emu, token, 'b2_copy_file', {sourceFileId: plain.json.fileId, fileName: 'plain-copy.bin', sourceServerSideEncryption: sseCJson(k)});
    expect(wrong.json).toMatchObject({status: 400, code: 'bad_request'});
    const part = await api(emu, token, 'b2_start_large_file', {bucketId: emu.bucketId, fileName: 'plain-copy-large.bin', contentType: 'application/octet-stream'});
    const wrongPart = await api(emu, token, 'b2_copy_part', {sourceFileId: plain.json.fileId, largeFileId: part.json.fileId, partNumber: 1, sourceServerSideEncryption: sseCJson(k)});
    expect(wrongPart.json).toMatchObject({status: 400, code: 'bad_request'});
    expect((await api(emu, token, 'b2_copy_file', {sourceFileId: plain.json.fileId, fileName: 'plain-copy.bin'})).status).toBe(200);
  });

  test('copy_part from an SSE-C source needs the source key; into an SSE-C large file, both keys', async () => {
    const start = await api(emu, token, 'b2_start_large_file', {bucketId: emu.bucketId, fileName: 'c-from-c.bin', contentType: 'application/octet-stream', serverSideEncryption: sseCJson(k)});
    const without = await api(emu, token, 'b2_copy_part', {sourceFileId: fileId, largeFileId: start.json.fileId, partNumber: 1, destinationServerSideEncryption: sseCJson(k)});
    expect(without.json).toMatchObject({status: 403, code: 'access_denied'});
    const both = await api(emu, token, 'b2_copy_part', {sourceFileId: fileId, largeFileId: start.json.fileId, partNumber: 1, sourceServerSideEncryption: sseCJson(k), destinationServerSideEncryption: sseCJson(k)});
    expect(both.json).toMatchObject({partNumber: 1, contentLength: data.length, contentSha1: sha1(data)});
  });

  test('copy_part into an SSE-C large file: destinationServerSideEncryption must carry its key', async () => {
    const plain = await uploadRaw(emu, token, emu.bucketId, 'plain-src.bin', bytes(150, 4));
    const start = await api(emu, token, 'b2_start_large_file', {bucketId: emu.bucketId, fileName: 'c-copied-parts.bin', contentType: 'application/octet-stream', serverSideEncryption: sseCJson(k)});
    const without = await api(emu, token, 'b2_copy_part', {sourceFileId: plain.json.fileId, largeFileId: start.json.fileId, partNumber: 1});
    expect(without.json).toMatchObject({status: 400, code: 'bad_request'});
    const withKey = await api(emu, token, 'b2_copy_part', {sourceFileId: plain.json.fileId, largeFileId: start.json.fileId, partNumber: 1, destinationServerSideEncryption: sseCJson(k)});
    expect(withKey.status).toBe(200);
  });
});

describe('SSE-C key headers on a file stored without SSE-C', () => {
  // Backblaze documents the key headers for SSE-C files only. By default the emulator
  // ignores them elsewhere; refuseKeyOnPlainFiles answers as S3 servers do (400), so that
  // a client can be shown never to depend on B2 ignoring them.
  const k = customerKey();
  let strict: RunningEmulator;
  let strictToken: string;
  const data = Buffer.from('stored without SSE-C');
  const ids: Record<string, string> = {};

  beforeAll(async () => {
    strict = await startEmulator({port: 0, refuseKeyOnPlainFiles: true});
    strictToken = (await authorizeRaw(strict)).authorizationToken;
    for (const [e, t] of [[emu, token], [strict, strictToken]] as const) {
      ids[e.url] = (await uploadRaw(e, t, e.bucketId, 'plain-read.txt', data)).json.fileId;
      expect((await uploadRaw(e, t, e.bucketId, 'keyed-read.txt', data, sseCHeaders(k))).status).toBe(200);
    }
  });
  afterAll(async () => {
    await strict?.stop();
  });

  const RANGES: Array<Record<string, string>> = [{}, {Range: 'bytes=2-9'}];
  /** Every way of reading `name`: by name and by id, GET and HEAD, whole and ranged. */
  const reads = (e: RunningEmulator, t: string, name: string, fileId: string | undefined, headers: Record<string, string>) => {
    const urls = [`${e.url}/file/${e.bucket}/${name}`, ...(fileId ? [`${e.url}/b2api/v2/b2_download_file_by_id?fileId=${encodeURIComponent(fileId)}`] : [])];
    return Promise.all(urls.flatMap((url) => ['GET', 'HEAD'].flatMap((method) => RANGES.map((range) => raw(url, {method, headers: {Authorization: t, ...headers, ...range}})))));
  };

  test('by default they are ignored: every read of the plain file answers its bytes', async () => {
    for (const r of await reads(emu, token, 'plain-read.txt', ids[emu.url], sseCHeaders(k))) expect(r.status === 200 || r.status === 206).toBe(true);
  });

  test('refuseKeyOnPlainFiles: every read of the plain file with a key is 400 bad_request (HEAD: without a body); without one it reads', async () => {
    for (const r of await reads(strict, strictToken, 'plain-read.txt', ids[strict.url], sseCHeaders(k))) {
      expect(r.status).toBe(400);
      if (r.text) expect(r.json).toEqual({status: 400, code: 'bad_request', message: 'The encryption parameters are not applicable to this object'});
    }
    expect((await reads(strict, strictToken, 'plain-read.txt', ids[strict.url], {})).map((r) => r.status)).toEqual([200, 206, 200, 206, 200, 206, 200, 206]);
  });

  test('refuseKeyOnPlainFiles leaves SSE-C files as they were: their key reads them, none (or another) is 403 access_denied', async () => {
    expect((await download('keyed-read.txt', sseCHeaders(k))).text).toBe(data.toString());
    const keyed = (headers: Record<string, string>, method = 'GET') => raw(`${strict.url}/file/${strict.bucket}/keyed-read.txt`, {method, headers: {Authorization: strictToken, ...headers}});
    expect((await keyed(sseCHeaders(k))).text).toBe(data.toString());
    for (const headers of [{}, sseCHeaders(customerKey())]) {
      expect((await keyed(headers)).json).toMatchObject({status: 403, code: 'access_denied'});
      expect((await keyed(headers, 'HEAD')).status).toBe(403);
    }
  });
});

describe('file name and info limit', () => {
  // Backblaze (b2_upload_file, b2_start_large_file): 7000 bytes, "reduced to 2,048 bytes"
  // for a file uploaded with server-side encryption
  const info = {'X-Bz-Info-note': 'v'.repeat(2100)};

  test('an encrypted upload with more than 2048 bytes of name and info: 400 bad_request; unencrypted it is fine', async () => {
    const sseB2 = await uploadRaw(emu, token, emu.bucketId, 'big-info-b2.txt', Buffer.from('x'), {...info, 'X-Bz-Server-Side-Encryption': 'AES256'});
    expect(sseB2.json).toMatchObject({status: 400, code: 'bad_request'});
    const sseC = await uploadRaw(emu, token, emu.bucketId, 'big-info-c.txt', Buffer.from('x'), {...info, ...sseCHeaders(customerKey())});
    expect(sseC.json).toMatchObject({status: 400, code: 'bad_request'});
    expect((await uploadRaw(emu, token, emu.bucketId, 'big-info-plain.txt', Buffer.from('x'), info)).status).toBe(200);
  });

  test('the bucket default counts; under 2048 bytes an encrypted upload is fine', async () => {
    const bucket = await api(emu, token, 'b2_create_bucket', {accountId, bucketName: 'sse-default-info', bucketType: 'allPrivate', defaultServerSideEncryption: {mode: 'SSE-B2', algorithm: 'AES256'}});
    const over = await uploadRaw(emu, token, bucket.json.bucketId, 'big.txt', Buffer.from('x'), info);
    expect(over.json).toMatchObject({status: 400, code: 'bad_request'});
    expect((await uploadRaw(emu, token, bucket.json.bucketId, 'small.txt', Buffer.from('x'), {'X-Bz-Info-note': 'v'.repeat(2000)})).status).toBe(200);
  });

  test('start_large_file and copy_file into an encrypted file: the same limit', async () => {
    const fileInfo = {note: 'v'.repeat(2100)};
    const start = await api(emu, token, 'b2_start_large_file', {bucketId: emu.bucketId, fileName: 'big-info-large.bin', contentType: 'application/octet-stream', fileInfo, serverSideEncryption: {mode: 'SSE-B2', algorithm: 'AES256'}});
    expect(start.json).toMatchObject({status: 400, code: 'bad_request'});
    const source = await uploadRaw(emu, token, emu.bucketId, 'big-info-source.txt', Buffer.from('x'), info);
    const copied = await api(emu, token, 'b2_copy_file', {sourceFileId: source.json.fileId, fileName: 'big-info-copy.txt', destinationServerSideEncryption: {mode: 'SSE-B2', algorithm: 'AES256'}});
    expect(copied.json).toMatchObject({status: 400, code: 'bad_request'});
    expect((await api(emu, token, 'b2_copy_file', {sourceFileId: source.json.fileId, fileName: 'big-info-copy.txt'})).status).toBe(200);
  });
});
