import createDebug from 'debug';
import {formatWithOptions, type InspectOptions} from 'node:util';
import {looksLikeKey, scrub} from '../redact.js';
import {inlineSecretFlag, secretArgs} from './secret-args.js';

/**
 * With DEBUG set, oclif logs argv (process.argv, "runCommand", "init … argv") through the
 * `debug` package before any command runs. This filters every debug line so that the
 * value of every secret flag (secret-args.ts), and any argument shaped like a key, never
 * reaches it.
 * Whole argv tokens are replaced (as quoted in the logged array), never loose words, so
 * the redaction cannot tell what a short key is by what it removed.
 */
export function redactArgvInDebugOutput(argv: readonly string[]): void {
  const values = [...secretArgs(argv), ...argv.filter(looksLikeKey)];
  const inline = argv.flatMap((a) => {
    const flag = inlineSecretFlag(a);
    return flag ? [{token: a, flag}] : [];
  });
  const redact = (text: string): string => {
    let out = text;
    for (const {token, flag} of inline) out = out.split(token).join(`${flag}=[redacted]`);
    for (const value of values) for (const quoted of [`'${value}'`, `"${value}"`]) out = out.split(quoted).join("'[redacted]'");
    return scrub(out, values);
  };
  createDebug.log = (...args: unknown[]) => process.stderr.write(`${redact(formatWithOptions((createDebug.inspectOpts ?? {}) as InspectOptions, ...args))}\n`);
}
