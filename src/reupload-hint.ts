import {commandHint, fileWord, shellWord} from './command-hint.js';
import {BackupError} from './errors.js';

/** The backup a reupload hint is for, when the caller knows it: its values replace the placeholders. */
export interface ReuploadOf {
  id: string;
  name: string;
  /** Its date as `upload --date` takes it: with an offset (dateWithOffset in src/backups/backup-date.ts). */
  date: string;
  /** Its archive's file name, which the download writes and the upload reads. */
  archiveKey: string;
}

/**
 * How a backup goes where no server-side copy can take it (another B2 account or
 * endpoint): downloaded, then uploaded as the same backup, under its name, id and date
 * (`upload --name --id --date`: a plain "upload FILE" would name it "Backup" and make it
 * a new backup with a new id, dated now, which retention would count as the newest); and
 * that its Object Lock is not carried over (a server-side copy keeps it). A Home Assistant
 * archive's backup.json holds the same id and date, which the upload then agrees with.
 * `from` and `to`: the locationFlags of the two locations (`to`: the profile PROFILE when
 * none names the destination yet). With `backup`, its values quoted for the shell, so
 * that the commands run as printed; without, the placeholders ID, NAME, DATE and FILE.
 */
export function reuploadHint(cli: string | undefined, from: string | undefined, to: string | undefined, backup?: ReuploadOf): string {
  const id = backup ? shellWord(backup.id) : 'ID';
  const file = backup ? fileWord(backup.archiveKey) : 'FILE';
  // a backup without a name is a Home Assistant one made without it: its backup.json says so
  const name = !backup ? ' --name NAME' : backup.name === '' ? '' : ` --name ${shellWord(backup.name)}`;
  const date = backup ? shellWord(backup.date) : 'DATE';
  const placeholders = backup ? '' : 'NAME, ID and DATE: its name, id and date, NAME quoted for the shell, DATE with an offset; and ';
  return (
    `download the backup and upload it there as the same backup: "${commandHint(cli, `download ${id} -o ${file}`, from)}", then "${commandHint(cli, `upload ${file}${name} --id ${id} --date ${date}`, to)}" ` +
    `(${placeholders}--meta KEY=VALUE for each entry of its extra_metadata that its archive does not carry: "${commandHint(cli, `show ${id} --json`, from)}" shows them all; ` +
    `a Home Assistant archive carries its id, date and Home Assistant metadata in its backup.json; ` +
    `an Object Lock on it is not carried over: the upload is locked as the profile it goes to locks uploads)`
  );
}

/**
 * A copy refused because no server-side copy can go there (the backend's copyBarrier),
 * raised where only the file is known: `of` says it again with the advice filled in for
 * the backup, where the caller knows it.
 */
export class CopyBarrierError extends BackupError {
  constructor(
    private readonly reason: string,
    private readonly advice: (backup?: ReuploadOf) => string,
  ) {
    super('bad_input', copyBarrierLine(reason, advice()));
  }

  of(backup: ReuploadOf): BackupError {
    return new BackupError('bad_input', copyBarrierLine(this.reason, this.advice(backup)), {cause: this});
  }
}

function copyBarrierLine(reason: string, advice: string): string {
  return `${reason}; nothing was copied; ${advice}`;
}
