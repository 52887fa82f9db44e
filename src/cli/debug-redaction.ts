import createDebug from 'debug';
import {formatWithOptions, type InspectOptions} from 'node:util';
import {scrub} from '../redact.js';
import {secretArgs} from './error-log.js';

/** A command-line value that looks like a key given without its flag name (B2 keys are 31 such characters). */
const KEY_SHAPED = /^[A-Za-z0-9_+=-]{20,}$/;

/**
 * With DEBUG set, oclif logs argv (process.argv, "runCommand", "init … argv") through the
 * `debug` package before any command runs. This filters every debug line so that the
 * value of --application-key, and any argument shaped like a key, never reaches it.
 * Whole argv tokens are replaced (as quoted in the logged array), never loose words, so
 * the redaction cannot tell what a short key is by what it removed.
 */
export function redactArgvInDebugOutput(argv: readonly string[]): void {
  const values = [...secretArgs(argv), ...argv.filter((a) => KEY_SHAPED.test(a))];
  const inline = argv.filter((a) => a.startsWith('--application-key='));
  const redact = (text: string): string => {
    let out = text;
    for (const token of inline) out = out.split(token).join('--application-key=[redacted]');
    for (const value of values) for (const quoted of [`'${value}'`, `"${value}"`]) out = out.split(quoted).join("'[redacted]'");
    return scrub(out, values);
  };
  createDebug.log = (...args: unknown[]) => process.stderr.write(`${redact(formatWithOptions((createDebug.inspectOpts ?? {}) as InspectOptions, ...args))}\n`);
}
