import {B2ApiError, badRequest, notFound, unauthorized} from '../b2-error.js';
import {segmentStream} from '../blob-store.js';
import {RequestContext} from '../context.js';
import {EmulatorCore} from '../core.js';
import {percentEncode} from '../names.js';
import {reqString} from '../params.js';
import {BucketRecord, FileRecord, KeyRecord} from '../types.js';
import {lockHeaders} from '../object-lock.js';
import {requireReadKey, sseFromHeaders, sseHeaders} from '../encryption.js';
import {checkHeaderValue, INFO_HEADERS, OVERRIDE_PARAMS} from '../file-info.js';

/**
 * Who may read `fileName` in `bucket`: anyone for a public bucket without a token,
 * else an account token with readFiles inside its restrictions, or a download token
 * for a matching prefix. The token may also come as the `Authorization` query parameter.
 */
function checkReadAccess(core: EmulatorCore, ctx: RequestContext, bucket: BucketRecord, fileName: string): KeyRecord | undefined {
  const token = ctx.header('authorization') ?? ctx.url.searchParams.get('Authorization') ?? undefined;
  if (!token && bucket.bucketType === 'allPublic') return undefined;
  const {record, key} = core.authenticate(ctx, ['account', 'download'], token);
  if (record.kind === 'download') {
    if (record.target !== bucket.bucketId || !fileName.startsWith(record.fileNamePrefix ?? '')) {
      throw unauthorized('download authorization does not cover this file');
    }
    return undefined;
  }
  core.requireCapability(key, 'readFiles');
  core.allowedName(key, fileName);
  if (key.bucketId !== null && key.bucketId !== bucket.bucketId) throw unauthorized('application key is restricted to another bucket');
  return key;
}

/** GET/HEAD /file/{bucketName}/{fileName}: the newest version, unless it is hidden. */
export async function downloadByName(core: EmulatorCore, ctx: RequestContext, bucketName: string, fileName: string): Promise<void> {
  const bucket = core.state.bucketByName(bucketName);
  if (!bucket) throw notFound(`bucket does not exist: ${bucketName}`);
  const key = checkReadAccess(core, ctx, bucket, fileName);
  core.touch(ctx, fileName);
  const file = core.state.newestFinished(bucket.bucketId, fileName);
  if (!file || file.action !== 'upload') throw notFound(`file not present: ${fileName}`);
  await sendFile(core, ctx, file, key);
}

/** GET/HEAD (or POST) b2_download_file_by_id. */
export async function downloadById(core: EmulatorCore, ctx: RequestContext): Promise<void> {
  const fileId = reqString(ctx.params, 'fileId');
  const file = core.state.files.get(fileId);
  const bucket = file && core.state.buckets.get(file.bucketId);
  if (!file || !bucket) {
    core.authenticate(ctx, ['account', 'download'], ctx.header('authorization') ?? ctx.url.searchParams.get('Authorization') ?? undefined);
    throw notFound(`file not present: ${fileId}`);
  }
  const key = checkReadAccess(core, ctx, bucket, file.fileName);
  core.touch(ctx, file.fileName);
  if (file.action !== 'upload') throw notFound(`file not present: ${fileId}`);
  await sendFile(core, ctx, file, key);
}

type Range = {start: number; end: number};

/** A `bytes=a-b` / `bytes=a-` / `bytes=-n` range; undefined = whole file; 'unsatisfiable' → 416. */
export function parseRange(header: string | undefined, total: number): Range | 'unsatisfiable' | undefined {
  const m = header ? /^bytes=(\d*)-(\d*)$/.exec(header.trim()) : null;
  if (!m || (m[1] === '' && m[2] === '')) return undefined;
  if (m[1] === '') {
    const suffix = Number(m[2]);
    if (suffix === 0 || total === 0) return 'unsatisfiable';
    return {start: Math.max(0, total - suffix), end: total - 1};
  }
  const start = Number(m[1]);
  const end = m[2] === '' ? total - 1 : Number(m[2]);
  if (start >= total) return 'unsatisfiable';
  if (end < start) return undefined;
  return {start, end: Math.min(end, total - 1)};
}

async function sendFile(core: EmulatorCore, ctx: RequestContext, file: FileRecord, key: KeyRecord | undefined): Promise<void> {
  requireReadKey(file.serverSideEncryption, sseFromHeaders(ctx), {refuseKeyOnPlain: core.settings.refuseKeyOnPlainFiles});
  const total = file.contentLength;
  const range = parseRange(ctx.header('range'), total);
  if (range === 'unsatisfiable') {
    ctx.res.setHeader('Content-Range', `bytes */${total}`);
    throw new B2ApiError(416, 'range_not_satisfiable', `the range does not fit a file of ${total} bytes`);
  }
  const headers: Record<string, string | number> = {
    'Content-Type': file.contentType,
    'Accept-Ranges': 'bytes',
    'X-Bz-File-Id': file.fileId,
    'X-Bz-File-Name': percentEncode(file.fileName),
    'X-Bz-Content-Sha1': file.contentSha1,
    'X-Bz-Upload-Timestamp': file.uploadTimestamp,
  };
  Object.assign(headers, sseHeaders(file.serverSideEncryption), lockHeaders(file, key));
  for (const [k, v] of Object.entries(file.fileInfo)) {
    if (INFO_HEADERS[k]) headers[INFO_HEADERS[k]] = v;
    else headers[`X-Bz-Info-${k}`] = percentEncode(v);
  }
  Object.assign(headers, requestOverrides(ctx));
  const {start, end} = shifted(ctx, range) ?? {start: 0, end: total - 1};
  if (range) headers['Content-Range'] = `bytes ${start}-${end}/${total}`;
  const length = Math.max(0, end - start + 1);
  const body = ctx.head ? undefined : segmentStream(core.blobs, file.segments, start, end);
  await ctx.send(range ? 206 : 200, headers, length, body);
}

/** The b2ContentDisposition, b2CacheControl, ... a download asked for (query string, or JSON for a POST by id), as headers. */
function requestOverrides(ctx: RequestContext): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [param, header] of Object.entries(OVERRIDE_PARAMS)) {
    const value = ctx.params[param] ?? ctx.url.searchParams.get(param) ?? undefined;
    if (value === undefined || value === null) continue;
    if (typeof value !== 'string') throw badRequest(`${param} must be a string`);
    checkHeaderValue(param, value, header);
    headers[header] = value;
  }
  return headers;
}

/** The range a `shiftRangeBytes` fault serves instead of the one asked for (honestly labelled in Content-Range). */
function shifted(ctx: RequestContext, range: Range | undefined): Range | undefined {
  const by = ctx.fault.shiftRangeBytes;
  if (!range || !by) return range;
  ctx.countFault('shift_range');
  return {start: Math.min(range.start + by, range.end), end: range.end};
}
