import {commandHint} from '../command-hint.js';
import {closest} from '../edit-distance.js';
import {BackupError} from '../errors.js';
import {holdsKeyShaped} from '../redact.js';

/**
 * The flags of oclif's "Nonexistent flags: …" as a message may show them: `--flag=VALUE`
 * as `--flag`, `-xVALUE` as `-x…` (the value may be a key typed after a mistyped flag),
 * and a long flag that holds text shaped like a key (a key typed onto its flag with no
 * space or "=", `--application-keyK005…`) not at all.
 */
export function shownUnknownFlags(list: string): string {
  return list
    .replace(/(--[\w-]+)=\S*?(,|$)/g, '$1$2')
    .replace(/(^|\s)(-[A-Za-z])[^\s,;]+/g, '$1$2…')
    .replace(/(^|\s)--([^\s,;]+)/g, (flag: string, lead: string, name: string) => (holdsKeyShaped(name) ? `${lead}--… (not shown: it looks like a key)` : flag));
}

/**
 * The one line for a flag the command does not have, in place of oclif's bare
 * "Nonexistent flag: --jsno": the flag, the one meant when one is close ("did you mean
 * --json?"), and where the flags are listed (the command's --help, as the user runs it),
 * exit 2. Anything else is returned as it is.
 */
export function unknownFlag(err: unknown, command: {id?: string; flags: readonly string[]}, cli: string): unknown {
  // oclif's NonExistentFlagsError (its class name may not survive bundling): the message and the flags as typed
  const parsed = (err ?? {}) as {flags?: unknown; message?: unknown};
  if (typeof parsed.message !== 'string' || !/^Nonexistent flags?: /.test(parsed.message) || !Array.isArray(parsed.flags)) return err;
  const typed = parsed.flags.filter((f): f is string => typeof f === 'string');
  const meant = typed.length === 1 && typed[0].startsWith('--') ? closest(typed[0].slice(2).replace(/=.*$/s, ''), [...command.flags]) : undefined;
  const words = (command.id ?? '').split(':').slice(1).join(' ');
  const help = `"${commandHint(cli, `${words ? `${words} ` : ''}--help`)}" lists the flags`;
  return new BackupError('bad_input', `Nonexistent flag${typed.length === 1 ? '' : 's'}: ${shownUnknownFlags(typed.join(', '))}; ${meant ? `did you mean --${meant}? ` : ''}${help}`);
}
