import {Args} from '@oclif/core';
import {cliPrefix} from '../../../src/cli/cli-prefix.js';
import {BaseCommand} from '../../../src/cli/base-command.js';
import {profileView, renderProfile, type ProfileView} from '../../../src/profiles/display.js';
import {ProfileStore} from '../../../src/profiles/store.js';

export default class ProfileShow extends BaseCommand {
  static override summary = 'Show one profile (key redacted).';
  static override description =
    'Prints one profile with defaults applied. An inline application key is never shown, not even in part; env:NAME and file:PATH references are shown as written.';
  static override examples = ['<%= config.bin %> b2 profile show home', '<%= config.bin %> b2 profile show home --json'];
  static override enableJsonFlag = true;
  static override args = {name: Args.string({required: true, description: 'profile name'})};

  async run(): Promise<ProfileView> {
    const {args, flags} = await this.parse(ProfileShow);
    const store = await ProfileStore.open({flag: flags.config, configDir: this.config.configDir, cli: cliPrefix(this.config)});
    const view = profileView(store.getOrThrow(args.name), store);
    await this.warnUnfinishedMove({...view, profilesFile: store.path}, flags.config);
    this.log(renderProfile(view));
    return view;
  }
}
