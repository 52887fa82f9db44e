import {Args, Flags} from '@oclif/core';
import {cliPrefix} from '../../../src/cli/cli-prefix.js';
import {BaseCommand} from '../../../src/cli/base-command.js';
import {confirmSoleKeyLoss} from '../../../src/cli/sole-key-confirmation.js';
import {profileCommandHint, shellWord} from '../../../src/command-hint.js';
import {holdsSoleCustomerKey} from '../../../src/profiles/sole-customer-key.js';
import {ProfileStore} from '../../../src/profiles/store.js';

export default class ProfileRemove extends BaseCommand {
  static override summary = 'Remove a profile.';
  static override description =
    'Removes a profile from the profiles file. Backups in the bucket are not touched. A profile that holds its SSE-C key inline (the only copy: B2 keeps none) is removed only once confirmed: it asks on a terminal; elsewhere --yes is required.';
  static override examples = ['<%= config.bin %> b2 profile remove home'];
  static override args = {name: Args.string({required: true, description: 'profile name'})};
  static override flags = {
    yes: Flags.boolean({char: 'y', description: 'remove a profile holding its SSE-C key inline without asking'}),
  };

  async run(): Promise<void> {
    const {args, flags} = await this.parse(ProfileRemove);
    const cli = cliPrefix(this.config);
    const store = await ProfileStore.open({flag: flags.config, configDir: this.config.configDir, cli});
    if (!flags.yes && holdsSoleCustomerKey(store.list(), args.name)) {
      const rerun = `run "${profileCommandHint(cli, `remove ${shellWord(args.name)} --yes`, flags.config)}"`;
      if (!(await confirmSoleKeyLoss({name: args.name, what: 'remove', storePath: store.path, rerun, question: 'Remove it, key and all?'}))) {
        this.logToStderr(`Kept profile "${args.name}"; nothing was changed.`); // a "no" is an answer, not a failure
        return;
      }
    }
    store.remove(args.name);
    await store.save();
    this.log(`Removed profile "${args.name}" from ${store.path}`);
  }
}
