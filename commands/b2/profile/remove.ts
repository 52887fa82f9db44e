import {Args, Flags} from '@oclif/core';
import {cliPrefix} from '../../../src/cli/cli-prefix.js';
import {holdShared} from '../../../src/cli/copy-lock.js';
import {BaseCommand} from '../../../src/cli/base-command.js';
import {confirmSoleKeyLoss} from '../../../src/cli/sole-key-confirmation.js';
import {profileCommandHint, shellWord} from '../../../src/command-hint.js';
import {holdsSoleCustomerKey} from '../../../src/profiles/sole-customer-key.js';
import {ProfileStore} from '../../../src/profiles/store.js';
import {profilesFilePath} from '../../../src/profiles/location.js';

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
    // a move of the profile saves it at its end: removed meanwhile, it would be back (or the removal lost)
    const profile = {name: args.name, profilesFile: profilesFilePath({flag: flags.config, configDir: this.config.configDir})};
    const release = await holdShared(this.config.dataDir, [{profile}], {note: `profile "${args.name}" is being removed`, notDone: 'the profile was not removed'}, this.warnLine);
    try {
      await this.remove(args.name, flags, cli);
    } finally {
      await release();
    }
  }

  private async remove(name: string, flags: {config?: string; yes?: boolean}, cli: string): Promise<void> {
    const store = await ProfileStore.open({flag: flags.config, configDir: this.config.configDir, cli});
    if (!flags.yes && holdsSoleCustomerKey(store.list(), name)) {
      const rerun = `run "${profileCommandHint(cli, `remove ${shellWord(name)} --yes`, flags.config)}"`;
      if (!(await confirmSoleKeyLoss({name, what: 'remove', storePath: store.path, rerun, question: 'Remove it, key and all?'}))) {
        this.logToStderr(`Kept profile "${name}"; nothing was changed.`); // a "no" is an answer, not a failure
        return;
      }
    }
    store.remove(name);
    await store.save();
    this.log(`Removed profile "${name}" from ${store.path}`);
  }
}
