import {createHash} from 'node:crypto';
import {Readable} from 'node:stream';
import {BackupError, abortError} from '../errors.js';
import type {B2Client, DownloadResponse} from './client.js';
import {toFailure} from './failure.js';
import {fileFromHeaders} from './file-headers.js';
import {shouldRetry} from './retry-policy.js';
import {LARGE_FILE_SHA1, plainSha1, type B2File} from './wire-types.js';

export interface DownloadRequest {
  fileName: string;
  /** Inclusive byte range. */
  range?: {start: number; end?: number};
  signal?: AbortSignal;
  /** No bytes for this long fails (or resumes) the transfer instead of hanging. */
  stallTimeoutMs: number;
}

export interface Download {
  file: B2File & {totalLength: number};
  stream: Readable;
}

/**
 * get(): a streaming download. Bytes are passed on as they arrive; a broken or stalled
 * connection resumes from the last byte received with a Range request on the same file
 * id (so a newer upload of the name cannot be spliced in). A full download is checked
 * against the size and the SHA1 (contentSha1, or large_file_sha1 of a large file) before
 * the stream ends; a mismatch fails the stream with checksum_mismatch.
 */
export async function download(client: B2Client, r: DownloadRequest): Promise<Download> {
  if (r.range && r.range.end !== undefined && r.range.end < r.range.start) {
    throw new BackupError('bad_input', `range ${r.range.start}-${r.range.end} of ${r.fileName} ends before it starts`);
  }
  const rangeHeader = (from: number, end?: number) => `bytes=${from}-${end ?? ''}`;
  const first = await openRange(client, {fileName: r.fileName}, r.range ? rangeHeader(r.range.start, r.range.end) : undefined, r);
  const file = fileFromHeaders(first.headers);
  const start = r.range?.start ?? 0;
  const end = Math.min(r.range?.end ?? file.totalLength - 1, file.totalLength - 1);
  const expectedSha1 = r.range ? undefined : plainSha1(file.contentSha1) ?? plainSha1(file.fileInfo[LARGE_FILE_SHA1]);

  if (r.range && start >= file.totalLength) {
    first.data.destroy();
    throw new BackupError('bad_input', `range ${start}-${r.range.end ?? ''} is outside ${r.fileName} (${file.totalLength} bytes)`);
  }

  async function* body(): AsyncGenerator<Buffer> {
    const hash = expectedSha1 ? createHash('sha1') : undefined;
    let pos = start;
    let res: DownloadResponse | undefined = first;
    let breaks = 0;
    try {
      while (pos <= end) {
        if (!res) res = await openRange(client, {fileId: file.fileId}, rangeHeader(pos, end), r);
        // a server may ignore Range and send the whole file: skip to where we are
        let skip = pos - bodyOffset(res);
        let failure: unknown;
        try {
          for await (let chunk of watchStall(res.data, r.stallTimeoutMs)) {
            if (skip > 0) {
              const drop = Math.min(skip, chunk.length);
              skip -= drop;
              chunk = chunk.subarray(drop);
            }
            if (chunk.length > end + 1 - pos) chunk = chunk.subarray(0, end + 1 - pos);
            if (chunk.length === 0) continue;
            hash?.update(chunk);
            pos += chunk.length;
            yield chunk;
            if (pos > end) break;
          }
        } catch (err) {
          failure = err;
        }
        if (pos <= end) {
          // cut off (with an error, or a short body): resume from the next byte
          if (r.signal?.aborted) throw abortError(r.signal);
          const f = await toFailure(failure ?? Object.assign(new Error('connection closed early'), {code: 'ECONNRESET'}));
          breaks++;
          if (shouldRetry(f, 'download') !== 'retry' || breaks >= client.policy.attemptsFor('download')) throw client.fail(f, {call: 'b2_download_file_by_id', name: r.fileName, attempts: breaks});
        }
        res.data.destroy();
        res = undefined;
      }
      if (hash && expectedSha1) {
        const got = hash.digest('hex');
        if (got !== expectedSha1) throw new BackupError('checksum_mismatch', `${r.fileName}: downloaded data has SHA1 ${got}, B2 recorded ${expectedSha1}; the stored copy is damaged or changed during the download`);
      }
    } finally {
      res?.data.destroy();
    }
  }

  const empty = end < start;
  if (empty) first.data.destroy();
  return {file, stream: empty ? Readable.from([]) : Readable.from(body(), {objectMode: false})};
}

/** Where a response's body starts in the file: the Content-Range start of a 206, else 0. */
function bodyOffset(res: DownloadResponse): number {
  const m = res.status === 206 ? /bytes\s+(\d+)-/.exec(res.headers['content-range'] ?? '') : null;
  return m ? Number(m[1]) : 0;
}

function openRange(client: B2Client, target: {fileName: string} | {fileId: string}, range: string | undefined, r: DownloadRequest): Promise<DownloadResponse> {
  return client.download(target, {range, signal: r.signal});
}

/** Passes chunks through, failing with a timeout when none arrives for `ms` (time spent by the consumer does not count). */
async function* watchStall(stream: Readable, ms: number): AsyncGenerator<Buffer> {
  const it = stream[Symbol.asyncIterator]();
  for (;;) {
    const timer = setTimeout(() => stream.destroy(Object.assign(new Error(`no data for ${ms} ms`), {code: 'ETIMEDOUT'})), ms);
    let next: IteratorResult<Buffer>;
    try {
      next = await it.next();
    } finally {
      clearTimeout(timer);
    }
    if (next.done) return;
    yield next.value;
  }
}
