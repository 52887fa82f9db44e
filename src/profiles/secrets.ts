import {homedir} from 'node:os';
import {isAbsolute, join, resolve} from 'node:path';
import {redactSecret} from '../redact.js';
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

/** Why a reference can never resolve (checked when the file is validated), or undefined. */
export function secretRefProblem(text: string): string | undefined {
  const ref = parseSecretRef(text);
  if (ref.kind === 'env' && !/^[A-Za-z_][A-Za-z0-9_]*$/.test(ref.name)) return 'env: must be followed by a variable name';
  if (ref.kind === 'file' && ref.path.trim() === '') return 'file: must be followed by a path';
  return undefined;
}

/** The secret itself, or why it cannot be read (the reason never contains the secret). */
export function resolveSecret(text: string, opts: {env: NodeJS.ProcessEnv; baseDir: string}): {value: string} | {problem: string} {
  const ref = parseSecretRef(text);
  if (ref.kind === 'inline') return {value: text};
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

/** What `list` and `show` print: references as written, inline keys redacted. */
export function displaySecret(text: string): string {
  return parseSecretRef(text).kind === 'inline' ? redactSecret(text) : text;
}
