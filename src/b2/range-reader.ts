import type {Readable} from 'node:stream';
import {abortError} from '../errors.js';
import type {B2Client, DownloadResponse} from './client.js';
import {toFailure, type Failure} from './failure.js';
import type {FileReads} from './file-reads.js';
import {backoffMs, shouldRetry} from './retry-policy.js';

/** One byte range of one stored file version, and how to read it. */
export interface RangeJob {
  fileId: string;
  /** For messages. */
  fileName: string;
  /** Inclusive. */
  start: number;
  end: number;
  /** The file's length, once known (a ranged answer must say this total). */
  total?: number;
  signal?: AbortSignal;
  stallTimeoutMs: number;
  /** The download's requests: ranges and resumes go with the SSE-C key as its first request did. */
  reads: FileReads;
  /** A response already opened for this range (the first request of a download). */
  first?: DownloadResponse;
  /** That first request went by id (a version asked for), not by name. */
  firstById?: boolean;
  /** Every response this reader opens, so that an abandoned download can release its sockets. */
  open?: Set<DownloadResponse>;
}

/**
 * The bytes start..end of a file, as they arrive. A connection that breaks or stalls is
 * resumed from the next byte with a Range request on the same file id (a newer upload of
 * the name cannot be spliced in), after a backoff; the break budget (the download
 * policy's attempts) counts breaks in a row without progress, so a transfer that moves
 * forward on every attempt always finishes.
 */
export async function* readRange(client: B2Client, job: RangeJob): AsyncGenerator<Buffer> {
  let pos = job.start;
  let res: DownloadResponse | undefined = job.first;
  let breaksWithoutProgress = 0;
  const part = {kind: 'part', direction: 'download', file: job.fileName, offset: job.start, bytes: job.end + 1 - job.start} as const;
  client.event({...part, state: 'start'});
  try {
    while (pos <= job.end) {
      if (!res) res = await job.reads.download({fileId: job.fileId, fileName: job.fileName}, {range: `bytes=${pos}-${job.end}`, signal: job.signal});
      // the download's first answer came by name (the newest version); resumes go by the id it named
      const call = res === job.first && !job.firstById ? 'b2_download_file_by_name' : 'b2_download_file_by_id';
      job.open?.add(res);
      const attemptStart = pos;
      // a server may ignore Range and send from byte 0: skip to where we are
      let skip = pos;
      let failure: unknown;
      const wrong = rangeAnswerMismatch(res, {start: pos, end: job.end, total: job.total});
      try {
        if (wrong) throw new WrongRange(wrong);
        if (res.status === 206) skip = 0;
        for await (let chunk of watchStall(res.data, job.stallTimeoutMs)) {
          if (skip > 0) {
            const drop = Math.min(skip, chunk.length);
            skip -= drop;
            chunk = chunk.subarray(drop);
          }
          if (chunk.length > job.end + 1 - pos) chunk = chunk.subarray(0, job.end + 1 - pos);
          if (chunk.length === 0) continue;
          pos += chunk.length;
          yield chunk;
          if (pos > job.end) break;
        }
      } catch (err) {
        failure = err;
      }
      res.data.destroy();
      job.open?.delete(res);
      res = undefined;
      if (pos > job.end) {
        client.event({...part, state: 'done'});
        break;
      }
      // cut off (with an error, or a short body): resume from the next byte
      if (job.signal?.aborted) throw abortError(job.signal);
      const f: Failure = failure instanceof WrongRange ? {code: 'wrong_range', message: failure.message} : await toFailure(failure ?? Object.assign(new Error('connection closed early'), {code: 'ECONNRESET'}));
      breaksWithoutProgress = pos > attemptStart ? 1 : breaksWithoutProgress + 1;
      if (shouldRetry(f, 'download') !== 'retry' || breaksWithoutProgress >= client.policy.attemptsFor('download')) {
        throw client.fail(f, {call, name: job.fileName, attempts: breaksWithoutProgress});
      }
      const wait = backoffMs(breaksWithoutProgress, f, client.policy.options);
      client.retrying(f, call, job.fileName, breaksWithoutProgress, wait);
      if (wait > 0) await client.policy.options.sleep(wait, job.signal);
    }
  } finally {
    if (res) {
      res.data.destroy();
      job.open?.delete(res);
    }
  }
}

/** An answer that is not the bytes asked for: not data, a failed attempt (retried like a broken connection). */
class WrongRange extends Error {}

/**
 * Why an answer to a request for bytes start..end is not those bytes, or undefined when
 * it is: a 206 must say exactly that range in Content-Range (of `total` bytes, once the
 * file's length is known) with a matching Content-Length; a 200 (Range ignored) must be
 * the whole file. A cache or proxy in front of B2 can answer another range; B2 itself never does.
 */
export function rangeAnswerMismatch(res: Pick<DownloadResponse, 'status' | 'headers'>, ask: {start: number; end: number; total?: number}): string | undefined {
  const length = res.headers['content-length'] === undefined ? undefined : Number(res.headers['content-length']);
  const asked = `asked for bytes ${ask.start}-${ask.end}${ask.total === undefined ? '' : ` of ${ask.total}`}`;
  if (res.status !== 206) {
    return ask.total === undefined || length === undefined || length === ask.total ? undefined : `${asked}, the server sent a whole file of ${length} bytes`;
  }
  const said = res.headers['content-range'];
  const m = /^bytes\s+(\d+)-(\d+)\/(\d+)\s*$/.exec(said ?? '');
  const [start, end, total] = m ? [Number(m[1]), Number(m[2]), Number(m[3])] : [];
  const right = m && start === ask.start && end === ask.end && (ask.total === undefined || total === ask.total) && (length === undefined || length === end - start + 1);
  return right ? undefined : `${asked}, the server answered ${said === undefined ? 'without a Content-Range' : `Content-Range ${JSON.stringify(said)}`}${length === undefined ? '' : ` and ${length} bytes`}`;
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
