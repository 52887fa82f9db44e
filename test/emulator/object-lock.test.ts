/**
 * Object Lock over raw HTTP, as Backblaze documents it: fileLockEnabled buckets with a
 * defaultRetention, retention and legal hold on upload (headers) and start_large_file /
 * copy_file (fields), b2_update_file_retention, b2_update_file_legal_hold, and the
 * refusals (403 access_denied) to delete a locked version (hiding it is allowed): governance yields to
 * bypassGovernance with the capability, compliance and legal hold to nobody. Expiry is
 * reached by moving the emulator's clock, never by sleeping.
 */
import {afterAll, beforeAll, describe, expect, test} from '@jest/globals';
import {RunningEmulator, startEmulator} from '../../src/emulator/index.js';
import {api, authorizeRaw, bytes, raw, uploadRaw} from './helpers.js';

const DAY = 24 * 60 * 60 * 1000;
let emu: RunningEmulator;
let master: string;
let accountId: string;
let bucketId: string;
/** Tokens of a backup key that may write retentions but not bypass governance, and of one that may. */
let writer: string;
let bypasser: string;
let writerKey: {keyId: string; applicationKey: string};
let bypasserKey: {keyId: string; applicationKey: string};

const signIn = async (k: {keyId: string; applicationKey: string}): Promise<string> => (await authorizeRaw(emu, 2, k.keyId, k.applicationKey)).authorizationToken;
const tokenFor = async (capabilities: string[]): Promise<string> => signIn(await emu.createKey({capabilities}));

/** Moves the clock, then signs every key in again, as a client does once its tokens' 24 hours are over. */
async function advance(ms: number): Promise<void> {
  emu.clock.advance(ms);
  master = (await authorizeRaw(emu)).authorizationToken;
  writer = await signIn(writerKey);
  bypasser = await signIn(bypasserKey);
}
const lockHeaders = (mode: string, until: number) => ({'X-Bz-File-Retention-Mode': mode, 'X-Bz-File-Retention-Retain-Until-Timestamp': String(until)});
const del = (token: string, f: {fileId: string; fileName: string}, extra: Record<string, unknown> = {}) => api(emu, token, 'b2_delete_file_version', {fileId: f.fileId, fileName: f.fileName, ...extra});

beforeAll(async () => {
  emu = await startEmulator({port: 0, minPartSize: 100});
  const auth = await authorizeRaw(emu);
  master = auth.authorizationToken;
  accountId = auth.accountId;
  const made = await api(emu, master, 'b2_create_bucket', {accountId, bucketName: 'locked-backups-1', bucketType: 'allPrivate', fileLockEnabled: true});
  expect(made.json.fileLockConfiguration).toEqual({isClientAuthorizedToRead: true, value: {defaultRetention: {mode: null, period: null}, isFileLockEnabled: true}});
  bucketId = made.json.bucketId;
  const base = ['listBuckets', 'listFiles', 'readFiles', 'writeFiles', 'deleteFiles', 'readFileRetentions', 'writeFileRetentions', 'readFileLegalHolds', 'writeFileLegalHolds'];
  writerKey = await emu.createKey({capabilities: base});
  bypasserKey = await emu.createKey({capabilities: [...base, 'bypassGovernance']});
  writer = await signIn(writerKey);
  bypasser = await signIn(bypasserKey);
});
afterAll(async () => {
  await emu.stop();
});

describe('buckets', () => {
  test('defaultRetention needs writeBucketRetentions and a lock-enabled bucket; shown with readBucketRetentions only', async () => {
    const noCap = await api(emu, writer, 'b2_update_bucket', {accountId, bucketId, defaultRetention: {mode: 'governance', period: {duration: 7, unit: 'days'}}});
    expect(noCap.json).toMatchObject({status: 401, code: 'unauthorized'});
    const plain = await api(emu, master, 'b2_update_bucket', {accountId, bucketId: emu.bucketId, defaultRetention: {mode: 'governance', period: {duration: 7, unit: 'days'}}});
    expect(plain.json).toMatchObject({status: 400, code: 'bad_request'});
    const off = await api(emu, master, 'b2_update_bucket', {accountId, bucketId, fileLockEnabled: false});
    expect(off.json).toMatchObject({status: 400, code: 'file_lock_conflict'});
    const listed = await api(emu, writer, 'b2_list_buckets', {accountId, bucketId});
    expect(listed.json.buckets[0].fileLockConfiguration).toEqual({isClientAuthorizedToRead: false});
  });

  test('a default retention locks new files without asking', async () => {
    const b = await api(emu, master, 'b2_create_bucket', {accountId, bucketName: 'locked-default-2', bucketType: 'allPrivate', fileLockEnabled: true, defaultRetention: {mode: 'compliance', period: {duration: 2, unit: 'days'}}});
    expect(b.json.fileLockConfiguration.value).toEqual({defaultRetention: {mode: 'compliance', period: {duration: 2, unit: 'days'}}, isFileLockEnabled: true});
    const up = await uploadRaw(emu, master, b.json.bucketId, 'auto.tar', Buffer.from('x'));
    expect(up.json.fileRetention.value.mode).toBe('compliance');
    expect(up.json.fileRetention.value.retainUntilTimestamp - emu.clock.now()).toBeGreaterThan(2 * DAY - 60_000);
  });
});

describe('files', () => {
  test('name and info over 2048 bytes in an Object Lock bucket: 400 bad_request (Backblaze: the 7000-byte limit is "reduced to 2,048 bytes")', async () => {
    const big = {'X-Bz-Info-note': 'v'.repeat(2100)};
    expect((await uploadRaw(emu, writer, bucketId, 'big-info.tar', Buffer.from('x'), big)).json).toMatchObject({status: 400, code: 'bad_request'});
    const start = await api(emu, writer, 'b2_start_large_file', {bucketId, fileName: 'big-info.tar', contentType: 'application/x-tar', fileInfo: {note: 'v'.repeat(2100)}});
    expect(start.json).toMatchObject({status: 400, code: 'bad_request'});
    expect((await uploadRaw(emu, writer, bucketId, 'small-info.tar', Buffer.from('x'), {'X-Bz-Info-note': 'v'.repeat(2000)})).status).toBe(200);
  });

  test('retention headers on a bucket without Object Lock: 400; without writeFileRetentions: 401', async () => {
    const plain = await uploadRaw(emu, master, emu.bucketId, 'x.tar', Buffer.from('x'), lockHeaders('governance', emu.clock.now() + DAY));
    expect(plain.json).toMatchObject({status: 400, code: 'bad_request'});
    const weak = await tokenFor(['listBuckets', 'writeFiles']);
    const noCap = await uploadRaw(emu, weak, bucketId, 'x.tar', Buffer.from('x'), lockHeaders('governance', emu.clock.now() + DAY));
    expect(noCap.json).toMatchObject({status: 401, code: 'unauthorized'});
  });

  test('governance: delete refused; bypass needs the capability and the flag; then allowed', async () => {
    const until = emu.clock.now() + 3 * DAY;
    const up = await uploadRaw(emu, writer, bucketId, 'gov.tar', Buffer.from('g'), lockHeaders('governance', until));
    expect(up.json.fileRetention).toEqual({isClientAuthorizedToRead: true, value: {mode: 'governance', retainUntilTimestamp: until}});
    expect(up.json.legalHold).toEqual({isClientAuthorizedToRead: true, value: null});
    expect((await del(writer, up.json)).json).toMatchObject({status: 403, code: 'access_denied'});
    expect((await del(writer, up.json, {bypassGovernance: true})).json).toMatchObject({status: 403, code: 'access_denied'});
    expect((await del(bypasser, up.json)).json).toMatchObject({status: 403, code: 'access_denied'});
    expect((await del(bypasser, up.json, {bypassGovernance: true})).status).toBe(200);
  });

  test('a locked version can be hidden, and deleting its hide marker (which carries no lock) unhides it; the version itself stays refused', async () => {
    const up = await uploadRaw(emu, writer, bucketId, 'hidden-lock.tar', Buffer.from('h'), lockHeaders('compliance', emu.clock.now() + DAY));
    const marker = await api(emu, writer, 'b2_hide_file', {bucketId, fileName: 'hidden-lock.tar'});
    expect(marker.json).toMatchObject({action: 'hide', contentLength: 0, fileName: 'hidden-lock.tar'});
    const names = async () => (await api(emu, writer, 'b2_list_file_names', {bucketId, prefix: 'hidden-lock'})).json.files.map((f: any) => f.fileId);
    expect(await names()).toEqual([]);
    expect((await del(writer, up.json)).json).toMatchObject({status: 403, code: 'access_denied'});
    expect((await del(writer, marker.json)).status).toBe(200);
    expect(await names()).toEqual([up.json.fileId]);
  });

  test('compliance: nobody deletes or shortens it until the date passes (the clock moves, no sleeping)', async () => {
    const until = emu.clock.now() + DAY;
    const up = await uploadRaw(emu, writer, bucketId, 'comp.tar', Buffer.from('c'), lockHeaders('compliance', until));
    expect((await del(bypasser, up.json, {bypassGovernance: true})).json).toMatchObject({status: 403, code: 'access_denied'});
    expect((await del(master, up.json, {bypassGovernance: true})).json).toMatchObject({status: 403, code: 'access_denied'});
    const shorter = await api(emu, bypasser, 'b2_update_file_retention', {fileId: up.json.fileId, fileName: 'comp.tar', fileRetention: {mode: 'compliance', retainUntilTimestamp: until - 1000}, bypassGovernance: true});
    expect(shorter.json).toMatchObject({status: 403, code: 'access_denied'});
    const longer = await api(emu, writer, 'b2_update_file_retention', {fileId: up.json.fileId, fileName: 'comp.tar', fileRetention: {mode: 'compliance', retainUntilTimestamp: until + DAY}});
    expect(longer.json).toEqual({fileId: up.json.fileId, fileName: 'comp.tar', fileRetention: {mode: 'compliance', retainUntilTimestamp: until + DAY}});
    await advance(DAY + 60_000);
    expect((await del(writer, up.json)).json).toMatchObject({status: 403, code: 'access_denied'}); // extended: still a day to go
    await advance(DAY);
    expect((await del(writer, up.json)).status).toBe(200);
  });

  test('governance retention: shortening or removing needs bypassGovernance', async () => {
    const until = emu.clock.now() + 5 * DAY;
    const up = await uploadRaw(emu, writer, bucketId, 'gov2.tar', Buffer.from('g'), lockHeaders('governance', until));
    const remove = {fileId: up.json.fileId, fileName: 'gov2.tar', fileRetention: {mode: null, retainUntilTimestamp: null}};
    expect((await api(emu, writer, 'b2_update_file_retention', remove)).json).toMatchObject({status: 403, code: 'access_denied'});
    expect((await api(emu, writer, 'b2_update_file_retention', {...remove, bypassGovernance: true})).json).toMatchObject({status: 401, code: 'unauthorized'});
    expect((await api(emu, bypasser, 'b2_update_file_retention', {...remove, bypassGovernance: true})).status).toBe(200);
    expect((await del(writer, up.json)).status).toBe(200);
  });

  test('legal hold: on refuses deletion whatever the retention; off allows it', async () => {
    const up = await uploadRaw(emu, writer, bucketId, 'held.tar', Buffer.from('h'), {'X-Bz-File-Legal-Hold': 'on'});
    expect(up.json.legalHold).toEqual({isClientAuthorizedToRead: true, value: 'on'});
    expect((await del(bypasser, up.json, {bypassGovernance: true})).json).toMatchObject({status: 403, code: 'access_denied'});
    const off = await api(emu, writer, 'b2_update_file_legal_hold', {fileId: up.json.fileId, fileName: 'held.tar', legalHold: 'off'});
    expect(off.json).toEqual({fileId: up.json.fileId, fileName: 'held.tar', legalHold: 'off'});
    expect((await del(writer, up.json)).status).toBe(200);
  });

  test('start_large_file and copy_file take fileRetention and legalHold fields', async () => {
    const until = emu.clock.now() + DAY;
    const start = await api(emu, writer, 'b2_start_large_file', {bucketId, fileName: 'big.tar', contentType: 'application/x-tar', fileRetention: {mode: 'governance', retainUntilTimestamp: until}, legalHold: 'on'});
    expect(start.json.fileRetention.value).toEqual({mode: 'governance', retainUntilTimestamp: until});
    expect(start.json.legalHold.value).toBe('on');
    const src = await uploadRaw(emu, writer, bucketId, 'src.tar', bytes(10));
    const copy = await api(emu, writer, 'b2_copy_file', {sourceFileId: src.json.fileId, fileName: 'copy.tar', fileRetention: {mode: 'compliance', retainUntilTimestamp: until}});
    expect(copy.json.fileRetention.value).toEqual({mode: 'compliance', retainUntilTimestamp: until});
  });

  test('a key without readFileRetentions / readFileLegalHolds sees only isClientAuthorizedToRead: false', async () => {
    const reader = await tokenFor(['listBuckets', 'listFiles', 'readFiles']);
    const listed = await api(emu, reader, 'b2_list_file_names', {bucketId, prefix: 'copy.tar'});
    expect(listed.json.files[0].fileRetention).toEqual({isClientAuthorizedToRead: false, value: null});
    expect(listed.json.files[0].legalHold).toEqual({isClientAuthorizedToRead: false, value: null});
  });

  test('downloads carry the lock in headers to a key that may read it; others get X-Bz-Client-Unauthorized-To-Read', async () => {
    const until = emu.clock.now() + 2 * DAY;
    await uploadRaw(emu, writer, bucketId, 'hdr.tar', Buffer.from('h'), {...lockHeaders('governance', until), 'X-Bz-File-Legal-Hold': 'on'});
    const auth = await authorizeRaw(emu);
    const head = (token: string) => raw(`${auth.downloadUrl}/file/locked-backups-1/hdr.tar`, {method: 'HEAD', headers: {Authorization: token}});
    const readable = await head(writer);
    expect(readable.status).toBe(200);
    expect([readable.headers.get('x-bz-file-retention-mode'), readable.headers.get('x-bz-file-retention-retain-until-timestamp'), readable.headers.get('x-bz-file-legal-hold')]).toEqual(['governance', String(until), 'on']);
    expect(readable.headers.get('x-bz-client-unauthorized-to-read')).toBeNull();
    const hidden = await head(await tokenFor(['listBuckets', 'listFiles', 'readFiles']));
    expect(hidden.headers.get('x-bz-file-retention-mode')).toBeNull();
    expect(hidden.headers.get('x-bz-client-unauthorized-to-read')).toBe('X-Bz-File-Retention-Mode,X-Bz-File-Retention-Retain-Until-Timestamp,X-Bz-File-Legal-Hold');
  });

  test('every answer\'s Date header is the emulator clock, which decides retention (as B2\'s Date is B2\'s)', async () => {
    const before = Date.parse((await api(emu, master, 'b2_list_buckets', {accountId})).headers.get('date')!);
    await advance(10 * DAY);
    const after = Date.parse((await api(emu, master, 'b2_list_buckets', {accountId})).headers.get('date')!);
    expect(after - before).toBeGreaterThanOrEqual(10 * DAY - 1000);
    expect(Math.abs(after - emu.clock.now())).toBeLessThan(2000);
  });
});
