import {Args} from '@oclif/core';
import {cliPrefix} from '../../../src/cli/cli-prefix.js';
import {BaseCommand} from '../../../src/cli/base-command.js';
import {ProfileStore} from '../../../src/profiles/store.js';

export default class ProfileDefault extends BaseCommand {
  static override summary = 'Choose the profile used when none is given (or print it).';
  static override description =
    'Stored in the profiles file as "default: NAME". Without --profile, a command uses env B2_PROFILE, else this default, else the file\'s only profile, else (no profiles) the built-in "local". Without NAME, prints the default.';
  static override examples = ['<%= config.bin %> b2 profile default home', '<%= config.bin %> b2 profile default'];
  static override enableJsonFlag = true;
  static override args = {name: Args.string({description: 'profile to use by default'})};

  async run(): Promise<{default: string | null}> {
    const {args, flags} = await this.parse(ProfileDefault);
    const store = await ProfileStore.open({flag: flags.config, configDir: this.config.configDir, cli: cliPrefix(this.config)});
    if (args.name === undefined) {
      this.log(store.defaultProfile ?? noDefault(store.list().filter((p) => p.source === 'file').map((p) => p.name)));
      return {default: store.defaultProfile ?? null};
    }
    store.setDefault(args.name);
    await store.save();
    this.log(`Default profile is now "${args.name}" (in ${store.path})`);
    return {default: args.name};
  }
}

/** What a command uses when no default is set: it depends on how many profiles there are. */
function noDefault(names: string[]): string {
  if (names.length === 0) return '(none: there are no profiles, so the built-in "local" is used)';
  if (names.length === 1) return `(none: the only profile, "${names[0]}", is used)`;
  return `(none: ${names.length} profiles and no default, so each command needs --profile NAME or env B2_PROFILE)`;
}
