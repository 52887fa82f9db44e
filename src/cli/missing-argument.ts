import {commandHint} from '../command-hint.js';
import {BackupError} from '../errors.js';

/**
 * The one line a command run without its required argument prints, in place of oclif's
 * "Missing 1 required arg: id backup id as …" (the argument's name run into its help):
 * what is missing and how to get it, exit 2 (bad input). Anything else is returned as it is.
 */
export function missingArgument(err: unknown, commandId: string | undefined, cli: string): unknown {
  // oclif's RequiredArgsError (its class name may not survive bundling): the message and the arguments it lists
  const missing = (err ?? {}) as {args?: Array<{name?: string}>; message?: unknown};
  const arg = typeof missing.message === 'string' && /^Missing \d+ required args?\b/.test(missing.message) && Array.isArray(missing.args) ? missing.args[0]?.name : undefined;
  const text = arg === undefined ? undefined : missingText(commandId ?? '', arg, cli);
  return text ? new BackupError('bad_input', text) : err;
}

/** What each required argument is, and where to find one. */
/** `cli`: what runs the b2 topic (cliPrefix), for the commands named. */
function missingText(commandId: string, arg: string, cli: string): string | undefined {
  if (arg === 'id') return `missing the backup ID: "${commandHint(cli, 'list')}" shows them (a unique prefix of one, or "latest" for the newest, will do too)`;
  if (arg === 'file') return `missing the archive to upload: give its path, or - to read it from stdin (e.g. "${commandHint(cli, 'upload ./backup.tar')}")`;
  if (arg === 'name' && commandId === 'b2:profile:add') return `missing the name of the new profile (letters, digits, ".", "_", "-"), e.g. "${commandHint(cli, 'profile add home')}"`;
  if (arg === 'name') return `missing the profile name: "${commandHint(cli, 'profile list')}" shows them`;
  return undefined;
}
