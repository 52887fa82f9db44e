import {existsSync} from 'node:fs';
import {humanSize} from '../../../src/backups/display.js';
import {dirSize} from '../../../src/cli/dir-size.js';
import {BaseCommand} from '../../../src/cli/base-command.js';
import {withOpenLocation} from '../../../src/cli/location-command.js';
import {embeddedDataDir} from '../../../src/embedded/embedded-b2.js';
import {LOCAL_PROFILE_NAME} from '../../../src/profiles/index.js';

interface LocalInfo {
  directory: string;
  exists: boolean;
  /** Bytes on disk under the directory (archives, parts, the emulator's journal). */
  size: number;
  backups: number;
}

export default class LocalInfoCommand extends BaseCommand {
  static override summary = 'Show where the embedded "local" store keeps its data, its size and how many backups it holds.';
  static override description =
    'The built-in "local" profile runs a B2 emulator inside each command, with its data in the CLI\'s data dir. This prints that directory, the bytes it takes on disk and the number of backups in it. Delete backups with "b2 delete ID --profile local"; removing the directory removes them all.';
  static override examples = ['<%= config.bin %> b2 local info', '<%= config.bin %> b2 local info --json'];
  static override enableJsonFlag = true;

  async run(): Promise<LocalInfo> {
    const {flags} = await this.parse(LocalInfoCommand);
    const directory = embeddedDataDir(this.config.dataDir);
    const exists = existsSync(directory);
    // an empty store is not created just to be counted
    const backups = exists ? await withOpenLocation(this.config, {config: flags.config, profile: LOCAL_PROFILE_NAME}, async ({catalog}, signal) => (await catalog.list({signal})).length, {warn: this.warnLine}) : 0;
    const info: LocalInfo = {directory, exists, size: await dirSize(directory), backups};
    this.log(`directory  ${directory}${exists ? '' : ' (not created yet)'}`);
    this.log(`size       ${humanSize(info.size)} (${info.size} bytes)`);
    this.log(`backups    ${backups}`);
    return info;
  }
}
