import {homedir} from 'node:os';
import {isAbsolute, join, resolve} from 'node:path';
import {keyShaped, redactSecret} from '../redact.js';
import {readSmallFile} from '../small-file.js';

/** A key file holds one key (about 40 bytes); anything past this is not a key file. */
export const MAX_KEY_FILE_BYTES = 64 * 1024;

/**
 * An application key in a profile is written inline, as `env:NAME` (read from the
 * environment) or as `file:PATH` (read from a file; relative to the profiles file).
 */
export type SecretRef = {kind: 'inline'; value: string} | {kind: 'env'; name: string} | {kind: 'file'; path: string};

export function parseSecretRef(text: string): SecretRef {
  if (text.startsWith('env:')) return {kind: 'env', name: text.slice(4)};
  if (text.startsWith('file:')) return {kind: 'file', path: text.slice(5)};
  return {kind: 'inline', value: text};
}

/**
 * Whether what follows `env:` or `file:` may be the key itself: a key pasted after the
 * prefix of the README's example is a common slip, and then the "variable name" or "path"
 * is a secret that no message, diagnostic or error log may show. Key-shaped (as DEBUG
 * output judges arguments) with the mixed case and digits of a random key, or base64's "="
 * padding (every SSE-C key); names such as B2_HOME_KEY and paths such as
 * ~/.config/b2-home-key stay visible.
 */
export function refHidesKey(text: string): boolean {
  const ref = parseSecretRef(text);
  if (ref.kind === 'env') return keyShaped(ref.name);
  if (ref.kind !== 'file') return false;
  // a relative file: given by flag is written down absolute: the key (which may hold '/' itself) is then the path's end
  const steps = ref.path.split('/');
  return steps.some((_, i) => keyShaped(steps.slice(i).join('/')));
}

/** A reference as messages and listings show it: as written, unless it may hold the key itself. */
export function shownRef(text: string): string {
  const ref = parseSecretRef(text);
  return refHidesKey(text) ? `${ref.kind}:… (not shown: it looks like a key)` : text;
}

/** What to do with a key that was pasted after `env:`/`file:`. */
function pastedKeyProblem(ref: SecretRef): string {
  return ref.kind === 'env'
    ? 'env: is followed by what looks like a key, not a variable name (not shown); write the key without "env:", or export it and write env:VARIABLE'
    : 'file: is followed by what looks like a key, not a path (not shown); write the key without "file:", or put it in a file and write file:PATH';
}

/** Why a reference can never resolve (checked when the file is validated), or undefined. */
export function secretRefProblem(text: string): string | undefined {
  const ref = parseSecretRef(text);
  if (ref.kind === 'env' && !/^[A-Za-z_][A-Za-z0-9_]*$/.test(ref.name)) return refHidesKey(text) ? pastedKeyProblem(ref) : 'env: must be followed by a variable name';
  if (ref.kind === 'file' && ref.path.trim() === '') return 'file: must be followed by a path';
  return undefined;
}

/** The secret itself, or why it cannot be read (the reason never contains the secret). */
export function resolveSecret(text: string, opts: {env: NodeJS.ProcessEnv; baseDir: string}): {value: string} | {problem: string} {
  const ref = parseSecretRef(text);
  if (ref.kind === 'inline') return {value: text};
  const resolved = resolveRef(ref, text, opts);
  return 'problem' in resolved && refHidesKey(text) ? {problem: pastedKeyProblem(ref)} : resolved;
}

function resolveRef(ref: Exclude<SecretRef, {kind: 'inline'}>, text: string, opts: {env: NodeJS.ProcessEnv; baseDir: string}): {value: string} | {problem: string} {
  if (ref.kind === 'env') {
    const value = opts.env[ref.name]?.trim();
    if (value === undefined) return {problem: `${text} names an environment variable that is not set; set ${ref.name} or change the profile`};
    if (value === '') return {problem: `${text} names an empty environment variable; set ${ref.name} or change the profile`};
    return {value};
  }
  const path = secretFilePath(ref.path, opts.baseDir);
  const read = readSmallFile(path, MAX_KEY_FILE_BYTES);
  if (read === undefined) return {problem: `${text} cannot be read (no such file: ${path}); create the file or change the profile`};
  if ('problem' in read) return {problem: `${text} cannot be used (${read.problem}: ${path}); point it at the file that holds the key`};
  const value = read.text.trim();
  if (value === '') return {problem: `${text} is an empty file (${path}); put the application key in it`};
  return {value};
}

export function secretFilePath(path: string, baseDir: string): string {
  if (path === '~' || path.startsWith('~/')) return join(homedir(), path.slice(1));
  return isAbsolute(path) ? path : resolve(baseDir, path);
}

/** What `profile list` and `profile show` print of a key (application or SSE-C): references as written, inline keys redacted. */
export function displaySecret(text: string): string {
  return parseSecretRef(text).kind === 'inline' ? redactSecret(text) : shownRef(text);
}
