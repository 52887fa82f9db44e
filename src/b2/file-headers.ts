import {retentionFromHeaders} from './retention.js';
import type {B2File} from './wire-types.js';

/** A file object rebuilt from download (GET/HEAD) headers; HEAD is a class B call, a listing class C. */
export function fileFromHeaders(headers: Record<string, string | undefined>): B2File & {totalLength: number} {
  const fileInfo: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers)) {
    if (k.toLowerCase().startsWith('x-bz-info-') && typeof v === 'string') fileInfo[k.slice('x-bz-info-'.length)] = decode(v);
  }
  const contentRange = /\/(\d+)\s*$/.exec(headers['content-range'] ?? '');
  const contentLength = Number(headers['content-length'] ?? 0);
  return {
    fileId: headers['x-bz-file-id'] ?? '',
    fileName: decode(headers['x-bz-file-name'] ?? ''),
    action: 'upload',
    contentLength,
    totalLength: contentRange ? Number(contentRange[1]) : contentLength,
    contentSha1: headers['x-bz-content-sha1'] ?? null,
    contentType: headers['content-type'] ?? null,
    fileInfo,
    uploadTimestamp: Number(headers['x-bz-upload-timestamp'] ?? 0),
    fileRetention: retentionFromHeaders(headers),
    ...encryptionFromHeaders(headers),
  };
}

/** B2 answers a read of an SSE-C file with the algorithm (and the key's MD5), of an SSE-B2 one with X-Bz-Server-Side-Encryption. */
function encryptionFromHeaders(headers: Record<string, string | undefined>): Pick<B2File, 'serverSideEncryption'> {
  const customer = headers['x-bz-server-side-encryption-customer-algorithm'];
  if (customer) return {serverSideEncryption: {mode: 'SSE-C', algorithm: customer}};
  const b2 = headers['x-bz-server-side-encryption'];
  return b2 ? {serverSideEncryption: {mode: 'SSE-B2', algorithm: b2}} : {};
}

function decode(v: string): string {
  try {
    return decodeURIComponent(v.replace(/\+/g, ' '));
  } catch {
    return v;
  }
}
