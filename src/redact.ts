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
