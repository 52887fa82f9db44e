import {Args, Flags} from '@oclif/core';
import {cliPrefix} from '../../../src/cli/cli-prefix.js';
import {BaseCommand} from '../../../src/cli/base-command.js';
import {confirmSoleKeyLoss} from '../../../src/cli/sole-key-confirmation.js';
import {updateProfile} from '../../../src/cli/profile-update.js';
import {BackupError} from '../../../src/errors.js';
import {checkFlag, flagLabel, inputFromFlags, profileFieldFlags} from '../../../src/profiles/flags.js';
import {ProfileStore} from '../../../src/profiles/store.js';
import {profilesFilePath} from '../../../src/profiles/location.js';

export default class ProfileUpdate extends BaseCommand {
  static override summary = 'Change some fields of a profile.';
  static override description =
    'Only the fields given as flags change; an empty value resets an optional field (prefix, endpoint, part size, concurrency) to its default. Unless --no-check, the result is checked against B2 first and saved only if the check passes. ' +
    'With --prefix NEW --move-backups, the backups under the old prefix are copied to the new one on the server (nothing is downloaded), checked, and only then deleted under the old prefix and the profile saved; if it is interrupted, run the same command again to finish (until then, list, show and profile show warn, and a move elsewhere is refused). Without --move-backups, a new prefix, bucket or endpoint leaves the backups where they were (a warning says how many).';

  static override examples = [
    '<%= config.bin %> b2 profile update home --key-id 0051234abcd0000000000002 --application-key env:B2_NEW_KEY',
    '<%= config.bin %> b2 profile update home --part-size 200MB --concurrency 8',
    '<%= config.bin %> b2 profile update home --prefix pi4/ --move-backups --dry-run   # show the plan',
    '<%= config.bin %> b2 profile update home --prefix pi4/ --move-backups',
    '<%= config.bin %> b2 profile update home --prefix ""   # no prefix',
  ];

  static override args = {name: Args.string({required: true, description: 'profile name'})};
  static override flags = {
    ...profileFieldFlags,
    ...checkFlag,
    'move-backups': Flags.boolean({description: 'with --prefix: move the backups under the old prefix to the new one (server-side copies, then the originals are deleted)'}),
    'dry-run': Flags.boolean({description: 'with --move-backups: show what would be copied and deleted, change nothing'}),
    yes: Flags.boolean({char: 'y', description: 'change or drop an SSE-C key the profile holds inline, its only copy, without asking'}),
  };

  async run(): Promise<void> {
    const {args, flags} = await this.parse(ProfileUpdate);
    const moving = flags['move-backups'];
    if (moving && flags.prefix === undefined) throw new BackupError('bad_input', '--move-backups moves the backups to a new prefix: give it with --prefix NEW');
    if (flags['dry-run'] && !moving) throw new BackupError('bad_input', '--dry-run shows what --move-backups would do: give both (and --prefix NEW)');
    if (moving && !flags.check) throw new BackupError('bad_input', '--move-backups connects to B2 to move the backups: it cannot go with --no-check');
    const cli = cliPrefix(this.config);
    const saved = await updateProfile(
      {name: args.name, input: inputFromFlags(flags), label: flagLabel, check: flags.check, move: moving ? {dryRun: flags['dry-run']} : undefined, yes: flags.yes},
      {
        openStore: () => ProfileStore.open({flag: flags.config, configDir: this.config.configDir, cli}),
        dataDir: this.config.dataDir,
        profilesFile: profilesFilePath({flag: flags.config, configDir: this.config.configDir}),
        cli,
        configFlag: flags.config,
        log: (line) => this.log(line),
        warn: this.warnLine,
        confirmKeyLoss: async (storePath) => {
          const rerun = 'run the same command with --yes';
          if (await confirmSoleKeyLoss({name: args.name, what: 'change its SSE-C key', storePath, rerun, question: 'Change it anyway?'})) return true;
          this.logToStderr(`Kept profile "${args.name}" as it was; nothing was changed.`); // a "no" is an answer, not a failure
          return false;
        },
      },
    );
    if (saved) this.log(`Updated profile "${args.name}" in ${saved}`);
  }
}
