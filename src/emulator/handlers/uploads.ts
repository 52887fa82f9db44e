import {badRequest, B2ApiError} from '../b2-error.js';
import {MAX_PART_NUMBER, MAX_PART_SIZE, MAX_UPLOAD_SIZE} from '../constants.js';
import {RequestContext} from '../context.js';
import {EmulatorCore} from '../core.js';
import {checkFileInfo, infoFromHeaders, resolveContentType} from '../file-info.js';
import {fileJson} from '../file-json.js';
import {checkFileName, percentDecode} from '../names.js';
import {receiveUploadBody, sha1Mode, uploadLength} from '../upload-body.js';
import {TokenRecord} from '../types.js';
import {requirePartKey, sseForNewFile, sseFromHeaders} from '../encryption.js';
import {lockForNewFile, lockFromHeaders} from '../object-lock.js';
import {activeLargeFile, partJson, storePart} from '../large-file-parts.js';
import {JsonResult} from './handler.js';

/**
 * Runs one upload on an upload token, refusing a second concurrent use of the same
 * token (400 auth_token_limit), as B2 does.
 */
async function withUploadToken<T>(
  core: EmulatorCore,
  ctx: RequestContext,
  kind: TokenRecord['kind'],
  target: string,
  run: (record: TokenRecord) => Promise<T>,
): Promise<T> {
  const {token, record} = core.authenticate(ctx, [kind]);
  if (record.target !== target) throw new B2ApiError(401, 'bad_auth_token', 'upload token does not belong to this upload URL');
  if (core.busyUploadTokens.has(token)) throw new B2ApiError(400, 'auth_token_limit', 'more than one upload using auth token');
  core.busyUploadTokens.add(token);
  try {
    return await run(record);
  } finally {
    core.busyUploadTokens.delete(token);
  }
}

/** POST to an upload URL from b2_get_upload_url: one whole file in the body. */
export async function uploadFile(core: EmulatorCore, ctx: RequestContext, bucketId: string): Promise<JsonResult> {
  return withUploadToken(core, ctx, 'upload', bucketId, async () => {
    const key = ctx.key!;
    const bucket = core.allowedBucket(key, bucketId);
    const rawName = ctx.header('x-bz-file-name');
    if (rawName === undefined) throw badRequest('X-Bz-File-Name header is required');
    const fileName = checkFileName(percentDecode(rawName, 'X-Bz-File-Name'), 'X-Bz-File-Name');
    core.allowedName(key, fileName);
    const contentType = resolveContentType(ctx.header('content-type'), fileName);
    const fileInfo = infoFromHeaders(ctx.req.headers);
    const sse = sseForNewFile(sseFromHeaders(ctx), bucket);
    checkFileInfo(fileName, fileInfo, {sse, bucket});
    const lock = lockForNewFile(core, key, bucket, lockFromHeaders(ctx));
    const mode = sha1Mode(ctx);
    const length = uploadLength(ctx, MAX_UPLOAD_SIZE + (mode.kind === 'hex_digits_at_end' ? 40 : 0));
    const body = await receiveUploadBody(core, ctx, length, mode);
    const file = core.state.createVersion(bucket.bucketId, fileName, 'upload', {
      contentLength: body.size,
      contentSha1: mode.kind === 'do_not_verify' ? `unverified:${body.sha1}` : body.sha1,
      contentType,
      fileInfo,
      serverSideEncryption: sse,
      ...lock,
      segments: [{ref: body.ref, size: body.size}],
    });
    await core.commitWithBlobs([body.ref]);
    return {json: fileJson(file, core.accountId, ctx.apiVersion, key)};
  });
}

/** POST to a part URL from b2_get_upload_part_url: one part of a large file. */
export async function uploadPart(core: EmulatorCore, ctx: RequestContext, fileId: string): Promise<JsonResult> {
  return withUploadToken(core, ctx, 'part', fileId, async () => {
    const file = activeLargeFile(core, fileId);
    core.allowedFile(ctx.key!, file);
    const rawNumber = ctx.header('x-bz-part-number');
    const partNumber = rawNumber !== undefined && /^\d+$/.test(rawNumber) ? Number(rawNumber) : NaN;
    if (!(partNumber >= 1 && partNumber <= MAX_PART_NUMBER)) throw badRequest(`X-Bz-Part-Number must be 1..${MAX_PART_NUMBER}`);
    requirePartKey(file, sseFromHeaders(ctx));
    const mode = sha1Mode(ctx);
    const length = uploadLength(ctx, MAX_PART_SIZE + (mode.kind === 'hex_digits_at_end' ? 40 : 0));
    const part = await storePart(core, fileId, partNumber, await receiveUploadBody(core, ctx, length, mode));
    return {json: partJson(file, part)};
  });
}
