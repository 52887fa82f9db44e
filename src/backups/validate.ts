import {randomBytes} from 'node:crypto';
import {BackupError} from '../errors.js';
import {quoteValue, shownValue} from '../redact.js';

/**
 * Ids and names never become object keys on their own (keys come from listings and from
 * the sanitised base name), but they are checked anyway so that nothing a user types or
 * a foreign metadata file says can point at a name outside the backend's root.
 */

/** Home Assistant ids are 8 hex digits; other tools' slugs stay within these characters. */
const ID_PATTERN = /^[0-9A-Za-z][0-9A-Za-z_.-]{0,63}$/;
/** Leaves room for the date, the id and the suffix within B2's 1,024-byte names and 7,000-byte headers. */
export const MAX_BACKUP_NAME_BYTES = 255;
const USER_META_KEY = /^[A-Za-z][A-Za-z0-9_.-]{0,63}$/;
const MAX_USER_META_VALUE = 1024;
const MAX_USER_META_ENTRIES = 64;
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
/**
 * Characters that change how a name looks without being seen: text-direction controls
 * (U+202E turns "rab.exe" into "exe.bar"), zero-width and other format characters, line
 * and paragraph separators. Allowed: the joiners that emoji and some scripts need
 * (U+200C, U+200D) and emoji tag characters (flags such as England's).
 */
const INVISIBLE = /[\p{Cf}\p{Zl}\p{Zp}\u115f\u1160\u3164\uffa0]/gu;
const ALLOWED_FORMAT = (cp: number) => cp === 0x200c || cp === 0x200d || (cp >= 0xe0020 && cp <= 0xe007f);

function isInvisible(ch: string): boolean {
  return !ALLOWED_FORMAT(ch.codePointAt(0) as number);
}

/** The first invisible or text-direction character in text, if any. */
function firstInvisible(text: string): string | undefined {
  return [...text.matchAll(INVISIBLE)].map((m) => m[0]).find(isInvisible);
}

/**
 * How many random bytes a fresh id has. Home Assistant's own ids are 8 hex digits (4 bytes),
 * but nothing checks a generated id against the location (that would cost a listing per
 * upload), and two backups with one id hide each other: 4 bytes collide with a chance of
 * about n²/2³³ (1% in a year of hourly backups), 6 bytes with n²/2⁴⁹ (about 1 in 10⁷ at 10,000).
 */
const NEW_ID_BYTES = 6;

/** A fresh id: 12 lowercase hex digits (typed as a unique prefix, like a git commit). */
export function newBackupId(): string {
  return randomBytes(NEW_ID_BYTES).toString('hex');
}

export function backupIdProblem(id: unknown): string | undefined {
  if (typeof id !== 'string') return 'is not a string';
  if (!ID_PATTERN.test(id)) return 'must be 1-64 letters, digits, "_", "." or "-", starting with a letter or digit';
  return undefined;
}

export function assertBackupId(id: string): void {
  const problem = backupIdProblem(id);
  if (problem) throw new BackupError('bad_input', `invalid backup id ${quoteValue(id)}: ${problem}; use an id that "list" prints`);
}

export function backupNameProblem(name: string): string | undefined {
  if (name.trim().length === 0) return 'is empty';
  if (Buffer.byteLength(name, 'utf8') > MAX_BACKUP_NAME_BYTES) return `is longer than ${MAX_BACKUP_NAME_BYTES} bytes of UTF-8`;
  const unseen = unseenCharacterProblem(name);
  if (unseen) return unseen;
  if (/[/\\]/.test(name)) return 'contains "/" or "\\"';
  if (/^[.\s]+$/.test(name)) return 'consists only of dots';
  if (Buffer.from(name, 'utf8').toString('utf8') !== name) return 'is not valid UTF-8';
  return undefined;
}

/**
 * A control, invisible or text-direction character in text that is shown as a name (a
 * backup name, a profile's prefix): what would make it print as something else.
 */
export function unseenCharacterProblem(text: string): string | undefined {
  const control = CONTROL.exec(text);
  if (control) return `contains a control character (${codePoint(control[0])})`;
  const invisible = firstInvisible(text);
  if (invisible) return `contains ${codePoint(invisible)}, an invisible or text-direction control character (listings would show a different name)`;
  return undefined;
}

export function assertBackupName(name: string): void {
  const problem = backupNameProblem(name);
  if (problem) throw new BackupError('bad_input', `invalid backup name ${typedValue(name)}: ${problem}; pick a plain name such as "Nightly backup"`);
}

/** "U+202E" */
function codePoint(ch: string): string {
  return `U+${(ch.codePointAt(0) as number).toString(16).toUpperCase().padStart(4, '0')}`;
}

/**
 * Text with every control or invisible character written as \u{…}, so that it cannot
 * reorder or hide part of the line it is printed on (names in metadata files written by
 * other tools are not validated by us).
 */
export function escapeInvisible(text: string): string {
  return replaceInvisible(text, (ch) => `\\u{${(ch.codePointAt(0) as number).toString(16)}}`);
}

/** Every control or invisible character of text replaced by what `escape` makes of it (JSON output writes \uXXXX). */
export function replaceInvisible(text: string, escape: (ch: string) => string): string {
  return text.replace(new RegExp(CONTROL.source, 'g'), escape).replace(INVISIBLE, (ch) => (isInvisible(ch) ? escape(ch) : ch));
}

/** A value the user typed, quoted for a message as shownValue does (a key not at all), its invisible characters escaped. */
export function typedValue(value: string): string {
  return escapeInvisible(shownValue(value));
}

/** A name quoted (and shortened when long) for a message, its invisible characters escaped. */
export function visible(name: string): string {
  return escapeInvisible(quoteValue(name));
}

/**
 * A file name quoted whole for a listing of what would be written or removed: names are
 * ours and bounded, and shortening them would make an archive and its metadata file read
 * the same (invisible characters escaped).
 */
export function visibleFileName(key: string): string {
  return escapeInvisible(JSON.stringify(key));
}

/** User --meta entries go into extra_metadata of the metadata file (never into object info: B2 allows 10 keys). */
export function assertUserMetadata(meta: Record<string, string>): void {
  const entries = Object.entries(meta);
  if (entries.length > MAX_USER_META_ENTRIES) {
    throw new BackupError('bad_input', `too many metadata entries (${entries.length}); at most ${MAX_USER_META_ENTRIES} are allowed`);
  }
  for (const [key, value] of entries) {
    assertUserMetadataKey(key);
    if (typeof value !== 'string' || value.length > MAX_USER_META_VALUE || CONTROL.test(value)) {
      throw new BackupError('bad_input', `invalid value for metadata key ${key}: use at most ${MAX_USER_META_VALUE} characters and no control characters`);
    }
  }
}

/**
 * One --meta key. Checked before it goes into an object too: assigned to a plain object,
 * "__proto__" sets the prototype instead of adding an entry, and would vanish unchecked.
 */
export function assertUserMetadataKey(key: string): void {
  if (!USER_META_KEY.test(key)) {
    throw new BackupError('bad_input', `invalid metadata key ${quoteValue(key)}: use 1-64 letters, digits, "_", "." or "-", starting with a letter`);
  }
  const reserved = haReadsKey(key);
  if (reserved) throw new BackupError('bad_input', `metadata key ${key} is Home Assistant's own: ${reserved}; use a key of your own`);
}

/**
 * The extra_metadata keys Home Assistant reads with a meaning of its own (backup/manager.py,
 * hassio/backup.py, the frontend), and why one set by --meta, always text, would mislead it.
 */
const HA_KEYS: Record<string, string> = {
  with_automatic_settings: 'its retention reads it as true or false to choose the backups it may delete, and --meta stores text ("false" would read as true)',
  instance_id: 'it tells the backups Home Assistant made itself (which its retention may delete) from others',
};
/** The Supervisor's keys: supervisor.backup_request_date (read as the backup's date), supervisor.addon_update (an app update's backup)… */
const SUPERVISOR_KEYS = 'supervisor.';

function haReadsKey(key: string): string | undefined {
  if (Object.hasOwn(HA_KEYS, key)) return HA_KEYS[key];
  if (key.startsWith(SUPERVISOR_KEYS)) return 'the Supervisor\'s keys ("supervisor.…") tell Home Assistant a backup\'s date and kind';
  return undefined;
}
