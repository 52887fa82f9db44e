import {activeLock} from '../backups/lock.js';
import {LEGAL_HOLD, displayDate, humanSize, lockedText, nameCell} from '../backups/display.js';
import type {BackupInfo} from '../backups/types.js';
import {escapeInvisible} from '../backups/validate.js';
import {table} from '../profiles/display.js';

/** A LOCKED UNTIL column appears when some backup is locked now. */
export function renderBackupTable(backups: BackupInfo[], now: Date = new Date()): string {
  if (backups.length === 0) return 'No backups.';
  const locks = backups.map((b) => activeLock(b, now));
  const withLocks = locks.some(Boolean) || backups.some((b) => b.legalHold);
  const lockCell = (b: BackupInfo, i: number) => [locks[i] ? `${displayDate(locks[i].until)} (${locks[i].mode})` : '', b.legalHold ? 'legal hold' : ''].filter(Boolean).join(', ');
  const row = (b: BackupInfo, i: number) => [b.id, nameCell(b.name), displayDate(b.date), humanSize(b.size), ...(withLocks ? [lockCell(b, i)] : [])];
  return table([['ID', 'NAME', 'DATE', 'SIZE', ...(withLocks ? ['LOCKED UNTIL'] : [])], ...backups.map(row)]);
}

export function renderBackup(b: BackupInfo, now: Date = new Date()): string {
  const m = b.metadata;
  const rows: string[][] = [
    ['id', b.id],
    ['name', nameCell(b.name)],
    ['date', displayDate(b.date)],
    ['size', `${humanSize(b.size)} (${b.size} bytes)`],
    ['sha1', b.sha1 ?? '(not recorded)'],
    ['archive', b.archiveKey],
    ['metadata file', b.metadataKey],
    ['made by', madeBy(b)],
  ];
  const lock = activeLock(b, now);
  if (lock) rows.push(['lock', `${lockedText(lock)}: ${lock.mode === 'compliance' ? 'nobody can delete it before then' : 'only --bypass-governance, with a key that has the bypassGovernance capability, can delete it before then'}`]);
  else if (b.lock) rows.push(['lock', `expired on ${displayDate(b.lock.until)}`]);
  if (b.legalHold) rows.push(['legal hold', LEGAL_HOLD]);
  if (m) {
    rows.push(['protected', m.protected ? 'yes (encrypted by Home Assistant)' : 'no']);
    if (m.homeassistant_included) rows.push(['home assistant', `${m.homeassistant_version ?? 'unknown version'}${m.database_included ? ', with database' : ', without database'}`]);
    if (Array.isArray(m.addons) && m.addons.length > 0) rows.push(['add-ons', m.addons.map((a) => `${a.name} ${a.version}`).join(', ')]);
    if (Array.isArray(m.folders) && m.folders.length > 0) rows.push(['folders', m.folders.join(', ')]);
    for (const [k, v] of Object.entries(m.extra_metadata ?? {})) rows.push([`meta ${k}`, String(v)]);
  }
  return table(rows.map((r) => r.map((cell) => escapeInvisible(cell)))); // most of it comes from a metadata file anyone with a key may write
}

function madeBy(b: BackupInfo): string {
  const createdBy = b.metadata?.created_by;
  if (typeof createdBy === 'string') return createdBy;
  if (b.describedBy === 'archive') return 'backup-plugin-b2';
  return 'Home Assistant (no created_by recorded)';
}
