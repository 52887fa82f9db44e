import {table} from '../profiles/display.js';
import {activeLock} from './lock.js';
import type {BackupInfo, BackupLock, VerifyResult} from './types.js';
import {escapeInvisible} from './validate.js';

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
}

/** `now`: the backend's clock, which decides whether a lock still holds. */
export function backupSummary(b: BackupInfo, now: Date = new Date()): BackupSummary {
  const lock = activeLock(b, now);
  return {id: b.id, name: b.name, date: b.date, size: b.size, sha1: b.sha1 ?? null, archiveKey: b.archiveKey, metadataKey: b.metadataKey, describedBy: b.describedBy, lockedUntil: lock?.until ?? null, lockMode: lock?.mode ?? null};
}

/** "locked (governance) until 2026-12-07 08:20:00 +00:00" */
export function lockedText(lock: BackupLock): string {
  return `locked (${lock.mode}) until ${displayDate(lock.until)}`;
}

const UNITS = ['KiB', 'MiB', 'GiB', 'TiB'];

/** Sizes for people: "512 B", "1.5 KiB", "39.1 MiB" (the exact byte count is in --json). */
export function humanSize(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  let value = bytes;
  let unit = 'B';
  for (const u of UNITS) {
    if (value < 1024) break;
    value /= 1024;
    unit = u;
  }
  return `${value >= 100 ? value.toFixed(0) : value.toFixed(1)} ${unit}`;
}

/** "2026-04-08 04:57:43 +02:00": the recorded wall clock and offset, without the fraction. */
export function displayDate(iso: string): string {
  const m = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}:\d{2})(?:\.\d+)?(Z|[+-]\d{2}:\d{2})?$/.exec(iso);
  if (!m) return iso;
  return `${m[1]} ${m[2]} ${m[3] === 'Z' || m[3] === undefined ? '+00:00' : m[3]}`;
}

/** A LOCKED UNTIL column appears when some backup is locked now. */
export function renderBackupTable(backups: BackupInfo[], now: Date = new Date()): string {
  if (backups.length === 0) return 'No backups.';
  const locks = backups.map((b) => activeLock(b, now));
  const withLocks = locks.some(Boolean);
  const row = (b: BackupInfo, i: number) => [b.id, escapeInvisible(b.name), displayDate(b.date), humanSize(b.size), ...(withLocks ? [locks[i] ? `${displayDate(locks[i].until)} (${locks[i].mode})` : ''] : [])];
  return table([['ID', 'NAME', 'DATE', 'SIZE', ...(withLocks ? ['LOCKED UNTIL'] : [])], ...backups.map(row)]);
}

export function renderBackup(b: BackupInfo, now: Date = new Date()): string {
  const m = b.metadata;
  const rows: string[][] = [
    ['id', b.id],
    ['name', escapeInvisible(b.name)],
    ['date', displayDate(b.date)],
    ['size', `${humanSize(b.size)} (${b.size} bytes)`],
    ['sha1', b.sha1 ?? '(not recorded)'],
    ['archive', b.archiveKey],
    ['metadata file', b.metadataKey],
    ['made by', madeBy(b)],
  ];
  const lock = activeLock(b, now);
  if (lock) rows.push(['lock', `${lockedText(lock)}: ${lock.mode === 'compliance' ? 'nobody can delete it before then' : 'only --bypass-governance with a key that may can delete it before then'}`]);
  else if (b.lock) rows.push(['lock', `expired on ${displayDate(b.lock.until)}`]);
  if (m) {
    rows.push(['protected', m.protected ? 'yes (encrypted by Home Assistant)' : 'no']);
    if (m.homeassistant_included) rows.push(['home assistant', `${m.homeassistant_version ?? 'unknown version'}${m.database_included ? ', with database' : ', without database'}`]);
    if (Array.isArray(m.addons) && m.addons.length > 0) rows.push(['add-ons', m.addons.map((a) => `${a.name} ${a.version}`).join(', ')]);
    if (Array.isArray(m.folders) && m.folders.length > 0) rows.push(['folders', m.folders.join(', ')]);
    for (const [k, v] of Object.entries(m.extra_metadata ?? {})) rows.push([`meta ${k}`, String(v)]);
  }
  return table(rows);
}

function madeBy(b: BackupInfo): string {
  const createdBy = b.metadata?.created_by;
  if (typeof createdBy === 'string') return createdBy;
  if (b.describedBy === 'archive') return 'backup-plugin-b2';
  return 'Home Assistant (no created_by recorded)';
}

export function renderVerifyResult(r: VerifyResult): string {
  const what = `backup ${r.info.id} (${escapeInvisible(r.info.name)}), ${humanSize(r.size)}`;
  if (!r.ok) return `FAILED ${what}: ${r.size !== r.expectedSize ? `read ${r.size} bytes, expected ${r.expectedSize}` : `SHA1 ${r.sha1}, expected ${r.expectedSha1}`}`;
  if (!r.expectedSha1) return `OK ${what}: size matches; no checksum was recorded for this archive, its SHA1 is ${r.sha1}`;
  return `OK ${what}: size and SHA1 ${r.sha1} match`;
}
