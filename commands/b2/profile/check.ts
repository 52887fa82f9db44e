import {Args} from '@oclif/core';
import {cliPrefix} from '../../../src/cli/cli-prefix.js';
import {profileCommandHint} from '../../../src/command-hint.js';
import type {CheckReport} from '../../../src/backend.js';
import {BaseCommand} from '../../../src/cli/base-command.js';
import {checkB2} from '../../../src/connect.js';
import {renderCheckItems} from '../../../src/profiles/display.js';
import {checkFailed} from '../../../src/profiles/save-checked.js';
import {ProfileStore} from '../../../src/profiles/store.js';

export default class ProfileCheck extends BaseCommand {
  static override summary = 'Check that a profile can connect and back up.';
  static override description =
    'Connects with the profile and checks the key, its capabilities, the bucket and the prefix; prints each item as ok, warn or fail with how to fix it, and exits non-zero when an item fails.';

  static override examples = ['<%= config.bin %> b2 profile check home', '<%= config.bin %> b2 profile check home --json'];
  static override enableJsonFlag = true;
  static override args = {
    name: Args.string({description: 'profile name (default: env B2_PROFILE, else the file\'s default profile, else the only one)'}),
  };

  async run(): Promise<CheckReport> {
    const {args, flags} = await this.parse(ProfileCheck);
    const cli = cliPrefix(this.config);
    const store = await ProfileStore.open({flag: flags.config, configDir: this.config.configDir, cli});
    const profile = store.resolve(args.name, {chooseWith: `"${profileCommandHint(cli, 'check NAME', flags.config)}"`});
    const report = await checkB2(profile, {dataDir: this.config.dataDir, cli, savedProfiles: {configFlag: flags.config}});
    this.log(renderCheckItems(report.items));
    if (!report.ok) {
      if (this.jsonEnabled()) this.logJson(report); // a failed run returns nothing for oclif to print
      throw checkFailed(profile.name, report);
    }
    return report;
  }
}
