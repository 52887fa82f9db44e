/**
 * Every error case of the API notes' table (and the upload, part and name rules): the
 * exact status, B2's `{status, code, message}` body, and proof that nothing changed.
 */
import {afterAll, beforeAll, describe, expect, test} from '@jest/globals';
import {connect} from 'node:net';
import {setTimeout as sleep} from 'node:timers/promises';
import {RunningEmulator, startEmulator} from '../../src/emulator/index.js';
import {api, authorizeRaw, bytes, raw, RawAnswer, sha1, uploadRaw} from './helpers.js';
import {rawUploadRequest} from './raw-socket.js';

const MIN_PART = 100;
let emu: RunningEmulator;
let token: string;
let keepId: string;
let largeId: string;
const parts = [bytes(150, 1), bytes(10, 2)];

beforeAll(async () => {
  emu = await startEmulator({port: 0, minPartSize: MIN_PART});
  token = (await authorizeRaw(emu)).authorizationToken;
  keepId = (await uploadRaw(emu, token, emu.bucketId, 'keep.txt', Buffer.from('keep'))).json.fileId;
  await uploadRaw(emu, token, emu.bucketId, 'hidden.txt', Buffer.from('hidden'));
  await api(emu, token, 'b2_hide_file', {bucketId: emu.bucketId, fileName: 'hidden.txt'});
  largeId = (await api(emu, token, 'b2_start_large_file', {bucketId: emu.bucketId, fileName: 'large.bin', contentType: 'application/octet-stream'})).json.fileId;
  const url = await api(emu, token, 'b2_get_upload_part_url', {fileId: largeId});
  for (const [i, p] of parts.entries()) {
    await raw(url.json.uploadUrl, {method: 'POST', headers: {Authorization: url.json.authorizationToken, 'X-Bz-Part-Number': String(i + 1), 'X-Bz-Content-Sha1': sha1(p)}, body: p});
  }
});
afterAll(async () => {
  await emu.stop();
});

/** Everything a client could observe: buckets, every file version, parts, keys. */
async function fingerprint(): Promise<string> {
  const t = (await authorizeRaw(emu)).authorizationToken;
  const buckets = (await api(emu, t, 'b2_list_buckets', {})).json.buckets;
  const out: unknown[] = [buckets, (await api(emu, t, 'b2_list_keys', {maxKeyCount: 10000})).json.keys];
  for (const b of buckets) {
    const files = (await api(emu, t, 'b2_list_file_versions', {bucketId: b.bucketId, maxFileCount: 10000})).json.files;
    out.push(files);
    for (const f of files.filter((x: any) => x.action === 'start')) out.push((await api(emu, t, 'b2_list_parts', {fileId: f.fileId})).json);
  }
  return JSON.stringify(out);
}

/** Runs `call`, asserts B2's exact error answer, and that the observable state is unchanged. */
async function expectError(call: () => Promise<RawAnswer>, status: number, code: string): Promise<RawAnswer> {
  const before = await fingerprint();
  const r = await call();
  expect({status: r.status, body: r.json}).toEqual({status, body: {status, code, message: expect.any(String)}});
  expect(await fingerprint()).toBe(before);
  return r;
}

async function keyToken(capabilities: string[], restrict: {bucketName?: string; namePrefix?: string} = {}): Promise<string> {
  const key = await emu.createKey({capabilities, ...restrict});
  return (await authorizeRaw(emu, 2, key.keyId, key.applicationKey)).authorizationToken;
}

async function partUpload(number: string, data: Buffer, headers: Record<string, string> = {}): Promise<RawAnswer> {
  const url = await api(emu, token, 'b2_get_upload_part_url', {fileId: largeId});
  return raw(url.json.uploadUrl, {method: 'POST', headers: {Authorization: url.json.authorizationToken, 'X-Bz-Part-Number': number, 'X-Bz-Content-Sha1': sha1(data), ...headers}, body: data});
}

describe('400: the request is wrong', () => {
  test('bad_json', () =>
    expectError(() => raw(`${emu.url}/b2api/v2/b2_list_file_names`, {method: 'POST', headers: {Authorization: token}, body: '{nope'}), 400, 'bad_json'));
  test('bad_request: a required field is missing', () => expectError(() => api(emu, token, 'b2_list_file_names', {}), 400, 'bad_request'));
  test('invalid_bucket_id: malformed', () => expectError(() => api(emu, token, 'b2_list_file_names', {bucketId: 'nope'}), 400, 'invalid_bucket_id'));
  test('bad_bucket_id: well formed, no such bucket', () =>
    expectError(() => api(emu, token, 'b2_get_upload_url', {bucketId: '0'.repeat(24)}), 400, 'bad_bucket_id'));
  test('invalid_file_id: a startFileId that is no file ID at all', () =>
    expectError(() => api(emu, token, 'b2_list_file_versions', {bucketId: emu.bucketId, startFileName: 'keep.txt', startFileId: 'made-up'}), 400, 'invalid_file_id'));
  test('out_of_range: maxFileCount above 10000', () =>
    expectError(() => api(emu, token, 'b2_list_file_names', {bucketId: emu.bucketId, maxFileCount: 10001}), 400, 'out_of_range'));
  test('bad_request: SHA1 mismatch on upload', () =>
    expectError(() => uploadRaw(emu, token, emu.bucketId, 'bad-sha.txt', Buffer.from('data'), {'X-Bz-Content-Sha1': sha1('other')}), 400, 'bad_request'));
  test('bad_request: hex_digits_at_end with a wrong trailer', () =>
    expectError(() => uploadRaw(emu, token, emu.bucketId, 'bad-trailer.txt', Buffer.concat([Buffer.from('data'), Buffer.from(sha1('x'))]), {'X-Bz-Content-Sha1': 'hex_digits_at_end'}), 400, 'bad_request'));
  test('bad_request: missing X-Bz-Content-Sha1', () =>
    expectError(() => uploadRaw(emu, token, emu.bucketId, 'no-sha.txt', Buffer.from('d'), {'X-Bz-Content-Sha1': ''}), 400, 'bad_request'));
  test('bad_request: missing Content-Type', () =>
    expectError(async () => {
      const url = await api(emu, token, 'b2_get_upload_url', {bucketId: emu.bucketId});
      return raw(url.json.uploadUrl, {method: 'POST', headers: {Authorization: url.json.authorizationToken, 'X-Bz-File-Name': 'no-type', 'X-Bz-Content-Sha1': sha1('d')}, body: new Uint8Array(Buffer.from('d'))});
    }, 400, 'bad_request'));
  test('bad_request: more than 10 X-Bz-Info headers', () => {
    const info: Record<string, string> = {};
    for (let i = 0; i < 11; i++) info[`X-Bz-Info-k${i}`] = 'v';
    return expectError(() => uploadRaw(emu, token, emu.bucketId, 'info.txt', Buffer.from('d'), info), 400, 'bad_request');
  });
  test('bad_request: an info name with a bad character or over 50 bytes', async () => {
    await expectError(() => uploadRaw(emu, token, emu.bucketId, 'info.txt', Buffer.from('d'), {'X-Bz-Info-a`b': 'v'}), 400, 'bad_request');
    await expectError(() => uploadRaw(emu, token, emu.bucketId, 'info.txt', Buffer.from('d'), {[`X-Bz-Info-${'k'.repeat(51)}`]: 'v'}), 400, 'bad_request');
  });
  test('bad_request: name and info over 7000 bytes', () =>
    expectError(() => uploadRaw(emu, token, emu.bucketId, 'info.txt', Buffer.from('d'), {'X-Bz-Info-a': 'v'.repeat(3500), 'X-Bz-Info-b': 'v'.repeat(3500)}), 400, 'bad_request'));
  test('bad_request: a reserved b2- info name B2 does not know, or a b2-content-disposition that is no sendable header (raw non-ASCII)', async () => {
    await expectError(() => uploadRaw(emu, token, emu.bucketId, 'info.txt', Buffer.from('d'), {'X-Bz-Info-b2-made-up': 'v'}), 400, 'bad_request');
    const raw8 = {'X-Bz-Info-b2-content-disposition': encodeURIComponent('attachment; filename="中.txt"')};
    await expectError(() => uploadRaw(emu, token, emu.bucketId, 'info.txt', Buffer.from('d'), raw8), 400, 'bad_request');
    await expectError(() => api(emu, token, 'b2_start_large_file', {bucketId: emu.bucketId, fileName: 'info.bin', contentType: 'b2/x-auto', fileInfo: {'b2-content-disposition': 'attachment; filename="中.txt"'}}), 400, 'bad_request');
  });
  test('a b2-content-disposition in RFC 6266 form (UTF-8 as an extended value) is stored and sent back as Content-Disposition', async () => {
    const disposition = `attachment; filename*=UTF-8''${encodeURIComponent('中.txt')}`;
    const up = await uploadRaw(emu, token, emu.bucketId, 'disposition.txt', Buffer.from('d'), {'X-Bz-Info-b2-content-disposition': encodeURIComponent(disposition)});
    expect(up.status).toBe(200);
    const down = await raw(`${emu.url}/file/${emu.bucket}/disposition.txt`, {headers: {Authorization: token}});
    expect({status: down.status, disposition: down.headers.get('content-disposition')}).toEqual({status: 200, disposition});
    await api(emu, token, 'b2_delete_file_version', {fileId: up.json.fileId, fileName: 'disposition.txt'});
  });
  test('bad_request: file names with control characters, DEL, or over 1024 bytes', async () => {
    await expectError(() => uploadRaw(emu, token, emu.bucketId, 'a\u0001b', Buffer.from('d')), 400, 'bad_request');
    await expectError(() => uploadRaw(emu, token, emu.bucketId, 'a\u007fb', Buffer.from('d')), 400, 'bad_request');
    await expectError(() => uploadRaw(emu, token, emu.bucketId, 'é'.repeat(513), Buffer.from('d')), 400, 'bad_request');
    await expectError(() => api(emu, token, 'b2_start_large_file', {bucketId: emu.bucketId, fileName: 'x'.repeat(1025), contentType: 'b2/x-auto'}), 400, 'bad_request');
  });
  test('bad_request: part numbers outside 1..10000', async () => {
    await expectError(() => partUpload('0', bytes(10)), 400, 'bad_request');
    await expectError(() => partUpload('10001', bytes(10)), 400, 'bad_request');
  });
  test('bad_request: a part whose SHA1 does not match', () => expectError(() => partUpload('3', bytes(10), {'X-Bz-Content-Sha1': sha1('x')}), 400, 'bad_request'));
  test('missing_part: finish with a part that was never uploaded', () =>
    expectError(() => api(emu, token, 'b2_finish_large_file', {fileId: largeId, partSha1Array: [...parts.map(sha1), sha1('x')]}), 400, 'missing_part'));
  test('part_sha1_mismatch: finish with a wrong part SHA1', () =>
    expectError(() => api(emu, token, 'b2_finish_large_file', {fileId: largeId, partSha1Array: [sha1(parts[0]), sha1('x')]}), 400, 'part_sha1_mismatch'));
  test('part_sha1_mismatch: finish with fewer SHA1s than parts were uploaded (the last part left out); the file stays unfinished', async () => {
    await expectError(() => api(emu, token, 'b2_finish_large_file', {fileId: largeId, partSha1Array: [sha1(parts[0])]}), 400, 'part_sha1_mismatch');
    const listed = await api(emu, token, 'b2_list_parts', {fileId: largeId});
    expect(listed.json.parts.map((p: {partNumber: number}) => p.partNumber)).toEqual([1, 2]);
  });
  test('missing_part: parts 1 and 3 uploaded, part 2 not: finish fails whatever the array covers', async () => {
    const gap = (await api(emu, token, 'b2_start_large_file', {bucketId: emu.bucketId, fileName: 'gap.bin', contentType: 'b2/x-auto'})).json.fileId;
    const url = await api(emu, token, 'b2_get_upload_part_url', {fileId: gap});
    const p = [bytes(MIN_PART, 7), bytes(MIN_PART, 8), bytes(5, 9)];
    for (const n of [1, 3]) await raw(url.json.uploadUrl, {method: 'POST', headers: {Authorization: url.json.authorizationToken, 'X-Bz-Part-Number': String(n), 'X-Bz-Content-Sha1': sha1(p[n - 1])}, body: p[n - 1]});
    await expectError(() => api(emu, token, 'b2_finish_large_file', {fileId: gap, partSha1Array: [sha1(p[0])]}), 400, 'missing_part');
    await expectError(() => api(emu, token, 'b2_finish_large_file', {fileId: gap, partSha1Array: [sha1(p[0]), sha1(p[2])]}), 400, 'missing_part');
    await api(emu, token, 'b2_cancel_large_file', {fileId: gap});
  });
  test('bad_request: finish when a part other than the last is below the minimum part size', async () => {
    const small = (await api(emu, token, 'b2_start_large_file', {bucketId: emu.bucketId, fileName: 'small-parts', contentType: 'b2/x-auto'})).json.fileId;
    const url = await api(emu, token, 'b2_get_upload_part_url', {fileId: small});
    const p = [bytes(MIN_PART - 1, 5), bytes(5, 6)];
    for (const [i, d] of p.entries()) await raw(url.json.uploadUrl, {method: 'POST', headers: {Authorization: url.json.authorizationToken, 'X-Bz-Part-Number': String(i + 1), 'X-Bz-Content-Sha1': sha1(d)}, body: d});
    await expectError(() => api(emu, token, 'b2_finish_large_file', {fileId: small, partSha1Array: p.map(sha1)}), 400, 'bad_request');
    await api(emu, token, 'b2_cancel_large_file', {fileId: small});
  });
  test('bad_request: finish, cancel, part URL or list_parts of a file that is not an unfinished large file', async () => {
    await expectError(() => api(emu, token, 'b2_finish_large_file', {fileId: keepId, partSha1Array: [sha1('keep')]}), 400, 'bad_request');
    await expectError(() => api(emu, token, 'b2_cancel_large_file', {fileId: keepId}), 400, 'bad_request');
    await expectError(() => api(emu, token, 'b2_get_upload_part_url', {fileId: 'nope'}), 400, 'bad_request');
    await expectError(() => api(emu, token, 'b2_list_parts', {fileId: keepId}), 400, 'bad_request');
  });
  test.each(['cancelled', 'finished'])('bad_request "No active upload for: <fileId>" (B2\'s words): part URL, part and finish of a large file since %s', async (how) => {
    const id = (await api(emu, token, 'b2_start_large_file', {bucketId: emu.bucketId, fileName: `ended-${how}.bin`, contentType: 'b2/x-auto'})).json.fileId;
    const url = await api(emu, token, 'b2_get_upload_part_url', {fileId: id});
    const part = (n: number, d: Buffer) => raw(url.json.uploadUrl, {method: 'POST', headers: {Authorization: url.json.authorizationToken, 'X-Bz-Part-Number': String(n), 'X-Bz-Content-Sha1': sha1(d)}, body: d});
    for (const [i, p] of parts.entries()) await part(i + 1, p);
    if (how === 'cancelled') await api(emu, token, 'b2_cancel_large_file', {fileId: id});
    else expect((await api(emu, token, 'b2_finish_large_file', {fileId: id, partSha1Array: parts.map(sha1)})).status).toBe(200);
    const answers = [
      await expectError(() => api(emu, token, 'b2_get_upload_part_url', {fileId: id}), 400, 'bad_request'),
      await expectError(() => part(1, parts[0]), 400, 'bad_request'),
      await expectError(() => api(emu, token, 'b2_finish_large_file', {fileId: id, partSha1Array: parts.map(sha1)}), 400, 'bad_request'),
    ];
    expect(answers.map((r) => r.json.message)).toEqual(Array(3).fill(`No active upload for: ${id}`));
  });
  test('file_not_present: delete an unknown version', () =>
    expectError(() => api(emu, token, 'b2_delete_file_version', {fileId: keepId.replace(/_f0+/, '_f9'), fileName: 'keep.txt'}), 400, 'file_not_present'));
  test('bad_request: delete a version under another name', () =>
    expectError(() => api(emu, token, 'b2_delete_file_version', {fileId: keepId, fileName: 'other.txt'}), 400, 'bad_request'));
  test('no_such_file: hide a name that has no version', () =>
    expectError(() => api(emu, token, 'b2_hide_file', {bucketId: emu.bucketId, fileName: 'never.txt'}), 400, 'no_such_file'));
  test('already_hidden: hide a hidden name', () =>
    expectError(() => api(emu, token, 'b2_hide_file', {bucketId: emu.bucketId, fileName: 'hidden.txt'}), 400, 'already_hidden'));
  test('duplicate_bucket_name, invalid bucket names, cannot_delete_non_empty_bucket', async () => {
    await expectError(() => api(emu, token, 'b2_create_bucket', {bucketName: emu.bucket.toUpperCase(), bucketType: 'allPrivate'}), 400, 'duplicate_bucket_name');
    await expectError(() => api(emu, token, 'b2_create_bucket', {bucketName: 'short', bucketType: 'allPrivate'}), 400, 'bad_request');
    await expectError(() => api(emu, token, 'b2_create_bucket', {bucketName: 'under_score', bucketType: 'allPrivate'}), 400, 'bad_request');
    await expectError(() => api(emu, token, 'b2_delete_bucket', {bucketId: emu.bucketId}), 400, 'cannot_delete_non_empty_bucket');
  });
  test('auth_token_limit: a second upload on a token in use', async () => {
    const url = await api(emu, token, 'b2_get_upload_url', {bucketId: emu.bucketId});
    const {port} = new URL(emu.url);
    const body = Buffer.from('first upload body');
    const socket = connect(Number(port), '127.0.0.1');
    let answer = '';
    socket.on('data', (d) => (answer += d.toString()));
    const closed = new Promise((resolve) => socket.on('close', resolve));
    await new Promise((resolve) => socket.on('connect', resolve));
    socket.write(
      rawUploadRequest({
        path: new URL(url.json.uploadUrl).pathname,
        token: url.json.authorizationToken,
        fileName: 'first.txt',
        content: body,
        headers: {Connection: 'close', 'Content-Type': 'text/plain'},
      }),
    );
    socket.write(body.subarray(0, 5));
    await sleep(100);
    await expectError(
      () => raw(url.json.uploadUrl, {method: 'POST', headers: {Authorization: url.json.authorizationToken, 'X-Bz-File-Name': 'second.txt', 'Content-Type': 'text/plain', 'X-Bz-Content-Sha1': sha1('2')}, body: '2'}),
      400,
      'auth_token_limit',
    );
    socket.write(body.subarray(5));
    await closed;
    expect(answer).toMatch(/^HTTP\/1.1 200/);
    const again = await raw(url.json.uploadUrl, {method: 'POST', headers: {Authorization: url.json.authorizationToken, 'X-Bz-File-Name': 'second.txt', 'Content-Type': 'text/plain', 'X-Bz-Content-Sha1': sha1('2')}, body: '2'});
    expect(again.status).toBe(200);
  });
});

describe('401: credentials and tokens', () => {
  test('unauthorized: bad credentials', async () => {
    const basic = Buffer.from(`${emu.keyId}:wrong`).toString('base64');
    await expectError(() => raw(`${emu.url}/b2api/v2/b2_authorize_account`, {headers: {Authorization: `Basic ${basic}`}}), 401, 'unauthorized');
  });
  test('unauthorized: a missing capability', async () => {
    const t = await keyToken(['listFiles']);
    await expectError(() => api(emu, t, 'b2_get_upload_url', {bucketId: emu.bucketId}), 401, 'unauthorized');
    await expectError(() => api(emu, t, 'b2_delete_file_version', {fileId: keepId, fileName: 'keep.txt'}), 401, 'unauthorized');
    await expectError(() => raw(`${emu.url}/file/${emu.bucket}/keep.txt`, {headers: {Authorization: t}}), 401, 'unauthorized');
  });
  test('unauthorized: a key restricted to another bucket', async () => {
    const other = await emu.createBucket('errors-other-bucket');
    const t = await keyToken(['listFiles', 'readFiles', 'writeFiles', 'deleteFiles', 'listBuckets'], {bucketName: other.bucketName});
    await expectError(() => api(emu, t, 'b2_list_file_names', {bucketId: emu.bucketId}), 401, 'unauthorized');
    await expectError(() => api(emu, t, 'b2_get_file_info', {fileId: keepId}), 401, 'unauthorized');
    await expectError(() => api(emu, t, 'b2_delete_file_version', {fileId: keepId, fileName: 'keep.txt'}), 401, 'unauthorized');
    await expectError(() => api(emu, t, 'b2_list_buckets', {}), 401, 'unauthorized');
    expect((await api(emu, t, 'b2_list_buckets', {bucketName: other.bucketName})).json.buckets).toHaveLength(1);
  });
  test('unauthorized: names and list prefixes outside the key namePrefix', async () => {
    const t = await keyToken(['listFiles', 'readFiles', 'writeFiles', 'deleteFiles'], {bucketName: emu.bucket, namePrefix: 'inside/'});
    await expectError(() => uploadRaw(emu, t, emu.bucketId, 'outside.txt', Buffer.from('d')), 401, 'unauthorized');
    await expectError(() => api(emu, t, 'b2_list_file_names', {bucketId: emu.bucketId, prefix: 'ins'}), 401, 'unauthorized');
    await expectError(() => api(emu, t, 'b2_list_file_versions', {bucketId: emu.bucketId}), 401, 'unauthorized');
    await expectError(() => api(emu, t, 'b2_hide_file', {bucketId: emu.bucketId, fileName: 'keep.txt'}), 401, 'unauthorized');
    await expectError(() => api(emu, t, 'b2_start_large_file', {bucketId: emu.bucketId, fileName: 'outside.bin', contentType: 'b2/x-auto'}), 401, 'unauthorized');
    await expectError(() => raw(`${emu.url}/file/${emu.bucket}/keep.txt`, {headers: {Authorization: t}}), 401, 'unauthorized');
    expect((await uploadRaw(emu, t, emu.bucketId, 'inside/ok.txt', Buffer.from('d'))).status).toBe(200);
  });
  test('missing_auth_token and bad_auth_token', async () => {
    await expectError(() => raw(`${emu.url}/b2api/v2/b2_list_buckets`, {method: 'POST', body: '{}'}), 401, 'missing_auth_token');
    await expectError(() => api(emu, 'made-up-token', 'b2_list_buckets', {}), 401, 'bad_auth_token');
  });
  test('expired_auth_token: expireAllTokens, then a fresh authorize works', async () => {
    const t = (await authorizeRaw(emu)).authorizationToken;
    emu.faults.expireAllTokens();
    await expectError(() => api(emu, t, 'b2_list_buckets', {}), 401, 'expired_auth_token');
    token = (await authorizeRaw(emu)).authorizationToken;
    expect((await api(emu, token, 'b2_list_buckets', {})).status).toBe(200);
  });
  test('expired_auth_token when the key expires; the key then fails to authorize', async () => {
    const key = await emu.createKey({capabilities: ['listBuckets'], validDurationSeconds: 1});
    const t = (await authorizeRaw(emu, 2, key.keyId, key.applicationKey)).authorizationToken;
    await sleep(1100);
    await expectError(() => api(emu, t, 'b2_list_buckets', {}), 401, 'expired_auth_token');
    const basic = Buffer.from(`${key.keyId}:${key.applicationKey}`).toString('base64');
    await expectError(() => raw(`${emu.url}/b2api/v2/b2_authorize_account`, {headers: {Authorization: `Basic ${basic}`}}), 401, 'unauthorized');
  });
});

describe('403, 404, 416', () => {
  test('cap_exceeded with X-Bz-Test-Mode: force_cap_exceeded', () =>
    expectError(() => uploadRaw(emu, token, emu.bucketId, 'capped.txt', Buffer.from('d'), {'X-Bz-Test-Mode': 'force_cap_exceeded'}), 403, 'cap_exceeded'));
  test('not_found: unknown file id, missing name, hidden name', async () => {
    await expectError(() => api(emu, token, 'b2_get_file_info', {fileId: 'nope'}), 404, 'not_found');
    // B2's docs: b2_get_file_info "will return an error if called on a non-existent file ID or
    // if called on an unfinished large file": a client cannot tell the two apart with it
    await expectError(() => api(emu, token, 'b2_get_file_info', {fileId: largeId}), 404, 'not_found');
    await expectError(() => raw(`${emu.url}/file/${emu.bucket}/missing.txt`, {headers: {Authorization: token}}), 404, 'not_found');
    await expectError(() => raw(`${emu.url}/file/${emu.bucket}/hidden.txt`, {headers: {Authorization: token}}), 404, 'not_found');
  });
  test('range_not_satisfiable', () =>
    expectError(() => raw(`${emu.url}/file/${emu.bucket}/keep.txt`, {headers: {Authorization: token, Range: 'bytes=4-'}}), 416, 'range_not_satisfiable'));
});

describe('injected account limits and server trouble', () => {
  const cases: Array<[string, number, string]> = [
    ['b2_upload_file', 403, 'storage_cap_exceeded'],
    ['b2_list_file_names', 403, 'transaction_cap_exceeded'],
    ['b2_download_file_by_name', 403, 'download_cap_exceeded'],
    ['b2_get_file_info', 403, 'access_denied'],
    ['b2_list_file_names', 408, 'request_timeout'],
    ['b2_list_file_names', 500, 'internal_error'],
    ['uploads', 503, 'service_unavailable'],
  ];
  const calls: Record<string, () => Promise<RawAnswer>> = {
    b2_upload_file: () => uploadRaw(emu, token, emu.bucketId, 'faulted.txt', Buffer.from('d')),
    uploads: () => uploadRaw(emu, token, emu.bucketId, 'faulted.txt', Buffer.from('d')),
    b2_list_file_names: () => api(emu, token, 'b2_list_file_names', {bucketId: emu.bucketId}),
    b2_download_file_by_name: () => raw(`${emu.url}/file/${emu.bucket}/keep.txt`, {headers: {Authorization: token}}),
    b2_get_file_info: () => api(emu, token, 'b2_get_file_info', {fileId: keepId}),
  };
  test.each(cases)('%s answers %d %s', async (call, status, code) => {
    emu.faults.add({call, count: 1, status, code});
    await expectError(calls[call], status, code);
    expect((await calls[call]()).status).toBe(200);
    if (call.includes('upload')) await api(emu, token, 'b2_delete_file_version', await lastVersion('faulted.txt'));
  });
  test('too_many_requests carries Retry-After', async () => {
    emu.faults.add({call: 'b2_get_upload_url', count: 1, status: 429, retryAfter: 3});
    const r = await expectError(() => api(emu, token, 'b2_get_upload_url', {bucketId: emu.bucketId}), 429, 'too_many_requests');
    expect(r.headers.get('retry-after')).toBe('3');
  });
});

async function lastVersion(name: string): Promise<{fileId: string; fileName: string}> {
  const r = await api(emu, token, 'b2_list_file_versions', {bucketId: emu.bucketId, prefix: name});
  return {fileId: r.json.files[0].fileId, fileName: name};
}
