import {failureCode} from '../errors.js';
import {removalBlocker, whatRemoves, type Refusal, type Remover} from '../removal-refusal.js';

/**
 * A file of the catalog's that a removal on a failure's or a stop's way out left stored:
 * `locked` (Object Lock keeps it), `busy` (given up at the bound: B2 busy or unreachable,
 * it may be gone) or `failed` (B2 refused). `why` says which in words, `refusal` what
 * stands in the way (whatRemoves).
 */
export interface LeftStored {
  key: string;
  state: 'locked' | 'busy' | 'failed';
  why: string;
  refusal: Refusal;
}

/**
 * What a removal of `key` that failed with `err` left, `bound` being the signal that
 * bounded it; `keyName`: how a line names the key (StorageBackend.keyName).
 */
export function leftByFailedRemoval(key: string, err: unknown, bound: AbortSignal, keyName?: string): LeftStored {
  if (bound.aborted) return {key, state: 'busy', why: 'B2 busy or unreachable', refusal: {}};
  const blocker = removalBlocker(err);
  return {key, state: 'failed', why: `removing it failed: ${failureCode(err)}`, refusal: {...(blocker ? {blocker} : {}), ...(keyName ? {key: keyName} : {})}};
}

/** What a removal of `key` that Object Lock refused left (`until`: when the lock ends, ISO 8601, when known). */
export function leftLocked(key: string, until?: string): LeftStored {
  return {key, state: 'locked', why: `Object Lock keeps it until ${until ?? 'its retention date'}`, refusal: {blocker: 'lock', ...(until ? {until} : {})}};
}

/** The line that says what is true of `left` and what removes it: `by` (a cleanup) as whatRemoves tells. */
export function leftStoredLine({key, state, why, refusal}: LeftStored, by: Remover): string {
  if (state === 'locked') return `${key} stays stored: ${whatRemoves(refusal, by)}`;
  return `${key} ${state === 'busy' ? 'may remain' : 'remains'} (${why}): ${whatRemoves(refusal, by)}`;
}

/**
 * The line for backup `id` when both its files stay (`stays`; `how`: how they came to be
 * stored): it may be whole, which a cleanup leaves alone, so its delete (`by`) removes it,
 * once what stands in the way of either file lets it (the key first: another key then).
 */
export function wholeBackupLine(id: string, how: string, stays: LeftStored[], by: Remover): string {
  const refusals = stays.map((s) => s.refusal);
  const blocking = refusals.find((r) => r.blocker === 'key') ?? refusals.find((r) => r.blocker === 'cap') ?? refusals.find((r) => r.blocker === 'lock') ?? {};
  const until = refusals.find((r) => r.until !== undefined)?.until;
  const refusal = {...blocking, ...(until ? {until} : {})};
  return `backup ${id} may be stored whole (${how}; ${stays.map((s) => `${s.key}: ${s.why}`).join('; ')}): ${whatRemoves(refusal, by)}`;
}
