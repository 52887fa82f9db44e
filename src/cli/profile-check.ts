import type {CheckReport} from '../backend.js';
import {BackupError} from '../errors.js';
import type {ResolvedProfile} from '../profiles/types.js';

/**
 * Connects with a profile and reports what works (credentials, bucket, capabilities,
 * prefix restriction) with a fix for each problem. `profile check` prints the report;
 * `profile add` and `profile update` refuse to save a profile whose report is not ok.
 * The B2 provider implements the check; until it is wired in, this says so.
 */
export async function checkProfileConnection(_profile: ResolvedProfile, _config: {dataDir: string}): Promise<CheckReport> {
  throw new BackupError('failure', 'profile check is not available yet; pass --no-check to save without checking');
}
