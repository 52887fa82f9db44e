import {createHash} from 'node:crypto';
import {B2ApiError, badRequest} from './b2-error.js';
import type {RequestContext} from './context.js';
import type {BucketRecord, FileRecord, KeyRecord} from './types.js';

/**
 * Server-side encryption as B2 documents it. SSE-B2: B2's own keys, asked for with
 * `X-Bz-Server-Side-Encryption: AES256` (or `{mode: "SSE-B2", algorithm: "AES256"}` in
 * JSON) or by the bucket's defaultServerSideEncryption. SSE-C: the client's AES-256 key,
 * sent with every request that writes or reads the data (headers
 * X-Bz-Server-Side-Encryption-Customer-Algorithm/-Key/-Key-Md5, or `{mode: "SSE-C",
 * algorithm, customerKey, customerKeyMd5}` in JSON). The emulator keeps only the key's
 * MD5 (as B2 keeps no key) and does not really encrypt: what it checks is who may read.
 */
export type Sse = FileRecord['serverSideEncryption'];

const NONE: Sse = {mode: null};
const AES256 = 'AES256';

/** A read of SSE-C data without its key (or with another): B2 answers 403 access_denied. */
export const wrongCustomerKey = () =>
  new B2ApiError(403, 'access_denied', 'The file is encrypted with SSE-C: the request must carry the customer key it was written with');

function customerKey(algorithm: unknown, key: unknown, keyMd5: unknown, where: string): Sse {
  if (algorithm !== AES256) throw badRequest(`${where}: SSE-C algorithm must be AES256`);
  if (typeof key !== 'string' || typeof keyMd5 !== 'string') throw badRequest(`${where}: SSE-C needs the customer key and its MD5`);
  const raw = Buffer.from(key, 'base64');
  if (raw.length !== 32 || raw.toString('base64') !== key) throw badRequest(`${where}: the SSE-C customer key must be 256 bits, base64-encoded`);
  const md5 = createHash('md5').update(raw).digest('base64');
  if (md5 !== keyMd5) throw badRequest(`${where}: the SSE-C customer key MD5 does not match the key`);
  return {mode: 'SSE-C', algorithm: AES256, customerKeyMd5: md5};
}

/** The encryption a request's headers ask for (uploads, parts, downloads). */
export function sseFromHeaders(ctx: RequestContext): Sse {
  const sseB2 = ctx.header('x-bz-server-side-encryption');
  const algorithm = ctx.header('x-bz-server-side-encryption-customer-algorithm');
  if (sseB2 !== undefined && algorithm !== undefined) throw badRequest('X-Bz-Server-Side-Encryption and the SSE-C headers exclude each other');
  if (algorithm !== undefined || ctx.header('x-bz-server-side-encryption-customer-key') !== undefined) {
    return customerKey(algorithm, ctx.header('x-bz-server-side-encryption-customer-key'), ctx.header('x-bz-server-side-encryption-customer-key-md5'), 'X-Bz-Server-Side-Encryption-Customer-*');
  }
  if (sseB2 === undefined) return NONE;
  if (sseB2 !== AES256) throw badRequest('X-Bz-Server-Side-Encryption must be AES256');
  return {mode: 'SSE-B2', algorithm: AES256};
}

/** The encryption a JSON field asks for (start_large_file, copy_file, copy_part); undefined when absent. */
export function sseFromParam(value: unknown, name: string, opts: {allowCustomer: boolean} = {allowCustomer: true}): Sse | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'object' || Array.isArray(value)) throw badRequest(`${name} must be an object`);
  const v = value as Record<string, unknown>;
  if (v.mode === null || v.mode === undefined) return NONE;
  if (v.mode === 'SSE-B2') {
    if (v.algorithm !== undefined && v.algorithm !== AES256) throw badRequest(`${name}: SSE-B2 algorithm must be AES256`);
    return {mode: 'SSE-B2', algorithm: AES256};
  }
  if (v.mode === 'SSE-C' && opts.allowCustomer) return customerKey(v.algorithm, v.customerKey, v.customerKeyMd5, name);
  throw badRequest(`${name}: mode must be ${opts.allowCustomer ? 'SSE-B2, SSE-C' : 'SSE-B2'} or null`);
}

/**
 * A bucket's effective default ("Use Server-Side Encryption with the B2 Native API"): the
 * mode it was given; when none (or mode null), SSE-B2 in a bucket B2 has enabled for
 * default encryption (every new bucket; existing ones gradually), none in one it has not.
 */
export function bucketDefaultSse(bucket: BucketRecord): Sse {
  const mode = bucket.defaultServerSideEncryption?.mode ?? (bucket.encryptedByDefault ? 'SSE-B2' : null);
  return mode ? {mode, algorithm: AES256} : NONE;
}

/** A new file's encryption: what the request asked for, else the bucket's default. */
export function sseForNewFile(requested: Sse | undefined, bucket: BucketRecord): Sse {
  if (requested && requested.mode !== null) return requested;
  return bucketDefaultSse(bucket);
}

/**
 * Reading SSE-C data needs the same key it was written with. `refuseKeyOnPlain`
 * (EmulatorOptions.refuseKeyOnPlainFiles, downloads only): a key on a file not stored
 * with SSE-C is refused with S3's answer, which B2 does not document (see there).
 */
export function requireReadKey(stored: Sse, requested: Sse, opts: {refuseKeyOnPlain?: boolean} = {}): void {
  if (opts.refuseKeyOnPlain && stored.mode !== 'SSE-C' && requested.mode === 'SSE-C') throw badRequest('The encryption parameters are not applicable to this object');
  if (stored.mode !== 'SSE-C') return;
  if (requested.mode !== 'SSE-C' || requested.customerKeyMd5 !== stored.customerKeyMd5) throw wrongCustomerKey();
}

/** A part of an SSE-C large file must carry that file's key; other files take no SSE-C headers. */
export function requirePartKey(file: FileRecord, requested: Sse): void {
  if (file.serverSideEncryption.mode === 'SSE-C') {
    if (requested.mode !== 'SSE-C' || requested.customerKeyMd5 !== file.serverSideEncryption.customerKeyMd5) {
      throw badRequest('this large file is encrypted with SSE-C: every part must carry the same customer key (X-Bz-Server-Side-Encryption-Customer-*)');
    }
  } else if (requested.mode === 'SSE-C') throw badRequest('this large file is not encrypted with SSE-C: its parts take no customer key');
}

/** The setting as file JSON shows it: mode and algorithm, never the key's MD5. */
export function sseJson(sse: Sse): Record<string, unknown> {
  return sse.mode ? {algorithm: sse.algorithm ?? AES256, mode: sse.mode} : {mode: null};
}

/** Download response headers for a file's encryption. */
export function sseHeaders(sse: Sse): Record<string, string> {
  if (sse.mode === 'SSE-B2') return {'X-Bz-Server-Side-Encryption': sse.algorithm ?? AES256};
  if (sse.mode === 'SSE-C') return {'X-Bz-Server-Side-Encryption-Customer-Algorithm': AES256, 'X-Bz-Server-Side-Encryption-Customer-Key-Md5': sse.customerKeyMd5 ?? ''};
  return {};
}

/** A bucket setting that only keys with `capability` may read (B2's isClientAuthorizedToRead wrapper). */
export function guarded(key: KeyRecord | undefined, capability: string, value: unknown): Record<string, unknown> {
  return key && !key.capabilities.includes(capability) ? {isClientAuthorizedToRead: false} : {isClientAuthorizedToRead: true, value};
}
