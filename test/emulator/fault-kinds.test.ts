/** The fault kinds the soak injects, each counted in stats().faults, and all of them seeded. */
import {afterAll, afterEach, beforeAll, describe, expect, test} from '@jest/globals';
import {RunningEmulator, startEmulator} from '../../src/emulator/index.js';
import {api, authorizeRaw, bytes, libraryClient, raw, sha1, uploadRaw} from './helpers.js';

let emu: RunningEmulator;
let token: string;

beforeAll(async () => {
  emu = await startEmulator({port: 0, seed: 11, minPartSize: 100});
  token = (await authorizeRaw(emu)).authorizationToken;
});
afterEach(() => {
  emu.faults.clear();
  emu.resetStats();
});
afterAll(async () => {
  await emu.stop();
});

const names = async () => (await api(emu, token, 'b2_list_file_versions', {bucketId: emu.bucketId, maxFileCount: 10000})).json.files.map((f: any) => f.fileName);

describe('fault kinds', () => {
  test('expireToken: the token used is expired for good (401 expired_auth_token) until the client re-authorizes', async () => {
    const mine = (await authorizeRaw(emu)).authorizationToken;
    emu.faults.add({call: 'b2_list_buckets', count: 1, expireToken: true});
    const first = await api(emu, mine, 'b2_list_buckets', {});
    expect({status: first.status, body: first.json}).toEqual({status: 401, body: {status: 401, code: 'expired_auth_token', message: expect.any(String)}});
    expect((await api(emu, mine, 'b2_list_buckets', {})).json.code).toBe('expired_auth_token');
    const fresh = (await authorizeRaw(emu)).authorizationToken;
    expect((await api(emu, fresh, 'b2_list_buckets', {})).status).toBe(200);
    expect(emu.stats().faults).toEqual({expire_token: 1});
  });

  test('expireToken on an upload URL expires the upload token: the client needs a new upload URL', async () => {
    const url = (await api(emu, token, 'b2_get_upload_url', {bucketId: emu.bucketId})).json;
    const data = Buffer.from('expiring upload');
    const send = () => raw(url.uploadUrl, {method: 'POST', headers: {Authorization: url.authorizationToken, 'X-Bz-File-Name': 'expire/one.txt', 'Content-Type': 'text/plain', 'X-Bz-Content-Sha1': sha1(data)}, body: data});
    emu.faults.add({call: 'b2_upload_file', count: 1, expireToken: true});
    expect((await send()).json.code).toBe('expired_auth_token');
    expect((await send()).json.code).toBe('expired_auth_token');
    expect(await names()).not.toContain('expire/one.txt');
    expect((await uploadRaw(emu, token, emu.bucketId, 'expire/one.txt', data)).status).toBe(200);
  });

  test('corruptRequestBody: a part changed in flight fails its SHA1 check (400) and nothing is stored', async () => {
    const large = (await api(emu, token, 'b2_start_large_file', {bucketId: emu.bucketId, fileName: 'corrupt/large.bin', contentType: 'b2/x-auto'})).json.fileId;
    const url = (await api(emu, token, 'b2_get_upload_part_url', {fileId: large})).json;
    const part = bytes(5000, 3);
    const send = () => raw(url.uploadUrl, {method: 'POST', headers: {Authorization: url.authorizationToken, 'X-Bz-Part-Number': '1', 'X-Bz-Content-Sha1': sha1(part)}, body: part});
    emu.faults.add({call: 'b2_upload_part', count: 1, corruptRequestBody: true});
    const bad = await send();
    expect({status: bad.status, body: bad.json}).toEqual({status: 400, body: {status: 400, code: 'bad_request', message: expect.stringMatching(/sha1/i)}});
    expect((await api(emu, token, 'b2_list_parts', {fileId: large})).json.parts).toEqual([]);
    expect(emu.stats().faults).toEqual({corrupt_body: 1});
    expect((await send()).status).toBe(200);
    await api(emu, token, 'b2_cancel_large_file', {fileId: large});
  });

  test('corruptRequestBody with do_not_verify: the server stores other bytes than were sent', async () => {
    const data = bytes(2000, 4);
    emu.faults.add({call: 'b2_upload_file', count: 1, corruptRequestBody: true});
    const up = await uploadRaw(emu, token, emu.bucketId, 'corrupt/unverified.bin', data, {'X-Bz-Content-Sha1': 'do_not_verify'});
    expect(up.status).toBe(200);
    expect(up.json.contentSha1).not.toBe(`unverified:${sha1(data)}`);
  });

  test('every kind is counted by kind: http_<status>, latency, throttle, cuts', async () => {
    emu.faults.add({call: 'b2_list_buckets', count: 1, status: 500});
    emu.faults.add({call: 'b2_list_buckets', count: 1, status: 503});
    emu.faults.add({call: 'b2_list_buckets', count: 1, status: 429, retryAfter: 2});
    emu.faults.add({call: 'b2_list_buckets', count: 1, latencyMs: 1});
    const statuses = [];
    for (let i = 0; i < 4; i++) {
      const r = await api(emu, token, 'b2_list_buckets', {});
      statuses.push(r.status);
      if (r.status === 429) expect(r.headers.get('retry-after')).toBe('2');
    }
    expect(statuses).toEqual([500, 503, 429, 200]);
    await uploadRaw(emu, token, emu.bucketId, 'cut/response.bin', bytes(50_000));
    emu.faults.add({call: 'b2_download_file_by_name', count: 1, cutResponseAfterBytes: 100});
    await raw(`${emu.url}/file/${emu.bucket}/cut/response.bin`, {headers: {Authorization: token}}).catch(() => undefined);
    emu.faults.add({call: 'b2_upload_file', count: 1, cutRequestAfterBytes: 100});
    await uploadRaw(emu, token, emu.bucketId, 'cut/request.bin', bytes(50_000)).catch(() => undefined);
    emu.faults.add({call: 'b2_list_buckets', count: 1, bytesPerSecond: 100_000});
    await api(emu, token, 'b2_list_buckets', {});
    expect(emu.stats().faults).toEqual({http_500: 1, http_503: 1, http_429: 1, latency: 1, cut_response: 1, cut_request: 1, throttle: 1});
  });

  test('the same seed injects the same faults at the same calls, kinds mixed', async () => {
    const run = async () => {
      const e = await startEmulator({port: 0, seed: 99});
      try {
        const t = (await authorizeRaw(e)).authorizationToken;
        e.faults.add({call: 'uploads', rate: 0.3, corruptRequestBody: true});
        e.faults.add({call: 'uploads', rate: 0.3, status: 503});
        e.faults.add({call: 'uploads', rate: 0.2, status: 429});
        const out: string[] = [];
        for (let i = 0; i < 24; i++) {
          const r = await uploadRaw(e, t, e.bucketId, `seeded/${i}`, bytes(300, i));
          out.push(r.status === 200 ? 'ok' : r.json.code);
        }
        return {out, faults: e.stats().faults};
      } finally {
        await e.stop();
      }
    };
    const first = await run();
    expect(await run()).toEqual(first);
    expect(new Set(first.out)).toEqual(new Set(['ok', 'bad_request', 'service_unavailable', 'too_many_requests']));
  });

  test('a rule with an unknown field or a wrong value is refused, naming the field', () => {
    expect(() => emu.faults.add({call: 'uploads', statuss: 500} as any)).toThrow(/unknown fault rule field "statuss"/);
    expect(() => emu.faults.add({call: 'uploads', rate: 2})).toThrow(/"rate" must be a fraction/);
    expect(() => emu.faults.add({call: 'uploads', status: 200})).toThrow(/"status" must be an error status/);
  });

  test('the official backblaze-b2 client sees an expired token as 401 expired_auth_token and works after re-authorizing', async () => {
    const b2 = await libraryClient(emu);
    emu.faults.add({call: 'b2_list_file_names', count: 1, expireToken: true});
    const err: any = await b2.listFileNames({bucketId: emu.bucketId, maxFileCount: 1}).catch((e: unknown) => e);
    expect(err.response?.status).toBe(401);
    expect(err.response?.data?.code).toBe('expired_auth_token');
    await b2.authorize({axiosOverride: {url: `${emu.url}/b2api/v2/b2_authorize_account`}});
    expect((await b2.listFileNames({bucketId: emu.bucketId, maxFileCount: 1})).status).toBe(200);
  });
});
