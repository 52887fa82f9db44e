import {Args} from '@oclif/core';
import {cliPrefix} from '../../../src/cli/cli-prefix.js';
import {BaseCommand} from '../../../src/cli/base-command.js';
import {ProfileStore} from '../../../src/profiles/store.js';

export default class ProfileRemove extends BaseCommand {
  static override summary = 'Remove a profile.';
  static override description =
    'Removes a profile from the profiles file. Backups in the bucket are not touched.';
  static override examples = ['<%= config.bin %> b2 profile remove home'];
  static override args = {name: Args.string({required: true, description: 'profile name'})};

  async run(): Promise<void> {
    const {args, flags} = await this.parse(ProfileRemove);
    const store = await ProfileStore.open({flag: flags.config, configDir: this.config.configDir, cli: cliPrefix(this.config)});
    store.remove(args.name);
    await store.save();
    this.log(`Removed profile "${args.name}" from ${store.path}`);
  }
}
