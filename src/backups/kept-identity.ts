import {BackupError} from '../errors.js';
import {isBackupDate, sameInstant} from './backup-date.js';
import type {HaBackupDescription} from './ha-backup-json.js';
import {newBackupIdProblem} from './resolve-id.js';
import {typedValue} from './validate.js';

/**
 * The id and date an upload is asked to give the backup (`upload --id --date`): those it
 * had where it was downloaded from, so that a backup moved by hand to another account
 * keeps what it was (scripts know it by its id, retention counts it by its date).
 */
export interface KeptIdentity {
  id?: string;
  date?: string;
}

/** Where they are copied from, in a fix hint. */
const AS_SHOWN = 'as "show ID --json" prints it where the backup was';

/** Refuses (bad_input) an id or date no backup can have: as a Home Assistant archive's own are checked. */
export function assertKeptIdentity(asked: KeptIdentity): void {
  const idProblem = asked.id === undefined ? undefined : newBackupIdProblem(asked.id);
  if (idProblem) throw new BackupError('bad_input', `invalid --id ${typedValue(asked.id as string)}: a backup id ${idProblem}; give the backup's own id, ${AS_SHOWN}`);
  if (asked.date !== undefined && !isBackupDate(asked.date)) {
    throw new BackupError('bad_input', `invalid --date ${typedValue(asked.date)}: not an ISO 8601 date and time with an offset (e.g. 2026-04-08T04:57:43.001930+00:00); give the backup's own date, ${AS_SHOWN}`);
  }
}

/**
 * Refuses (bad_input) an id or date that contradicts the Home Assistant archive's own (its
 * backup.json): the metadata file would say one thing and the archive another, and Home
 * Assistant reads the archive's. The same ones (a date written with another offset too) are fine.
 */
export function assertArchiveAgrees(ha: HaBackupDescription, asked: KeptIdentity): void {
  if (asked.id !== undefined && asked.id !== ha.backup_id) {
    throw new BackupError('bad_input', `--id ${asked.id} contradicts the Home Assistant archive, whose backup.json gives it the id ${ha.backup_id}: it keeps its own; leave out --id`);
  }
  if (asked.date !== undefined && !sameInstant(asked.date, ha.date)) {
    throw new BackupError('bad_input', `--date ${asked.date} contradicts the Home Assistant archive, whose backup.json dates it ${ha.date}: it keeps its own; leave out --date`);
  }
}

/** Whether a backup (or an interrupted upload's record) has what is asked: one that has another id or date is another backup. */
export function hasKeptIdentity(found: {id: string; date: string}, asked: KeptIdentity): boolean {
  return (asked.id === undefined || found.id === asked.id) && (asked.date === undefined || sameInstant(found.date, asked.date));
}
