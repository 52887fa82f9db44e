import {BaseCommand} from '../../../src/cli/base-command.js';
import {cliPrefix} from '../../../src/cli/cli-prefix.js';
import {profileCommandHint} from '../../../src/command-hint.js';
import {notCreatedNote, whyNotCreatable} from '../../../src/profiles/creatable.js';
import {ProfileStore} from '../../../src/profiles/store.js';

export default class ProfilePath extends BaseCommand {
  static override summary = 'Print the path of the profiles file.';
  static override description =
    'The file that --config, B2_BACKUP_CONFIG or the default location (<config dir>/profiles.yaml; inside a host, the host\'s config dir) points at, whether it exists yet or not.';
  static override examples = ['<%= config.bin %> b2 profile path', '$EDITOR "$(<%= config.bin %> b2 profile path)"', '<%= config.bin %> b2 profile path --json'];
  static override enableJsonFlag = true;

  async run(): Promise<{path: string; exists: boolean}> {
    const {flags} = await this.parse(ProfilePath);
    const cli = cliPrefix(this.config);
    const store = await ProfileStore.open({flag: flags.config, configDir: this.config.configDir, create: true, cli});
    this.log(store.path);
    if (!store.exists) this.logToStderr(notCreatedNote(await whyNotCreatable(store.path), profileCommandHint(cli, 'add', flags.config)));
    return {path: store.path, exists: store.exists};
  }
}
