import {createHash, createHmac} from 'node:crypto';
import type {Encryption} from '../profiles/types.js';

/**
 * What B2 needs on the wire for a profile's server-side encryption (the request side of
 * Backblaze's SSE documentation). SSE-B2 is asked for once, when the data is written;
 * SSE-C's key goes with every request that writes or reads SSE-C data: uploads, parts,
 * downloads (HEAD too) and copies of files stored with SSE-C, never to another file
 * (FileReads, copyTo).
 */
const AES256 = 'AES256';

function keyMd5(key: string): string {
  return createHash('md5').update(Buffer.from(key, 'base64')).digest('base64');
}

function customerKeyHeaders(key: string): Record<string, string> {
  return {
    'X-Bz-Server-Side-Encryption-Customer-Algorithm': AES256,
    'X-Bz-Server-Side-Encryption-Customer-Key': key,
    'X-Bz-Server-Side-Encryption-Customer-Key-Md5': keyMd5(key),
  };
}

/** Headers of b2_upload_file. */
export function uploadFileHeaders(e: Encryption | undefined): Record<string, string> {
  if (e?.mode === 'SSE-B2') return {'X-Bz-Server-Side-Encryption': AES256};
  return e?.mode === 'SSE-C' ? customerKeyHeaders(e.key) : {};
}

/** Headers of b2_upload_part and of downloads: only SSE-C's key (the file's mode was set when it started). */
export function keyHeaders(e: Encryption | undefined): Record<string, string> {
  return e?.mode === 'SSE-C' ? customerKeyHeaders(e.key) : {};
}

/** The `serverSideEncryption` field of b2_start_large_file (and a copy's destination), or undefined. */
export function encryptionField(e: Encryption | undefined): Record<string, string> | undefined {
  if (e?.mode === 'SSE-B2') return {mode: 'SSE-B2', algorithm: AES256};
  return e?.mode === 'SSE-C' ? {mode: 'SSE-C', algorithm: AES256, customerKey: e.key, customerKeyMd5: keyMd5(e.key)} : undefined;
}

/** Fixed label the cache scope is derived from: the digest names a key's readers, it says nothing else. */
const READ_SCOPE_LABEL = 'backup-plugin-b2 read scope v1';

/**
 * What a backend with this encryption reads that one without the same key cannot: SSE-C
 * files. Undefined for SSE-B2 and none (B2 decrypts those for any reader). For SSE-C a
 * keyed one-way digest (HMAC-SHA256 of a fixed label under the key, 128 bits): equal for
 * equal keys, and neither the key nor any part of it.
 */
export function readScopeOf(e: Encryption | undefined): string | undefined {
  if (e?.mode !== 'SSE-C') return undefined;
  return `sse-c-${createHmac('sha256', Buffer.from(e.key, 'base64')).update(READ_SCOPE_LABEL).digest('hex').slice(0, 32)}`;
}
