import {LocationCommand} from '../../src/cli/location-command.js';
import {assertBackupId} from '../../src/backups/index.js';
import {backupIdArg} from '../../src/backups/command-args.js';
import {renderBackup} from '../../src/backups/display.js';
import type {BackupInfo} from '../../src/backups/index.js';

export default class Show extends LocationCommand {
  static override summary = 'Show one backup with everything its metadata file records.';
  static override description =
    'Prints a backup\'s name, date, size, SHA1, object names, who made it and, for Home Assistant backups, the Home Assistant version, add-ons, folders and whether it is password-protected. Exits 4 when there is no backup with that id.';
  static override examples = ['<%= config.bin %> b2 show 1a2b3c4d', '<%= config.bin %> b2 show 1a2b3c4d --json'];
  static override enableJsonFlag = true;
  static override args = {id: backupIdArg};

  async run(): Promise<BackupInfo> {
    const {args, flags} = await this.parse(Show);
    assertBackupId(args.id); // before connecting: a bad id costs nothing
    const backup = await this.withLocation(flags, ({catalog}, signal) => catalog.show(args.id, {signal}));
    this.log(renderBackup(backup));
    return backup;
  }
}
