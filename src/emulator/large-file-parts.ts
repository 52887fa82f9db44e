import {badRequest} from './b2-error.js';
import {EmulatorCore} from './core.js';
import {sseJson} from './encryption.js';
import {FileRecord, PartRecord} from './types.js';

/**
 * The unfinished large file `fileId` names, or what B2 answers when there is none (never
 * started, cancelled or finished): 400 bad_request "No active upload for: <fileId>".
 */
export function activeLargeFile(core: EmulatorCore, fileId: string): FileRecord {
  const file = core.state.files.get(fileId);
  if (!file || file.action !== 'start') throw badRequest(`No active upload for: ${fileId}`);
  return file;
}

/**
 * Records a stored blob as part `partNumber` (uploaded or copied), replacing an earlier
 * part of that number. The file is checked again: it may have been finished or
 * cancelled while the bytes were arriving, and then the blob is dropped.
 */
export async function storePart(core: EmulatorCore, fileId: string, partNumber: number, blob: {ref: string; size: number; sha1: string}): Promise<PartRecord> {
  let file: FileRecord;
  try {
    file = activeLargeFile(core, fileId);
  } catch (e) {
    await core.blobs.remove(blob.ref);
    throw e;
  }
  const part: PartRecord = {partNumber, contentLength: blob.size, contentSha1: blob.sha1, uploadTimestamp: core.now(), ref: blob.ref};
  const replaced = file.parts![String(partNumber)];
  file.parts![String(partNumber)] = part;
  core.state.changed('file', fileId);
  await core.commitWithBlobs([blob.ref]);
  if (replaced) await core.blobs.remove(replaced.ref);
  return part;
}

export function partJson(file: FileRecord, part: PartRecord): Record<string, unknown> {
  return {
    fileId: file.fileId,
    partNumber: part.partNumber,
    contentLength: part.contentLength,
    contentSha1: part.contentSha1,
    contentMd5: null,
    serverSideEncryption: sseJson(file.serverSideEncryption),
    uploadTimestamp: part.uploadTimestamp,
  };
}
