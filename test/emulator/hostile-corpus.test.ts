/**
 * A corpus of hostile HTTP requests sent over raw sockets to an emulator with a data
 * dir: invalid JSON, wrong or missing Content-Length, oversized headers, invalid
 * percent-encodings and UTF-8, unknown calls and methods, path traversal in names and
 * ids. Every one gets B2's `{status, code, message}` error (or, where the client itself
 * broke the exchange, a closed connection), never a 500 or a crash; the emulator keeps
 * serving after each; nothing is written outside the data dir.
 */
import {afterAll, beforeAll, describe, expect, test} from '@jest/globals';
import {mkdtemp, readdir, rm} from 'node:fs/promises';
import {tmpdir} from 'node:os';
import {join, relative} from 'node:path';
import {RunningEmulator, startEmulator} from '../../src/emulator/index.js';
import {api, authorizeRaw, bytes, raw, sha1, uploadRaw} from './helpers.js';
import {rawExchange, rawUploadRequest, SocketAnswer} from './raw-socket.js';

/**
 * error: a whole B2 error answer, 4xx; errorOrClosed: that, or the connection closed
 * without one (the client broke the exchange itself); okOrError: a name B2 may accept.
 */
type Expectation = 'error' | 'errorOrClosed' | 'okOrError';
interface Case {
  category: string;
  name: string;
  pieces: () => Array<string | Buffer>;
  expect: Expectation;
  /** The client ends its side after sending (e.g. a body shorter than its Content-Length). */
  endWrite?: boolean;
}

let sandbox: string;
let dataDir: string;
let emu: RunningEmulator;
let token: string;
let uploadPath: string;
let uploadToken: string;
let partPath: string;
let partToken: string;
let fileId: string;

beforeAll(async () => {
  sandbox = await mkdtemp(join(tmpdir(), 'emu-hostile-'));
  dataDir = join(sandbox, 'data');
  emu = await startEmulator({port: 0, dataDir, stallTimeoutMs: 2000, minPartSize: 100});
  token = (await authorizeRaw(emu)).authorizationToken;
  const up = (await api(emu, token, 'b2_get_upload_url', {bucketId: emu.bucketId})).json;
  uploadPath = new URL(up.uploadUrl).pathname;
  uploadToken = up.authorizationToken;
  const large = (await api(emu, token, 'b2_start_large_file', {bucketId: emu.bucketId, fileName: 'hostile/large.bin', contentType: 'b2/x-auto'})).json.fileId;
  const part = (await api(emu, token, 'b2_get_upload_part_url', {fileId: large})).json;
  partPath = new URL(part.uploadUrl).pathname;
  partToken = part.authorizationToken;
  fileId = (await uploadRaw(emu, token, emu.bucketId, 'hostile/known.txt', Buffer.from('known'))).json.fileId;
});
afterAll(async () => {
  await emu.stop();
  await rm(sandbox, {recursive: true, force: true});
});

const CRLF = '\r\n';
const post = (path: string, body: string | Buffer, headers: Record<string, string> = {}, length = Buffer.byteLength(body)) => () => [
  `POST ${path} HTTP/1.1${CRLF}Host: x${CRLF}Authorization: ${token}${CRLF}Content-Length: ${length}${CRLF}` +
    Object.entries(headers).map(([k, v]) => `${k}: ${v}${CRLF}`).join('') + CRLF,
  body,
];
const get = (path: string, headers: Record<string, string> = {}) => () => [
  `GET ${path} HTTP/1.1${CRLF}Host: x${CRLF}Authorization: ${token}${CRLF}` + Object.entries(headers).map(([k, v]) => `${k}: ${v}${CRLF}`).join('') + CRLF,
];
/** An upload on the current upload URL, its body in a second write (a Buffer name keeps bytes that are not UTF-8). */
const upload = (fileName: string | Buffer, data = Buffer.from('hostile'), headers: Record<string, string> = {}) => () => [
  rawUploadRequest({path: uploadPath, token: uploadToken, fileName, content: data, headers}),
  data,
];
/** An upload on the current upload URL whose wrong or missing headers and body are given, in one write. */
const uploadAs = (fileName: string, content: string, headers: Record<string, string | null>, body: string) => () => [
  rawUploadRequest({path: uploadPath, token: uploadToken, fileName, content, headers, body}),
];

function corpus(): Case[] {
  const cases: Case[] = [];
  const add = (category: string, name: string, pieces: Case['pieces'], expectation: Expectation = 'error', endWrite = false) =>
    cases.push({category, name, pieces, expect: expectation, endWrite});

  // Invalid JSON on every kind of JSON call.
  const badBodies: Array<[string, string | Buffer]> = [
    ['unterminated object', '{"bucketId":'], ['bare word', 'nope'], ['array', '[]'], ['string', '"bucketId"'], ['number', '42'],
    ['null', 'null'], ['true', 'true'], ['trailing garbage', '{}}'], ['single quotes', "{'bucketId':'x'}"], ['comment', '{/* */}'],
    ['invalid UTF-8', Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x3a, 0x31, 0x7d])], ['NUL bytes', Buffer.from([0x7b, 0, 0, 0x7d])],
    ['deep nesting', '['.repeat(50_000)], ['wrong types', '{"bucketId":{"$gt":""},"maxFileCount":"many"}'], ['over 4 MB', `{"x":"${'a'.repeat(4_300_000)}"}`],
  ];
  for (const call of ['b2_list_file_names', 'b2_start_large_file', 'b2_finish_large_file', 'b2_delete_file_version']) {
    for (const [label, body] of badBodies) add('invalid JSON', `${call}: ${label}`, post(`/b2api/v2/${call}`, body));
  }

  // Wrong or missing Content-Length.
  add('Content-Length', 'upload without Content-Length (chunked)', uploadAs('cl/chunked', 'abc', {'Content-Length': null, 'Transfer-Encoding': 'chunked'}, `3${CRLF}abc${CRLF}0${CRLF}${CRLF}`));
  add('Content-Length', 'upload body shorter than Content-Length, client hangs up', uploadAs('cl/short', 'abcdef', {}, 'abc'), 'errorOrClosed', true);
  add('Content-Length', 'upload body longer than Content-Length', uploadAs('cl/long', 'abc', {}, 'abcdefghijklmnop'));
  for (const value of ['abc', '-1', '1.5', '0x10', '99999999999999999999', '1, 2', '']) {
    add('Content-Length', `Content-Length: ${JSON.stringify(value)}`, uploadAs('cl/bad', 'abc', {'Content-Length': value}, 'abc'));
  }
  add('Content-Length', 'two different Content-Lengths', () => [`POST /b2api/v2/b2_list_buckets HTTP/1.1${CRLF}Host: x${CRLF}Content-Length: 2${CRLF}Content-Length: 3${CRLF}${CRLF}{}`]);
  add('Content-Length', 'Content-Length and Transfer-Encoding', () => [`POST /b2api/v2/b2_list_buckets HTTP/1.1${CRLF}Host: x${CRLF}Content-Length: 2${CRLF}Transfer-Encoding: chunked${CRLF}${CRLF}0${CRLF}${CRLF}`]);
  add('Content-Length', 'JSON body shorter than Content-Length, client hangs up', post('/b2api/v2/b2_list_buckets', '{}', {}, 50), 'errorOrClosed', true);
  add('Content-Length', 'part upload over the maximum part size', () => [
    `POST ${partPath} HTTP/1.1${CRLF}Host: x${CRLF}Authorization: ${partToken}${CRLF}X-Bz-Part-Number: 1${CRLF}X-Bz-Content-Sha1: ${sha1('a')}${CRLF}Content-Length: 5000000001${CRLF}${CRLF}a`,
  ]);
  for (const chunk of ['zz', '-1', '1;ext=\u0001', 'ffffffffffffffffffff', '']) {
    add('Content-Length', `bad chunk size ${JSON.stringify(chunk)}`, () => [
      `POST /b2api/v2/b2_list_buckets HTTP/1.1${CRLF}Host: x${CRLF}Authorization: ${token}${CRLF}Transfer-Encoding: chunked${CRLF}${CRLF}${chunk}${CRLF}{}${CRLF}0${CRLF}${CRLF}`,
    ]);
  }

  // Oversized and malformed headers.
  add('headers', 'one 100 KB header', get('/b2api/v2/b2_list_buckets', {'X-Big': 'a'.repeat(100_000)}));
  add('headers', 'a 20 KB file name header', upload('n'.repeat(20_000)));
  add('headers', '3000 headers', () => [`GET /b2api/v2/b2_list_buckets HTTP/1.1${CRLF}Host: x${CRLF}` + Array.from({length: 3000}, (_, i) => `X-H${i}: v${CRLF}`).join('') + CRLF]);
  add('headers', 'header without a colon', () => [`GET /b2api/v2/b2_list_buckets HTTP/1.1${CRLF}Host: x${CRLF}NoColonHere${CRLF}${CRLF}`]);
  add('headers', 'bare LF line endings with a NUL', () => ['GET /b2api/v2/b2_list_buckets HTTP/1.1\nHost: x\nX-A: \u0000\n\n']);
  add('headers', 'request line garbage', () => [`\u0016\u0003\u0001 not http${CRLF}${CRLF}`]);
  add('headers', 'HTTP/0.9 style request', () => [`GET /${CRLF}`], 'errorOrClosed', true);
  add('headers', 'unknown HTTP version', () => [`GET /b2api/v2/b2_list_buckets HTTP/7.3${CRLF}Host: x${CRLF}${CRLF}`]);
  add('headers', 'absolute-form URL with a broken host', () => [`GET http://[::1/b2api/v2/b2_list_buckets HTTP/1.1${CRLF}Host: x${CRLF}${CRLF}`]);
  add('headers', 'authorize with a Basic value that is not base64', get('/b2api/v2/b2_authorize_account', {Authorization: 'Basic %%%%'}));
  add('headers', 'authorize without a colon in the credentials', get('/b2api/v2/b2_authorize_account', {Authorization: `Basic ${Buffer.from('nocolon').toString('base64')}`}));
  add('headers', 'a 60 KB token', () => [`GET /b2api/v2/b2_list_buckets HTTP/1.1${CRLF}Host: x${CRLF}Authorization: ${'4_'.repeat(30_000)}${CRLF}${CRLF}`]);
  add('headers', 'X-Bz-Part-Number out of range', () => [
    `POST ${partPath} HTTP/1.1${CRLF}Host: x${CRLF}Authorization: ${partToken}${CRLF}X-Bz-Part-Number: 10001${CRLF}X-Bz-Content-Sha1: ${sha1('a')}${CRLF}Content-Length: 1${CRLF}${CRLF}a`,
  ]);
  add('headers', 'X-Bz-Content-Sha1 not hex', uploadAs('h/sha', 'x', {'X-Bz-Content-Sha1': 'z'.repeat(40)}, 'x'));
  add('headers', 'eleven X-Bz-Info headers', upload('h/info', Buffer.from('x'), Object.fromEntries(Array.from({length: 11}, (_, i) => [`X-Bz-Info-k${i}`, 'v']))));
  add('headers', 'X-Bz-Info value with invalid percent-encoding', upload('h/info2', Buffer.from('x'), {'X-Bz-Info-k': '%zz'}), 'okOrError');
  add('headers', 'Range header garbage on a download', get(`/file/${'BUCKET'}/hostile/known.txt`, {Range: 'bytes=9999999999999999999-'}), 'okOrError');

  // Invalid percent-encodings and UTF-8 in names (upload header, download path, JSON).
  const badNames: Array<[string, string | Buffer]> = [
    ['lone %', '%'], ['%z', 'a%zz'], ['truncated %4', 'a%4'], ['overlong UTF-8 %C0%AF', '%C0%AF'], ['invalid UTF-8 %C3%28', '%C3%28'],
    ['%FF', 'x%FF'], ['lone surrogate %ED%A0%80', '%ED%A0%80'], ['NUL %00', 'a%00b'], ['DEL %7F', 'a%7Fb'], ['newline %0A', 'a%0Ab'],
    ['raw bytes 0xFF', Buffer.from([0x61, 0xff, 0x62])], ['raw UTF-8 bytes', Buffer.from('é', 'utf8')], ['name over 1024 bytes', 'x'.repeat(1025)],
    ['1024 two-byte characters', '%C3%A9'.repeat(513)], ['empty name', ''],
  ];
  for (const [label, name] of badNames) add('names', `upload name: ${label}`, upload(name), 'error');
  const acceptedNames: Array<[string, string]> = [['right-to-left override', '%E2%80%AEtxt.exe'], ['plus as space', 'a+b'], ['emoji', '%F0%9F%98%80'], ['percent-encoded slash', 'a%2Fb']];
  for (const [label, name] of acceptedNames) add('names', `upload name: ${label}`, upload(`names/${name}`), 'okOrError');
  for (const [label, path] of [['%zz', '%zz'], ['%C3%28', '%C3%28'], ['%00', 'a%00'], ['lone %', '%'], ['%FF', '%FF']]) {
    add('names', `download path: ${label}`, get(`/file/BUCKET/${path}`));
    add('names', `download bucket: ${label}`, get(`/file/${path}/x`));
  }
  for (const [label, value] of [['control char', 'a\u0001b'], ['number', 12], ['object', {}], ['too long', 'y'.repeat(1025)], ['lone surrogate', '\ud800']] as const) {
    add('names', `JSON fileName: ${label}`, post('/b2api/v2/b2_start_large_file', JSON.stringify({bucketId: 'BUCKETID', fileName: value, contentType: 'b2/x-auto'})));
  }
  add('names', 'list prefix with invalid UTF-8 in a query', get('/b2api/v2/b2_list_file_names?bucketId=BUCKETID&prefix=%C3%28'), 'okOrError');

  // Unknown calls and methods.
  for (const path of ['/b2api/v2/b2_nope', '/b2api/v9/b2_list_buckets', '/b2api/v2/', '/', '/b2api/v2/b2_list_buckets/extra', '/file/', '/b2api/v2/B2_LIST_BUCKETS',
    '/b2api/v2/constructor', '/b2api/v2/__proto__', '/b2api/v2/prototype', '/b2api/v2/b2_upload_file', '/b2api/v2/b2_upload_part', '/b2api//v2/b2_list_buckets', '/b2api/v2/b2_list_buckets%00', '/%2e%2e/%2e%2e/etc/passwd', '/b2api/v2/../v2/b2_list_buckets', '*']) {
    add('unknown calls', `GET ${path}`, get(path));
  }
  for (const method of ['PUT', 'DELETE', 'PATCH', 'OPTIONS', 'TRACE', 'PROPFIND']) {
    add('unknown calls', `${method} b2_list_buckets`, () => [`${method} /b2api/v2/b2_list_buckets HTTP/1.1${CRLF}Host: x${CRLF}Authorization: ${token}${CRLF}Content-Length: 0${CRLF}${CRLF}`]);
  }

  // Path traversal in names and ids (the emulator has a data dir).
  for (const name of ['../../escape.txt', '..', '../', '/etc/passwd', 'a/../../../../tmp/escape', '%2E%2E%2F%2E%2E%2Fescape', '..%5C..%5Cescape', 'blobs/../../escape']) {
    add('path traversal', `upload name ${name}`, upload(`${name}`), 'okOrError');
  }
  for (const id of ['../../etc/passwd', '..', '/etc/passwd', '4_z../../x', 'blobs/../snapshot.json']) {
    add('path traversal', `fileId ${id}: get_file_info`, post('/b2api/v2/b2_get_file_info', JSON.stringify({fileId: id})));
    add('path traversal', `fileId ${id}: download_file_by_id`, get(`/b2api/v2/b2_download_file_by_id?fileId=${encodeURIComponent(id)}`));
    add('path traversal', `fileId ${id}: delete_file_version`, post('/b2api/v2/b2_delete_file_version', JSON.stringify({fileId: id, fileName: 'x'})));
  }
  add('path traversal', 'upload URL with a traversing bucket id', () => [
    rawUploadRequest({path: '/b2api/v2/b2_upload_file/..%2F..%2Fescape', token: uploadToken, fileName: 't', content: 'x', headers: {'Content-Type': null}, body: 'x'}),
  ]);
  add('path traversal', 'part URL with a traversing file id', () => [
    `POST /b2api/v2/b2_upload_part/../../escape HTTP/1.1${CRLF}Host: x${CRLF}Authorization: ${partToken}${CRLF}X-Bz-Part-Number: 1${CRLF}X-Bz-Content-Sha1: ${sha1('x')}${CRLF}Content-Length: 1${CRLF}${CRLF}x`,
  ]);
  add('path traversal', 'bucket name with traversal on create', post('/b2api/v2/b2_create_bucket', JSON.stringify({accountId: 'ACCOUNT', bucketName: '../../escape', bucketType: 'allPrivate'})));
  return cases;
}

/** Fills in the values known only once the emulator runs. */
function bind(pieces: Array<string | Buffer>): Array<string | Buffer> {
  return pieces.map((p) => (typeof p === 'string' ? p.replace(/BUCKETID/g, emu.bucketId).replace(/BUCKET/g, emu.bucket).replace(/ACCOUNT/g, '') : p));
}

function check(c: Case, a: SocketAnswer): string | undefined {
  if (!a.complete) return c.expect === 'errorOrClosed' && a.closed ? undefined : `no whole answer (closed: ${a.closed}, got ${JSON.stringify(a.raw.slice(0, 120))})`;
  const status = a.status!;
  if (status === 200 && c.expect === 'okOrError') return undefined;
  if (status < 400 || status >= 500) return `status ${status}: ${a.raw.slice(0, 200)}`;
  const body = a.json;
  const wellFormed = body && Object.keys(body).sort().join() === 'code,message,status' && body.status === status && typeof body.code === 'string' && typeof body.message === 'string';
  return wellFormed ? undefined : `status ${status} without a B2 error body: ${a.raw.slice(0, 200)}`;
}

async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, {withFileTypes: true})) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await filesUnder(path)));
    else out.push(relative(sandbox, path));
  }
  return out;
}

describe('hostile HTTP corpus', () => {
  test('every hostile request gets a B2 error (or a closed connection), never a 500; valid requests keep working', async () => {
    const cases = corpus();
    expect(cases.length).toBeGreaterThanOrEqual(100);
    const outcomes: Record<string, number> = {};
    const failures: string[] = [];
    for (const c of cases) {
      if (process.env.CORPUS_TRACE) process.stdout.write(`case: [${c.category}] ${c.name}\n`);
      // A fresh upload URL per case: an earlier case's stalled upload may still hold the last one (auth_token_limit).
      const up = (await api(emu, token, 'b2_get_upload_url', {bucketId: emu.bucketId})).json;
      [uploadPath, uploadToken] = [new URL(up.uploadUrl).pathname, up.authorizationToken];
      const answer = await rawExchange(emu.url, bind(c.pieces()), {until: (a) => a.complete, endWrite: c.endWrite});
      const problem = check(c, answer);
      if (problem) failures.push(`[${c.category}] ${c.name}: ${problem}`);
      const outcome = answer.complete ? (answer.status === 200 ? '200 accepted' : `${answer.status} ${answer.json?.code}`) : 'connection closed';
      outcomes[outcome] = (outcomes[outcome] ?? 0) + 1;
      // The emulator still serves a valid request after every hostile one.
      const health = await api(emu, token, 'b2_list_buckets', {});
      if (health.status !== 200) failures.push(`[${c.category}] ${c.name}: the next valid call got ${health.status}`);
    }
    // A report for the record: how many cases, and what they got.
    process.stdout.write(`hostile HTTP corpus: ${cases.length} requests; outcomes ${JSON.stringify(outcomes)}\n`);
    expect(failures).toEqual([]);

    // Valid work still round-trips after the corpus.
    const data = bytes(3000, 5);
    const up = await uploadRaw(emu, token, emu.bucketId, 'after/corpus.bin', data);
    expect(up.status).toBe(200);
    const down = await fetch(`${emu.url}/file/${emu.bucket}/after/corpus.bin`, {headers: {Authorization: token}});
    expect(sha1(Buffer.from(await down.arrayBuffer()))).toBe(sha1(data));

    // Nothing was written outside the data dir, and inside it only the emulator's own files.
    const files = await filesUnder(sandbox);
    expect(files.filter((f) => !f.startsWith(`data/`))).toEqual([]);
    const unexpected = files.filter((f) => !/^data\/(blobs\/[0-9a-f]{32}|locks\/\d+\.[0-9a-f]+|[a-z]+\.(json|jsonl|log))$/.test(f));
    expect(unexpected).toEqual([]);
    const known = await raw(`${emu.url}/file/${emu.bucket}/hostile/known.txt`, {headers: {Authorization: token}});
    expect(known.text).toBe('known');
    expect((await api(emu, token, 'b2_get_file_info', {fileId})).status).toBe(200);
  });
});
