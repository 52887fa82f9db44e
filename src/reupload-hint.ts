import {commandHint} from './command-hint.js';

/**
 * How a backup goes where no server-side copy can take it (another B2 account or
 * endpoint): downloaded, then uploaded as the same backup, under its name, id and date
 * (`upload --name --id --date`: a plain "upload FILE" would name it "Backup" and make it
 * a new backup with a new id, dated now, which retention would count as the newest); and
 * that its Object Lock is not carried over (a server-side copy keeps it). A Home Assistant
 * archive's backup.json holds the same id and date, which the upload then agrees with.
 * `from` and `to`: the locationFlags of the two locations (`to`: the profile PROFILE when
 * none names the destination yet).
 */
export function reuploadHint(cli: string | undefined, from: string | undefined, to: string | undefined): string {
  return (
    `download the backup and upload it there as the same backup: "${commandHint(cli, 'download ID -o FILE', from)}", then "${commandHint(cli, 'upload FILE --name NAME --id ID --date DATE', to)}" ` +
    `(NAME, ID and DATE: its name, id and date, NAME quoted for the shell; and --meta KEY=VALUE for each entry of its extra_metadata that its archive does not carry: "${commandHint(cli, 'show ID --json', from)}" shows them all; ` +
    `a Home Assistant archive carries its id, date and Home Assistant metadata in its backup.json; ` +
    `an Object Lock on it is not carried over: the upload is locked as the profile it goes to locks uploads)`
  );
}
