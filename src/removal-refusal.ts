import {CLEANUP_AGE} from './command-hint.js';
import {isBackupError, type ErrorKind} from './errors.js';

/**
 * What stands in the way of a removal that failed, and so what can remove the file later:
 * - `lock`: Object Lock (once it ends, the same key can);
 * - `key`: the key may not (a capability it lacks, a name or bucket outside its
 *   restriction, or it stopped working): a cleanup with that key is refused the same, so
 *   only another key or the web console can;
 * - `cap`: an account cap (once it is raised or resets, the same key can);
 * - undefined: nothing known to stay in the way (B2 busy, the network): a later try can.
 */
export type RemovalBlocker = 'lock' | 'key' | 'cap';

const BY_KIND: Partial<Record<ErrorKind, RemovalBlocker>> = {
  locked: 'lock',
  missing_capabilities: 'key',
  prefix_not_allowed: 'key',
  bucket_unavailable: 'key',
  key_expired: 'key',
  invalid_credentials: 'key',
  cap_exceeded: 'cap',
};

/** The blocker of a removal that failed with `err` (see RemovalBlocker). */
export function removalBlocker(err: unknown): RemovalBlocker | undefined {
  return isBackupError(err) ? BY_KIND[err.kind] : undefined;
}

/**
 * What removes a file the key may not delete: the web console, or `run` (a `run "… cleanup
 * …"` or the like, which `when` follows) with a key that may.
 */
export function anotherKeyRemoves(run: string, when = ''): string {
  return `delete it in the B2 web console, or ${run} with a key that has deleteFiles${when ? ` ${when}` : ''}`;
}

/** What removes a file an account cap keeps from being deleted: `run` once the cap allows. */
export function onceCapAllows(run: string, when = ''): string {
  return `an account cap refuses it for now: raise it under "Caps & Alerts" in the B2 web console or wait until it resets, then ${run}${when ? ` ${when}` : ''}`;
}

/**
 * What removes an unfinished upload whose cancel B2 refused (`refused`): `cleanup` (`run
 * "… cleanup"`), once the upload is old enough for it (a cleanup leaves younger ones
 * alone); when B2 refused it for the key (`key`: how the line names it), a cleanup with
 * that key is refused the same, so only one with a key that may cancel (writeFiles).
 */
export function whatCancels(refused: unknown, cleanup: string, key = 'the key'): string {
  if (removalBlocker(refused) === 'key') return `${key} may not cancel it, nor can a cleanup with that key: ${cleanup} with a key that has writeFiles ${CLEANUP_AGE}`;
  return `${cleanup} to remove it ${CLEANUP_AGE}`;
}
