import {commandHint} from './command-hint.js';

/**
 * How a backup goes where no server-side copy can take it (another B2 account or
 * endpoint): downloaded, then uploaded under its own name. A plain "upload FILE" would
 * name it "Backup"; only a Home Assistant archive dates and describes itself again (its
 * backup.json), so any other is told that it becomes a new backup, dated now; and that
 * its Object Lock is not carried over (a server-side copy keeps it).
 * `from` and `to`: the locationFlags of the two locations (`to`: the profile PROFILE when
 * none names the destination yet).
 */
export function reuploadHint(cli: string | undefined, from: string | undefined, to: string | undefined): string {
  return (
    `download the backup and upload it there under its name: "${commandHint(cli, 'download ID -o FILE', from)}", then "${commandHint(cli, 'upload FILE --name NAME', to)}" ` +
    `(NAME: its name, quoted for the shell; and --meta KEY=VALUE for each entry of its extra_metadata that its archive does not carry: "${commandHint(cli, 'show ID --json', from)}" shows both; ` +
    `a Home Assistant archive carries its id, date and Home Assistant metadata in its backup.json, any other becomes a new backup with a new id, dated now; ` +
    `an Object Lock on it is not carried over: the upload is locked as the profile it goes to locks uploads)`
  );
}
