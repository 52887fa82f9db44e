import {BackupError} from './errors.js';
import {quoteValue} from './redact.js';

/** B2's file-name limit, which every backend applies to the full name (root + key). */
export const MAX_NAME_BYTES = 1024;

/**
 * Why a key (or prefix) is unusable, or undefined when it is fine. Shared by every
 * backend and by profile validation so that the rules cannot drift apart.
 */
export function nameProblem(name: string, what = 'key'): string | undefined {
  if (name.length === 0) return `${what} is empty`;
  if (Buffer.byteLength(name, 'utf8') > MAX_NAME_BYTES) return `${what} is longer than ${MAX_NAME_BYTES} bytes of UTF-8`;
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(name)) return `${what} contains a control character`;
  if (name.startsWith('/')) return `${what} starts with "/"`;
  if (name.includes('//')) return `${what} contains "//"`;
  // URL parsers collapse "." and ".." path segments (even as %2E), so such a name could not be read back by name
  // and "prefix/../x" would reach a name outside the prefix
  if (name.split('/').some((segment) => segment === '.' || segment === '..')) return `${what} has a "." or ".." path segment`;
  if (/\uFFFD/.test(name) || !isWellFormed(name)) return `${what} is not valid UTF-8`;
  return undefined;
}

function isWellFormed(s: string): boolean {
  return Buffer.from(s, 'utf8').toString('utf8') === s;
}

export function assertValidKey(key: string, root = ''): void {
  const problem = nameProblem(key) ?? nameProblem(root + key, 'full name (prefix + key)');
  if (problem) throw new BackupError('bad_input', `invalid object key ${quoteValue(key)}: ${problem}`);
}

/** Compares strings the way B2 sorts names: by UTF-8 bytes. */
export function compareUtf8(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}
