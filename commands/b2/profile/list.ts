import {BaseCommand} from '../../../src/cli/base-command.js';
import {profileView, renderProfileTable, type ProfileView} from '../../../src/profiles/display.js';
import {ProfileStore} from '../../../src/profiles/store.js';

export default class ProfileList extends BaseCommand {
  static override description = 'List the profiles (the built-in "local" profile uses the embedded emulator).';
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
