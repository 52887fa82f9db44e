import {badRequest} from '../b2-error.js';
import {EmulatorState} from '../state.js';
import {MAX_PART_LIST_COUNT, MAX_PART_NUMBER, MAX_UNFINISHED_LIST_COUNT} from '../constants.js';
import {EmulatorCore} from '../core.js';
import {checkFileInfo, infoFromParam, resolveContentType} from '../file-info.js';
import {fileJson} from '../file-json.js';
import {checkFileName} from '../names.js';
import {optInt, optString, reqString} from '../params.js';
import {FileRecord, KeyRecord} from '../types.js';
import {Handler} from './handler.js';
import {activeLargeFile, partJson} from '../large-file-parts.js';
import {sseForNewFile, sseFromParam} from '../encryption.js';
import {lockForNewFile, lockFromParams} from '../object-lock.js';

/** The unfinished large file a fileId names, within the key's restrictions. */
export function unfinished(core: EmulatorCore, key: KeyRecord, fileId: string): FileRecord {
  const file = core.state.files.get(fileId);
  if (file) core.allowedFile(key, file);
  return activeLargeFile(core, fileId);
}

export const startLargeFile: Handler = async (core, ctx) => {
  const {key} = core.authenticate(ctx, ['account']);
  core.requireCapability(key, 'writeFiles');
  const p = ctx.params;
  const bucket = core.allowedBucket(key, reqString(p, 'bucketId'));
  const fileName = checkFileName(optString(p, 'fileName'));
  core.allowedName(key, fileName);
  const contentType = resolveContentType(optString(p, 'contentType'), fileName);
  const fileInfo = infoFromParam(p.fileInfo);
  const sse = sseForNewFile(sseFromParam(p.serverSideEncryption, 'serverSideEncryption'), bucket);
  checkFileInfo(fileName, fileInfo, {sse, bucket});
  const file = core.state.createVersion(bucket.bucketId, fileName, 'start', {
    contentType,
    fileInfo,
    serverSideEncryption: sse,
    ...lockForNewFile(core, key, bucket, lockFromParams(p)),
    parts: {},
  });
  await core.state.commit();
  return {json: fileJson(file, core.accountId, ctx.apiVersion, key)};
};

export const getUploadPartUrl: Handler = async (core, ctx) => {
  const {key} = core.authenticate(ctx, ['account']);
  core.requireCapability(key, 'writeFiles');
  const file = unfinished(core, key, reqString(ctx.params, 'fileId'));
  const token = core.issueToken('part', key, {target: file.fileId});
  await core.state.commit();
  return {
    json: {
      fileId: file.fileId,
      uploadUrl: `${core.settings.baseUrl}/b2api/v${ctx.apiVersion}/b2_upload_part/${file.fileId}`,
      authorizationToken: token,
    },
  };
};

/**
 * Parts 1..n must all be there with the given SHA1s, and all but the last at least the
 * minimum size. The array must cover every uploaded part (Backblaze: "a double-check that
 * the right parts were uploaded in the right order, and that none were missed"): a gap is
 * 400 missing_part, parts beyond the array 400 part_sha1_mismatch (never a truncated file).
 */
export const finishLargeFile: Handler = async (core, ctx) => {
  const {key} = core.authenticate(ctx, ['account']);
  core.requireCapability(key, 'writeFiles');
  const file = unfinished(core, key, reqString(ctx.params, 'fileId'));
  const shas = ctx.params.partSha1Array;
  const list = typeof shas === 'string' ? safeJson(shas) : shas;
  if (!Array.isArray(list) || list.length === 0 || list.some((s) => typeof s !== 'string')) {
    throw badRequest('partSha1Array must be a non-empty array of SHA1 strings');
  }
  if (list.length > MAX_PART_NUMBER) throw badRequest(`a large file has at most ${MAX_PART_NUMBER} parts`);
  const parts = file.parts ?? {};
  const last = Math.max(list.length, ...Object.values(parts).map((p) => p.partNumber));
  for (let n = 1; n <= last; n++) if (!parts[String(n)]) throw badRequest(`part number ${n} has not been uploaded`, 'missing_part');
  if (last > list.length) throw badRequest(`partSha1Array has ${list.length} SHA1s, but parts 1 to ${last} were uploaded`, 'part_sha1_mismatch');
  const chosen = list.map((sha1, i) => {
    const part = parts[String(i + 1)];
    if (part.contentSha1 !== String(sha1).toLowerCase()) {
      throw badRequest(`SHA1 of part number ${i + 1} does not match: uploaded ${part.contentSha1}, given ${sha1}`, 'part_sha1_mismatch');
    }
    return part;
  });
  chosen.slice(0, -1).forEach((part) => {
    if (part.contentLength < core.settings.minPartSize) {
      throw badRequest(`part number ${part.partNumber} is ${part.contentLength} bytes, smaller than the minimum part size ${core.settings.minPartSize}`);
    }
  });
  file.action = 'upload';
  file.segments = chosen.map((p) => ({ref: p.ref, size: p.contentLength}));
  file.contentLength = chosen.reduce((sum, p) => sum + p.contentLength, 0);
  delete file.parts;
  core.state.changed('file', file.fileId);
  await core.state.commit();
  return {json: fileJson(file, core.accountId, ctx.apiVersion, key)};
};

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

export const cancelLargeFile: Handler = async (core, ctx) => {
  const {key} = core.authenticate(ctx, ['account']);
  core.requireCapability(key, 'writeFiles');
  const file = unfinished(core, key, reqString(ctx.params, 'fileId'));
  const refs = core.state.refsOf(file);
  core.state.removeVersion(file.fileId);
  await core.state.commit();
  for (const ref of refs) await core.blobs.remove(ref);
  return {json: {accountId: core.accountId, bucketId: file.bucketId, fileId: file.fileId, fileName: file.fileName}};
};

export const listParts: Handler = async (core, ctx) => {
  const {key} = core.authenticate(ctx, ['account']);
  core.requireCapability(key, 'writeFiles');
  const file = unfinished(core, key, reqString(ctx.params, 'fileId'));
  // Clients send 0 for "from the start"; B2 treats it like 1.
  const start = optInt(ctx.params, 'startPartNumber', 0, MAX_PART_NUMBER) ?? 1;
  const max = optInt(ctx.params, 'maxPartCount', 0, MAX_PART_LIST_COUNT) || 100;
  const parts = Object.values(file.parts ?? {})
    .filter((p) => p.partNumber >= start)
    .sort((a, b) => a.partNumber - b.partNumber);
  const page = parts.slice(0, max);
  return {json: {parts: page.map((p) => partJson(file, p)), nextPartNumber: parts[max]?.partNumber ?? null}, names: page.length};
};

/**
 * b2_list_unfinished_large_files. Backblaze: "Uploads are listed in the order they were
 * started, with the oldest one first" (ascending file id sequence), and a startFileId
 * that is no longer an unfinished upload (finished or cancelled between pages) starts
 * the page at "the first one after this ID".
 */
export const listUnfinishedLargeFiles: Handler = async (core, ctx) => {
  const {key} = core.authenticate(ctx, ['account']);
  core.requireCapability(key, 'listFiles');
  const p = ctx.params;
  const bucket = core.allowedBucket(key, reqString(p, 'bucketId'));
  const namePrefix = optString(p, 'namePrefix') ?? '';
  core.allowedName(key, namePrefix);
  const startFileId = optString(p, 'startFileId');
  const start = startFileId === undefined ? 0 : EmulatorState.fileIdSequence(startFileId);
  if (start === undefined) throw badRequest(`Invalid startFileId: ${startFileId}`);
  const max = optInt(p, 'maxFileCount', 0, MAX_UNFINISHED_LIST_COUNT) || MAX_UNFINISHED_LIST_COUNT;
  const sequence = (f: FileRecord) => EmulatorState.fileIdSequence(f.fileId) ?? 0;
  const all = [...core.state.files.values()]
    .filter((f) => f.action === 'start' && f.bucketId === bucket.bucketId && f.fileName.startsWith(namePrefix) && sequence(f) >= start)
    .sort((a, b) => sequence(a) - sequence(b));
  const page = all.slice(0, max);
  return {
    json: {files: page.map((f) => fileJson(f, core.accountId, ctx.apiVersion)), nextFileId: all[max]?.fileId ?? null},
    names: page.length,
  };
};
