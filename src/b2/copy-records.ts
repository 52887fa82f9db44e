import {BackupError} from '../errors.js';

/**
 * A server-side copy of `fileName` that must have the SHA1 `expected` (the backup's
 * record) while B2 records `recorded` for the source: one record is wrong, and no copy
 * could be both. Refused before anything is copied; nothing when either is unknown.
 * `verify`: the command that reads the backup where it is ("… verify ID --profile NAME").
 */
export function assertCopyRecordsAgree(fileName: string, recorded: string | undefined, expected: string | undefined, verify: string): void {
  if (!expected || !recorded || expected === recorded) return;
  throw new BackupError('checksum_mismatch', `${fileName} cannot be copied: B2 records SHA1 ${recorded} for it, the backup ${expected}; one record is wrong ("${verify}" reads the backup), and nothing was copied`);
}
