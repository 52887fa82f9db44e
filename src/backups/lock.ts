import type {ObjectInfo, Retention, RetentionMode, StorageBackend} from '../backend.js';
import {BackupError} from '../errors.js';
import {parseRetentionDuration, type Duration} from './retention.js';
import type {BackupInfo, BackupLock} from './types.js';

/**
 * Object Lock seen from the catalog: a backup is locked while its retention date (by the
 * backend's clock) is ahead. Until then nobody can delete it (compliance), or only a key
 * that may bypass governance and asks to.
 */
export const LOCK_MODES = ['governance', 'compliance'] as const;
export const DEFAULT_LOCK_MODE: RetentionMode = 'governance';
/** B2 keeps retentions of up to 100 years. */
export const MAX_LOCK_DAYS = 36_500;
const DAY_MS = 24 * 60 * 60 * 1000;

/** How long to lock each upload: a whole number of days, or a duration such as 6m or 1y. */
export interface LockSetting {
  mode: RetentionMode;
  days?: number;
  duration?: string;
}

export function activeLock(b: Pick<BackupInfo, 'lock'>, now: Date): BackupLock | undefined {
  return b.lock && Date.parse(b.lock.until) > now.getTime() ? b.lock : undefined;
}

/**
 * Whether B2 would refuse to delete the backup now, as far as the key can see: a legal
 * hold on one of its objects, or a retention ahead of `now` (the backend's clock) that is
 * not a governance one lifted by `bypassGovernance`.
 */
export function deleteRefused(b: Pick<BackupInfo, 'lock' | 'legalHold'>, now: Date, bypassGovernance = false): boolean {
  if (b.legalHold) return true;
  const lock = activeLock(b, now);
  if (!lock) return false;
  if (!bypassGovernance || lock.mode === 'compliance') return true;
  return lock.complianceUntil !== undefined && Date.parse(lock.complianceUntil) > now.getTime();
}

/**
 * The retention that holds at least as long and as firmly as both: the later date, in
 * compliance when either is. One version has one retention, so a backup locked earlier
 * and asked again for another lock is never left weaker than either asked.
 */
export function strongerRetention(a: Retention, b: Retention): Retention {
  const mode: RetentionMode = a.mode === 'compliance' || b.mode === 'compliance' ? 'compliance' : 'governance';
  return {mode, retainUntil: a.retainUntil >= b.retainUntil ? a.retainUntil : b.retainUntil};
}

/** Whether `held` already holds as long and as firmly as `wanted` (setting `wanted` would change nothing B2 enforces). */
export function retentionCovers(held: Retention | undefined, wanted: Retention): boolean {
  return held !== undefined && held.retainUntil >= wanted.retainUntil && (held.mode === 'compliance' || wanted.mode === 'governance');
}

/** A retention as the catalog reports a backup's lock. */
export function lockOfRetention(r: Retention): BackupLock {
  return {mode: r.mode, until: r.retainUntil.toISOString()};
}

/**
 * Sets an object's retention to `retention` unless it already holds as long and as
 * firmly (an upload or copy of a backup already stored, locked as a fresh one would
 * be); the object as it then is.
 */
export async function lengthenRetention(backend: StorageBackend, obj: ObjectInfo, retention: Retention, signal?: AbortSignal): Promise<ObjectInfo> {
  if (!backend.setRetention || !obj.id || retentionCovers(obj.retention, retention)) return obj;
  // never asks B2 for less than the object holds (a later date it has stays)
  const target = obj.retention ? strongerRetention(obj.retention, retention) : retention;
  await backend.setRetention(obj.key, obj.id, target, {signal});
  return {...obj, retention: target};
}

/** Why a lock duration is unusable (not a duration; shorter than a day or longer than B2 keeps), or undefined. */
export function lockDurationProblem(text: string): string | undefined {
  const d = parseRetentionDuration(text);
  if (!d) return 'use a number and a unit y, m, d or h, e.g. 30d or 1y';
  const ms = addDuration(new Date(0), d).getTime();
  if (ms < DAY_MS) return 'a lock lasts at least a day';
  if (ms > MAX_LOCK_DAYS * DAY_MS) return `a lock lasts at most ${MAX_LOCK_DAYS} days`;
  return undefined;
}

/** The retention a lock setting gives an upload made `now` (the backend's clock). */
export function retentionFor(lock: LockSetting, now: Date): Retention {
  const duration = lock.days !== undefined ? {years: 0, months: 0, days: lock.days, hours: 0} : parseRetentionDuration(lock.duration ?? '');
  if (!duration || (lock.days !== undefined && (!Number.isSafeInteger(lock.days) || lock.days < 1 || lock.days > MAX_LOCK_DAYS))) {
    throw new BackupError('bad_input', `a lock of ${lock.days ?? JSON.stringify(lock.duration)}: expected whole days 1..${MAX_LOCK_DAYS} or a duration such as 30d or 1y`);
  }
  return {mode: lock.mode, retainUntil: addDuration(now, duration)};
}

/** Calendar arithmetic in UTC (a month from Jan 31 is Mar 3, as Date normalises). */
function addDuration(t: Date, d: Duration): Date {
  const out = new Date(t.getTime());
  out.setUTCFullYear(out.getUTCFullYear() + d.years, out.getUTCMonth() + d.months, out.getUTCDate() + d.days);
  return new Date(out.getTime() + d.hours * 3_600_000);
}
