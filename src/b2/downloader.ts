import type {FileHandle} from 'node:fs/promises';
import type {EventLoopUtilization} from 'node:perf_hooks';
import {Readable} from 'node:stream';
import {writeAll, writeInBatches} from '../batched-writes.js';
import {BackupError, abortError} from '../errors.js';
import {onLocalFile} from '../io-errors.js';
import {fileHashThreadPays, sha1Sink, type Sha1Sink} from '../sha1-sink.js';
import {Sha1Thread} from '../sha1-thread.js';
import type {B2Client, DownloadResponse} from './client.js';
import {fileFromHeaders} from './file-headers.js';
import {FileReads} from './file-reads.js';
import {readRange} from './range-reader.js';
import {LARGE_FILE_SHA1, plainSha1, type B2File} from './wire-types.js';

export interface DownloadRequest {
  fileName: string;
  /** The version to read (by id, b2_download_file_by_id); else the newest of the name. */
  fileId?: string;
  /** Inclusive byte range. */
  range?: {start: number; end?: number};
  signal?: AbortSignal;
  /** The file is stored with SSE-C, as a listing said: its first request need not find out (FileReads). */
  storedWithKey?: boolean;
  /** No bytes for this long fails (or resumes) the transfer instead of hanging; also how long a stream may sit unread. */
  stallTimeoutMs: number;
  /** Range requests in flight for a large file (1: one stream). */
  concurrency?: number;
  /** Bytes per range request of a parallel download; files up to this size take one request. */
  rangeSize?: number;
  /** A stream download whose first range arrives at least this fast (bytes/s) fetches the rest as one stream. */
  fastStreamRate?: number;
  /** ...or at least this fast while it kept this thread busy (BUSY_PROBE_SHARE); default BUSY_STREAM_RATE. */
  busyStreamRate?: number;
}

export interface Download {
  file: B2File & {totalLength: number};
  stream: Readable;
}

/** Ranges of a stream download are held in memory until their turn: concurrency × this at most. */
export const STREAM_RANGE_SIZE = 8 * 1024 * 1024;
/**
 * A single stream this fast is not worth splitting: the ranges would only add requests,
 * in-order reassembly and memory (on loopback or a fast LAN one stream beats reassembled
 * ranges). Over the Internet a single B2 stream is usually far slower, and then ranges win.
 */
export const FAST_STREAM_RATE = 160 * 1024 * 1024;
/**
 * A first range received while this thread was busy this share of the time or more, at
 * BUSY_STREAM_RATE or faster, was limited by this process (receiving, a cold start's
 * compiling), not by the network: more streams would only add work to the same thread,
 * so the rest comes as one stream. Measured on loopback, 2 cores: a cold process
 * receives the first 8 MiB at 60-120 MiB/s with the thread busy throughout (ELU 1.00),
 * then one stream runs at ~500 MiB/s, and 128 ranges of 8 MiB took 20% longer.
 */
export const BUSY_PROBE_SHARE = 0.9;
/**
 * Below this a first range waited on the network, whatever kept the thread busy
 * meanwhile (a host's own work): then ranges, as the rate alone says.
 */
export const BUSY_STREAM_RATE = 32 * 1024 * 1024;
/** A file download writes ranges in place as they arrive; larger ranges mean fewer requests. */
export const FILE_RANGE_SIZE = 32 * 1024 * 1024;

type File = B2File & {totalLength: number};

/**
 * The first request (by name, so the newest version, unless a version is asked for), its file, what the whole-file SHA1
 * must be, and the download's requests (`reads`: the rest go with the SSE-C key as the first did).
 */
async function openFirst(client: B2Client, r: DownloadRequest, firstRangeSize?: number): Promise<{first: DownloadResponse; file: File; start: number; end: number; expectedSha1?: string; reads: FileReads}> {
  if (r.range && r.range.end !== undefined && r.range.end < r.range.start) {
    throw new BackupError('bad_input', `range ${r.range.start}-${r.range.end} of ${r.fileName} ends before it starts`);
  }
  const reads = new FileReads(client, r.storedWithKey);
  const first = await openByName(reads, r, firstRangeSize);
  const file = fileFromHeaders(first.headers);
  // a version asked for by id must be the name's: the provider never reads outside its prefix, whatever id it is given
  if (r.fileId !== undefined && file.fileName !== r.fileName) {
    first.data.destroy();
    throw new BackupError('not_found', `the version asked for is not one of ${JSON.stringify(r.fileName)}'s (it is another file's)`);
  }
  const start = r.range?.start ?? 0;
  const end = Math.min(r.range?.end ?? file.totalLength - 1, file.totalLength - 1);
  if (r.range && start >= file.totalLength) {
    first.data.destroy();
    throw new BackupError('bad_input', `range ${start}-${r.range.end ?? ''} is outside ${r.fileName} (${file.totalLength} bytes)`);
  }
  const expectedSha1 = r.range ? undefined : plainSha1(file.contentSha1) ?? plainSha1(file.fileInfo[LARGE_FILE_SHA1]);
  return {first, file, start, end, expectedSha1, reads};
}

/**
 * The first request. For a parallel download it asks for the first range only: a
 * request for the whole file that is dropped after its first range would still make the
 * server send what fits in the socket buffers (billed egress). An empty file has no
 * first range (416): then the whole of it.
 */
async function openByName(reads: FileReads, r: DownloadRequest, firstRangeSize?: number): Promise<DownloadResponse> {
  const start = r.range?.start ?? 0;
  const end = firstRangeSize ? Math.min(start + firstRangeSize - 1, r.range?.end ?? Infinity) : r.range?.end;
  const range = r.range || firstRangeSize ? `bytes=${start}-${end ?? ''}` : undefined;
  const target = r.fileId ? {fileId: r.fileId, fileName: r.fileName} : {fileName: r.fileName};
  try {
    return await reads.download(target, {range, signal: r.signal});
  } catch (err) {
    if (r.range || !firstRangeSize || (err as {cause?: {status?: number}}).cause?.status !== 416) throw err;
    return reads.download(target, {signal: r.signal});
  }
}

function checkSha1(fileName: string, got: string, expected: string | undefined): void {
  if (expected && got !== expected) throw new BackupError('checksum_mismatch', `${fileName}: downloaded data has SHA1 ${got}, B2 recorded ${expected}; the stored copy is damaged or changed during the download`);
}

/** start..end cut into ranges of `size`. */
function splitRanges(start: number, end: number, size: number): Array<{start: number; end: number}> {
  const ranges = [];
  for (let at = start; at <= end; at += size) ranges.push({start: at, end: Math.min(end, at + size - 1)});
  return ranges;
}

/** An abort signal that fires with `outer` or when the download is given up, and the responses to release then. */
function downloadScope(outer?: AbortSignal) {
  const inner = new AbortController();
  const open = new Set<DownloadResponse>();
  const onAbort = () => inner.abort(outer?.reason);
  outer?.addEventListener('abort', onAbort, {once: true});
  return {
    signal: inner.signal,
    open,
    release() {
      outer?.removeEventListener('abort', onAbort);
      if (!inner.signal.aborted) inner.abort(new Error('download finished'));
      for (const res of open) res.data.destroy();
      open.clear();
    },
  };
}

/**
 * get(): a streaming download, bytes in order. With concurrency > 1 the first range is a
 * probe, read whole: when it arrived at FAST_STREAM_RATE or faster, or at BUSY_STREAM_RATE
 * while it kept this thread busy (BUSY_PROBE_SHARE), the rest follows as one stream (one
 * more request), else as up to `concurrency` Range requests at once, each held in memory
 * until its turn (concurrency × STREAM_RANGE_SIZE at most). A small file takes one request;
 * every range resumes on its own after a break. A full download is checked against the
 * size and the SHA1 (contentSha1, or large_file_sha1 of a large file), hashed in order,
 * before the stream ends; a mismatch fails the stream with checksum_mismatch. A stream
 * nobody reads for stallTimeoutMs is destroyed, releasing its connections.
 */
export async function download(client: B2Client, r: DownloadRequest): Promise<Download> {
  const rangeSize = r.rangeSize ?? STREAM_RANGE_SIZE;
  const concurrency = Math.max(1, r.concurrency ?? 1);
  const {first, file, start, end, expectedSha1, reads} = await openFirst(client, r, concurrency > 1 ? rangeSize : undefined);
  if (end < start) {
    first.data.destroy();
    return {file, stream: Readable.from([])};
  }
  const scope = downloadScope(r.signal);
  scope.open.add(first);
  const read = (range: {start: number; end: number}, res?: DownloadResponse) =>
    readRange(client, {fileId: file.fileId, fileName: r.fileName, ...range, total: file.totalLength, signal: scope.signal, stallTimeoutMs: r.stallTimeoutMs, reads, first: res, firstById: r.fileId !== undefined, open: scope.open});

  async function* body(): AsyncGenerator<Buffer> {
    let hash: Sha1Sink | undefined;
    try {
      const probe = {start, end: concurrency === 1 ? end : Math.min(end, start + rangeSize - 1)};
      const rest = probe.end < end ? {start: probe.end + 1, end} : undefined;
      // Where ranges are possible the probe is read whole before it is passed on, so that
      // its rate is the network's alone (not a slow consumer's).
      const head = concurrency > 1 && rest ? await gather(read(probe, first)) : undefined;
      const oneStream = !head || head.rate >= (r.fastStreamRate ?? FAST_STREAM_RATE) || (head.busy >= BUSY_PROBE_SHARE && head.rate >= (r.busyStreamRate ?? BUSY_STREAM_RATE));
      // One fast stream: receiving and writing would wait on SHA1, so a large file is hashed
      // on a second thread where a core is free for it (sha1Sink). Ranges mean a slow
      // network: one core hashes faster than that.
      hash = expectedSha1 ? sha1Sink(end - start + 1, oneStream) : undefined;
      const ranges = rest && !oneStream ? splitRanges(rest.start, rest.end, rangeSize) : [];
      const parts: Array<AsyncIterable<Buffer> | Iterable<Buffer>> = [
        head?.chunks ?? read(probe, first),
        !rest ? [] : oneStream ? read(rest) : inOrder(ranges.length, concurrency, (i) => read(ranges[i])),
      ];
      for (const part of parts) {
        for await (const chunk of part) {
          await hash?.update(chunk);
          yield chunk;
        }
      }
      if (hash) checkSha1(r.fileName, await hash.digest(), expectedSha1);
    } catch (err) {
      if (r.signal?.aborted) throw abortError(r.signal);
      throw err;
    } finally {
      hash?.close();
      scope.release();
    }
  }
  return {file, stream: unreadTimeout(body(), r.stallTimeoutMs, () => scope.release())};
}

/**
 * All of the chunks, the rate (bytes/s) from the first chunk's arrival to the last's
 * (Infinity if too short to tell), and the share of that time this thread was busy.
 */
async function gather(chunks: AsyncGenerator<Buffer>): Promise<{chunks: Buffer[]; rate: number; busy: number}> {
  const all: Buffer[] = [];
  let since: EventLoopUtilization | undefined;
  let firstAt: number | undefined;
  let after = 0;
  for await (const chunk of chunks) {
    if (firstAt === undefined) {
      firstAt = performance.now();
      since = performance.eventLoopUtilization();
    } else after += chunk.length;
    all.push(chunk);
  }
  const seconds = firstAt === undefined ? 0 : (performance.now() - firstAt) / 1000;
  const busy = since ? performance.eventLoopUtilization(since).utilization : 0;
  return {chunks: all, rate: seconds > 0 ? after / seconds : Infinity, busy};
}

/**
 * The chunks of `count` ranges in order, read by `concurrency` workers. A worker may run
 * at most `concurrency` ranges ahead of the one being consumed, so memory stays bounded.
 */
async function* inOrder(count: number, concurrency: number, read: (i: number) => AsyncGenerator<Buffer>): AsyncGenerator<Buffer> {
  const slots = Array.from({length: count}, () => ({chunks: [] as Buffer[], done: false, error: undefined as unknown, wake: undefined as (() => void) | undefined}));
  let consumed = 0;
  let next = 0;
  let stopped = false;
  let windowWaiters: Array<() => void> = [];
  const worker = async () => {
    while (!stopped) {
      const i = next++;
      if (i >= count) return;
      while (i >= consumed + concurrency && !stopped) await new Promise<void>((resolve) => windowWaiters.push(resolve));
      const slot = slots[i];
      try {
        for await (const chunk of read(i)) {
          if (stopped) return;
          slot.chunks.push(chunk);
          slot.wake?.();
        }
      } catch (err) {
        slot.error = err;
      }
      slot.done = true;
      slot.wake?.();
    }
  };
  // workers end on their own once stopped (the caller aborts their requests); errors land in slots
  Array.from({length: Math.min(concurrency, count)}, worker).forEach((w) => w.catch(() => undefined));
  try {
    for (; consumed < count; consumed++) {
      const slot = slots[consumed];
      for (;;) {
        const chunk = slot.chunks.shift();
        if (chunk) {
          yield chunk;
          continue;
        }
        if (slot.error) throw slot.error;
        if (slot.done) break;
        await new Promise<void>((resolve) => (slot.wake = resolve));
        slot.wake = undefined;
      }
      const waiting = windowWaiters;
      windowWaiters = [];
      waiting.forEach((w) => w());
    }
  } finally {
    stopped = true;
    windowWaiters.forEach((w) => w());
  }
}

/**
 * The generator as a byte stream that destroys itself (and calls `release`, which closes
 * the connections) when its consumer leaves it unread for `ms`: a caller that never
 * reads must not hold a socket for ever.
 */
function unreadTimeout(gen: AsyncGenerator<Buffer>, ms: number, release: () => void): Readable {
  let timer: NodeJS.Timeout | undefined;
  const arm = () => {
    timer = setTimeout(() => {
      release();
      // An error nobody listens for would be thrown out of the process: a caller that never
      // attached to the stream only finds it closed.
      const err = new BackupError('failure', `nobody read the download for ${ms} ms; its connection was closed`);
      stream.destroy(stream.listenerCount('error') > 0 ? err : undefined);
    }, ms);
    // the guard alone never keeps a process up: an open connection does, until this fires
    timer.unref();
  };
  async function* watched(): AsyncGenerator<Buffer> {
    try {
      for (;;) {
        clearTimeout(timer);
        const next = await gen.next();
        if (next.done) return;
        arm();
        yield next.value;
      }
    } finally {
      clearTimeout(timer);
      await gen.return(undefined);
    }
  }
  const stream = Readable.from(watched(), {objectMode: false});
  stream.once('close', () => {
    clearTimeout(timer);
    release();
  });
  arm();
  return stream;
}

/**
 * A whole file written into `fh` at its own offsets: up to `concurrency` Range requests
 * at once, written in place in batches of WRITE_BATCH_BYTES (memory: two batches per range).
 * The SHA1 is computed in byte order behind the writes (InOrderHasher). Resolves with
 * the size and SHA1; a mismatch with B2's record rejects with checksum_mismatch.
 */
export async function downloadToFile(client: B2Client, r: DownloadRequest & {onBytes?: (loaded: number, total: number) => void}, fh: FileHandle): Promise<{file: File; size: number; sha1: string}> {
  const concurrency = Math.max(1, r.concurrency ?? 1);
  const rangeSize = r.rangeSize ?? FILE_RANGE_SIZE;
  const {first, file, start, end, expectedSha1, reads} = await openFirst(client, {...r, range: undefined}, concurrency > 1 ? rangeSize : undefined);
  const scope = downloadScope(r.signal);
  scope.open.add(first);
  const ranges = splitRanges(start, end, concurrency === 1 ? Math.max(1, end + 1) : rangeSize);
  const hasher = new InOrderHasher(fh, ranges);
  let loaded = 0;
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < ranges.length; i = next++) {
      let pos = ranges[i].start;
      const chunks = readRange(client, {fileId: file.fileId, fileName: r.fileName, ...ranges[i], total: file.totalLength, signal: scope.signal, stallTimeoutMs: r.stallTimeoutMs, reads, first: i === 0 ? first : undefined, firstById: r.fileId !== undefined, open: scope.open});
      // large writes at the range's own offsets, one in flight per range: memory ≤ concurrency × 2 batches
      await writeInBatches(chunks, async (bufs) => {
        const at = pos;
        const n = bufs.reduce((sum, b) => sum + b.length, 0);
        pos += n;
        const live = await hasher.offer(bufs, at);
        await onLocalFile(writeAll(fh, bufs, at));
        hasher.written(i, at + n, live);
        loaded += n;
        r.onBytes?.(loaded, end + 1);
      });
      hasher.rangeDone();
    }
  };
  try {
    const results = await Promise.allSettled(Array.from({length: Math.min(concurrency, ranges.length)}, worker));
    const failed = results.find((x): x is PromiseRejectedResult => x.status === 'rejected');
    if (failed) throw failed.reason;
    const sha1 = await hasher.finish();
    checkSha1(r.fileName, sha1, expectedSha1);
    return {file, size: end + 1, sha1};
  } catch (err) {
    if (r.signal?.aborted) throw abortError(r.signal);
    throw err;
  } finally {
    await hasher.close(); // its thread reads fh: stopped before the caller may close it
    scope.release();
  }
}

/** Bytes read back per read by InOrderHasher. */
const READ_BACK_BYTES = 1024 * 1024;

/**
 * Whole-file SHA1 of ranges written out of order. A large file, where a core is free for
 * it (fileHashThreadPays), is hashed by a thread that reads back whatever is written
 * contiguously from the frontier; otherwise chunks at the frontier are hashed here as
 * they arrive and bytes written ahead of it are read back here once the frontier reaches them.
 */
class InOrderHasher {
  private readonly thread?: Sha1Thread;
  private readonly hash?: Sha1Sink;
  private hashed: number;
  /** Per range: bytes written contiguously from its start (absolute end offset). */
  private readonly writtenTo: number[];
  private catchingUp?: Promise<void>;
  private again = false;
  private block?: Buffer;

  constructor(
    private readonly fh: FileHandle,
    private readonly ranges: Array<{start: number; end: number}>,
  ) {
    this.hashed = ranges[0]?.start ?? 0;
    const size = ranges.length ? ranges[ranges.length - 1].end + 1 - this.hashed : 0;
    if (fileHashThreadPays(size)) this.thread = new Sha1Thread();
    else this.hash = sha1Sink(size, false);
    this.writtenTo = ranges.map((x) => x.start);
  }

  /** Hashes the buffers here (in order, from this call) if they are the next bytes; true if it did. */
  async offer(bufs: Buffer[], pos: number): Promise<boolean> {
    const hash = this.hash;
    if (!hash || this.catchingUp || pos !== this.hashed) return false;
    const copied = bufs.map((b) => hash.update(b));
    for (const b of bufs) this.hashed += b.length;
    await Promise.all(copied);
    return true;
  }

  async close(): Promise<void> {
    this.hash?.close();
    await this.thread?.close();
  }

  written(range: number, to: number, live: boolean): void {
    this.writtenTo[range] = to;
    if (!live) this.catchUp();
  }

  rangeDone(): void {
    this.catchUp();
  }

  async finish(): Promise<string> {
    this.catchUp();
    while (this.catchingUp) await this.catchingUp;
    const total = this.ranges.length ? this.ranges[this.ranges.length - 1].end + 1 : 0;
    if (this.hashed !== total) throw new BackupError('failure', `internal: hashed ${this.hashed} of ${total} bytes`);
    return this.thread ? this.thread.digest() : (this.hash as Sha1Sink).digest();
  }

  /** Reads back and hashes whatever is written contiguously from the frontier (single-flight). */
  private catchUp(): void {
    if (this.catchingUp) {
      this.again = true;
      return;
    }
    this.catchingUp = (async () => {
      do {
        this.again = false;
        await this.readBack();
      } while (this.again);
    })().finally(() => (this.catchingUp = undefined));
    this.catchingUp.catch(() => undefined);
  }

  private async readBack(): Promise<void> {
    for (;;) {
      const k = this.ranges.findIndex((x) => this.hashed >= x.start && this.hashed <= x.end);
      if (k < 0) return;
      const available = this.writtenTo[k];
      if (available <= this.hashed) return;
      if (this.thread) await onLocalFile(this.thread.updateFromFile(this.fh.fd, this.hashed, available - this.hashed));
      else await this.readBackHere(this.hashed, available, this.hash as Sha1Sink);
      this.hashed = available;
      if (this.hashed <= this.ranges[k].end) return; // the rest of this range is not written yet
    }
  }

  /** Reads from..to back from the file on this thread and hashes it. */
  private async readBackHere(from: number, to: number, hash: Sha1Sink): Promise<void> {
    // one block for the whole download (catch-ups run one at a time, and a hashed block may
    // be read into again), not a fresh 1 MiB per catch-up (30 per GiB with 32 MiB ranges)
    const block = (this.block ??= Buffer.allocUnsafe(READ_BACK_BYTES));
    for (let at = from; at < to; ) {
      const {bytesRead} = await onLocalFile(this.fh.read(block, 0, Math.min(block.length, to - at), at));
      if (bytesRead <= 0) throw new BackupError('failure', `could not read back bytes at ${at} of the download`);
      await hash.update(block.subarray(0, bytesRead)); // settles once copied: the block can be read into again
      at += bytesRead;
    }
  }
}
