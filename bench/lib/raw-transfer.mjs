#!/usr/bin/env node
// The ceiling: a minimal B2 uploader and downloader on plain node:http (no retries, no
// library, no progress), with the same part size and concurrency as the scenario it is
// compared with, and SHA1 computed as the provider must. With "prehash" the upload first
// reads the whole file for its SHA1 (large_file_sha1 at the start call), as the provider
// does: the ceiling of that design, beside the wire's own. Run as a child process by
// bench/run.mjs, so that its peak RSS is its own; prints one JSON line.
//   node raw-transfer.mjs '{"op":"upload"|"download-single"|"download-parallel", ...}'
// (op download-single with "stdout": true writes the file to stdout, reporting on stderr)
// (op upload with "pipe": true reads the bytes from stdin: run it behind `cat FILE |`)
import {createHash} from 'node:crypto';
import {createReadStream, writev} from 'node:fs';
import {open, stat} from 'node:fs/promises';
import {Agent, request} from 'node:http';

const job = JSON.parse(process.argv[2]);
const agent = new Agent({keepAlive: true, maxSockets: 64});
let calls = 0;

function call(url, {method = 'POST', headers = {}, body, onResponse} = {}) {
  calls++;
  return new Promise((resolve, reject) => {
    const req = request(url, {method, headers, agent}, (res) => {
      if (onResponse && res.statusCode < 300) return onResponse(res).then(resolve, reject);
      const chunks = [];
      res.on('data', (d) => chunks.push(d));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString();
        if (res.statusCode < 300) resolve(JSON.parse(text));
        else reject(new Error(`${url}: ${res.statusCode} ${text}`));
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    if (typeof body === 'function') body(req).catch(reject);
    else req.end(body);
  });
}

const auth = await call(`${job.url}/b2api/v2/b2_authorize_account`, {
  method: 'GET',
  headers: {Authorization: `Basic ${Buffer.from(`${job.keyId}:${job.applicationKey}`).toString('base64')}`},
});
const api = (name, args) => call(`${auth.apiUrl}/b2api/v2/${name}`, {headers: {Authorization: auth.authorizationToken}, body: JSON.stringify(args)});

async function pool(count, concurrency, work) {
  let next = 0;
  await Promise.all(Array.from({length: Math.min(concurrency, count)}, async () => {
    for (let i = next++; i < count; i = next++) await work(i);
  }));
}

/**
 * The whole file's SHA1 in one sequential read (8 MiB reads, the next one running while
 * the last is hashed): what a design that gives large_file_sha1 at b2_start_large_file
 * must do before anything is sent.
 */
async function wholeFileSha1(path) {
  const fh = await open(path, 'r');
  const hash = createHash('sha1');
  const size = 8 << 20;
  const bufs = [Buffer.allocUnsafe(size), Buffer.allocUnsafe(size)];
  let turn = 0;
  let reading = fh.read(bufs[turn], 0, size, null);
  for (;;) {
    const {bytesRead} = await reading;
    if (bytesRead === 0) break;
    const chunk = bufs[turn].subarray(0, bytesRead);
    turn ^= 1;
    reading = fh.read(bufs[turn], 0, size, null);
    hash.update(chunk);
  }
  await fh.close();
  return hash.digest('hex');
}

/** One part's POST with its SHA1 trailing the bytes (hex_digits_at_end); `write` sends the bytes, hashing them. */
async function sendPart(url, partNumber, length, write) {
  const hash = createHash('sha1');
  const part = await call(url.uploadUrl, {
    headers: {Authorization: url.authorizationToken, 'X-Bz-Part-Number': String(partNumber), 'X-Bz-Content-Sha1': 'hex_digits_at_end', 'Content-Length': String(length + 40)},
    body: async (req) => {
      await write(async (chunk) => {
        hash.update(chunk);
        if (!req.write(chunk)) await new Promise((r) => req.once('drain', r));
      });
      req.end(hash.digest('hex'));
    },
  });
  return part.contentSha1;
}

/**
 * job.pipe: the same upload from stdin (a pipe of unknown size), as the provider must do
 * it: each part read into one of concurrency + 1 buffers (the next part is read while the
 * others go up), the whole stream's SHA1 computed as it is read (for the catalog; it
 * cannot be large_file_sha1, which b2_start_large_file would need first).
 */
async function uploadPipe() {
  const {buckets} = await api('b2_list_buckets', {accountId: auth.accountId, bucketName: job.bucket});
  const started = await api('b2_start_large_file', {bucketId: buckets[0].bucketId, fileName: job.fileName, contentType: 'application/octet-stream'});
  const whole = createHash('sha1');
  const free = Array.from({length: job.concurrency + 1}, () => Buffer.allocUnsafe(job.partSize));
  const bufferWaiters = [];
  let slots = job.concurrency;
  const slotWaiters = [];
  const urls = [];
  const shas = [];
  const running = new Set();
  let failure;
  const go = (n, buffer, length) => {
    const p = (async () => {
      while (slots === 0) await new Promise((r) => slotWaiters.push(r));
      slots--;
      try {
        const url = urls.pop() ?? (await api('b2_get_upload_part_url', {fileId: started.fileId}));
        shas[n - 1] = await sendPart(url, n, length, async (send) => {
          for (let at = 0; at < length; at += 1 << 20) await send(buffer.subarray(at, Math.min(length, at + (1 << 20))));
        });
        urls.push(url);
      } finally {
        slots++;
        slotWaiters.shift()?.();
      }
    })().catch((err) => (failure ??= err)).finally(() => {
      running.delete(p);
      free.push(buffer);
      bufferWaiters.shift()?.();
    });
    running.add(p);
  };
  let n = 0;
  let buffer = free.pop();
  let fill = 0;
  let bytes = 0;
  for await (const chunk of process.stdin) {
    whole.update(chunk);
    bytes += chunk.length;
    for (let at = 0; at < chunk.length; ) {
      const k = Math.min(chunk.length - at, job.partSize - fill);
      chunk.copy(buffer, fill, at, at + k);
      fill += k;
      at += k;
      if (fill === job.partSize) {
        go(++n, buffer, fill); // sent as soon as one of `concurrency` slots is free; the next part is read meanwhile
        while (free.length === 0) await new Promise((r) => bufferWaiters.push(r));
        buffer = free.pop();
        fill = 0;
      }
    }
  }
  if (fill > 0) go(++n, buffer, fill);
  while (running.size > 0) await Promise.race(running);
  if (failure) throw failure;
  await api('b2_finish_large_file', {fileId: started.fileId, partSha1Array: shas});
  return {bytes, sha1: whole.digest('hex')};
}

async function upload() {
  if (job.pipe) return uploadPipe();
  const {size} = await stat(job.path);
  const {buckets} = await api('b2_list_buckets', {accountId: auth.accountId, bucketName: job.bucket});
  // job.prehash: the design ceiling (the same pre-pass as the provider's, then the same send)
  const fileInfo = job.prehash ? {large_file_sha1: await wholeFileSha1(job.path)} : undefined;
  const started = await api('b2_start_large_file', {bucketId: buckets[0].bucketId, fileName: job.fileName, contentType: 'application/octet-stream', ...(fileInfo ? {fileInfo} : {})});
  const count = Math.ceil(size / job.partSize);
  const shas = [];
  const urls = [];
  await pool(count, job.concurrency, async (i) => {
    const url = urls.pop() ?? (await api('b2_get_upload_part_url', {fileId: started.fileId}));
    const start = i * job.partSize;
    const length = Math.min(job.partSize, size - start);
    shas[i] = await sendPart(url, i + 1, length, async (send) => {
      for await (const chunk of createReadStream(job.path, {start, end: start + length - 1, highWaterMark: 1 << 20})) await send(chunk);
    });
    urls.push(url);
  });
  await api('b2_finish_large_file', {fileId: started.fileId, partSha1Array: shas});
  return {bytes: size};
}

/** GET of the whole file (or a range), each chunk handed to `onChunk`; resolves with the response headers. */
function get(range, onChunk) {
  const headers = {Authorization: auth.authorizationToken, ...(range ? {Range: `bytes=${range[0]}-${range[1]}`} : {})};
  return call(`${auth.downloadUrl}/file/${job.bucket}/${encodeURI(job.fileName)}`, {
    method: 'GET', headers,
    onResponse: (res) => new Promise((resolve, reject) => {
      res.on('data', (d) => onChunk(d, res));
      res.on('end', () => resolve(res.headers));
      res.on('error', reject);
    }),
  });
}

const expectedSha1 = (headers) => (/^[0-9a-f]{40}$/.test(headers['x-bz-content-sha1']) ? headers['x-bz-content-sha1'] : headers['x-bz-info-large_file_sha1']);

const STDOUT_BATCH = 2 << 20;

/** All of `bufs` to fd 1 with writev on the thread pool (stdout's descriptor is left blocking: process.stdout is never touched). */
async function writeStdout(bufs) {
  while (bufs.length) {
    let n = await new Promise((resolve, reject) => writev(1, bufs, (err, written) => (err ? reject(err) : resolve(written))));
    while (bufs.length && n >= bufs[0].length) n -= bufs.shift().length;
    if (n > 0) bufs[0] = bufs[0].subarray(n);
  }
}

/**
 * One stream, hashed as it arrives; discarded, or with "stdout" written to stdout in
 * batches of 2 MiB straight to its descriptor on the thread pool, one batch in flight
 * while the next fills (the response is paused while both are full), as the CLI does
 * (the CLI writes 1 MiB batches, so as not to stall slow readers; 2 MiB is a hair faster).
 */
async function downloadSingle() {
  const hash = createHash('sha1');
  let bytes = 0;
  let batch = [];
  let batchBytes = 0;
  let writing = Promise.resolve();
  const headers = await get(undefined, (d, res) => {
    hash.update(d);
    bytes += d.length;
    if (!job.stdout) return;
    batch.push(d);
    batchBytes += d.length;
    if (batchBytes < STDOUT_BATCH) return;
    const full = batch;
    batch = [];
    batchBytes = 0;
    res.pause();
    writing = writing.then(() => {
      res.resume();
      return writeStdout(full);
    });
  });
  if (job.stdout) await writing.then(() => writeStdout(batch));
  const sha1 = hash.digest('hex');
  return {bytes, sha1, verified: sha1 === expectedSha1(headers)};
}

/**
 * Ranges of job.rangeSize by job.concurrency workers, streamed into the file at their
 * offsets in writes of up to 1 MiB (a response is paused while its write is in flight, so
 * memory stays at concurrency × 1 MiB), and hashed in byte order: a batch at the hashing
 * frontier is hashed from memory, bytes written ahead of it are read back from the file
 * once the frontier reaches them. What an honest parallel downloader must do at least.
 */
async function downloadParallel() {
  const BATCH = 1 << 20;
  const fh = await open(job.out, 'w+');
  const hash = createHash('sha1');
  let total;
  let expected;
  let hashed = 0;
  const writtenTo = new Map(); // range start -> absolute offset written contiguously from it
  let catchingUp;
  const rangeOf = (at) => at - (at % job.rangeSize);
  const readBack = async () => {
    const block = Buffer.allocUnsafe(BATCH);
    for (;;) {
      const to = writtenTo.get(rangeOf(hashed)) ?? 0;
      if (to <= hashed) return;
      const {bytesRead} = await fh.read(block, 0, Math.min(BATCH, to - hashed), hashed);
      hash.update(block.subarray(0, bytesRead));
      hashed += bytesRead;
    }
  };
  const catchUp = () => (catchingUp ??= readBack().finally(() => (catchingUp = undefined)));
  const fetchRange = async (i) => {
    const start = i * job.rangeSize;
    const end = total === undefined ? start + job.rangeSize - 1 : Math.min(total, start + job.rangeSize) - 1;
    let at = start;
    let batch = [];
    let batchBytes = 0;
    let writing = Promise.resolve();
    const flush = (res) => {
      const bufs = batch;
      const pos = at;
      const len = batchBytes;
      batch = [];
      batchBytes = 0;
      at += len;
      const live = !catchingUp && pos === hashed;
      if (live) {
        for (const b of bufs) hash.update(b);
        hashed += len;
      }
      res?.pause();
      writing = writing.then(async () => {
        await fh.writev(bufs, pos);
        writtenTo.set(start, pos + len);
        if (!live) catchUp();
        res?.resume();
      });
    };
    const headers = await call(`${auth.downloadUrl}/file/${job.bucket}/${encodeURI(job.fileName)}`, {
      method: 'GET',
      headers: {Authorization: auth.authorizationToken, Range: `bytes=${start}-${end}`},
      onResponse: (res) => new Promise((resolve, reject) => {
        res.on('data', (d) => {
          batch.push(d);
          batchBytes += d.length;
          if (batchBytes >= BATCH) flush(res);
        });
        res.on('end', () => resolve(res.headers));
        res.on('error', reject);
      }),
    });
    if (batchBytes) flush();
    await writing;
    total ??= Number(/\/(\d+)$/.exec(headers['content-range'])[1]);
    expected ??= expectedSha1(headers);
  };
  await fetchRange(0);
  await pool(Math.ceil(total / job.rangeSize) - 1, job.concurrency, (i) => fetchRange(i + 1));
  while (hashed < total) await catchUp();
  await fh.sync();
  await fh.close();
  const sha1 = hash.digest('hex');
  return {bytes: total, sha1, verified: sha1 === expected};
}

const t0 = performance.now();
/** Removes every version under job.prefix (between runs, so that the emulator's memory holds one copy at most). */
async function purge() {
  const {buckets} = await api('b2_list_buckets', {accountId: auth.accountId, bucketName: job.bucket});
  const bucketId = buckets[0].bucketId;
  const {files} = await api('b2_list_file_versions', {bucketId, prefix: job.prefix, maxFileCount: 1000});
  for (const f of files) await api('b2_delete_file_version', {fileId: f.fileId, fileName: f.fileName});
  const {files: unfinished} = await api('b2_list_unfinished_large_files', {bucketId, namePrefix: job.prefix});
  for (const f of unfinished) await api('b2_cancel_large_file', {fileId: f.fileId});
  return {bytes: 0, removed: files.length + unfinished.length};
}

const ops = {upload, purge, 'download-single': downloadSingle, 'download-parallel': downloadParallel};
const result = await ops[job.op]();
const seconds = (performance.now() - t0) / 1000;
if (result.verified === false) throw new Error(`raw ${job.op}: SHA1 ${result.sha1} does not match the stored one`);
// a download to stdout reports on stderr: stdout carries the file
(job.stdout ? process.stderr : process.stdout).write(`${JSON.stringify({...result, seconds, calls})}\n`);
agent.destroy();
