import createDebug from 'debug';
import {formatWithOptions, inspect, type InspectOptions} from 'node:util';
import {looksLikeKey, scrub, shownEndpoint} from '../redact.js';
import {inlineSecretFlag, secretArgs} from './secret-args.js';

/**
 * With DEBUG set, oclif logs argv (process.argv, "runCommand", "init … argv") through the
 * `debug` package before any command runs. This filters every debug line so that the
 * value of every secret flag (secret-args.ts), any argument shaped like a key, and the
 * credentials and query of any argument that may be a URL (`--endpoint
 * https://ID:KEY@host`, `?token=KEY`) never reach it.
 * Whole argv tokens are replaced (as quoted in the logged array), never loose words, so
 * the redaction cannot tell what a short key is by what it removed.
 */
export function redactArgvInDebugOutput(argv: readonly string[]): void {
  const values = [...secretArgs(argv), ...argv.filter(looksLikeKey)];
  const inline = argv.flatMap((a) => {
    const flag = inlineSecretFlag(a);
    return flag ? [{token: a, flag}] : [];
  });
  const urls = argv.flatMap((token) => {
    const shown = withoutUrlSecrets(token);
    return shown === token ? [] : [{token, shown}];
  });
  const redact = (text: string): string => {
    let out = text;
    for (const {token, flag} of inline) out = out.split(token).join(`${flag}=[redacted]`);
    for (const value of values) for (const quoted of [`'${value}'`, `"${value}"`]) out = out.split(quoted).join("'[redacted]'");
    // the token as inspect quotes it (escaped quotes and backslashes), then as it is
    for (const {token, shown} of urls) out = out.split(inspect(token)).join(inspect(shown)).split(token).join(shown);
    return scrub(out, values);
  };
  createDebug.log = (...args: unknown[]) => process.stderr.write(`${redact(formatWithOptions((createDebug.inspectOpts ?? {}) as InspectOptions, ...args))}\n`);
}

/** An argument with what an endpoint may hide replaced by "…" (shownEndpoint), the flag of `--endpoint=URL` kept. */
function withoutUrlSecrets(token: string): string {
  const inlineFlag = /^(--[\w-]+=)(.*)$/s.exec(token);
  return inlineFlag ? inlineFlag[1] + shownEndpoint(inlineFlag[2]) : shownEndpoint(token);
}
