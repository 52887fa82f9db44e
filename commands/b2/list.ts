import {BaseCommand, profileFlag} from '../../src/cli/base-command.js';
import {openLocation} from '../../src/cli/open-backend.js';
import {backupSummary, renderBackupTable, type BackupSummary} from '../../src/backups/display.js';

export default class List extends BaseCommand {
  static override summary = 'List the backups, newest first.';
  static override description =
    'Lists the complete backups under the profile\'s prefix, newest first: those made by this tool and those made by Home Assistant\'s Backblaze B2 integration. Files that are not complete backups (a metadata file without its archive, an archive without its metadata file, another tool\'s .metadata.json) are skipped with a warning on stderr.';
  static override examples = ['<%= config.bin %> b2 list', '<%= config.bin %> b2 list --profile home --json'];
  static override enableJsonFlag = true;
  static override flags = {profile: profileFlag};

  async run(): Promise<BackupSummary[]> {
    const {flags} = await this.parse(List);
    const location = await openLocation(this.config, flags, {warn: (line) => this.logToStderr(line)});
    try {
      const backups = await location.catalog.list();
      this.log(renderBackupTable(backups));
      return backups.map(backupSummary);
    } finally {
      await location.close();
    }
  }
}
