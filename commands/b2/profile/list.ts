import {BaseCommand} from '../../../src/cli/base-command.js';
import {cliPrefix} from '../../../src/cli/cli-prefix.js';
import {profileView, renderProfileTable, type ProfileView} from '../../../src/profiles/display.js';
import {whyNotCreatable} from '../../../src/profiles/creatable.js';
import {ProfileStore} from '../../../src/profiles/store.js';

export default class ProfileList extends BaseCommand {
  static override summary = 'List the profiles.';
  static override description =
    'Lists the profiles in the profiles file, then the built-in "local" profile (the embedded emulator; no account needed) unless the file defines its own, and where the profiles file is. Application keys are never shown; --json gives each profile\'s file.';
  static override examples = ['<%= config.bin %> b2 profile list', '<%= config.bin %> b2 profile list --json'];
  static override enableJsonFlag = true;

  async run(): Promise<ProfileView[]> {
    const {flags} = await this.parse(ProfileList);
    const store = await ProfileStore.open({flag: flags.config, configDir: this.config.configDir, cli: cliPrefix(this.config)});
    const views = store.list().map((p) => profileView(p, store));
    const whyNot = store.exists ? undefined : await whyNotCreatable(store.path);
    this.log(renderProfileTable(views, {path: store.path, exists: store.exists, whyNotCreatable: whyNot}, cliPrefix(this.config)));
    return views;
  }
}
