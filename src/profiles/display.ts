import type {CheckReport} from '../backend.js';
import {commandHint} from '../command-hint.js';
import stringWidth from 'string-width';
import type {RetentionPolicy} from '../backups/retention.js';
import {escapeInvisible} from '../backups/validate.js';
import {displaySecret} from './secrets.js';
import {notCreatedNote} from './creatable.js';
import {formatSize} from './size.js';
import type {ProfileSource, StoredProfile} from './store.js';
import type {ProfileEntry} from './schema.js';
import {DEFAULT_CONCURRENCY, DEFAULT_ENDPOINT} from './types.js';

/** A profile as `list` and `show` print it (also their --json): the application key redacted. */
export interface ProfileView {
  name: string;
  source: ProfileSource;
  /** The profiles file that holds it; null for the built-in `local`. */
  file: string | null;
  /** Chosen with "b2 profile default NAME". */
  default: boolean;
  keyId: string;
  /** Inline keys redacted; env:NAME and file:PATH as written (they are references, not secrets). */
  applicationKey: string;
  bucket: string;
  prefix: string;
  endpoint: string;
  /** Bytes, or null for the server's recommended size. */
  partSize: number | null;
  concurrency: number;
  /** The `retention:` rules, or null when the profile has none. */
  retention: RetentionPolicy | null;
  /** Bytes per second, only when the profile limits bandwidth. */
  bandwidth?: {upload?: number; download?: number};
  /** Only when the profile asks for server-side encryption. */
  encryption?: string;
  /** Only when the profile locks its uploads (Object Lock). */
  lock?: ProfileEntry['lock'];
  /** SSE-C: env:NAME and file:PATH as written; an inline key is never shown, not even in part. */
  encryptionKey?: string;
}

export function profileView({name, source, entry}: StoredProfile, store: {path: string; defaultProfile?: string}): ProfileView {
  return {
    name,
    source,
    file: source === 'file' ? store.path : null,
    default: store.defaultProfile === name,
    keyId: entry.keyId,
    applicationKey: displaySecret(entry.applicationKey),
    bucket: entry.bucket,
    prefix: entry.prefix ?? '',
    endpoint: entry.endpoint ?? DEFAULT_ENDPOINT,
    partSize: entry.partSize ?? null,
    concurrency: entry.concurrency ?? DEFAULT_CONCURRENCY,
    retention: entry.retention ?? null,
    ...(entry.bandwidth ? {bandwidth: {...entry.bandwidth}} : {}),
    ...(entry.encryption ? {encryption: entry.encryption} : {}),
    ...(entry.lock ? {lock: {...entry.lock}} : {}),
    ...(entry.encryptionKey ? {encryptionKey: displaySecret(entry.encryptionKey)} : {}),
  };
}

/** Said wherever an SSE-C key is set: B2 keeps no copy of it. */
export function customerKeyWarning(profile: string): string {
  return `Warning: profile "${profile}" encrypts backups with SSE-C: B2 keeps no copy of the key. Keep a copy of it somewhere safe (not only on this machine): if it is lost, the backups cannot be restored by anyone.`;
}

export function renderProfile(view: ProfileView): string {
  const rows: Array<[string, string]> = [
    ['name', nameLabel(view)],
    ['file', view.file ?? '(built in)'],
    ['keyId', view.keyId],
    ['applicationKey', view.applicationKey],
    ['bucket', view.bucket],
    ['prefix', view.prefix || '(none)'],
    ['endpoint', view.endpoint],
    ['partSize', view.partSize === null ? '(server recommended)' : formatSize(view.partSize)],
    ['concurrency', String(view.concurrency)],
    ['retention', view.retention ? Object.entries(view.retention).filter(([, v]) => v !== undefined).map(([k, v]) => `${k} ${v}`).join(', ') : '(none: backups are kept until deleted)'],
  ];
  if (view.encryption) rows.push(['encryption', view.encryption]);
  if (view.lock) rows.push(['lock', `${view.lock.days !== undefined ? `${view.lock.days} days` : view.lock.duration} (${view.lock.mode ?? 'governance'}) from each upload`]);
  if (view.encryptionKey) rows.push(['encryptionKey', view.encryptionKey]);
  if (view.bandwidth) rows.push(['bandwidth', (['upload', 'download'] as const).map((way) => `${way} ${view.bandwidth?.[way] ? `${formatSize(view.bandwidth[way])}/s` : 'unlimited'}`).join(', ')]);
  return table(rows);
}

/** The table, then where the file is (it may not exist yet, and may not be creatable: whyNotCreatable). */
export function renderProfileTable(views: ProfileView[], file: {path: string; exists: boolean; whyNotCreatable?: string}, cli: string): string {
  const rows: string[][] = [['NAME', 'BUCKET', 'PREFIX', 'ENDPOINT']];
  for (const v of views) rows.push([nameLabel(v), v.bucket, v.prefix, v.endpoint]);
  return `${table(rows)}\n\nProfiles file: ${file.path}${file.exists ? '' : ` ${notCreatedNote(file.whyNotCreatable, commandHint(cli, 'profile add'))}`}`;
}

function nameLabel(v: ProfileView): string {
  return `${v.name}${v.source === 'builtin' ? ' (built in)' : ''}${v.default ? ' (default)' : ''}`;
}

/** One line per check item: status, title, what was found and, when not ok, the fix. */
export function renderCheckItems(items: CheckReport['items']): string {
  // a message may quote file names found in the bucket
  return table(items.map((i) => [i.status, i.title, escapeInvisible(i.message + (i.status !== 'ok' && i.fix ? `; fix: ${i.fix}` : ''))]));
}

/**
 * Left-aligned columns two spaces apart; the last column is not padded. Widths are
 * terminal columns (string-width), not UTF-16 units: a CJK character takes two, an emoji
 * two, a combining accent none, so names in any script line up.
 */
export function table(rows: string[][]): string {
  if (rows.length === 0) return '';
  const cellWidths = rows.map((r) => r.map(displayWidth));
  const widths = rows[0].map((_, col) => cellWidths.reduce((widest, w) => Math.max(widest, w[col]), 0));
  return rows.map((r, row) => r.map((cell, col) => (col === r.length - 1 ? cell : cell + ' '.repeat(widths[col] - cellWidths[row][col]))).join('  ')).join('\n');
}

/** Printable ASCII is one column a character; only other text needs string-width (slow on 10,000-row listings). */
function displayWidth(cell: string): number {
  return /^[\x20-\x7e]*$/.test(cell) ? cell.length : stringWidth(cell);
}
