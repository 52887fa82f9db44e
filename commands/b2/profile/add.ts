import {Args} from '@oclif/core';
import {cliPrefix} from '../../../src/cli/cli-prefix.js';
import {BaseCommand} from '../../../src/cli/base-command.js';
import {checkB2} from '../../../src/connect.js';
import {checkFlag, flagLabel, inputFromFlags, profileFieldFlags} from '../../../src/profiles/flags.js';
import {askForMissing} from '../../../src/profiles/prompt.js';
import {saveChecked} from '../../../src/profiles/save-checked.js';
import {ProfileStore} from '../../../src/profiles/store.js';

export default class ProfileAdd extends BaseCommand {
  static override summary = 'Add a profile (key, bucket, prefix).';
  static override description =
    'Missing key ID, key and bucket are asked for on a terminal (the key without echo); elsewhere they must be flags. Unless --no-check, the profile is checked against B2 first and saved only if the check passes. A profile sharing a bucket and an overlapping prefix with another gets a warning.';

  static override examples = [
    '<%= config.bin %> b2 profile add home --key-id 0051234abcd0000000000001 --application-key env:B2_HOME_KEY --bucket home-backups-123456 --prefix home/',
    '<%= config.bin %> b2 profile add home --bucket home-backups-123456   # asks for the key ID and key',
  ];

  static override args = {name: Args.string({required: true, description: 'profile name (letters, digits, ".", "_", "-"; starting with a letter or digit)'})};
  static override flags = {...profileFieldFlags, ...checkFlag};

  async run(): Promise<void> {
    const {args, flags} = await this.parse(ProfileAdd);
    const store = await ProfileStore.open({flag: flags.config, configDir: this.config.configDir, create: true, cli: cliPrefix(this.config)});
    store.assertAddable(args.name);
    store.add(args.name, await askForMissing(inputFromFlags(flags)), flagLabel);
    await saveChecked(store, args.name, {
      check: flags.check ? (profile) => checkB2(profile, {dataDir: this.config.dataDir, unsaved: true, cli: cliPrefix(this.config), savedProfiles: {configFlag: flags.config}}) : undefined,
      warn: this.warnLine,
    });
    this.log(`Added profile "${args.name}" to ${store.path}`);
  }
}
