import {Args} from '@oclif/core';
import {BaseCommand} from '../../../src/cli/base-command.js';
import {checkB2} from '../../../src/connect.js';
import {checkFlag, flagLabel, inputFromFlags, profileFieldFlags} from '../../../src/profiles/flags.js';
import {saveChecked} from '../../../src/profiles/save-checked.js';
import {ProfileStore} from '../../../src/profiles/store.js';

export default class ProfileUpdate extends BaseCommand {
  static override summary = 'Change some fields of a profile.';
  static override description =
    'Only the fields given as flags change; an empty value resets an optional field (prefix, endpoint, part size, concurrency) to its default. Unless --no-check, the result is checked against B2 first and saved only if the check passes.';

  static override examples = [
    '<%= config.bin %> b2 profile update home --application-key env:B2_NEW_KEY',
    '<%= config.bin %> b2 profile update home --part-size 200MB --concurrency 8',
    '<%= config.bin %> b2 profile update home --prefix ""   # no prefix',
  ];

  static override args = {name: Args.string({required: true, description: 'profile name'})};
  static override flags = {...profileFieldFlags, ...checkFlag};

  async run(): Promise<void> {
    const {args, flags} = await this.parse(ProfileUpdate);
    const store = await ProfileStore.open({flag: flags.config, configDir: this.config.configDir});
    store.update(args.name, inputFromFlags(flags), flagLabel);
    await saveChecked(store, args.name, {
      check: flags.check ? (profile) => checkB2(profile, {dataDir: this.config.dataDir}) : undefined,
      warn: (line) => process.stderr.write(`${line}\n`),
    });
    this.log(`Updated profile "${args.name}" in ${store.path}`);
  }
}
