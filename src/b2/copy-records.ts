import {commandHint} from '../command-hint.js';
import {BackupError} from '../errors.js';

/**
 * A server-side copy of `fileName` that must have the SHA1 `expected` (the backup's
 * record) while B2 records `recorded` for the source: one record is wrong, and no copy
 * could be both. Refused before anything is copied; nothing when either is unknown.
 */
export function assertCopyRecordsAgree(fileName: string, recorded: string | undefined, expected: string | undefined, cli: string | undefined): void {
  if (!expected || !recorded || expected === recorded) return;
  throw new BackupError('checksum_mismatch', `${fileName} cannot be copied: B2 records SHA1 ${recorded} for it, the backup ${expected}; one record is wrong ("${commandHint(cli, 'verify')}" reads the backup), and nothing was copied`);
}
