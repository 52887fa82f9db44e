/** What a secret looks like in output: that there is one, and not one character of it. */
export function redactSecret(secret: string | undefined): string {
  return secret ? '(inline, redacted)' : '';
}

/** Removes every occurrence of the given secrets from a text (errors from libraries, logs). */
export function scrub(text: string, secrets: Array<string | undefined>): string {
  let out = text;
  for (const s of secrets) if (s && s.length >= 4) out = out.split(s).join('[redacted]');
  return out;
}
