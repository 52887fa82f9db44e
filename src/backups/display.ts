// A backup in words and numbers for every command's output. The tables of `list` and
// `show` are in src/cli/backup-tables.ts: measuring their columns needs string-width,
// which no other command should pay to load.
import {activeLock} from './lock.js';
import type {BackupInfo, BackupLock, DownloadedFile, VerifyResult} from './types.js';
import {escapeInvisible, visible} from './validate.js';

/** A backup as `list --json` prints it: the summary, without the metadata file's contents. */
export interface BackupSummary {
  id: string;
  name: string;
  date: string;
  size: number;
  sha1: string | null;
  archiveKey: string;
  metadataKey: string;
  describedBy: BackupInfo['describedBy'];
  /** Object Lock: until when it cannot be deleted (ISO, UTC), and how; null when it is not locked now (or the key may not see it). */
  lockedUntil: string | null;
  lockMode: BackupLock['mode'] | null;
  /** Present (true) only while one of its files is under a legal hold: nobody can delete it until the hold is removed. */
  legalHold?: true;
}

/** `now`: the backend's clock, which decides whether a lock still holds. */
export function backupSummary(b: BackupInfo, now: Date = new Date()): BackupSummary {
  const lock = activeLock(b, now);
  return {id: b.id, name: b.name, date: b.date, size: b.size, sha1: b.sha1 ?? null, archiveKey: b.archiveKey, metadataKey: b.metadataKey, describedBy: b.describedBy, lockedUntil: lock?.until ?? null, lockMode: lock?.mode ?? null, ...(b.legalHold ? {legalHold: true} : {})};
}

/** Why a backup under a legal hold is kept, in every command's words. */
export const LEGAL_HOLD = 'under a legal hold: nobody can delete it until the hold is removed';

/** "locked (governance) until 2026-12-07 08:20:00 +00:00" */
export function lockedText(lock: BackupLock): string {
  return `locked (${lock.mode}) until ${displayDate(lock.until)}`;
}

const UNITS = ['KiB', 'MiB', 'GiB', 'TiB'];

/** Sizes for people: "512 B", "1.5 KiB", "39.1 MiB" (the exact byte count is in --json). */
export function humanSize(bytes: number): string {
  const whole = Math.round(bytes); // a rate is fractional: "896 B", not "896.0350013672409 B"
  if (whole < 1024) return `${whole} B`;
  let value = whole;
  let unit = 'B';
  for (const u of UNITS) {
    if (value < 1024) break;
    value /= 1024;
    unit = u;
  }
  return `${value >= 100 ? value.toFixed(0) : value.toFixed(1)} ${unit}`;
}

/**
 * Two sizes a message compares ("X of Y"): humanSize each, or exact bytes when they differ
 * but would read the same ("21.9 MiB of 21.9 MiB" says nothing of a stream cut 10 KiB short).
 */
export function comparedSizes(a: number, b: number): [string, string] {
  const [ta, tb] = [humanSize(a), humanSize(b)];
  return ta === tb && Math.round(a) !== Math.round(b) ? [`${Math.round(a)} bytes`, `${Math.round(b)} bytes`] : [ta, tb];
}

/** "2026-04-08 04:57:43 +02:00": the recorded wall clock and offset, without the fraction. */
export function displayDate(iso: string): string {
  const m = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}:\d{2})(?:\.\d+)?(Z|[+-]\d{2}:\d{2})?$/.exec(iso);
  if (!m) return escapeInvisible(iso); // a date no tool we know writes: whatever the metadata file says
  return `${m[1]} ${m[2]} ${m[3] === 'Z' || m[3] === undefined ? '+00:00' : m[3]}`;
}

/**
 * A backup's name in a line: quoted; an empty one (a Home Assistant backup made without a
 * name, which HA's integration stores as it is) as "(no name)", with its date where the
 * line gives none (HA names its files by the date alone).
 */
export function shownName(name: string, date?: string): string {
  if (name !== '') return visible(name);
  return date === undefined ? '(no name)' : nameAndDate(name, date);
}

/** Why a backup's own date (a Home Assistant archive's, or one another tool wrote) may be after now. */
export const WRONG_CLOCK = 'is the clock of the device that made it wrong?';

/**
 * A backup dated after now (datedAfterNow) in words: what retention does with it, and
 * `why` its date may be wrong (a device's clock, a mistyped --date).
 */
export function datedAfterNowText(b: {id: string; name: string; date: string}, why: string): string {
  return `backup ${b.id} ${shownName(b.name)} is dated ${displayDate(b.date)}, after now by B2's clock: it is kept and not counted by the retention rules (${why})`;
}

/** `("Nightly", 2026-04-08 04:57:43 +02:00)`, or `(no name, 2026-04-08 04:57:43 +02:00)`. */
export function nameAndDate(name: string, date: string): string {
  return `(${name === '' ? 'no name' : visible(name)}, ${displayDate(date)})`;
}

/** A backup's name in a table cell: as it is, or "(no name)" for an empty one (see shownName). */
export function nameCell(name: string): string {
  return name === '' ? '(no name)' : escapeInvisible(name);
}

/** An archive checked without a SHA1 on record (only its size could be compared), in the same words for verify and download. */
const NO_CHECKSUM = 'no checksum was recorded for this archive, its SHA1 is';
/** The same when one was recorded, in the metadata file that cannot be read. */
export const UNREAD_CHECKSUM = 'its SHA1 was recorded in its metadata file, which cannot be read';

export function renderVerifyResult(r: VerifyResult): string {
  const named = r.info.name === '' ? nameAndDate('', r.info.date) : `(${escapeInvisible(r.info.name)})`;
  const what = `backup ${r.info.id} ${named}, ${humanSize(r.size)}`;
  if (!r.ok) return `FAILED ${what}: ${failedBecause(r)}`;
  if (!r.expectedSha1) return `OK ${what}: size matches; ${NO_CHECKSUM} ${r.sha1}`;
  return `OK ${what}: size and SHA1 ${r.sha1} match`;
}

/** Why a verification failed: the records disagree, or the bytes are not what was recorded, or no record can be read. */
function failedBecause(r: VerifyResult): string {
  if (r.disagrees) return r.disagrees;
  if (r.size !== r.expectedSize) return `read ${r.size} bytes, expected ${r.expectedSize}`;
  return r.sha1Unread ? `${UNREAD_CHECKSUM}; its SHA1 is ${r.sha1}` : `SHA1 ${r.sha1}, expected ${r.expectedSha1}`;
}

/** "Downloaded backup "x" to r.tar (1.5 MiB, sha1 … verified)": "verified" only when a SHA1 on record was compared. */
export function renderDownloaded(d: DownloadedFile): string {
  const checked = d.expectedSha1 ? `sha1 ${d.sha1} verified` : `size checked; ${d.sha1Unread ? `${UNREAD_CHECKSUM}; its SHA1 is` : NO_CHECKSUM} ${d.sha1}`;
  return `Downloaded backup ${shownName(d.info.name, d.info.date)} to ${escapeInvisible(d.path)} (${humanSize(d.size)}, ${checked})`;
}
