import {commandHint} from '../command-hint.js';
import {BackupError} from '../errors.js';
import {holdsKeyShaped, shownValue} from '../redact.js';
import {nameAndDate} from './display.js';
import {backupIdProblem} from './validate.js';
import type {BackupInfo} from './types.js';

/** The reference that names the newest backup, wherever an id is accepted. */
export const LATEST = 'latest';
/** The words a reference means by themselves: never a new backup's id. */
const KEYWORDS: ReadonlySet<string> = new Set([LATEST]);

/** Why `id` cannot be a new backup's id although it is well formed: it is a keyword. */
export function reservedIdProblem(id: string): string | undefined {
  return KEYWORDS.has(id) ? `is "${id}", the word that always names the newest backup` : undefined;
}

/** Why `id` cannot be a new backup's id (one a Home Assistant archive or `upload --id` gives), or undefined. */
export function newBackupIdProblem(id: string): string | undefined {
  return backupIdProblem(id) ?? reservedIdProblem(id);
}

/** How many ambiguous candidates an error lists before it says "and N more". */
const MAX_CANDIDATES_SHOWN = 10;

/**
 * The one place a user's backup reference becomes a backup, as git resolves commits:
 * `latest` is always the newest (a stored backup whose id is the word, which anyone who
 * can write to the bucket could plant, is reached by a prefix of it, e.g. `lates`), then
 * an exact id wins, then a unique prefix of an id. An ambiguous prefix is bad input
 * (exit 2) naming the candidates; no match is not_found. `backups` come newest first,
 * as the catalog lists them; `at.where` names their location, `at.hint` writes the
 * command a fix hint names (commandHint).
 */
export function resolveBackupRef<T extends {info: Pick<BackupInfo, 'id' | 'name' | 'date'>}>(backups: readonly T[], ref: string, at: {where?: string; hint?: (words: string) => string} = {}): T {
  const where = at.where ?? 'this location';
  if (ref === LATEST) {
    if (backups.length === 0) throw new BackupError('not_found', `there are no backups in ${where}, so none is "latest"; upload one first`);
    return backups[0];
  }
  const exact = backups.find((b) => b.info.id === ref);
  if (exact) return exact;
  const matches = backups.filter((b) => b.info.id.startsWith(ref));
  if (matches.length === 1) return matches[0];
  if (matches.length === 0) {
    throw new BackupError('not_found', `no backup with id ${holdsKeyShaped(ref) ? shownValue(ref) : ref} in ${where}; ${namedHint(backups, ref) ?? `run "${at.hint?.('list') ?? commandHint(undefined, 'list')}" to see their ids`}`);
  }
  const shown = matches.slice(0, MAX_CANDIDATES_SHOWN).map((b) => `${b.info.id} ${nameAndDate(b.info.name, b.info.date)}`);
  const more = matches.length > shown.length ? ` and ${matches.length - shown.length} more` : '';
  throw new BackupError('bad_input', `backup id prefix ${ref} is ambiguous: it matches ${shown.join(', ')}${more}; give more of the id`);
}

/** A backup's name typed where its id goes (a common slip): which backups it names, by id. */
function namedHint(backups: readonly {info: Pick<BackupInfo, 'id' | 'name'>}[], ref: string): string | undefined {
  const named = backups.filter((b) => b.info.name === ref);
  if (named.length === 0) return undefined;
  const ids = named.slice(0, MAX_CANDIDATES_SHOWN).map((b) => b.info.id).join(', ');
  const more = named.length > MAX_CANDIDATES_SHOWN ? ` and ${named.length - MAX_CANDIDATES_SHOWN} more` : '';
  return named.length === 1 ? `${shownValue(ref)} is the name of backup ${ids}: give its id` : `${shownValue(ref)} is the name of ${named.length} backups (${ids}${more}, newest first): give the id of one`;
}
