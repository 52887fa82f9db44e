/**
 * B2's default encryption over raw HTTP, as "Use Server-Side Encryption with the B2 Native
 * API" documents it: a bucket b2_create_bucket makes without defaultServerSideEncryption
 * has SSE-B2 (AES256) as its effective default, needing no writeBucketEncryption; naming a
 * default does need it; on b2_update_bucket `{mode: null}` resets the default to SSE-B2.
 * Existing buckets keep the old behaviour until B2 enables them: the start-up bucket is
 * one of those unless the emulator is told otherwise (bootstrap.encryptedByDefault).
 */
import {afterAll, beforeAll, describe, expect, test} from '@jest/globals';
import {createHash} from 'node:crypto';
import {mkdtemp, rm} from 'node:fs/promises';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {RunningEmulator, startEmulator} from '../../src/emulator/index.js';
import {api, authorizeRaw, raw, uploadRaw} from './helpers.js';

const SSE_B2 = {algorithm: 'AES256', mode: 'SSE-B2'};
const NONE = {mode: null};
const shown = (value: unknown) => ({isClientAuthorizedToRead: true, value});

let emu: RunningEmulator;
let token: string;
let accountId: string;
/** A key that may create and update buckets but not set their encryption. */
let bucketWriterToken: string;

beforeAll(async () => {
  emu = await startEmulator({port: 0, minPartSize: 100});
  const auth = await authorizeRaw(emu);
  token = auth.authorizationToken;
  accountId = auth.accountId;
  const writer = await emu.createKey({capabilities: ['writeBuckets', 'listBuckets', 'readBucketEncryption']});
  bucketWriterToken = (await authorizeRaw(emu, 2, writer.keyId, writer.applicationKey)).authorizationToken;
});
afterAll(async () => {
  await emu.stop();
});

const createBucket = (name: string, extra: Record<string, unknown> = {}, withToken = token) =>
  api(emu, withToken, 'b2_create_bucket', {accountId, bucketName: name, bucketType: 'allPrivate', ...extra});
const bucketDefault = async (bucketId: string) =>
  (await api(emu, token, 'b2_list_buckets', {accountId, bucketId})).json.buckets[0].defaultServerSideEncryption;

/** How a file uploaded without encryption headers is stored: upload, info, both listings and the download header. */
async function plainUploadSeenAs(bucketId: string, bucketName: string, fileName: string): Promise<unknown[]> {
  const up = await uploadRaw(emu, token, bucketId, fileName, Buffer.from('data'));
  expect(up.status).toBe(200);
  const info = await api(emu, token, 'b2_get_file_info', {fileId: up.json.fileId});
  const names = await api(emu, token, 'b2_list_file_names', {bucketId, prefix: fileName});
  const versions = await api(emu, token, 'b2_list_file_versions', {bucketId, prefix: fileName});
  const down = await raw(`${emu.url}/file/${bucketName}/${fileName}`, {headers: {Authorization: token}});
  expect(down.text).toBe('data');
  return [
    up.json.serverSideEncryption,
    info.json.serverSideEncryption,
    names.json.files[0].serverSideEncryption,
    versions.json.files[0].serverSideEncryption,
    down.headers.get('x-bz-server-side-encryption'),
  ];
}

describe('b2_create_bucket without defaultServerSideEncryption', () => {
  let bucket: {bucketId: string; bucketName: string};

  beforeAll(async () => {
    // Backblaze: "Automatic SSE-B2 does not require writeBucketEncryption"
    const made = await createBucket('new-default-1', {}, bucketWriterToken);
    expect(made.status).toBe(200);
    bucket = made.json;
  });

  test('the bucket shows SSE-B2 (AES256) as its default', async () => {
    expect(await bucketDefault(bucket.bucketId)).toEqual(shown(SSE_B2));
  });

  test('a file uploaded without asking is stored with SSE-B2: upload, info, listings and the download header say so', async () => {
    expect(await plainUploadSeenAs(bucket.bucketId, bucket.bucketName, 'plain.txt')).toEqual([SSE_B2, SSE_B2, SSE_B2, SSE_B2, 'AES256']);
  });

  test('a copy into it and a large file started in it without asking get SSE-B2; an upload that asks for SSE-C gets SSE-C', async () => {
    const source = await uploadRaw(emu, token, emu.bucketId, 'copy-source.txt', Buffer.from('source'));
    expect(source.json.serverSideEncryption).toEqual(NONE);
    const copied = await api(emu, token, 'b2_copy_file', {sourceFileId: source.json.fileId, fileName: 'copied.txt', destinationBucketId: bucket.bucketId});
    expect(copied.json.serverSideEncryption).toEqual(SSE_B2);
    const large = await api(emu, token, 'b2_start_large_file', {bucketId: bucket.bucketId, fileName: 'large.bin', contentType: 'application/octet-stream'});
    expect(large.json.serverSideEncryption).toEqual(SSE_B2);
    const key = Buffer.alloc(32, 9);
    const customer = await uploadRaw(emu, token, bucket.bucketId, 'customer.txt', Buffer.from('x'), {
      'X-Bz-Server-Side-Encryption-Customer-Algorithm': 'AES256',
      'X-Bz-Server-Side-Encryption-Customer-Key': key.toString('base64'),
      'X-Bz-Server-Side-Encryption-Customer-Key-Md5': createHash('md5').update(key).digest('base64'),
    });
    expect(customer.json.serverSideEncryption).toEqual({algorithm: 'AES256', mode: 'SSE-C'});
  });

  test('its files are encrypted, so their name and info must fit in 2,048 bytes', async () => {
    const over = await uploadRaw(emu, token, bucket.bucketId, 'big-info.txt', Buffer.from('x'), {'X-Bz-Info-note': 'v'.repeat(2100)});
    expect(over.json).toMatchObject({status: 400, code: 'bad_request'});
  });
});

describe('naming or resetting the default', () => {
  test('automatic SSE-B2 needs no writeBucketEncryption; naming SSE-B2 on create does (401 unauthorized without it, nothing created)', async () => {
    expect((await createBucket('new-default-2', {}, bucketWriterToken)).json.defaultServerSideEncryption).toEqual(shown(SSE_B2));
    const denied = await createBucket('new-default-3', {defaultServerSideEncryption: {mode: 'SSE-B2', algorithm: 'AES256'}}, bucketWriterToken);
    expect(denied.json).toMatchObject({status: 401, code: 'unauthorized'});
    expect((await api(emu, token, 'b2_list_buckets', {accountId, bucketName: 'new-default-3'})).json.buckets).toEqual([]);
    const named = await createBucket('new-default-3', {defaultServerSideEncryption: {mode: 'SSE-B2', algorithm: 'AES256'}});
    expect(named.json.defaultServerSideEncryption).toEqual(shown(SSE_B2));
  });

  test('b2_update_bucket with {mode: null} resets the default to SSE-B2 (it does not disable encryption); it needs writeBucketEncryption', async () => {
    const made = (await createBucket('new-default-4')).json;
    const denied = await api(emu, bucketWriterToken, 'b2_update_bucket', {accountId, bucketId: made.bucketId, defaultServerSideEncryption: {mode: null}});
    expect(denied.json).toMatchObject({status: 401, code: 'unauthorized'});
    const reset = await api(emu, token, 'b2_update_bucket', {accountId, bucketId: made.bucketId, defaultServerSideEncryption: {mode: null}});
    expect(reset.json.defaultServerSideEncryption).toEqual(shown(SSE_B2));
    expect(await plainUploadSeenAs(made.bucketId, made.bucketName, 'after-reset.txt')).toEqual([SSE_B2, SSE_B2, SSE_B2, SSE_B2, 'AES256']);
  });

  test('b2_update_bucket without the field leaves the default as it was, and needs no writeBucketEncryption', async () => {
    const made = (await createBucket('new-default-5')).json;
    const updated = await api(emu, bucketWriterToken, 'b2_update_bucket', {accountId, bucketId: made.bucketId, bucketInfo: {note: 'x'}});
    expect(updated.status).toBe(200);
    expect(updated.json.defaultServerSideEncryption).toEqual(shown(SSE_B2));
  });
});

describe('the start-up bucket: an existing bucket B2 has not enabled yet, unless the emulator is told otherwise', () => {
  test('by default it has no default encryption and stores a plain upload unencrypted ({mode: null} keeps it so); with bootstrap.encryptedByDefault it is made as B2 makes buckets now', async () => {
    expect(await bucketDefault(emu.bucketId)).toEqual(shown(NONE));
    expect(await plainUploadSeenAs(emu.bucketId, emu.bucket, 'startup-plain.txt')).toEqual([NONE, NONE, NONE, NONE, null]);
    const off = await api(emu, token, 'b2_update_bucket', {accountId, bucketId: emu.bucketId, defaultServerSideEncryption: {mode: null}});
    expect(off.json.defaultServerSideEncryption).toEqual(shown(NONE));

    const fresh = await startEmulator({port: 0, bootstrap: {encryptedByDefault: true}});
    try {
      const auth = await authorizeRaw(fresh);
      const listed = await api(fresh, auth.authorizationToken, 'b2_list_buckets', {accountId: auth.accountId, bucketId: fresh.bucketId});
      expect(listed.json.buckets[0].defaultServerSideEncryption).toEqual(shown(SSE_B2));
      expect((await uploadRaw(fresh, auth.authorizationToken, fresh.bucketId, 'x.txt', Buffer.from('x'))).json.serverSideEncryption).toEqual(SSE_B2);
      await fresh.putFiles(fresh.bucket, [{fileName: 'seeded.txt', data: Buffer.from('seeded')}]);
      const seeded = await api(fresh, auth.authorizationToken, 'b2_list_file_names', {bucketId: fresh.bucketId, prefix: 'seeded.txt'});
      expect(seeded.json.files[0].serverSideEncryption).toEqual(SSE_B2);
    } finally {
      await fresh.stop();
    }
  });

  test('bootstrap.encryptedByDefault on a bucket kept from an earlier run enables it, as B2 enables existing buckets: older files stay as they were, and it is never disabled', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'emu-sse-default-'));
    let running: RunningEmulator | undefined;
    const start = async (encryptedByDefault?: boolean) => {
      running = await startEmulator({port: 0, dataDir: dir, bootstrap: {keyId: 'sseDefaultKey', applicationKey: 'sse-default-secret', bucket: 'sse-default-startup', encryptedByDefault}});
      const auth = await authorizeRaw(running);
      return {e: running, t: auth.authorizationToken, accountId: auth.accountId};
    };
    const stop = async () => {
      await running?.stop();
      running = undefined;
    };
    try {
      const first = await start();
      const old = await uploadRaw(first.e, first.t, first.e.bucketId, 'old.txt', Buffer.from('old'));
      expect(old.json.serverSideEncryption).toEqual(NONE);
      await stop();

      const enabled = await start(true);
      expect((await uploadRaw(enabled.e, enabled.t, enabled.e.bucketId, 'new.txt', Buffer.from('new'))).json.serverSideEncryption).toEqual(SSE_B2);
      expect((await api(enabled.e, enabled.t, 'b2_get_file_info', {fileId: old.json.fileId})).json.serverSideEncryption).toEqual(NONE);
      await stop();

      const again = await start();
      const reset = await api(again.e, again.t, 'b2_update_bucket', {accountId: again.accountId, bucketId: again.e.bucketId, defaultServerSideEncryption: {mode: null}});
      expect(reset.json.defaultServerSideEncryption).toEqual(shown(SSE_B2));
    } finally {
      await stop();
      await rm(dir, {recursive: true, force: true});
    }
  });
});
