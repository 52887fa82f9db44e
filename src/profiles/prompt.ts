import {askSecret, askText} from '../cli/ask.js';
import {BackupError} from '../errors.js';
import {REQUIRED_FIELDS, type ProfileInput} from './schema.js';
import {flagLabel} from './flags.js';
import {suggestedPrefix} from './suggested-prefix.js';

/**
 * Home Assistant's B2 docs warn that backups under a prefix another writer shares can be
 * overwritten, and that changing the prefix later does not move existing backups.
 */
export const PREFIX_ADVICE =
  'Backups go under this name prefix in the bucket. Give each machine or host a prefix of its own: ' +
  'files under a prefix another tool or machine also writes to can be overwritten or deleted, ' +
  'and changing the prefix later does not move the backups already stored. Empty: the bucket root.';

/**
 * Fills the required fields the flags did not give: asked for on a terminal (the key
 * without echo; then the prefix, with a suggestion, unless given), an error otherwise,
 * since a script waiting on a prompt would hang.
 */
export async function askForMissing(input: ProfileInput, streams = {stdin: process.stdin}): Promise<ProfileInput> {
  const missing = REQUIRED_FIELDS.filter((f) => input[f] === undefined);
  if (missing.length === 0) return input;
  if (!streams.stdin.isTTY) {
    throw new BackupError('config', `missing ${missing.map(flagLabel).join(', ')}: give ${missing.length === 1 ? 'it' : 'them'} as flags (no terminal to ask on)`);
  }
  const filled = {...input};
  if (filled.keyId === undefined) filled.keyId = await askText('Application key ID:');
  if (filled.applicationKey === undefined) filled.applicationKey = await askSecret('Application key (input hidden):');
  if (filled.bucket === undefined) filled.bucket = await askText('Bucket name:');
  if (filled.prefix === undefined) {
    process.stderr.write(`${PREFIX_ADVICE}\n`);
    filled.prefix = await askText('Prefix:', {default: suggestedPrefix()});
  }
  return filled;
}
