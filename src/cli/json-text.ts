import {replaceInvisible} from '../backups/validate.js';

/**
 * `--json` output as text. JSON.stringify escapes only U+0000..U+001F: a name from the
 * bucket could still carry C1 controls (U+009B starts a terminal escape like ESC [) or
 * U+202E (reverses the rest of the line) to whoever reads the JSON on a terminal. Those
 * are written as \uXXXX escapes too: the same JSON value, nothing raw on screen.
 */
export function jsonText(value: unknown, indent = 2): string {
  return replaceInvisible(JSON.stringify(value, null, indent), jsonEscape);
}

/** The only raw control character left in JSON.stringify's output is the newline of its indentation. */
function jsonEscape(ch: string): string {
  if (ch === '\n') return ch;
  let out = '';
  for (let i = 0; i < ch.length; i++) out += `\\u${ch.charCodeAt(i).toString(16).padStart(4, '0')}`;
  return out;
}
