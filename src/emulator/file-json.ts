import {sseJson} from './encryption.js';
import {lockJson} from './object-lock.js';
import {FileRecord, KeyRecord} from './types.js';

/** A file version as the API returns it (v1 listings also carry `size`). */
export function fileJson(file: FileRecord, accountId: string, apiVersion: number, key?: KeyRecord): Record<string, unknown> {
  const json: Record<string, unknown> = {
    accountId,
    action: file.action,
    bucketId: file.bucketId,
    contentLength: file.contentLength,
    contentMd5: null,
    contentSha1: file.contentSha1,
    contentType: file.contentType,
    fileId: file.fileId,
    fileInfo: {...file.fileInfo},
    fileName: file.fileName,
    ...lockJson(file, key),
    replicationStatus: null,
    serverSideEncryption: sseJson(file.serverSideEncryption),
    uploadTimestamp: file.uploadTimestamp,
  };
  if (apiVersion === 1) json.size = file.contentLength;
  return json;
}

/** A `folder` entry of a delimited listing. */
export function folderJson(name: string, bucketId: string, accountId: string, apiVersion: number): Record<string, unknown> {
  const json: Record<string, unknown> = {
    accountId,
    action: 'folder',
    bucketId,
    contentLength: 0,
    contentMd5: null,
    contentSha1: null,
    contentType: null,
    fileId: null,
    fileInfo: {},
    fileName: name,
    uploadTimestamp: 0,
  };
  if (apiVersion === 1) json.size = 0;
  return json;
}
