import {badRequest} from '../b2-error.js';
import {MAX_PART_NUMBER, MAX_PART_SIZE, MAX_UPLOAD_SIZE} from '../constants.js';
import {EmulatorCore} from '../core.js';
import {checkFileInfo, infoFromParam, resolveContentType} from '../file-info.js';
import {fileJson} from '../file-json.js';
import {partJson, storePart} from '../large-file-parts.js';
import {checkFileName} from '../names.js';
import {optInt, optString, Params, reqString} from '../params.js';
import {FileRecord, KeyRecord} from '../types.js';
import {copyToBlob} from '../upload-body.js';
import {requirePartKey, requireReadKey, sseForNewFile, sseFromParam} from '../encryption.js';
import {lockForNewFile, lockFromParams} from '../object-lock.js';
import {parseRange} from './downloads.js';
import {Handler} from './handler.js';
import {unfinished} from './large-files.js';

/** The source of a copy: an uploaded version the key may read. */
function copySource(core: EmulatorCore, key: KeyRecord, p: Params): FileRecord {
  core.requireCapability(key, 'readFiles');
  const sourceFileId = reqString(p, 'sourceFileId');
  const source = core.state.files.get(sourceFileId);
  if (source) core.allowedFile(key, source);
  if (!source || source.action !== 'upload') throw badRequest(`source file not found: ${sourceFileId}`);
  const given = sseFromParam(p.sourceServerSideEncryption, 'sourceServerSideEncryption') ?? {mode: null};
  // B2: sourceServerSideEncryption "must be provided only if the source file has been encrypted using SSE-C"
  if (given.mode === 'SSE-C' && source.serverSideEncryption.mode !== 'SSE-C') throw badRequest('the source file is not encrypted with SSE-C: sourceServerSideEncryption takes no customer key');
  requireReadKey(source.serverSideEncryption, given);
  return source;
}

/** The byte range to copy (`bytes=a-b`, default all), at most `max` bytes. */
function copyRange(p: Params, total: number, max: number): {start: number; end: number} {
  const raw = optString(p, 'range');
  const range = raw === undefined ? {start: 0, end: total - 1} : parseRange(raw, total);
  if (range === undefined || range === 'unsatisfiable') throw badRequest(`range ${raw} does not fit the source of ${total} bytes`);
  if (range.end - range.start + 1 > max) throw badRequest(`a copy of ${range.end - range.start + 1} bytes is more than the maximum of ${max}`);
  return range;
}

/** b2_copy_file: a new file from (a range of) an existing one, metadata copied or replaced. */
export const copyFile: Handler = async (core, ctx) => {
  const {key} = core.authenticate(ctx, ['account']);
  core.requireCapability(key, 'writeFiles');
  const p = ctx.params;
  const source = copySource(core, key, p);
  const bucket = core.allowedBucket(key, optString(p, 'destinationBucketId') ?? source.bucketId);
  const fileName = checkFileName(optString(p, 'fileName'));
  core.allowedName(key, fileName);
  const range = copyRange(p, source.contentLength, MAX_UPLOAD_SIZE);
  const sse = sseForNewFile(sseFromParam(p.destinationServerSideEncryption, 'destinationServerSideEncryption'), bucket);
  const lock = lockForNewFile(core, key, bucket, lockFromParams(p));
  const directive = optString(p, 'metadataDirective') ?? 'COPY';
  let contentType = source.contentType;
  let fileInfo = {...source.fileInfo};
  if (directive === 'COPY') {
    if (p.contentType != null || p.fileInfo != null) throw badRequest('contentType and fileInfo go with metadataDirective REPLACE, not COPY');
  } else if (directive === 'REPLACE') {
    contentType = resolveContentType(optString(p, 'contentType'), fileName);
    fileInfo = infoFromParam(p.fileInfo);
  } else throw badRequest('metadataDirective must be COPY or REPLACE');
  // copied info too: the destination may have a smaller limit (encrypted, or an Object Lock bucket)
  checkFileInfo(fileName, fileInfo, {sse, bucket});
  const blob = await copyToBlob(core, source.segments, range.start, range.end);
  const file = core.state.createVersion(bucket.bucketId, fileName, 'upload', {
    contentLength: blob.size,
    contentSha1: blob.sha1,
    contentType,
    fileInfo,
    serverSideEncryption: sse,
    ...lock,
    segments: [{ref: blob.ref, size: blob.size}],
  });
  await core.commitWithBlobs([blob.ref]);
  // B2 answers a copy with action "copy"; the stored version lists as an "upload" like any other
  return {json: {...fileJson(file, core.accountId, ctx.apiVersion, key), action: 'copy'}};
};

/** b2_copy_part: a part of an unfinished large file from (a range of) an existing file. */
export const copyPart: Handler = async (core, ctx) => {
  const {key} = core.authenticate(ctx, ['account']);
  core.requireCapability(key, 'writeFiles');
  const p = ctx.params;
  const source = copySource(core, key, p);
  const large = unfinished(core, key, reqString(p, 'largeFileId'));
  const partNumber = optInt(p, 'partNumber', 1, MAX_PART_NUMBER);
  if (partNumber === undefined) throw badRequest('required field partNumber is missing');
  requirePartKey(large, sseFromParam(p.destinationServerSideEncryption, 'destinationServerSideEncryption') ?? {mode: null});
  const range = copyRange(p, source.contentLength, MAX_PART_SIZE);
  const part = await storePart(core, large.fileId, partNumber, await copyToBlob(core, source.segments, range.start, range.end));
  return {json: partJson(large, part)};
};
