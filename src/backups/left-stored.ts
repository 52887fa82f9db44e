import {CLEANUP_AGE} from '../command-hint.js';
import {failureCode} from '../errors.js';
import {anotherKeyRemoves, onceCapAllows, removalBlocker, type RemovalBlocker} from '../removal-refusal.js';

/**
 * A file of the catalog's that a removal on a failure's or a stop's way out left stored:
 * `locked` (Object Lock keeps it: `why` says until when), `busy` (given up at the bound: B2
 * busy or unreachable, it may be gone) or `failed` (B2 refused: `blocker` says what stands
 * in the way).
 */
export interface LeftStored {
  key: string;
  state: 'locked' | 'busy' | 'failed';
  why: string;
  blocker?: RemovalBlocker;
}

/** What a removal of `key` that failed with `err` left, `bound` being the signal that bounded it. */
export function leftByFailedRemoval(key: string, err: unknown, bound: AbortSignal): LeftStored {
  return bound.aborted ? {key, state: 'busy', why: 'B2 busy or unreachable'} : {key, state: 'failed', why: `removing it failed: ${failureCode(err)}`, blocker: removalBlocker(err)};
}

/** A removal B2 refused for the key is refused the same to a `command` (cleanup, delete) run with that key. */
export function keyRefused(command: string): string {
  return `the key may not delete it, nor can a ${command} with that key`;
}

/**
 * The line that says what is true of `left` and what removes it: `cleanup` (`run "… cleanup"`),
 * once the lock ends, the cap allows or the file is old enough for it; never a cleanup with
 * a key B2 refused the removal for.
 */
export function leftStoredLine({key, state, why, blocker}: LeftStored, cleanup: string): string {
  if (state === 'locked') return `${key} stays stored: ${why}; then ${cleanup} to remove it`;
  if (state === 'busy') return `${key} may remain (${why}): ${cleanup} to remove it ${CLEANUP_AGE}`;
  if (blocker === 'key') return `${key} remains (${why}): ${keyRefused('cleanup')}; ${anotherKeyRemoves(cleanup, CLEANUP_AGE)}`;
  if (blocker === 'cap') return `${key} remains (${why}): ${onceCapAllows(`${cleanup} to remove it`, CLEANUP_AGE)}`;
  return `${key} remains (${why}): ${cleanup} to remove it ${CLEANUP_AGE}`;
}
