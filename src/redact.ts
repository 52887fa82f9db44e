/** What a secret looks like in output: enough to recognise, never enough to use. */
export function redactSecret(secret: string | undefined): string {
  if (!secret) return '';
  return secret.length <= 8 ? '****' : `${secret.slice(0, 3)}…${secret.slice(-2)} (redacted)`;
}

/** Removes every occurrence of the given secrets from a text (errors from libraries, logs). */
export function scrub(text: string, secrets: Array<string | undefined>): string {
  let out = text;
  for (const s of secrets) if (s && s.length >= 4) out = out.split(s).join('[redacted]');
  return out;
}
