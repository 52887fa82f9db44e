import {BaseCommand, profileFlag} from '../../src/cli/base-command.js';
import {openLocation} from '../../src/cli/open-backend.js';
import {assertBackupId} from '../../src/backups/index.js';
import {backupIdArg} from '../../src/backups/command-args.js';
import {renderBackup} from '../../src/backups/display.js';
import type {BackupInfo} from '../../src/backups/index.js';

export default class Show extends BaseCommand {
  static override summary = 'Show one backup with everything its metadata file records.';
  static override description =
    'Prints a backup\'s name, date, size, SHA1, object names, who made it and, for Home Assistant backups, the Home Assistant version, add-ons, folders and whether it is password-protected. Exits 4 when there is no backup with that id.';
  static override examples = ['<%= config.bin %> b2 show 1a2b3c4d', '<%= config.bin %> b2 show 1a2b3c4d --json'];
  static override enableJsonFlag = true;
  static override args = {id: backupIdArg};
  static override flags = {profile: profileFlag};

  async run(): Promise<BackupInfo> {
    const {args, flags} = await this.parse(Show);
    assertBackupId(args.id); // before connecting: a bad id costs nothing
    const location = await openLocation(this.config, flags, {warn: (line) => this.logToStderr(line)});
    try {
      const backup = await location.catalog.show(args.id);
      this.log(renderBackup(backup));
      return backup;
    } finally {
      await location.close();
    }
  }
}
