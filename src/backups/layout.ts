/**
 * The bucket layout shared with Home Assistant's Backblaze B2 integration:
 * `<base>.tar` (the archive) beside `<base>.metadata.json` (the sidecar), where
 * `<base>` is what HA's `suggested_filename` makes of the backup's name and date.
 */
export const ARCHIVE_SUFFIX = '.tar';
export const METADATA_SUFFIX = '.metadata.json';

export function archiveKeyOf(base: string): string {
  return base + ARCHIVE_SUFFIX;
}

export function metadataKeyOf(base: string): string {
  return base + METADATA_SUFFIX;
}

/** Both halves of a backup are top-level names of the root, as HA lists them (non-recursive). */
export function baseOf(key: string, suffix: string): string | undefined {
  if (!key.endsWith(suffix) || key.includes('/')) return undefined;
  const base = key.slice(0, -suffix.length);
  return base.length > 0 ? base : undefined;
}

/** Seconds are optional, as HA's parse_datetime reads a date (backup.json's) without them: then 00. */
const ISO_PARTS = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?/;

/**
 * HA's suggested_filename without the `.tar`: the name and the date's own wall-clock time
 * formatted `%Y-%m-%d %H.%M %S%f`, split on whitespace and joined with "_", e.g.
 * "Automatic backup 2026.4.1" at 2026-04-08T04:57:43.001930+02:00 →
 * `Automatic_backup_2026.4.1_2026-04-08_04.57_43001930`.
 */
export function suggestedBaseName(name: string, isoDate: string): string {
  const m = ISO_PARTS.exec(isoDate);
  if (!m) throw new Error(`not an ISO 8601 date: ${isoDate}`);
  const [, y, mo, d, h, mi, s = '00', frac = ''] = m;
  const micros = frac.slice(0, 6).padEnd(6, '0');
  return `${name} ${y}-${mo}-${d} ${h}.${mi} ${s}${micros}`.split(/\s+/u).filter(Boolean).join('_');
}

/**
 * The base name for a new backup: HA's suggestion with characters that are unsafe in
 * file names on common systems replaced (names are validated before this already;
 * this is defence in depth for anyone syncing the bucket to a disk).
 */
export function safeBaseName(name: string, isoDate: string): string {
  // eslint-disable-next-line no-control-regex
  return suggestedBaseName(name, isoDate).replace(/[\u0000-\u001f\u007f/\\<>:"|?*]/g, '_');
}

/**
 * The base name for a new backup whose safeBaseName another backup has: the id as one more
 * word of the name, before the date (`<name>_<id>_<date>`), never after it. HA pairs a
 * metadata file with the first archive whose name starts with its base
 * (_find_backup_file_for_metadata): beside `<base>.tar`, an archive `<base>_<id>.tar`
 * would be the other backup's archive to HA whenever `<base>.tar` is missing (HA deletes
 * the archive first; an interrupted delete leaves the metadata file), and HA would
 * restore or delete this backup's archive as that one.
 */
export function clashBaseName(name: string, isoDate: string, id: string): string {
  return safeBaseName(`${name} ${id}`, isoDate);
}

/** ISO 8601 with microseconds and an explicit offset, as Python's isoformat() writes HA's dates. */
export function isoDateWithOffset(date: Date): string {
  const micros = String(date.getUTCMilliseconds() * 1000).padStart(6, '0');
  return `${date.toISOString().slice(0, 19)}.${micros}+00:00`;
}
