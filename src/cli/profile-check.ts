import type {CheckReport} from '../backend.js';
import {checkB2} from '../connect.js';
import type {ResolvedProfile} from '../profiles/types.js';

/**
 * Connects with a profile and reports what works (credentials, bucket, capabilities,
 * prefix restriction, key expiry, foreign files) with a fix for each problem.
 * `profile check` prints the report; `profile add` and `profile update` refuse to save a
 * profile whose report is not ok.
 */
export function checkProfileConnection(profile: ResolvedProfile, config: {dataDir: string}): Promise<CheckReport> {
  return checkB2(profile, config);
}
