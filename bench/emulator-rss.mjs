#!/usr/bin/env node
/**
 * Peak memory of a --data-dir emulator receiving a 1 GiB large file in 100 MB parts.
 *
 * Runs `b2 emulator --data-dir` as a separate child process (needs `npm run build`),
 * uploads the parts over raw HTTP with hex_digits_at_end (so this process never holds a
 * part either), finishes the file, downloads it back and checks its SHA1, sampling the
 * child's resident memory from /proc/PID/status all along (VmHWM = peak RSS).
 *
 *   node bench/emulator-rss.mjs [--size-mib 1024] [--part-mb 100] [--concurrency 2]
 * Target: peak RSS under 300 MiB.
 */
import {spawn} from 'node:child_process';
import {createHash, randomBytes} from 'node:crypto';
import {readFileSync} from 'node:fs';
import {mkdtemp, rm} from 'node:fs/promises';
import {request} from 'node:http';
import {tmpdir} from 'node:os';
import {dirname, join} from 'node:path';
import {fileURLToPath} from 'node:url';
import {parseArgs} from 'node:util';

const {values: args} = parseArgs({
  options: {'size-mib': {type: 'string', default: '1024'}, 'part-mb': {type: 'string', default: '100'}, concurrency: {type: 'string', default: '2'}},
});
const TOTAL = Number(args['size-mib']) * 1024 * 1024;
const PART = Number(args['part-mb']) * 1_000_000;
const CONCURRENCY = Number(args.concurrency);
const BLOCK = randomBytes(1024 * 1024);
const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const MiB = 1024 * 1024;

/** The bytes offset..offset+length of the synthetic file, in 1 MiB-ish chunks. */
function* chunksOf(offset, length) {
  for (let at = offset; at < offset + length; ) {
    const within = at % BLOCK.length;
    const n = Math.min(BLOCK.length - within, offset + length - at);
    yield BLOCK.subarray(within, within + n);
    at += n;
  }
}

function memory(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field) => Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)?.[1] ?? 0);
  return {rss: kb('VmRSS') * 1024, hwm: kb('VmHWM') * 1024};
}

function call(url, method, headers, writeBody) {
  return new Promise((resolve, reject) => {
    const req = request(url, {method, headers}, (res) => {
      let text = '';
      res.on('data', (d) => (text += d));
      res.on('end', () => (res.statusCode === 200 ? resolve(JSON.parse(text)) : reject(new Error(`${res.statusCode} ${text}`))));
    });
    req.on('error', reject);
    writeBody(req);
  });
}

const api = (base, token, name, body) =>
  call(`${base}/b2api/v2/${name}`, 'POST', {Authorization: token, 'Content-Type': 'application/json'}, (req) => req.end(JSON.stringify(body)));

/** Streams one part with its SHA1 appended (hex_digits_at_end), honouring backpressure. */
async function uploadPart(base, token, fileId, number, offset, length) {
  const url = await api(base, token, 'b2_get_upload_part_url', {fileId});
  const hash = createHash('sha1');
  return call(url.uploadUrl, 'POST', {
    Authorization: url.authorizationToken, 'X-Bz-Part-Number': String(number),
    'X-Bz-Content-Sha1': 'hex_digits_at_end', 'Content-Length': String(length + 40),
  }, async (req) => {
    for (const chunk of chunksOf(offset, length)) {
      hash.update(chunk);
      if (!req.write(chunk)) await new Promise((r) => req.once('drain', r));
    }
    req.end(hash.digest('hex'));
  }).then((r) => r.contentSha1);
}

const dataDir = await mkdtemp(join(tmpdir(), 'emu-rss-'));
const child = spawn(process.execPath, [join(root, 'bin', 'run.js'), 'b2', 'emulator', '--port', '0', '--json', '--data-dir', dataDir], {stdio: ['ignore', 'pipe', 'inherit']});
try {
  const info = JSON.parse(await new Promise((resolve) => child.stdout.once('data', (d) => resolve(String(d).split('\n')[0]))));
  let peakSampled = 0;
  const sampler = setInterval(() => (peakSampled = Math.max(peakSampled, memory(child.pid).rss)), 50);
  const idle = memory(child.pid);
  const basic = Buffer.from(`${info.keyId}:${info.applicationKey}`).toString('base64');
  const auth = await call(`${info.url}/b2api/v2/b2_authorize_account`, 'GET', {Authorization: `Basic ${basic}`}, (req) => req.end());
  const bucketId = auth.allowed.bucketId ?? (await api(info.url, auth.authorizationToken, 'b2_list_buckets', {accountId: auth.accountId, bucketName: info.bucket})).buckets[0].bucketId;
  const wholeSha1 = createHash('sha1');
  for (const c of chunksOf(0, TOTAL)) wholeSha1.update(c);
  const expected = wholeSha1.digest('hex');

  const t0 = Date.now();
  const start = await api(info.url, auth.authorizationToken, 'b2_start_large_file', {bucketId, fileName: 'bench/1gib.bin', contentType: 'application/octet-stream', fileInfo: {large_file_sha1: expected}});
  const count = Math.ceil(TOTAL / PART);
  const shas = new Array(count);
  let next = 0;
  await Promise.all(Array.from({length: CONCURRENCY}, async () => {
    while (next < count) {
      const i = next++;
      shas[i] = await uploadPart(info.url, auth.authorizationToken, start.fileId, i + 1, i * PART, Math.min(PART, TOTAL - i * PART));
    }
  }));
  await api(info.url, auth.authorizationToken, 'b2_finish_large_file', {fileId: start.fileId, partSha1Array: shas});
  const uploadSeconds = (Date.now() - t0) / 1000;
  const afterUpload = memory(child.pid);

  const t1 = Date.now();
  const downloaded = await new Promise((resolve, reject) => {
    const hash = createHash('sha1');
    let bytes = 0;
    request(`${info.url}/file/${info.bucket}/bench/1gib.bin`, {headers: {Authorization: auth.authorizationToken}}, (res) => {
      res.on('data', (d) => { hash.update(d); bytes += d.length; });
      res.on('end', () => resolve({bytes, sha1: hash.digest('hex')}));
      res.on('error', reject);
    }).on('error', reject).end();
  });
  const downloadSeconds = (Date.now() - t1) / 1000;
  clearInterval(sampler);
  const end = memory(child.pid);
  const peak = Math.max(end.hwm, peakSampled);
  const ok = downloaded.bytes === TOTAL && downloaded.sha1 === expected;
  console.log(JSON.stringify({
    fileMiB: TOTAL / MiB, partBytes: PART, parts: count, concurrency: CONCURRENCY,
    uploadMBps: +(TOTAL / 1e6 / uploadSeconds).toFixed(1), downloadMBps: +(TOTAL / 1e6 / downloadSeconds).toFixed(1),
    idleRssMiB: +(idle.rss / MiB).toFixed(1), rssAfterUploadMiB: +(afterUpload.rss / MiB).toFixed(1),
    peakRssMiB: +(peak / MiB).toFixed(1), targetMiB: 300, underTarget: peak < 300 * MiB, downloadVerified: ok,
  }));
  if (!ok) process.exitCode = 1;
} finally {
  child.kill('SIGTERM');
  await new Promise((r) => child.once('exit', r));
  await rm(dataDir, {recursive: true, force: true});
}
