/**
 * What the library does not cover, over raw HTTP: authorize shapes of v1/v3/v4, GET
 * with query parameters, list_unfinished_large_files, HEAD, Range, hex_digits_at_end,
 * do_not_verify, '+' as space, listing order, pagination and folders.
 */
import {afterAll, beforeAll, describe, expect, test} from '@jest/globals';
import {RunningEmulator, startEmulator} from '../../src/emulator/index.js';
import {api, authorizeRaw, bytes, raw, sha1, uploadRaw} from './helpers.js';

let emu: RunningEmulator;
let token: string;

beforeAll(async () => {
  emu = await startEmulator({port: 0, minPartSize: 100});
  token = (await authorizeRaw(emu)).authorizationToken;
});
afterAll(async () => {
  await emu.stop();
});

async function clearBucket(): Promise<void> {
  const r = await api(emu, token, 'b2_list_file_versions', {bucketId: emu.bucketId, maxFileCount: 10000});
  for (const f of r.json.files) await api(emu, token, 'b2_delete_file_version', {fileId: f.fileId, fileName: f.fileName});
}

describe('authorize shapes', () => {
  test('v1 is flat with minimumPartSize', async () => {
    const a = await authorizeRaw(emu, 1);
    expect(a).toMatchObject({apiUrl: emu.url, downloadUrl: emu.url, recommendedPartSize: 100_000_000, absoluteMinimumPartSize: 100, minimumPartSize: 100_000_000});
    expect(a.allowed).toEqual({bucketId: null, bucketName: null, capabilities: expect.arrayContaining(['listFiles', 'writeFiles']), namePrefix: null});
  });

  test('v2 is flat without minimumPartSize', async () => {
    const a = await authorizeRaw(emu, 2);
    expect(a.minimumPartSize).toBeUndefined();
    expect(a).toMatchObject({accountId: expect.any(String), authorizationToken: expect.any(String), s3ApiUrl: expect.any(String)});
  });

  test('v3 nests apiInfo.storageApi with the restriction fields', async () => {
    const key = await emu.createKey({capabilities: ['listFiles'], bucketName: emu.bucket, namePrefix: 'x/'});
    const a = await authorizeRaw(emu, 3, key.keyId, key.applicationKey);
    expect(a.apiInfo.storageApi).toMatchObject({
      infoType: 'storageApi', apiUrl: emu.url, downloadUrl: emu.url, absoluteMinimumPartSize: 100,
      bucketId: emu.bucketId, bucketName: emu.bucket, capabilities: ['listFiles'], namePrefix: 'x/',
    });
    expect(a).toHaveProperty('applicationKeyExpirationTimestamp', null);
  });

  test('v4 lists allowed buckets (null when unrestricted)', async () => {
    const key = await emu.createKey({capabilities: ['listFiles'], bucketName: emu.bucket});
    const restricted = await authorizeRaw(emu, 4, key.keyId, key.applicationKey);
    expect(restricted.apiInfo.storageApi.allowed).toEqual({buckets: [{id: emu.bucketId, name: emu.bucket}], capabilities: ['listFiles'], namePrefix: null});
    const open = await authorizeRaw(emu, 4);
    expect(open.apiInfo.storageApi.allowed.buckets).toBeNull();
  });

  test('POST authorize with a {} body (as b2sdk does) works', async () => {
    const basic = Buffer.from(`${emu.keyId}:${emu.applicationKey}`).toString('base64');
    const r = await raw(`${emu.url}/b2api/v3/b2_authorize_account`, {method: 'POST', headers: {Authorization: `Basic ${basic}`}, body: '{}'});
    expect(r.status).toBe(200);
  });

  test('tokens from one version serve calls on every version (rclone authorizes on v4, calls v1)', async () => {
    const a = await authorizeRaw(emu, 4);
    const r = await api(emu, a.authorizationToken, 'b2_list_buckets', {accountId: a.accountId}, 1);
    expect(r.status).toBe(200);
  });
});

describe('uploads', () => {
  test('hex_digits_at_end: the trailer is not stored; the response has the real SHA1 and length', async () => {
    const data = Buffer.from('trailing hash');
    const r = await uploadRaw(emu, token, emu.bucketId, 'trail.txt', Buffer.concat([data, Buffer.from(sha1(data))]), {'X-Bz-Content-Sha1': 'hex_digits_at_end'});
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({contentLength: data.length, contentSha1: sha1(data)});
    const down = await raw(`${emu.url}/file/${emu.bucket}/trail.txt`, {headers: {Authorization: token}});
    expect(down.text).toBe('trailing hash');
  });

  test('do_not_verify stores the SHA1 as unverified:<hex>', async () => {
    const data = Buffer.from('unverified');
    const r = await uploadRaw(emu, token, emu.bucketId, 'unverified.txt', data, {'X-Bz-Content-Sha1': 'do_not_verify'});
    expect(r.json.contentSha1).toBe(`unverified:${sha1(data)}`);
  });

  test("'+' and %20 decode to a space, %2B to a plus", async () => {
    const r = await uploadRaw(emu, token, emu.bucketId, 'x', Buffer.from('p'), {'X-Bz-File-Name': 'a+b%20c%2Bd', 'X-Bz-Info-note': 'x+y%2Bz'});
    expect(r.json.fileName).toBe('a b c+d');
    expect(r.json.fileInfo.note).toBe('x y+z');
    const down = await raw(`${emu.url}/file/${emu.bucket}/a+b%20c%2Bd`, {headers: {Authorization: token}});
    expect(down.status).toBe(200);
    expect(down.headers.get('x-bz-file-name')).toBe('a%20b%20c%2Bd');
  });

  test('an empty file uploads and downloads', async () => {
    const r = await uploadRaw(emu, token, emu.bucketId, 'empty', Buffer.alloc(0));
    expect(r.json).toMatchObject({contentLength: 0, contentSha1: sha1(Buffer.alloc(0))});
    const down = await raw(`${emu.url}/file/${emu.bucket}/empty`, {headers: {Authorization: token}});
    expect({status: down.status, text: down.text}).toEqual({status: 200, text: ''});
  });

  test('b2/x-auto picks the type from the extension', async () => {
    const r = await uploadRaw(emu, token, emu.bucketId, 'pic.png', Buffer.from('png'), {'Content-Type': 'b2/x-auto'});
    expect(r.json.contentType).toBe('image/png');
  });
});

describe('buckets', () => {
  test('b2_update_bucket with ifRevisionIs updates only the revision it names; another is 409 conflict and changes nothing', async () => {
    const accountId = (await authorizeRaw(emu)).accountId;
    const made = await api(emu, token, 'b2_create_bucket', {accountId, bucketName: 'raw-revision-bucket', bucketType: 'allPrivate'});
    const {bucketId, revision} = made.json;
    const stale = await api(emu, token, 'b2_update_bucket', {accountId, bucketId, bucketInfo: {a: 'stale'}, ifRevisionIs: revision + 1});
    expect(stale.status).toBe(409);
    expect(stale.json).toEqual({status: 409, code: 'conflict', message: expect.any(String)});
    const listed = await api(emu, token, 'b2_list_buckets', {accountId, bucketId});
    expect(listed.json.buckets[0]).toMatchObject({revision, bucketInfo: {}});
    const fresh = await api(emu, token, 'b2_update_bucket', {accountId, bucketId, bucketInfo: {a: 'fresh'}, ifRevisionIs: revision});
    expect(fresh.status).toBe(200);
    expect(fresh.json).toMatchObject({revision: revision + 1, bucketInfo: {a: 'fresh'}});
  });
});

describe('downloads', () => {
  const data = bytes(1000, 3);
  beforeAll(async () => {
    await uploadRaw(emu, token, emu.bucketId, 'range/file.bin', data, {'X-Bz-Info-src_last_modified_millis': '42'});
  });

  test('HEAD has the headers and no body', async () => {
    const r = await raw(`${emu.url}/file/${emu.bucket}/range/file.bin`, {method: 'HEAD', headers: {Authorization: token}});
    expect(r.status).toBe(200);
    expect(r.text).toBe('');
    expect(r.headers.get('content-length')).toBe('1000');
    expect(r.headers.get('x-bz-content-sha1')).toBe(sha1(data));
    expect(r.headers.get('x-bz-info-src_last_modified_millis')).toBe('42');
    expect(r.headers.get('accept-ranges')).toBe('bytes');
    expect(r.headers.get('x-bz-upload-timestamp')).toMatch(/^\d+$/);
  });

  test('b2-* file info comes back as the standard headers, Cache-Control included, and not as X-Bz-Info-*', async () => {
    const info = {
      'X-Bz-Info-b2-cache-control': encodeURIComponent('max-age=3600'),
      'X-Bz-Info-b2-content-disposition': encodeURIComponent('attachment; filename="x.txt"'),
      'X-Bz-Info-b2-content-language': 'de',
      'X-Bz-Info-b2-expires': encodeURIComponent('Thu, 01 Dec 2044 16:00:00 GMT'),
      'X-Bz-Info-b2-content-encoding': 'identity',
    };
    expect((await uploadRaw(emu, token, emu.bucketId, 'range/headers.txt', Buffer.from('h'), info)).status).toBe(200);
    for (const method of ['GET', 'HEAD']) {
      const r = await raw(`${emu.url}/file/${emu.bucket}/range/headers.txt`, {method, headers: {Authorization: token}});
      expect(r.status).toBe(200);
      expect(r.headers.get('cache-control')).toBe('max-age=3600');
      expect(r.headers.get('content-disposition')).toBe('attachment; filename="x.txt"');
      expect(r.headers.get('content-language')).toBe('de');
      expect(r.headers.get('expires')).toBe('Thu, 01 Dec 2044 16:00:00 GMT');
      expect(r.headers.get('content-encoding')).toBe('identity');
      expect([...r.headers.keys()].filter((h) => h.startsWith('x-bz-info-'))).toEqual([]);
    }
  });

  test('b2ContentDisposition, b2CacheControl, b2ContentType ... on a download replace the stored headers for that download', async () => {
    const up = await uploadRaw(emu, token, emu.bucketId, 'range/override.txt', Buffer.from('o'), {
      'Content-Type': 'text/plain',
      'X-Bz-Info-b2-content-disposition': 'inline',
    });
    const query = new URLSearchParams({
      b2ContentDisposition: 'attachment; filename="o.csv"',
      b2ContentLanguage: 'fr',
      b2Expires: 'Thu, 01 Dec 2044 16:00:00 GMT',
      b2CacheControl: 'private, max-age=60',
      b2ContentEncoding: 'identity',
      b2ContentType: 'text/csv',
    });
    const share = await api(emu, token, 'b2_get_download_authorization', {bucketId: emu.bucketId, fileNamePrefix: 'range/', validDurationInSeconds: 600});
    const answers = [
      await raw(`${emu.url}/file/${emu.bucket}/range/override.txt?${query}`, {headers: {Authorization: token}}),
      await raw(`${emu.url}/file/${emu.bucket}/range/override.txt?${query}&Authorization=${encodeURIComponent(share.json.authorizationToken)}`),
      await raw(`${emu.url}/b2api/v2/b2_download_file_by_id?fileId=${encodeURIComponent(up.json.fileId)}&${query}`, {headers: {Authorization: token}}),
      await raw(`${emu.url}/b2api/v2/b2_download_file_by_id`, {
        method: 'POST',
        headers: {Authorization: token, 'Content-Type': 'application/json'},
        body: JSON.stringify({fileId: up.json.fileId, ...Object.fromEntries(query)}),
      }),
    ];
    for (const r of answers) {
      expect(r.status).toBe(200);
      expect(r.text).toBe('o');
      expect(r.headers.get('content-disposition')).toBe('attachment; filename="o.csv"');
      expect(r.headers.get('content-language')).toBe('fr');
      expect(r.headers.get('expires')).toBe('Thu, 01 Dec 2044 16:00:00 GMT');
      expect(r.headers.get('cache-control')).toBe('private, max-age=60');
      expect(r.headers.get('content-encoding')).toBe('identity');
      expect(r.headers.get('content-type')).toBe('text/csv');
    }
    // without the parameters the stored values are back
    const plain = await raw(`${emu.url}/file/${emu.bucket}/range/override.txt`, {headers: {Authorization: token}});
    expect(plain.headers.get('content-disposition')).toBe('inline');
    expect(plain.headers.get('content-type')).toBe('text/plain');
    const bad = await raw(`${emu.url}/file/${emu.bucket}/range/override.txt?b2ContentDisposition=${encodeURIComponent('attachment; filename="ü"')}`, {headers: {Authorization: token}});
    expect(bad.status).toBe(400);
    expect(bad.json).toMatchObject({status: 400, code: 'bad_request'});
  });

  test('HEAD of a missing file is 404 without a body', async () => {
    const r = await raw(`${emu.url}/file/${emu.bucket}/range/none`, {method: 'HEAD', headers: {Authorization: token}});
    expect(r.status).toBe(404);
    expect(r.text).toBe('');
  });

  test('Range a-b, a- and -n answer 206 with Content-Range', async () => {
    const get = (range: string) => fetch(`${emu.url}/file/${emu.bucket}/range/file.bin`, {headers: {Authorization: token, Range: range}});
    let r = await get('bytes=10-19');
    expect(r.status).toBe(206);
    expect(r.headers.get('content-range')).toBe('bytes 10-19/1000');
    expect(Buffer.from(await r.arrayBuffer())).toEqual(data.subarray(10, 20));
    r = await get('bytes=990-');
    expect(Buffer.from(await r.arrayBuffer())).toEqual(data.subarray(990));
    r = await get('bytes=-5');
    expect(r.headers.get('content-range')).toBe('bytes 995-999/1000');
    expect(Buffer.from(await r.arrayBuffer())).toEqual(data.subarray(995));
    r = await get('bytes=900-5000');
    expect(r.headers.get('content-range')).toBe('bytes 900-999/1000');
  });

  test('an unsatisfiable range is 416 range_not_satisfiable', async () => {
    const r = await raw(`${emu.url}/file/${emu.bucket}/range/file.bin`, {headers: {Authorization: token, Range: 'bytes=1000-1001'}});
    expect(r.status).toBe(416);
    expect(r.json).toEqual({status: 416, code: 'range_not_satisfiable', message: expect.any(String)});
    expect(r.headers.get('content-range')).toBe('bytes */1000');
  });

  test('by id with GET query, and a range across the parts of a large file', async () => {
    const parts = [bytes(150, 1), bytes(120, 2)];
    const start = await api(emu, token, 'b2_start_large_file', {bucketId: emu.bucketId, fileName: 'range/large', contentType: 'application/octet-stream'});
    const url = await api(emu, token, 'b2_get_upload_part_url', {fileId: start.json.fileId});
    for (const [i, p] of parts.entries()) {
      const r = await raw(url.json.uploadUrl, {method: 'POST', headers: {Authorization: url.json.authorizationToken, 'X-Bz-Part-Number': String(i + 1), 'X-Bz-Content-Sha1': sha1(p)}, body: p});
      expect(r.status).toBe(200);
    }
    await api(emu, token, 'b2_finish_large_file', {fileId: start.json.fileId, partSha1Array: parts.map(sha1)});
    const r = await fetch(`${emu.url}/b2api/v2/b2_download_file_by_id?fileId=${encodeURIComponent(start.json.fileId)}`, {headers: {Authorization: token, Range: 'bytes=140-159'}});
    expect(r.status).toBe(206);
    expect(Buffer.from(await r.arrayBuffer())).toEqual(Buffer.concat(parts).subarray(140, 160));
  });
});

describe('server-side copies', () => {
  test('b2_copy_file copies (a range of) a file, keeping or replacing its metadata', async () => {
    const data = bytes(500, 11);
    const src = await uploadRaw(emu, token, emu.bucketId, 'copy/src.bin', data, {'X-Bz-Info-origin': 'src'});
    const whole = await api(emu, token, 'b2_copy_file', {sourceFileId: src.json.fileId, fileName: 'copy/whole.bin'});
    expect(whole.json).toMatchObject({action: 'copy', contentLength: 500, contentSha1: sha1(data), fileInfo: {origin: 'src'}});
    // B2 answers a copy with action "copy" just this once: the stored version is an upload like any other
    const stored = await api(emu, token, 'b2_get_file_info', {fileId: whole.json.fileId});
    expect(stored.json.action).toBe('upload');
    const listed = await api(emu, token, 'b2_list_file_names', {bucketId: emu.bucketId, prefix: 'copy/whole.bin'});
    expect(listed.json.files.map((f: {action: string}) => f.action)).toEqual(['upload']);
    const part = await api(emu, token, 'b2_copy_file', {
      sourceFileId: src.json.fileId, fileName: 'copy/part.txt', range: 'bytes=100-199',
      metadataDirective: 'REPLACE', contentType: 'b2/x-auto', fileInfo: {origin: 'range'},
    });
    expect(part.json).toMatchObject({contentLength: 100, contentSha1: sha1(data.subarray(100, 200)), contentType: 'text/plain', fileInfo: {origin: 'range'}});
    // The copy owns its bytes: deleting the source leaves it readable.
    await api(emu, token, 'b2_delete_file_version', {fileId: src.json.fileId, fileName: 'copy/src.bin'});
    const down = await fetch(`${emu.url}/file/${emu.bucket}/copy/part.txt`, {headers: {Authorization: token}});
    expect(Buffer.from(await down.arrayBuffer())).toEqual(data.subarray(100, 200));
    const bad = await api(emu, token, 'b2_copy_file', {sourceFileId: whole.json.fileId, fileName: 'copy/x', contentType: 'text/plain'});
    expect(bad.json.code).toBe('bad_request');
    // B2: a 400 when the directive is COPY and contentType is set, or REPLACE and contentType is not set (or null)
    for (const contentType of [undefined, null]) {
      const replaceWithout = await api(emu, token, 'b2_copy_file', {sourceFileId: whole.json.fileId, fileName: 'copy/y', metadataDirective: 'REPLACE', contentType, fileInfo: {a: 'b'}});
      expect(replaceWithout.json).toMatchObject({status: 400, code: 'bad_request'});
    }
    const withInfo = await api(emu, token, 'b2_copy_file', {sourceFileId: whole.json.fileId, fileName: 'copy/z', fileInfo: {a: 'b'}});
    expect(withInfo.json).toMatchObject({status: 400, code: 'bad_request'});
  });

  test('b2_copy_part builds a large file from ranges of existing files', async () => {
    const data = bytes(300, 12);
    const src = await uploadRaw(emu, token, emu.bucketId, 'copy/parts-src.bin', data);
    const large = await api(emu, token, 'b2_start_large_file', {bucketId: emu.bucketId, fileName: 'copy/assembled.bin', contentType: 'b2/x-auto'});
    const p1 = await api(emu, token, 'b2_copy_part', {sourceFileId: src.json.fileId, largeFileId: large.json.fileId, partNumber: 1, range: 'bytes=0-199'});
    const p2 = await api(emu, token, 'b2_copy_part', {sourceFileId: src.json.fileId, largeFileId: large.json.fileId, partNumber: 2, range: 'bytes=200-299'});
    expect([p1.json.contentLength, p2.json.contentLength]).toEqual([200, 100]);
    const done = await api(emu, token, 'b2_finish_large_file', {fileId: large.json.fileId, partSha1Array: [p1.json.contentSha1, p2.json.contentSha1]});
    expect(done.json.contentLength).toBe(300);
    const down = await fetch(`${emu.url}/file/${emu.bucket}/copy/assembled.bin`, {headers: {Authorization: token}});
    expect(Buffer.from(await down.arrayBuffer())).toEqual(data);
  });
});

describe('listing', () => {
  beforeAll(async () => {
    await clearBucket();
    for (const name of ['b', 'a/2', 'a/1', 'c/d/e', 'é', 'z', 'a/3']) await uploadRaw(emu, token, emu.bucketId, name, Buffer.from(name));
  });

  test('names come in UTF-8 byte order; startFileName is inclusive; nextFileName pages', async () => {
    const first = await api(emu, token, 'b2_list_file_names', {bucketId: emu.bucketId, maxFileCount: 3});
    expect(first.json.files.map((f: any) => f.fileName)).toEqual(['a/1', 'a/2', 'a/3']);
    expect(first.json.nextFileName).toBe('b');
    const second = await api(emu, token, 'b2_list_file_names', {bucketId: emu.bucketId, startFileName: first.json.nextFileName, maxFileCount: 10});
    expect(second.json.files.map((f: any) => f.fileName)).toEqual(['b', 'c/d/e', 'z', 'é']);
    expect(second.json.nextFileName).toBeNull();
  });

  test('GET with query parameters works like POST', async () => {
    const r = await raw(`${emu.url}/b2api/v2/b2_list_file_names?bucketId=${emu.bucketId}&prefix=a%2F&maxFileCount=2`, {headers: {Authorization: token}});
    expect(r.json.files.map((f: any) => f.fileName)).toEqual(['a/1', 'a/2']);
    expect(r.json.nextFileName).toBe('a/3');
  });

  test('a delimiter gives each sub-folder once', async () => {
    const r = await api(emu, token, 'b2_list_file_names', {bucketId: emu.bucketId, delimiter: '/'});
    expect(r.json.files.map((f: any) => [f.fileName, f.action])).toEqual([
      ['a/', 'folder'], ['b', 'upload'], ['c/', 'folder'], ['z', 'upload'], ['é', 'upload'],
    ]);
    const paged = await api(emu, token, 'b2_list_file_names', {bucketId: emu.bucketId, delimiter: '/', maxFileCount: 1});
    expect(paged.json.nextFileName).toBe('b');
    const inner = await api(emu, token, 'b2_list_file_names', {bucketId: emu.bucketId, prefix: 'c/', delimiter: '/'});
    expect(inner.json.files.map((f: any) => f.fileName)).toEqual(['c/d/']);
  });

  test('versions: hide markers and unfinished large files, newest first, paged by name and id', async () => {
    await uploadRaw(emu, token, emu.bucketId, 'b', Buffer.from('b2'));
    await api(emu, token, 'b2_hide_file', {bucketId: emu.bucketId, fileName: 'b'});
    await api(emu, token, 'b2_start_large_file', {bucketId: emu.bucketId, fileName: 'b', contentType: 'text/plain'});
    const all = await api(emu, token, 'b2_list_file_versions', {bucketId: emu.bucketId, prefix: 'b'});
    expect(all.json.files.map((f: any) => f.action)).toEqual(['start', 'hide', 'upload', 'upload']);
    const page1 = await api(emu, token, 'b2_list_file_versions', {bucketId: emu.bucketId, prefix: 'b', maxFileCount: 2});
    expect(page1.json.nextFileName).toBe('b');
    expect(page1.json.nextFileId).toBe(all.json.files[2].fileId);
    const page2 = await api(emu, token, 'b2_list_file_versions', {bucketId: emu.bucketId, prefix: 'b', startFileName: 'b', startFileId: page1.json.nextFileId});
    expect(page2.json.files.map((f: any) => f.fileId)).toEqual(all.json.files.slice(2).map((f: any) => f.fileId));
    const names = await api(emu, token, 'b2_list_file_names', {bucketId: emu.bucketId, prefix: 'b'});
    expect(names.json.files).toEqual([]);
  });

  test('versions: a page resumed at a startFileId whose version was deleted meanwhile goes on after it, repeating nothing', async () => {
    const ids = [];
    for (const body of ['v1', 'v2', 'v3']) ids.push((await uploadRaw(emu, token, emu.bucketId, 'gone/v', Buffer.from(body))).json.fileId);
    const page1 = await api(emu, token, 'b2_list_file_versions', {bucketId: emu.bucketId, prefix: 'gone/', maxFileCount: 1});
    expect(page1.json.files.map((f: any) => f.fileId)).toEqual([ids[2]]);
    expect(page1.json.nextFileId).toBe(ids[1]);
    await api(emu, token, 'b2_delete_file_version', {fileName: 'gone/v', fileId: ids[1]});
    const page2 = await api(emu, token, 'b2_list_file_versions', {bucketId: emu.bucketId, prefix: 'gone/', startFileName: 'gone/v', startFileId: page1.json.nextFileId});
    expect(page2.json.files.map((f: any) => f.fileId)).toEqual([ids[0]]);
  });

  test('list_unfinished_large_files pages by startFileId', async () => {
    const ids: string[] = [];
    for (const n of ['u/1', 'u/2', 'u/3']) ids.push((await api(emu, token, 'b2_start_large_file', {bucketId: emu.bucketId, fileName: n, contentType: 'b2/x-auto'})).json.fileId);
    const first = await api(emu, token, 'b2_list_unfinished_large_files', {bucketId: emu.bucketId, namePrefix: 'u/', maxFileCount: 2});
    expect(first.json.files.map((f: any) => [f.fileName, f.action])).toEqual([['u/1', 'start'], ['u/2', 'start']]);
    expect(first.json.nextFileId).toBe(ids[2]);
    const rest = await api(emu, token, 'b2_list_unfinished_large_files', {bucketId: emu.bucketId, namePrefix: 'u/', startFileId: first.json.nextFileId});
    expect(rest.json.files.map((f: any) => f.fileName)).toEqual(['u/3']);
    expect(rest.json.nextFileId).toBeNull();
  });

  test('list_unfinished_large_files lists in the order the uploads started, oldest first (not by name)', async () => {
    const started: string[] = [];
    for (const n of ['order/b', 'order/a', 'order/c']) started.push((await api(emu, token, 'b2_start_large_file', {bucketId: emu.bucketId, fileName: n, contentType: 'b2/x-auto'})).json.fileId);
    const r = await api(emu, token, 'b2_list_unfinished_large_files', {bucketId: emu.bucketId, namePrefix: 'order/'});
    expect(r.json.files.map((f: any) => f.fileId)).toEqual(started);
  });

  test('list_unfinished_large_files: a startFileId no longer unfinished (finished or cancelled between pages) goes on with the next upload', async () => {
    const ids: string[] = [];
    for (const n of ['next/1', 'next/2', 'next/3']) ids.push((await api(emu, token, 'b2_start_large_file', {bucketId: emu.bucketId, fileName: n, contentType: 'b2/x-auto'})).json.fileId);
    const first = await api(emu, token, 'b2_list_unfinished_large_files', {bucketId: emu.bucketId, namePrefix: 'next/', maxFileCount: 1});
    expect(first.json.nextFileId).toBe(ids[1]);
    await api(emu, token, 'b2_cancel_large_file', {fileId: ids[1]});
    const rest = await api(emu, token, 'b2_list_unfinished_large_files', {bucketId: emu.bucketId, namePrefix: 'next/', startFileId: first.json.nextFileId});
    expect(rest.status).toBe(200);
    expect(rest.json.files.map((f: any) => f.fileId)).toEqual([ids[2]]);
  });

  test('maxFileCount up to 10000 in one call', async () => {
    const r = await api(emu, token, 'b2_list_file_names', {bucketId: emu.bucketId, maxFileCount: 10000});
    expect(r.status).toBe(200);
  });

  test('v1 listings carry size as well as contentLength', async () => {
    const r = await api(emu, token, 'b2_list_file_names', {bucketId: emu.bucketId, prefix: 'z'}, 1);
    expect(r.json.files[0]).toMatchObject({size: 1, contentLength: 1});
  });
});
