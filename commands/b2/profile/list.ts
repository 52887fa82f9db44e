import {BaseCommand} from '../../../src/cli/base-command.js';
import {profileView, renderProfileTable, type ProfileView} from '../../../src/profiles/display.js';
import {ProfileStore} from '../../../src/profiles/store.js';

export default class ProfileList extends BaseCommand {
  static override summary = 'List the profiles.';
  static override description =
    'Lists the profiles in the profiles file, then the built-in "local" profile (the embedded emulator; no account needed) unless the file defines its own. Application keys are redacted.';
  static override examples = ['<%= config.bin %> b2 profile list', '<%= config.bin %> b2 profile list --json'];
  static override enableJsonFlag = true;

  async run(): Promise<ProfileView[]> {
    const {flags} = await this.parse(ProfileList);
    const store = await ProfileStore.open({flag: flags.config, configDir: this.config.configDir});
    const views = store.list().map(profileView);
    this.log(renderProfileTable(views));
    return views;
  }
}
