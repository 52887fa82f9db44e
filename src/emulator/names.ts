import {badRequest} from './b2-error.js';
import {MAX_FILE_NAME_BYTES} from './constants.js';

/** Compares strings the way B2 sorts names: by their UTF-8 bytes. */
export function compareUtf8(a: string, b: string): number {
  if (a === b) return 0;
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

/**
 * Decodes a percent-encoded file name or info value from a header or URL path. B2
 * accepts `+` as well as `%20` for a space, and `%2B` for a literal plus.
 */
export function percentDecode(encoded: string, what: string): string {
  // Raw bytes outside printable ASCII would be read as Latin-1 and silently change the name.
  if (/[^\x20-\x7e]/.test(encoded)) throw badRequest(`${what} must be percent-encoded UTF-8 (printable ASCII only)`);
  try {
    return decodeURIComponent(encoded.replace(/\+/g, ' '));
  } catch {
    throw badRequest(`${what} is not valid percent-encoded UTF-8`);
  }
}

/** Encodes a name for a response header the way B2 does: UTF-8 percent-encoding, `/` kept. */
export function percentEncode(value: string): string {
  return encodeURIComponent(value).replace(/%2F/g, '/');
}

/** Throws 400 bad_request when `name` breaks B2's file-name rules. */
export function checkFileName(name: unknown, field = 'fileName'): string {
  if (typeof name !== 'string' || name.length === 0) throw badRequest(`${field} is required`);
  if (Buffer.byteLength(name, 'utf8') > MAX_FILE_NAME_BYTES) {
    throw badRequest(`${field} is longer than ${MAX_FILE_NAME_BYTES} bytes of UTF-8`);
  }
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(name)) throw badRequest(`${field} contains a control character`);
  if (Buffer.from(name, 'utf8').toString('utf8') !== name) throw badRequest(`${field} is not valid UTF-8`);
  return name;
}
