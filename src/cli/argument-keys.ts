import {existsSync} from 'node:fs';
import {dirname} from 'node:path';
import {KEY_NOT_SHOWN, keyPieces, MIN_SCRUBBED_SECRET} from '../redact.js';

/** A run of characters a key can be made of (B2's, base64 or base64url). */
const KEY_CHARS_RUN = new RegExp(`[A-Za-z0-9_+=/-]{${MIN_SCRUBBED_SECRET},}`, 'g');

/**
 * The values the command was given that may be keys: its arguments (after the command
 * id) and the environment variables that stand for its flags (B2_PROFILE for
 * --profile…). A path (isPath) is no key: a temporary folder's random name
 * ("cli-errors-1HnksX") would otherwise vanish from the messages that name the file.
 */
export function givenValues(argv: readonly string[], flags: Record<string, {env?: string}>, env: NodeJS.ProcessEnv = process.env): string[] {
  const fromEnv = Object.values(flags).flatMap((f) => (f.env && env[f.env] ? [env[f.env] as string] : []));
  // a flag given its value inline (--flag=VALUE): the value only, the flag's name is no key
  const values = [...argv.map((arg) => (/^--?[A-Za-z][\w-]*=/.test(arg) ? arg.slice(arg.indexOf('=') + 1) : arg)), ...fromEnv];
  return values.filter((value) => !isPath(value));
}

/**
 * A path that exists, or a file to be made in a folder that exists (--config, -o). Not
 * the root: a base64 key starting with its only '/' ("/AbC…=") names a file in it.
 */
function isPath(value: string): boolean {
  const folder = dirname(value);
  return existsSync(value) || (value.includes('/') && folder !== '.' && folder !== '/' && existsSync(folder));
}

/**
 * The backstop behind every site that quotes a value (shownValue): a line about to be
 * printed or logged with every key-shaped piece of what the command was given replaced
 * by the not-shown text, and any run of key characters sharing 16 in a row with one (a
 * shortened quote of it) too. Only pieces of the given values are looked for, so a
 * message's own words and names from the bucket stay as they are.
 */
export function withoutGivenKeys(line: string, given: readonly string[]): string {
  const pieces = [...new Set(given.flatMap(keyPieces))].sort((a, b) => b.length - a.length);
  if (pieces.length === 0) return line;
  const whole = pieces.reduce((out, piece) => out.split(piece).join(KEY_NOT_SHOWN), line);
  return whole.replace(KEY_CHARS_RUN, (run) => (pieces.some((p) => sharesRun(run, p)) ? KEY_NOT_SHOWN : run));
}

/** Whether two texts have MIN_SCRUBBED_SECRET characters in a row in common. */
function sharesRun(a: string, b: string): boolean {
  for (let i = 0; i + MIN_SCRUBBED_SECRET <= a.length; i++) if (b.includes(a.slice(i, i + MIN_SCRUBBED_SECRET))) return true;
  return false;
}
