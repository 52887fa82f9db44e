import {createHash} from 'node:crypto';
import B2 from 'backblaze-b2';
import {RunningEmulator} from '../../src/emulator/index.js';

export const sha1 = (data: Buffer | string) => createHash('sha1').update(data).digest('hex');

/** A `backblaze-b2` client authorized against the emulator, with its own retries off. */
export async function libraryClient(emu: RunningEmulator, keyId = emu.keyId, applicationKey = emu.applicationKey): Promise<any> {
  const b2: any = new (B2 as any)({applicationKeyId: keyId, applicationKey, retry: {retries: 0}});
  await b2.authorize({axiosOverride: {url: `${emu.url}/b2api/v2/b2_authorize_account`}});
  return b2;
}

export interface RawAnswer {
  status: number;
  headers: Headers;
  json: any;
  text: string;
}

/** One raw HTTP call; parses JSON when the answer is JSON. */
export async function raw(url: string, init: RequestInit = {}): Promise<RawAnswer> {
  const res = await fetch(url, init);
  const text = await res.text();
  let json: any;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  return {status: res.status, headers: res.headers, json, text};
}

/** Raw authorize on any API version; answers the parsed JSON. */
export async function authorizeRaw(emu: RunningEmulator, version = 2, keyId = emu.keyId, key = emu.applicationKey): Promise<any> {
  const basic = Buffer.from(`${keyId}:${key}`).toString('base64');
  const r = await raw(`${emu.url}/b2api/v${version}/b2_authorize_account`, {headers: {Authorization: `Basic ${basic}`}});
  if (r.status !== 200) throw new Error(`authorize failed: ${r.status} ${r.text}`);
  return r.json;
}

/** A raw POST+JSON API call with an account token. */
export async function api(emu: RunningEmulator, token: string, call: string, body: unknown, version = 2): Promise<RawAnswer> {
  return raw(`${emu.url}/b2api/v${version}/${call}`, {
    method: 'POST',
    headers: {Authorization: token, 'Content-Type': 'application/json'},
    body: JSON.stringify(body),
  });
}

/** Uploads a small file over raw HTTP; extra headers override the defaults. */
export async function uploadRaw(
  emu: RunningEmulator,
  token: string,
  bucketId: string,
  name: string,
  data: Buffer,
  headers: Record<string, string> = {},
): Promise<RawAnswer> {
  const url = await api(emu, token, 'b2_get_upload_url', {bucketId});
  if (url.status !== 200) return url;
  return raw(url.json.uploadUrl, {
    method: 'POST',
    headers: {
      Authorization: url.json.authorizationToken,
      'X-Bz-File-Name': encodeURIComponent(name).replace(/%2F/g, '/'),
      'Content-Type': 'application/octet-stream',
      'X-Bz-Content-Sha1': sha1(data),
      ...headers,
    },
    body: data,
  });
}

export function bytes(n: number, seed = 1): Buffer {
  const b = Buffer.alloc(n);
  let x = seed;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) & 0x7fffffff;
    b[i] = x >> 16;
  }
  return b;
}

/** Every stored version under `prefix` (uploads and hide markers) as "<action> <name after the prefix>", read with `token` (e.g. the master key's). */
export async function storedVersions(emu: RunningEmulator, token: string, prefix: string, bucketId = emu.bucketId): Promise<string[]> {
  const r = await api(emu, token, 'b2_list_file_versions', {bucketId, prefix, maxFileCount: 1000});
  return (r.json.files as Array<{fileName: string; action: string}>).map((f) => `${f.action} ${f.fileName.slice(prefix.length)}`);
}
