import {badRequest, notFound} from '../b2-error.js';
import {HIDE_MARKER_CONTENT_TYPE} from '../constants.js';
import {fileJson} from '../file-json.js';
import {checkFileName} from '../names.js';
import {optString, reqString} from '../params.js';
import {Handler} from './handler.js';
import {lockFromParams, requireRetentionChange, requireUnlocked} from '../object-lock.js';
import {KeyRecord} from '../types.js';
import {EmulatorCore} from '../core.js';

export const getFileInfo: Handler = async (core, ctx) => {
  const {key} = core.authenticate(ctx, ['account']);
  core.requireCapability(key, 'readFiles');
  const fileId = reqString(ctx.params, 'fileId');
  const file = core.state.files.get(fileId);
  if (!file) throw notFound(`file not found: ${fileId}`);
  core.allowedFile(key, file);
  // B2's docs: an error for an unfinished large file as for a missing id (not a "start" record)
  if (file.action === 'start') throw notFound(`file not found: ${fileId} (an unfinished large file)`);
  return {json: fileJson(file, core.accountId, ctx.apiVersion, key)};
};

/**
 * b2_hide_file: a hide marker becomes the newest version; the name drops out of listings.
 * Object Lock does not stop it (B2, like S3's delete marker): the locked version stays
 * stored behind the marker, and the marker itself carries no lock, so deleting it
 * (b2_delete_file_version) unhides the name.
 */
export const hideFile: Handler = async (core, ctx) => {
  const {key} = core.authenticate(ctx, ['account']);
  core.requireCapability(key, 'writeFiles');
  const bucket = core.allowedBucket(key, reqString(ctx.params, 'bucketId'));
  const fileName = checkFileName(optString(ctx.params, 'fileName'));
  core.allowedName(key, fileName);
  const newest = core.state.newestFinished(bucket.bucketId, fileName);
  if (!newest) throw badRequest(`file not present: ${fileName}`, 'no_such_file');
  if (newest.action === 'hide') throw badRequest(`file already hidden: ${fileName}`, 'already_hidden');
  const marker = core.state.createVersion(bucket.bucketId, fileName, 'hide', {contentType: HIDE_MARKER_CONTENT_TYPE});
  await core.state.commit();
  return {json: fileJson(marker, core.accountId, ctx.apiVersion)};
};

/** b2_delete_file_version: removes one version (an unfinished large file with its parts too). */
export const deleteFileVersion: Handler = async (core, ctx) => {
  const {key} = core.authenticate(ctx, ['account']);
  core.requireCapability(key, 'deleteFiles');
  const fileId = reqString(ctx.params, 'fileId');
  const fileName = reqString(ctx.params, 'fileName');
  const file = core.state.files.get(fileId);
  if (file) core.allowedFile(key, file);
  else core.allowedName(key, fileName);
  if (!file) throw badRequest(`file not present: ${fileName} ${fileId}`, 'file_not_present');
  if (file.fileName !== fileName) throw badRequest(`fileName does not match the file id: ${fileName}`);
  requireUnlocked(core, key, file, ctx.params.bypassGovernance === true || ctx.params.bypassGovernance === 'true');
  const refs = core.state.refsOf(file);
  core.state.removeVersion(fileId);
  await core.state.commit();
  for (const ref of refs) await core.blobs.remove(ref);
  return {json: {fileId, fileName}};
};

/** The uploaded version a lock call names (fileId and its fileName), within the key's restrictions. */
function lockTarget(core: EmulatorCore, key: KeyRecord, fileId: string, fileName: string) {
  const file = core.state.files.get(fileId);
  if (!file || file.action !== 'upload') throw badRequest(`file not present: ${fileName} ${fileId}`, 'file_not_present');
  core.allowedFile(key, file);
  if (file.fileName !== fileName) throw badRequest(`fileName does not match the file id: ${fileName}`);
  const bucket = core.state.buckets.get(file.bucketId);
  if (!bucket?.fileLockEnabled) throw badRequest('the bucket does not have Object Lock enabled (fileLockEnabled)');
  return file;
}

/** b2_update_file_retention: longer always; shorter or none only for governance, with bypassGovernance. */
export const updateFileRetention: Handler = async (core, ctx) => {
  const {key} = core.authenticate(ctx, ['account']);
  core.requireCapability(key, 'writeFileRetentions');
  const p = ctx.params;
  const file = lockTarget(core, key, reqString(p, 'fileId'), reqString(p, 'fileName'));
  if (p.fileRetention === undefined || p.fileRetention === null) throw badRequest('required field fileRetention is missing');
  const next = lockFromParams(p).retention!;
  const bypass = p.bypassGovernance === true || p.bypassGovernance === 'true';
  if (bypass) core.requireCapability(key, 'bypassGovernance');
  requireRetentionChange(core, key, file, next, bypass);
  file.fileRetention = next.mode ? next : undefined;
  core.state.changed('file', file.fileId);
  await core.state.commit();
  return {json: {fileId: file.fileId, fileName: file.fileName, fileRetention: next}};
};

/** b2_update_file_legal_hold: on or off. */
export const updateFileLegalHold: Handler = async (core, ctx) => {
  const {key} = core.authenticate(ctx, ['account']);
  core.requireCapability(key, 'writeFileLegalHolds');
  const p = ctx.params;
  const file = lockTarget(core, key, reqString(p, 'fileId'), reqString(p, 'fileName'));
  const hold = lockFromParams({legalHold: p.legalHold}).legalHold;
  if (!hold) throw badRequest('required field legalHold is missing');
  file.legalHold = hold;
  core.state.changed('file', file.fileId);
  await core.state.commit();
  return {json: {fileId: file.fileId, fileName: file.fileName, legalHold: hold}};
};
