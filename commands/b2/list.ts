import {LocationCommand} from '../../src/cli/location-command.js';
import {backupSummary, type BackupSummary} from '../../src/backups/display.js';

export default class List extends LocationCommand {
  static override summary = 'List the backups, newest first.';
  static override description =
    'Lists the complete backups under the profile\'s prefix, newest first: those made by this tool and those made by Home Assistant\'s Backblaze B2 integration. A backup under Object Lock shows until when it is locked (LOCKED UNTIL; --json: lockedUntil, lockMode). Files that are not complete backups (a metadata file without its archive, an archive without its metadata file, another tool\'s .metadata.json) are skipped with a warning on stderr.';
  static override examples = ['<%= config.bin %> b2 list', '<%= config.bin %> b2 list --profile home --json'];
  static override enableJsonFlag = true;

  async run(): Promise<BackupSummary[]> {
    const {flags} = await this.parse(List);
    const {backups, now} = await this.withLocation(flags, async ({catalog, backend, profile}, signal) => {
      await this.warnUnfinishedMove(profile, flags.config);
      return {backups: await catalog.list({signal}), now: backend.now()};
    });
    if (!this.jsonEnabled()) {
      // the table's code (string-width) loads only for the table: --json (scripts, the host) never pays for it
      const {renderBackupTable} = await import('../../src/cli/backup-tables.js');
      this.log(renderBackupTable(backups, now));
    }
    return backups.map((b) => backupSummary(b, now));
  }
}
