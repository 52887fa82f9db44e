import {LocationCommand} from '../../src/cli/location-command.js';
import {assertBackupId} from '../../src/backups/index.js';
import {backupIdArg} from '../../src/backups/command-args.js';
import {backupSummary} from '../../src/backups/display.js';
import {renderBackup} from '../../src/cli/backup-tables.js';
import type {BackupInfo} from '../../src/backups/index.js';
import type {BackupSummary} from '../../src/backups/display.js';

/** A backup as every command prints it (sha1 null when none is on record), with what only show reads: its metadata, and B2's retention as reported (past dates too). */
type ShowView = BackupSummary & Pick<BackupInfo, 'metadata' | 'lock'>;

export default class Show extends LocationCommand {
  static override summary = 'Show one backup with everything its metadata file records.';
  static override description =
    'Prints a backup\'s name, date, size, SHA1, object names, who made it and, for Home Assistant backups, the Home Assistant version, add-ons, folders and whether it is password-protected, and until when it is locked (B2 Object Lock). Exits 4 when there is no backup with that id.';
  static override examples = ['<%= config.bin %> b2 show 1a2b3c4d', '<%= config.bin %> b2 show 1a2b3c4d --json'];
  static override enableJsonFlag = true;
  static override args = {id: backupIdArg};

  async run(): Promise<ShowView> {
    const {args, flags} = await this.parse(Show);
    assertBackupId(args.id); // before connecting: a bad id costs nothing
    const {backup, now} = await this.withLocation(flags, async ({catalog, backend, profile}, signal) => {
      await this.warnUnfinishedMove(profile, flags.config);
      return {backup: await catalog.show(args.id, {signal}), now: backend.now()};
    });
    this.log(renderBackup(backup, now));
    const {metadata, lock} = backup;
    return {...backupSummary(backup, now), ...(metadata ? {metadata} : {}), ...(lock ? {lock} : {})};
  }
}
