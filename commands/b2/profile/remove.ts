import {Args, Flags} from '@oclif/core';
import {askYesNo} from '../../../src/cli/ask.js';
import {cliPrefix} from '../../../src/cli/cli-prefix.js';
import {BaseCommand} from '../../../src/cli/base-command.js';
import {profileCommandHint, shellWord} from '../../../src/command-hint.js';
import {BackupError} from '../../../src/errors.js';
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
      const loses = `profile "${args.name}" holds its SSE-C key (encryptionKey) inline, the only copy: B2 keeps none, so backups uploaded with it could never be downloaded again`;
      if (!process.stdin.isTTY) {
        const again = profileCommandHint(cli, `remove ${shellWord(args.name)} --yes`, flags.config);
        throw new BackupError('bad_input', `refusing to remove without confirmation: ${loses}; keep a copy of the key first (it is in ${store.path}), then run "${again}"`);
      }
      if (!(await askYesNo(`${loses[0].toUpperCase()}${loses.slice(1)}. Remove it, key and all?`))) {
        this.logToStderr(`Kept profile "${args.name}"; nothing was changed.`); // a "no" is an answer, not a failure
        return;
      }
    }
    store.remove(args.name);
    await store.save();
    this.log(`Removed profile "${args.name}" from ${store.path}`);
  }
}
