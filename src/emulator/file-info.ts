import {badRequest} from './b2-error.js';
import {AUTO_CONTENT_TYPES, DEFAULT_CONTENT_TYPE, MAX_INFO_ENTRIES, MAX_INFO_KEY_BYTES, MAX_NAME_AND_INFO_BYTES, MAX_NAME_AND_INFO_BYTES_SSE_OR_LOCK} from './constants.js';
import {percentDecode} from './names.js';
import type {BucketRecord, FileRecord} from './types.js';

const INFO_KEY = /^[A-Za-z0-9\-_.~!#$%^&*'|+]+$/;

/** The reserved `b2-` file info names B2 knows: each becomes a standard response header on download. */
export const INFO_HEADERS: Record<string, string> = {
  'b2-content-disposition': 'Content-Disposition',
  'b2-content-language': 'Content-Language',
  'b2-expires': 'Expires',
  'b2-cache-control': 'Cache-Control',
  'b2-content-encoding': 'Content-Encoding',
};

/**
 * Checks fileInfo against B2's limits: at most 10 entries, key charset and length, total
 * size with the name: 7000 bytes, but 2048 for a file stored with server-side encryption
 * or in an Object Lock bucket (b2_upload_file, b2_start_large_file).
 */
export function checkFileInfo(fileName: string, info: Record<string, string>, stored: {sse: FileRecord['serverSideEncryption']; bucket: BucketRecord}): void {
  const limit = stored.sse.mode !== null || stored.bucket.fileLockEnabled ? MAX_NAME_AND_INFO_BYTES_SSE_OR_LOCK : MAX_NAME_AND_INFO_BYTES;
  const entries = Object.entries(info);
  if (entries.length > MAX_INFO_ENTRIES) throw badRequest(`too many file info entries: ${entries.length} (at most ${MAX_INFO_ENTRIES})`);
  let total = Buffer.byteLength(fileName, 'utf8');
  for (const [k, v] of entries) {
    if (!INFO_KEY.test(k) || Buffer.byteLength(k) > MAX_INFO_KEY_BYTES) {
      throw badRequest(`invalid file info name "${k}": up to ${MAX_INFO_KEY_BYTES} of letters, digits and -_.~!#$%^&*'|+`);
    }
    if (typeof v !== 'string') throw badRequest(`file info value of "${k}" must be a string`);
    checkReservedInfo(k, v);
    total += Buffer.byteLength(k, 'utf8') + Buffer.byteLength(v, 'utf8');
  }
  if (total > limit) {
    const why = limit === MAX_NAME_AND_INFO_BYTES ? '' : ' (the limit for a file with server-side encryption or in an Object Lock bucket)';
    throw badRequest(`file name and file info take ${total} bytes, more than ${limit}${why}`);
  }
}

/**
 * Download-request parameters that replace a file's stored header for that one download
 * (Backblaze: "overriding any b2-content-disposition specified when the file was uploaded").
 */
export const OVERRIDE_PARAMS: Record<string, string> = {
  b2ContentDisposition: 'Content-Disposition',
  b2ContentLanguage: 'Content-Language',
  b2Expires: 'Expires',
  b2CacheControl: 'Cache-Control',
  b2ContentEncoding: 'Content-Encoding',
  b2ContentType: 'Content-Type',
};

/** A value sent back as a standard response header: printable ASCII, or the header could not be sent. */
export function checkHeaderValue(what: string, value: string, header: string): void {
  if (!/^[\x20-\x7e]*$/.test(value)) throw badRequest(`${what} must be printable ASCII, as the ${header} header it becomes`);
}

/**
 * Backblaze: names that begin with "b2-" are reserved; the known ones are sent back as
 * standard headers, so their values must follow those headers' grammar (RFC 6266 for
 * Content-Disposition: non-ASCII only as a UTF-8 extended value). The emulator checks
 * what keeps the header sendable: printable ASCII.
 */
function checkReservedInfo(key: string, value: string): void {
  if (!key.toLowerCase().startsWith('b2-')) return;
  if (!INFO_HEADERS[key.toLowerCase()]) throw badRequest(`file info name "${key}" is reserved (names starting with b2- are B2's)`);
  checkHeaderValue(`file info "${key}"`, value, INFO_HEADERS[key.toLowerCase()]);
}

/** fileInfo from X-Bz-Info-* headers (names lowercased by HTTP, values percent-decoded). */
export function infoFromHeaders(headers: Record<string, string | string[] | undefined>): Record<string, string> {
  const info: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (!name.startsWith('x-bz-info-') || value === undefined) continue;
    const key = name.slice('x-bz-info-'.length);
    info[key] = percentDecode(Array.isArray(value) ? value[0] : value, `X-Bz-Info-${key}`);
  }
  return info;
}

/** fileInfo from a JSON parameter (b2_start_large_file). */
export function infoFromParam(value: unknown): Record<string, string> {
  if (value === undefined || value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value)) throw badRequest('fileInfo must be an object');
  const info: Record<string, string> = {};
  for (const [k, v] of Object.entries(value)) {
    if (typeof v !== 'string') throw badRequest(`file info value of "${k}" must be a string`);
    info[k] = v;
  }
  return info;
}

/** Resolves `b2/x-auto` from the name's extension; other types are kept as given. */
export function resolveContentType(contentType: string | undefined, fileName: string): string {
  if (contentType === undefined || contentType === '') throw badRequest('Content-Type is required');
  if (contentType !== 'b2/x-auto') return contentType;
  const dot = fileName.lastIndexOf('.');
  const ext = dot >= 0 ? fileName.slice(dot + 1).toLowerCase() : '';
  return AUTO_CONTENT_TYPES[ext] ?? DEFAULT_CONTENT_TYPE;
}
