/**
 * The emulator's one clock over raw HTTP: after `emu.clock.advance(ms)` every time it
 * tells or decides by follows, as B2's all follow B2's: upload timestamps (files, large
 * files, parts), file IDs' dates, the Date header, the 24 hours an authorization token
 * lasts (401 expired_auth_token after) and a key's validDurationInSeconds (then
 * b2_authorize_account answers 401 unauthorized). Each test reads the clock before and
 * after what it checks, so no bound depends on how fast the machine is.
 */
import {afterAll, beforeAll, describe, expect, test} from '@jest/globals';
import {RunningEmulator, startEmulator} from '../../src/emulator/index.js';
import {api, authorizeRaw, raw, sha1, uploadRaw} from './helpers.js';

const SECOND = 1000;
const HOUR = 60 * 60 * SECOND;
const DAY = 24 * HOUR;
let emu: RunningEmulator;

beforeAll(async () => {
  emu = await startEmulator({port: 0, minPartSize: 100});
});
afterAll(async () => {
  await emu.stop();
});

/** A fresh account token of the bootstrap key (the clock may have moved past earlier ones). */
const freshToken = async (): Promise<string> => (await authorizeRaw(emu)).authorizationToken;

/** The file ID's `_dYYYYMMDD_mHHMMSS_` part for a time: B2 writes the upload time into it. */
const idStamp = (ms: number) => {
  const d = new Date(ms).toISOString();
  return `_d${d.slice(0, 10).replace(/-/g, '')}_m${d.slice(11, 19).replace(/:/g, '')}_`;
};

describe('timestamps follow the clock', () => {
  test('a file uploaded a day after (by the clock) has that upload time, in its JSON, its ID, its download headers and the Date header', async () => {
    emu.clock.advance(DAY);
    const token = await freshToken();
    const before = emu.clock.now();
    expect(before).toBeGreaterThanOrEqual(Date.now() + DAY - SECOND); // the clock did move
    const up = await uploadRaw(emu, token, emu.bucketId, 'clock/after-a-day.txt', Buffer.from('tomorrow'));
    const after = emu.clock.now();
    expect(up.status).toBe(200);
    const at: number = up.json.uploadTimestamp;
    expect(at).toBeGreaterThanOrEqual(before);
    expect(at).toBeLessThanOrEqual(after);
    // the Date header (whole seconds, taken as the request arrived) is no later than the upload time
    const date = Date.parse(up.headers.get('date')!);
    expect(date).toBeGreaterThanOrEqual(Math.floor(before / SECOND) * SECOND);
    expect(date).toBeLessThanOrEqual(at);
    expect(up.json.fileId).toContain(idStamp(at));
    const listed = await api(emu, token, 'b2_list_file_names', {bucketId: emu.bucketId, prefix: 'clock/after-a-day'});
    expect(listed.json.files[0].uploadTimestamp).toBe(at);
    const got = await raw(`${emu.url}/file/${emu.bucket}/clock/after-a-day.txt`, {headers: {Authorization: token}});
    expect(got.headers.get('x-bz-upload-timestamp')).toBe(String(at));
  });

  test('an unfinished large file and its parts carry the clock time they were started and stored', async () => {
    emu.clock.advance(DAY);
    const token = await freshToken();
    const before = emu.clock.now();
    const start = await api(emu, token, 'b2_start_large_file', {bucketId: emu.bucketId, fileName: 'clock/unfinished.bin', contentType: 'b2/x-auto'});
    const partUrl = await api(emu, token, 'b2_get_upload_part_url', {fileId: start.json.fileId});
    const part = Buffer.alloc(100, 7);
    const stored = await raw(partUrl.json.uploadUrl, {
      method: 'POST',
      headers: {Authorization: partUrl.json.authorizationToken, 'X-Bz-Part-Number': '1', 'X-Bz-Content-Sha1': sha1(part)},
      body: part,
    });
    const after = emu.clock.now();
    expect(stored.status).toBe(200);
    const started: number = start.json.uploadTimestamp;
    expect(started).toBeGreaterThanOrEqual(before);
    expect(stored.json.uploadTimestamp).toBeGreaterThanOrEqual(started);
    expect(stored.json.uploadTimestamp).toBeLessThanOrEqual(after);
    const unfinished = await api(emu, token, 'b2_list_unfinished_large_files', {bucketId: emu.bucketId, namePrefix: 'clock/unfinished'});
    expect(unfinished.json.files.map((f: {uploadTimestamp: number}) => f.uploadTimestamp)).toEqual([started]);
    const parts = await api(emu, token, 'b2_list_parts', {fileId: start.json.fileId});
    expect(parts.json.parts.map((p: {uploadTimestamp: number}) => p.uploadTimestamp)).toEqual([stored.json.uploadTimestamp]);
  });
});

describe('authorization tokens last 24 hours of the clock', () => {
  test('an account token works until 24 h after it was issued, then every call answers 401 expired_auth_token; a new sign-in works', async () => {
    const token = await freshToken();
    emu.clock.advance(DAY - HOUR);
    expect((await api(emu, token, 'b2_list_buckets', {accountId: (await authorizeRaw(emu)).accountId})).status).toBe(200);
    emu.clock.advance(HOUR + SECOND);
    const refused = await api(emu, token, 'b2_list_file_names', {bucketId: emu.bucketId});
    expect(refused.status).toBe(401);
    expect(refused.json).toMatchObject({status: 401, code: 'expired_auth_token'});
    expect((await api(emu, await freshToken(), 'b2_list_file_names', {bucketId: emu.bucketId})).status).toBe(200);
  });

  test('an upload URL\'s token expires the same way: the upload answers 401 expired_auth_token', async () => {
    const url = await api(emu, await freshToken(), 'b2_get_upload_url', {bucketId: emu.bucketId});
    emu.clock.advance(DAY + SECOND);
    const data = Buffer.from('late');
    const up = await raw(url.json.uploadUrl, {
      method: 'POST',
      headers: {Authorization: url.json.authorizationToken, 'X-Bz-File-Name': 'clock/late.txt', 'Content-Type': 'text/plain', 'X-Bz-Content-Sha1': sha1(data)},
      body: data,
    });
    expect(up.json).toMatchObject({status: 401, code: 'expired_auth_token'});
  });
});

describe('keys made with validDurationInSeconds expire by the clock', () => {
  test('its expirationTimestamp is clock time; at that time its tokens answer 401 expired_auth_token and b2_authorize_account 401 unauthorized', async () => {
    emu.clock.advance(DAY);
    const master = await authorizeRaw(emu);
    const before = emu.clock.now();
    const made = await api(emu, master.authorizationToken, 'b2_create_key', {accountId: master.accountId, capabilities: ['listFiles'], keyName: 'one-hour', validDurationInSeconds: 3600});
    const after = emu.clock.now();
    expect(made.status).toBe(200);
    const expires: number = made.json.expirationTimestamp;
    expect(expires).toBeGreaterThanOrEqual(before + HOUR);
    expect(expires).toBeLessThanOrEqual(after + HOUR);

    const auth = await authorizeRaw(emu, 3, made.json.applicationKeyId, made.json.applicationKey);
    expect(auth.applicationKeyExpirationTimestamp).toBe(expires);
    emu.clock.advance(HOUR - 60 * SECOND);
    expect((await api(emu, auth.authorizationToken, 'b2_list_file_names', {bucketId: emu.bucketId})).status).toBe(200);

    emu.clock.advance(60 * SECOND);
    const refused = await api(emu, auth.authorizationToken, 'b2_list_file_names', {bucketId: emu.bucketId});
    expect(refused.json).toMatchObject({status: 401, code: 'expired_auth_token'});
    const basic = Buffer.from(`${made.json.applicationKeyId}:${made.json.applicationKey}`).toString('base64');
    const signIn = await raw(`${emu.url}/b2api/v3/b2_authorize_account`, {headers: {Authorization: `Basic ${basic}`}});
    expect(signIn.json).toMatchObject({status: 401, code: 'unauthorized'});
    expect(signIn.text).not.toContain(made.json.applicationKey);
  });
});

describe('emu.clock.advance', () => {
  test('refuses a move back or a number that is no duration: the clock never runs backwards', () => {
    const now = emu.clock.now();
    for (const ms of [-1, Number.NaN, Number.POSITIVE_INFINITY]) expect(() => emu.clock.advance(ms)).toThrow(/clock\.advance/);
    expect(emu.clock.now()).toBeGreaterThanOrEqual(now);
  });
});
