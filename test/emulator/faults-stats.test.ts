/** Fault rules, test modes, --fail-uploads / --expire-tokens-every, counters and corrupt(). */
import {afterAll, afterEach, beforeAll, describe, expect, test} from '@jest/globals';
import {request} from 'node:http';
import {RunningEmulator, startEmulator} from '../../src/emulator/index.js';
import {api, authorizeRaw, bytes, raw, sha1, uploadRaw} from './helpers.js';

let emu: RunningEmulator;
let token: string;

beforeAll(async () => {
  emu = await startEmulator({port: 0, seed: 7});
  token = (await authorizeRaw(emu)).authorizationToken;
});
afterEach(() => emu.faults.clear());
afterAll(async () => {
  await emu.stop();
});

async function versionNames(e = emu, t = token): Promise<string[]> {
  const r = await api(e, t, 'b2_list_file_versions', {bucketId: e.bucketId, maxFileCount: 10000});
  return r.json.files.map((f: any) => f.fileName);
}

/** GETs a URL with node:http and reports how many body bytes arrived and whether the connection broke. */
function download(url: string): Promise<{bytes: number; broken: boolean}> {
  return new Promise((resolve) => {
    let received = 0;
    const req = request(url, {headers: {Authorization: token}}, (res) => {
      res.on('data', (d: Buffer) => (received += d.length));
      res.on('end', () => resolve({bytes: received, broken: false}));
      res.on('error', () => resolve({bytes: received, broken: true}));
      res.on('aborted', () => resolve({bytes: received, broken: true}));
    });
    req.on('error', () => resolve({bytes: received, broken: true}));
    req.end();
  });
}

describe('fault rules', () => {
  test('count answers the next N matching calls, then stops', async () => {
    emu.faults.add({call: 'b2_list_buckets', count: 2, status: 503});
    const statuses = [];
    for (let i = 0; i < 3; i++) statuses.push((await api(emu, token, 'b2_list_buckets', {})).status);
    expect(statuses).toEqual([503, 503, 200]);
  });

  test('rate draws from the seed: the same seed fails the same calls', async () => {
    const pattern = async () => {
      const e = await startEmulator({port: 0, seed: 42});
      try {
        const t = (await authorizeRaw(e)).authorizationToken;
        e.faults.add({call: 'b2_list_buckets', rate: 0.5, status: 500});
        const out = [];
        for (let i = 0; i < 20; i++) out.push((await api(e, t, 'b2_list_buckets', {})).status);
        return out;
      } finally {
        await e.stop();
      }
    };
    const first = await pattern();
    expect(await pattern()).toEqual(first);
    expect(first).toContain(500);
    expect(first).toContain(200);
  });

  test('"*" matches every call; rules apply in order', async () => {
    emu.faults.add({call: '*', count: 1, status: 500, code: 'internal_error'});
    emu.faults.add({call: '*', count: 1, status: 503});
    expect((await api(emu, token, 'b2_list_buckets', {})).json.code).toBe('internal_error');
    expect((await api(emu, token, 'b2_list_buckets', {})).json.code).toBe('service_unavailable');
    expect((await api(emu, token, 'b2_list_buckets', {})).status).toBe(200);
  });

  test('cutResponseAfterBytes breaks a download after K bytes', async () => {
    await uploadRaw(emu, token, emu.bucketId, 'cut/file.bin', bytes(100_000));
    emu.faults.add({call: 'b2_download_file_by_name', count: 1, cutResponseAfterBytes: 1000});
    const cut = await download(`${emu.url}/file/${emu.bucket}/cut/file.bin`);
    expect(cut.broken).toBe(true);
    expect(cut.bytes).toBeLessThanOrEqual(1000);
    expect(await download(`${emu.url}/file/${emu.bucket}/cut/file.bin`)).toEqual({bytes: 100_000, broken: false});
  });

  test('cutRequestAfterBytes breaks an upload after K bytes and stores nothing', async () => {
    const before = await versionNames();
    emu.faults.add({call: 'uploads', count: 1, cutRequestAfterBytes: 5000});
    await expect(uploadRaw(emu, token, emu.bucketId, 'cut/upload.bin', bytes(200_000))).rejects.toThrow();
    expect(await versionNames()).toEqual(before);
  });

  test('latencyMs delays the answer', async () => {
    emu.faults.add({call: 'b2_list_buckets', count: 1, latencyMs: 300});
    const t0 = Date.now();
    expect((await api(emu, token, 'b2_list_buckets', {})).status).toBe(200);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(290);
  });

  test('bytesPerSecond throttles a download', async () => {
    await uploadRaw(emu, token, emu.bucketId, 'slow.bin', bytes(50_000));
    emu.faults.add({call: 'b2_download_file_by_name', count: 1, bytesPerSecond: 100_000});
    const t0 = Date.now();
    expect((await download(`${emu.url}/file/${emu.bucket}/slow.bin`)).bytes).toBe(50_000);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(400);
  });

  test('a throttled download stops sending and counting once its reader has left', async () => {
    const e = await startEmulator({port: 0});
    const t = (await authorizeRaw(e)).authorizationToken;
    await uploadRaw(e, t, e.bucketId, 'slow.bin', bytes(200_000));
    // 1 KiB slices 0.1 s apart: one 64 KiB chunk of the stored file takes ~6 s to pass
    e.faults.add({call: 'b2_download_file_by_name', count: 1, bytesPerSecond: 10_240});
    await new Promise<void>((resolve, reject) => {
      const req = request(`${e.url}/file/${e.bucket}/slow.bin`, {headers: {Authorization: t}}, (res) => {
        res.once('data', () => {
          req.destroy();
          resolve();
        });
      });
      req.once('error', reject);
      req.end();
    });
    await e.stop();
    await new Promise((r) => setTimeout(r, 50));
    const atStop = e.stats().bytesOut;
    await new Promise((r) => setTimeout(r, 500));
    expect(e.stats().bytesOut).toBe(atStop);
    expect(atStop).toBeLessThan(200_000);
  });

  test('a client that leaves during injected latency ends the call, and no timer outlives it', async () => {
    const timers = () => process.getActiveResourcesInfo().filter((kind) => kind === 'Timeout').length;
    const e = await startEmulator({port: 0});
    const t = (await authorizeRaw(e)).authorizationToken;
    await uploadRaw(e, t, e.bucketId, 'kept.bin', bytes(10));
    const [version] = (await api(e, t, 'b2_list_file_versions', {bucketId: e.bucketId})).json.files;
    const before = timers();
    e.faults.add({call: 'b2_delete_file_version', count: 1, latencyMs: 30_000});
    const gaveUp = await fetch(`${e.url}/b2api/v2/b2_delete_file_version`, {
      method: 'POST',
      headers: {Authorization: t, 'Content-Type': 'application/json'},
      body: JSON.stringify({fileId: version.fileId, fileName: 'kept.bin'}),
      signal: AbortSignal.timeout(100),
    }).catch((err) => err);
    expect(gaveUp).toMatchObject({name: 'TimeoutError'});
    expect(await versionNames(e, t)).toEqual(['kept.bin']);
    await e.stop();
    await new Promise((r) => setImmediate(r));
    expect(timers()).toBe(before);
  });

  test('answerLatencyMs carries the call out and holds its answer: a client that leaves never gets it, and its timer goes with it', async () => {
    const timers = () => process.getActiveResourcesInfo().filter((kind) => kind === 'Timeout').length;
    const e = await startEmulator({port: 0});
    const t = (await authorizeRaw(e)).authorizationToken;
    await uploadRaw(e, t, e.bucketId, 'lost.bin', bytes(10));
    const [version] = (await api(e, t, 'b2_list_file_versions', {bucketId: e.bucketId})).json.files;
    const before = timers();
    e.faults.add({call: 'b2_delete_file_version', count: 1, answerLatencyMs: 600_000});
    const body = JSON.stringify({fileId: version.fileId, fileName: 'lost.bin'});
    const req = request(`${e.url}/b2api/v2/b2_delete_file_version`, {method: 'POST', headers: {Authorization: t, 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body)}});
    const answer = new Promise<string>((resolve) => {
      req.on('response', () => resolve('answered'));
      req.on('error', () => resolve('left'));
    });
    req.end(body);
    // carried out while its answer is held: the client leaves once it sees that
    while ((await versionNames(e, t)).length > 0) await new Promise((r) => setTimeout(r, 10));
    req.destroy();
    expect(await answer).toBe('left');
    expect(e.stats().faults).toEqual({latency: 1});
    // the emulator sees the connection close a moment later: the held answer's timer ends with it (else this waits out the test's timeout)
    while (timers() > before) await new Promise((r) => setTimeout(r, 10));
    await e.stop();
  });

  test('429 answers carry Retry-After (default 1)', async () => {
    emu.faults.add({call: 'b2_list_buckets', count: 1, status: 429});
    const r = await api(emu, token, 'b2_list_buckets', {});
    expect(r.json.code).toBe('too_many_requests');
    expect(r.headers.get('retry-after')).toBe('1');
  });
});

describe('test modes and options', () => {
  test('failUploads: 1 answers every upload 503 and stores nothing', async () => {
    const e = await startEmulator({port: 0, failUploads: 1});
    try {
      const t = (await authorizeRaw(e)).authorizationToken;
      const r = await uploadRaw(e, t, e.bucketId, 'x.txt', Buffer.from('x'));
      expect(r.json).toEqual({status: 503, code: 'service_unavailable', message: expect.any(String)});
      expect(await versionNames(e, t)).toEqual([]);
    } finally {
      await e.stop();
    }
  });

  test('X-Bz-Test-Mode: fail_some_uploads fails some uploads, not all', async () => {
    const statuses = new Set<number>();
    for (let i = 0; i < 30; i++) {
      statuses.add((await uploadRaw(emu, token, emu.bucketId, `some/${i}`, Buffer.from('x'), {'X-Bz-Test-Mode': 'fail_some_uploads'})).status);
    }
    expect([...statuses].sort()).toEqual([200, 503]);
  });

  test('X-Bz-Test-Mode: expire_some_account_authorization_tokens expires some tokens', async () => {
    let t = (await authorizeRaw(emu)).authorizationToken;
    const codes: string[] = [];
    for (let i = 0; i < 30; i++) {
      const r = await raw(`${emu.url}/b2api/v2/b2_list_buckets`, {method: 'POST', headers: {Authorization: t, 'X-Bz-Test-Mode': 'expire_some_account_authorization_tokens'}, body: '{}'});
      codes.push(r.json.code ?? 'ok');
      if (r.status === 401) {
        expect((await api(emu, t, 'b2_list_buckets', {})).json.code).toBe('expired_auth_token');
        t = (await authorizeRaw(emu)).authorizationToken;
      }
    }
    expect(codes).toContain('expired_auth_token');
    expect(codes).toContain('ok');
  });

  test('expireTokensEvery: every Nth authenticated call answers expired_auth_token', async () => {
    const e = await startEmulator({port: 0, expireTokensEvery: 3});
    try {
      let t = (await authorizeRaw(e)).authorizationToken;
      const out: string[] = [];
      for (let i = 0; i < 6; i++) {
        const r = await api(e, t, 'b2_list_buckets', {});
        out.push(r.json.code ?? 'ok');
        if (r.status === 401) t = (await authorizeRaw(e)).authorizationToken;
      }
      expect(out).toEqual(['ok', 'ok', 'expired_auth_token', 'ok', 'ok', 'expired_auth_token']);
    } finally {
      await e.stop();
    }
  });
});

describe('stats', () => {
  test('calls, billed classes (C per 1000 names), bytes, errors, names touched per key', async () => {
    const e = await startEmulator({port: 0});
    try {
      const t = (await authorizeRaw(e)).authorizationToken;
      const url = (await api(e, t, 'b2_get_upload_url', {bucketId: e.bucketId})).json;
      for (let i = 0; i < 1001; i++) {
        const body = Buffer.from(String(i));
        await raw(url.uploadUrl, {method: 'POST', headers: {Authorization: url.authorizationToken, 'X-Bz-File-Name': `n/${String(i).padStart(4, '0')}`, 'Content-Type': 'text/plain', 'X-Bz-Content-Sha1': sha1(body)}, body});
      }
      const key = await e.createKey({capabilities: ['listFiles', 'readFiles'], bucketName: e.bucket, namePrefix: 'n/000'});
      const kt = (await authorizeRaw(e, 2, key.keyId, key.applicationKey)).authorizationToken;
      e.resetStats();
      const listed = await api(e, t, 'b2_list_file_names', {bucketId: e.bucketId, maxFileCount: 10000});
      expect(listed.json.files).toHaveLength(1001);
      await api(e, kt, 'b2_list_file_names', {bucketId: e.bucketId, prefix: 'n/000'});
      await raw(`${e.url}/file/${e.bucket}/n/0001`, {headers: {Authorization: kt}});
      await raw(`${e.url}/file/${e.bucket}/n/0500`, {headers: {Authorization: kt}});
      await api(e, t, 'b2_get_upload_url', {bucketId: e.bucketId});
      const s = e.stats();
      expect(s.calls).toEqual({b2_list_file_names: 2, b2_download_file_by_name: 2, b2_get_upload_url: 1});
      expect(s.transactions).toEqual({A: 1, B: 1, C: 3});
      expect(s.errors).toEqual({unauthorized: 1});
      expect(s.touchedNames[key.keyId]).toEqual(['n/000', 'n/0001', 'n/0500']);
      expect(s.bytesOut).toBeGreaterThan(listed.text.length);
      expect(s.bytesIn).toBeGreaterThan(0);
      s.calls.b2_list_file_names = 99;
      expect(e.stats().calls.b2_list_file_names).toBe(2);
    } finally {
      await e.stop();
    }
  });

  test("billed classes follow Backblaze's price list: hide_file and the file lock updates are class A, copy_part class C", async () => {
    const e = await startEmulator({port: 0, minPartSize: 1, bootstrap: {fileLockEnabled: true}});
    try {
      const t = (await authorizeRaw(e)).authorizationToken;
      const file = (await uploadRaw(e, t, e.bucketId, 'f', Buffer.from('x'))).json;
      const large = (await api(e, t, 'b2_start_large_file', {bucketId: e.bucketId, fileName: 'l', contentType: 'b2/x-auto'})).json;
      const billed = async (call: string, body: unknown) => {
        e.resetStats();
        expect((await api(e, t, call, body)).status).toBe(200);
        return e.stats().transactions;
      };
      expect(await billed('b2_hide_file', {bucketId: e.bucketId, fileName: 'f'})).toEqual({A: 1, B: 0, C: 0});
      expect(await billed('b2_update_file_legal_hold', {fileId: file.fileId, fileName: 'f', legalHold: 'off'})).toEqual({A: 1, B: 0, C: 0});
      const until = Date.now() + 86_400_000;
      expect(await billed('b2_update_file_retention', {fileId: file.fileId, fileName: 'f', fileRetention: {mode: 'governance', retainUntilTimestamp: until}})).toEqual({A: 1, B: 0, C: 0});
      expect(await billed('b2_copy_part', {sourceFileId: file.fileId, largeFileId: large.fileId, partNumber: 1})).toEqual({A: 0, B: 0, C: 1});
    } finally {
      await e.stop();
    }
  });
});

describe('corrupt()', () => {
  test('flips stored bytes; the stored SHA1 stays, so a download no longer matches it', async () => {
    const data = bytes(1000, 9);
    await uploadRaw(emu, token, emu.bucketId, 'corrupt.bin', data);
    await emu.corrupt(emu.bucket, 'corrupt.bin');
    const res = await fetch(`${emu.url}/file/${emu.bucket}/corrupt.bin`, {headers: {Authorization: token}});
    const body = Buffer.from(await res.arrayBuffer());
    expect(body.length).toBe(1000);
    expect(res.headers.get('x-bz-content-sha1')).toBe(sha1(data));
    expect(sha1(body)).not.toBe(sha1(data));
  });
});
