/** What a secret looks like in output: that there is one, and not one character of it. */
export function redactSecret(secret: string | undefined): string {
  return secret ? '(inline, redacted)' : '';
}

/**
 * Secrets shorter than this are never scrubbed. Messages never contain a secret by
 * construction (keys are not echoed); scrubbing is the backstop for long random keys
 * and tokens only. Scrubbing a short one would act as an oracle: with the key "wrong",
 * "the key is wrong" would become "the key is [redacted]" and reveal the key.
 */
export const MIN_SCRUBBED_SECRET = 16;

/** Removes every occurrence of the given (long) secrets from a text (errors from libraries, logs). */
export function scrub(text: string, secrets: Array<string | undefined>): string {
  let out = text;
  for (const s of secrets) if (s && s.length >= MIN_SCRUBBED_SECRET) out = out.split(s).join('[redacted]');
  return out;
}

/** How long a value may be before a message shortens it. */
export const MAX_SHOWN_VALUE = 64;

/**
 * A value quoted for a message: whole when short, else its start and its length, so a
 * 2,000-character value does not flood the terminal, the error log and diagnostics.
 */
export function quoteValue(value: string, max = MAX_SHOWN_VALUE): string {
  const chars = [...value];
  if (chars.length <= max) return JSON.stringify(value);
  return `${JSON.stringify(chars.slice(0, max - 24).join('') + '…')} (${chars.length} characters)`;
}

/** B2 application keys (31 characters), base64url, and base64 that happens to hold no '/'. */
const NO_SLASH_KEY = /^[A-Za-z0-9_+=-]{20,}$/;
/** Standard base64, padded or not (a multiple of 4 characters). */
const BASE64 = /^(?:[A-Za-z0-9+/]{4}){5,}(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/**
 * Whether a text looks like a key: a command-line argument given without its flag name
 * (DEBUG output drops it), or a key pasted after `env:`/`file:` in a profile. A '/' is what paths and prefixes are made of, so a base64 key
 * with one is told apart by base64's own shape: a multiple of 4 characters, and either
 * "=" padding (every SSE-C key: 44 characters ending in "=", no path ends so) or, unpadded,
 * upper and lower case and digits and no leading '/' (an absolute path). What still
 * matches by chance is a relative dotless path of 4n characters mixing case and digits;
 * hiding one in debug output is the cheaper mistake.
 */
export function looksLikeKey(arg: string): boolean {
  if (!arg.includes('/')) return NO_SLASH_KEY.test(arg);
  if (!BASE64.test(arg)) return false;
  return arg.endsWith('=') || (!arg.startsWith('/') && /[A-Z]/.test(arg) && /[a-z]/.test(arg) && /\d/.test(arg));
}

/** Shaped like a random key (looksLikeKey, with mixed case and digits or base64's "=" padding), as a whole. */
export function keyShaped(text: string): boolean {
  return looksLikeKey(text) && (text.endsWith('=') || (/[A-Z]/.test(text) && /[a-z]/.test(text) && /\d/.test(text)));
}

/** What cannot be part of a key (B2's, base64 or base64url): where a pasted text splits into pieces. */
const NOT_KEY_CHARS = /[^A-Za-z0-9_+=/-]+/;

/**
 * Whether any piece of a text, split where a key cannot go on (spaces, ":", ",", quotes…),
 * is key-shaped: what no message may quote, whatever it was given as. A key pasted with
 * its key ID ("KEYID APPLICATIONKEY") is refused for the space, and must not be shown for it.
 */
export function holdsKeyShaped(text: string): boolean {
  return keyPieces(text).length > 0;
}

/**
 * The key-shaped pieces of a text (see holdsKeyShaped). A piece is also looked into at its
 * '/'s: a B2 key holds none, so one typed into a prefix ("KEY//") or a URL ("ftp://KEY")
 * is a whole segment; a base64 key with '/'s is found whole, minus slashes typed after it
 * or a URL's "//" before it.
 */
export function keyPieces(text: string): string[] {
  return text.split(NOT_KEY_CHARS).flatMap((piece) => {
    const whole = [piece, piece.replace(/\/+$/, ''), piece.replace(/^\/\/+/, '')].find(keyShaped);
    return whole === undefined ? piece.split('/').filter(keyShaped) : [whole];
  });
}

/** What a message says in place of a value holding a key. */
export const KEY_NOT_SHOWN = 'text that looks like a key (not shown)';

/** A value a message repeats: one holding a key-shaped piece not at all, a long one shortened (quoteValue). */
export function shownValue(value: string, max = MAX_SHOWN_VALUE): string {
  return holdsKeyShaped(value) ? KEY_NOT_SHOWN : quoteValue(value, max);
}

/**
 * An endpoint as a message quotes it: what may hold a key (credentials before an "@", a
 * query or fragment: the reasons endpointProblem refuses it) replaced by "…". Judged on
 * the text as typed, since a value that is no URL at all may hold one just the same.
 */
export function shownEndpoint(endpoint: string): string {
  const at = endpoint.lastIndexOf('@');
  const scheme = /^[A-Za-z][A-Za-z0-9+.-]*:\/\//.exec(endpoint)?.[0] ?? '';
  const host = at >= 0 ? `${scheme}…${endpoint.slice(at)}` : endpoint;
  return host.replace(/([?#]).*$/s, '$1…');
}
