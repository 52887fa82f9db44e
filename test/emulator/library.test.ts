/**
 * The emulator driven through the real `backblaze-b2` library, for every call the
 * library has: what a real client sees over the wire.
 */
import {afterAll, beforeAll, describe, expect, test} from '@jest/globals';
import {Readable} from 'node:stream';
import {RunningEmulator, startEmulator} from '../../src/emulator/index.js';
import {bytes, libraryClient, sha1} from './helpers.js';

let emu: RunningEmulator;
let b2: any;

beforeAll(async () => {
  emu = await startEmulator({port: 0, minPartSize: 1000});
  b2 = await libraryClient(emu);
});
afterAll(async () => {
  await emu.stop();
});

async function failure(p: Promise<unknown>): Promise<{status: number; code: string}> {
  try {
    await p;
  } catch (e: any) {
    return {status: e.response?.status, code: e.response?.data?.code};
  }
  throw new Error('expected the call to fail');
}

describe('backblaze-b2 library against the emulator', () => {
  test('authorize answers the emulator URL and part sizes', async () => {
    expect(b2.apiUrl).toBe(emu.url);
    expect(b2.downloadUrl).toBe(emu.url);
    expect(b2.authorizationToken).toEqual(expect.any(String));
  });

  test('buckets: create, list, get, update, delete', async () => {
    const created = await b2.createBucket({bucketName: 'lib-bucket-1', bucketType: 'allPrivate'});
    expect(created.data).toMatchObject({bucketName: 'lib-bucket-1', bucketType: 'allPrivate', revision: 1});
    const list = await b2.listBuckets();
    expect(list.data.buckets.map((b: any) => b.bucketName).sort()).toEqual(['lib-bucket-1', emu.bucket].sort());
    const got = await b2.getBucket({bucketName: 'lib-bucket-1'});
    expect(got.data.buckets).toHaveLength(1);
    const updated = await b2.updateBucket({bucketId: created.data.bucketId, bucketType: 'allPublic'});
    expect(updated.data).toMatchObject({bucketType: 'allPublic', revision: 2});
    const deleted = await b2.deleteBucket({bucketId: created.data.bucketId});
    expect(deleted.data.bucketId).toBe(created.data.bucketId);
    expect((await b2.getBucket({bucketName: 'lib-bucket-1'})).data.buckets).toHaveLength(0);
    expect(await failure(b2.createBucket({bucketName: emu.bucket, bucketType: 'allPrivate'}))).toEqual({status: 400, code: 'duplicate_bucket_name'});
  });

  test('small files: upload (buffer and stream), info, download by name and id, hide, delete', async () => {
    const data = Buffer.from('hello emulator');
    const url = (await b2.getUploadUrl({bucketId: emu.bucketId})).data;
    const up = await b2.uploadFile({
      uploadUrl: url.uploadUrl, uploadAuthToken: url.authorizationToken,
      fileName: 'dir/hello world+1.txt', data, info: {src_last_modified_millis: '1234', note: 'a b/ü'},
    });
    expect(up.data).toMatchObject({action: 'upload', contentLength: data.length, contentSha1: sha1(data), fileName: 'dir/hello world+1.txt', contentType: 'text/plain'});
    expect(up.data.fileInfo).toEqual({src_last_modified_millis: '1234', note: 'a b/ü'});

    const streamed = bytes(3000, 7);
    const up2 = await b2.uploadFile({
      uploadUrl: url.uploadUrl, uploadAuthToken: url.authorizationToken, fileName: 'dir/streamed.bin',
      data: Readable.from([streamed.subarray(0, 1000), streamed.subarray(1000)]), contentLength: streamed.length, hash: sha1(streamed),
    });
    expect(up2.data.contentLength).toBe(3000);

    const info = await b2.getFileInfo({fileId: up.data.fileId});
    expect(info.data).toMatchObject({fileName: 'dir/hello world+1.txt', contentSha1: sha1(data)});

    const byName = await b2.downloadFileByName({bucketName: emu.bucket, fileName: 'dir/hello world+1.txt', responseType: 'arraybuffer'});
    expect(Buffer.from(byName.data)).toEqual(data);
    expect(byName.headers['x-bz-content-sha1']).toBe(sha1(data));
    expect(decodeURIComponent(byName.headers['x-bz-file-name'])).toBe('dir/hello world+1.txt');
    expect(decodeURIComponent(byName.headers['x-bz-info-note'])).toBe('a b/ü');
    const byId = await b2.downloadFileById({fileId: up2.data.fileId, responseType: 'arraybuffer'});
    expect(Buffer.from(byId.data)).toEqual(streamed);

    const names = await b2.listFileNames({bucketId: emu.bucketId, prefix: 'dir/', maxFileCount: 10});
    expect(names.data.files.map((f: any) => f.fileName)).toEqual(['dir/hello world+1.txt', 'dir/streamed.bin']);

    const hidden = await b2.hideFile({bucketId: emu.bucketId, fileName: 'dir/streamed.bin'});
    expect(hidden.data.action).toBe('hide');
    const after = await b2.listFileNames({bucketId: emu.bucketId, prefix: 'dir/'});
    expect(after.data.files.map((f: any) => f.fileName)).toEqual(['dir/hello world+1.txt']);
    expect(await failure(b2.downloadFileByName({bucketName: emu.bucket, fileName: 'dir/streamed.bin'}))).toMatchObject({status: 404});

    const versions = await b2.listFileVersions({bucketId: emu.bucketId, startFileName: 'dir/'});
    const ofStreamed = versions.data.files.filter((f: any) => f.fileName === 'dir/streamed.bin');
    expect(ofStreamed.map((f: any) => f.action)).toEqual(['hide', 'upload']);
    for (const v of versions.data.files) await b2.deleteFileVersion({fileId: v.fileId, fileName: v.fileName});
    expect((await b2.listFileVersions({bucketId: emu.bucketId})).data.files).toEqual([]);
    expect(await failure(b2.deleteFileVersion({fileId: up.data.fileId, fileName: up.data.fileName}))).toEqual({status: 400, code: 'file_not_present'});
  });

  test('large file: start, part URLs, parts (buffer and hex_digits_at_end stream), list parts, finish, download', async () => {
    const parts = [bytes(1500, 1), bytes(1200, 2), bytes(10, 3)];
    const whole = Buffer.concat(parts);
    const started = await b2.startLargeFile({bucketId: emu.bucketId, fileName: 'big/file.tar'});
    expect(started.data).toMatchObject({action: 'start', contentSha1: 'none'});
    const fileId = started.data.fileId;
    const partUrl = (await b2.getUploadPartUrl({fileId})).data;
    await b2.uploadPart({uploadUrl: partUrl.uploadUrl, uploadAuthToken: partUrl.authorizationToken, partNumber: 1, data: parts[0]});
    const withTrailer = Buffer.concat([parts[1], Buffer.from(sha1(parts[1]))]);
    const p2 = await b2.uploadPart({
      uploadUrl: partUrl.uploadUrl, uploadAuthToken: partUrl.authorizationToken, partNumber: 2,
      data: Readable.from([withTrailer]), contentLength: withTrailer.length, hash: 'hex_digits_at_end',
    });
    expect(p2.data).toMatchObject({partNumber: 2, contentLength: 1200, contentSha1: sha1(parts[1])});
    await b2.uploadPart({uploadUrl: partUrl.uploadUrl, uploadAuthToken: partUrl.authorizationToken, partNumber: 3, data: parts[2]});
    const listed = await b2.listParts({fileId});
    expect(listed.data.parts.map((p: any) => p.partNumber)).toEqual([1, 2, 3]);
    const finished = await b2.finishLargeFile({fileId, partSha1Array: parts.map(sha1)});
    expect(finished.data).toMatchObject({action: 'upload', contentLength: whole.length, contentSha1: 'none', fileId});
    const down = await b2.downloadFileByName({bucketName: emu.bucket, fileName: 'big/file.tar', responseType: 'arraybuffer'});
    expect(Buffer.from(down.data)).toEqual(whole);
    expect(down.headers['x-bz-content-sha1']).toBe('none');
    await b2.deleteFileVersion({fileId, fileName: 'big/file.tar'});
  });

  test('large file: cancel removes it', async () => {
    const started = await b2.startLargeFile({bucketId: emu.bucketId, fileName: 'big/cancelled'});
    const cancelled = await b2.cancelLargeFile({fileId: started.data.fileId});
    expect(cancelled.data).toMatchObject({fileId: started.data.fileId, fileName: 'big/cancelled', bucketId: emu.bucketId});
    expect((await b2.listFileVersions({bucketId: emu.bucketId})).data.files).toEqual([]);
  });

  test('keys: create, list, delete; a restricted key sees only its prefix', async () => {
    const created = await b2.createKey({capabilities: ['listFiles', 'readFiles', 'writeFiles'], keyName: 'lib-key', bucketId: emu.bucketId, namePrefix: 'p/'});
    expect(created.data).toMatchObject({keyName: 'lib-key', namePrefix: 'p/', bucketId: emu.bucketId, applicationKey: expect.any(String)});
    const listed = await b2.listKeys();
    expect(listed.data.keys.map((k: any) => k.applicationKeyId)).toContain(created.data.applicationKeyId);
    expect(listed.data.keys.every((k: any) => k.applicationKey === undefined)).toBe(true);
    const restricted = await libraryClient(emu, created.data.applicationKeyId, created.data.applicationKey);
    expect(await failure(restricted.listFileNames({bucketId: emu.bucketId, prefix: ''}))).toEqual({status: 401, code: 'unauthorized'});
    expect((await restricted.listFileNames({bucketId: emu.bucketId, prefix: 'p/'})).data.files).toEqual([]);
    await b2.deleteKey({applicationKeyId: created.data.applicationKeyId});
    expect(await failure(restricted.listFileNames({bucketId: emu.bucketId, prefix: 'p/'}))).toEqual({status: 401, code: 'bad_auth_token'});
  });

  test('download authorization lets a token read one prefix', async () => {
    const url = (await b2.getUploadUrl({bucketId: emu.bucketId})).data;
    await b2.uploadFile({uploadUrl: url.uploadUrl, uploadAuthToken: url.authorizationToken, fileName: 'shared/a.txt', data: Buffer.from('shared')});
    await b2.uploadFile({uploadUrl: url.uploadUrl, uploadAuthToken: url.authorizationToken, fileName: 'private/b.txt', data: Buffer.from('private')});
    const auth = await b2.getDownloadAuthorization({bucketId: emu.bucketId, fileNamePrefix: 'shared/', validDurationInSeconds: 60});
    const token = auth.data.authorizationToken;
    const ok = await fetch(`${emu.url}/file/${emu.bucket}/shared/a.txt?Authorization=${encodeURIComponent(token)}`);
    expect(ok.status).toBe(200);
    expect(await ok.text()).toBe('shared');
    const denied = await fetch(`${emu.url}/file/${emu.bucket}/private/b.txt`, {headers: {Authorization: token}});
    expect(denied.status).toBe(401);
    expect(((await denied.json()) as any).code).toBe('unauthorized');
  });
});
