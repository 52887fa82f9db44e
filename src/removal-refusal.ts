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

/** A removal B2 refused: what stands in the way, and what the line knows of it. */
export interface Refusal {
  blocker?: RemovalBlocker;
  /** When Object Lock lets the file go (ISO 8601), when known. */
  until?: string;
  /** How the line names the key B2 refused ("the key of profile home"); "the key" by default. */
  key?: string;
}

/**
 * The command that removes such a file once it may: `run` (`run "… cleanup …"`), `name`
 * (what a line calls it: "cleanup", "delete"), `when` what it waits for besides (a
 * cleanup: CLEANUP_AGE).
 */
export interface Remover {
  run: string;
  name: string;
  when?: string;
}

/** A cleanup (`run "… cleanup …"`) as what removes a file: once the file is old enough for it. */
export function byCleanup(run: string): Remover {
  return {run, name: 'cleanup', when: CLEANUP_AGE};
}

/**
 * What removes a file (`them`: "it", or "them" for several) whose removal B2 refused
 * (`refused`), or that may remain (no blocker): `by` once Object Lock, the cap or its age
 * allows, never `by` with a key B2 refused it for (a `by` with that key is refused the
 * same: another key, or the web console); without `by` (no command removes it, e.g. an
 * older version of a stored file), the B2 web console.
 */
export function whatRemoves(refused: Refusal, by?: Remover, them = 'it'): string {
  const lock = refused.until !== undefined || refused.blocker === 'lock' ? `Object Lock keeps ${them} until ${refused.until ?? 'its retention date'}` : undefined;
  const inConsole = `delete ${them} in the B2 web console`;
  const when = by?.when ? ` ${by.when}` : '';
  if (refused.blocker === 'key') {
    const key = `${refused.key ?? 'the key'} may not delete ${them}${by ? `, nor can a ${by.name} with that key` : ''}`;
    const other = by ? `${inConsole}, or ${by.run} with a key that has deleteFiles` : inConsole;
    return lock ? `${lock}, and ${key}; then ${other}` : `${key}: ${other}${when}`;
  }
  const remove = by ? `${by.run} to remove ${them}` : inConsole;
  if (lock) return `${lock}; then ${remove}`;
  if (refused.blocker === 'cap') return `an account cap refuses ${them} for now: raise it under "Caps & Alerts" in the B2 web console or wait until it resets, then ${remove}${when}`;
  return `${remove}${when}`;
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
