import {Args, Flags, type Interfaces} from '@oclif/core';
import {cliPrefix} from '../../../src/cli/cli-prefix.js';
import {BaseCommand} from '../../../src/cli/base-command.js';
import {lockMove} from '../../../src/cli/copy-lock.js';
import {withInterrupt} from '../../../src/cli/interrupt.js';
import {backupsLeftBehind, customerKeyDropped, keyChangeWarning, leftBehindWarning, moveProfileBackups} from '../../../src/cli/move-backups.js';
import {locationId} from '../../../src/cli/open-backend.js';
import {checkB2} from '../../../src/connect.js';
import {BackupError} from '../../../src/errors.js';
import {checkFlag, flagLabel, inputFromFlags, profileFieldFlags} from '../../../src/profiles/flags.js';
import {saveChecked} from '../../../src/profiles/save-checked.js';
import {ProfileStore} from '../../../src/profiles/store.js';
import type {ResolvedProfile} from '../../../src/profiles/types.js';

type UpdateFlags = Interfaces.InferredFlags<typeof ProfileUpdate.flags & typeof ProfileUpdate.baseFlags>;

export default class ProfileUpdate extends BaseCommand {
  static override summary = 'Change some fields of a profile.';
  static override description =
    'Only the fields given as flags change; an empty value resets an optional field (prefix, endpoint, part size, concurrency) to its default. Unless --no-check, the result is checked against B2 first and saved only if the check passes. ' +
    'With --prefix NEW --move-backups, the backups under the old prefix are copied to the new one on the server (nothing is downloaded), checked, and only then deleted under the old prefix and the profile saved; if it is interrupted, run the same command again to finish. Without --move-backups, a new prefix leaves the backups under the old one (a warning says how many).';

  static override examples = [
    '<%= config.bin %> b2 profile update home --application-key env:B2_NEW_KEY',
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
  };

  async run(): Promise<void> {
    const {args, flags} = await this.parse(ProfileUpdate);
    const moving = flags['move-backups'];
    if (moving && flags.prefix === undefined) throw new BackupError('bad_input', '--move-backups moves the backups to a new prefix: give it with --prefix NEW');
    if (flags['dry-run'] && !moving) throw new BackupError('bad_input', '--dry-run shows what --move-backups would do: give both (and --prefix NEW)');
    if (moving && !flags.check) throw new BackupError('bad_input', '--move-backups connects to B2 to move the backups: it cannot go with --no-check');
    const dataDir = this.config.dataDir;
    const warn = (line: string) => process.stderr.write(`${line}\n`);
    // one move of a profile at a time, from before it is read until it is saved
    const release = moving && !flags['dry-run'] ? await lockMove(dataDir, {profile: args.name}, `the backups of profile "${args.name}"`, warn) : undefined;
    try {
      await this.apply(args.name, flags, warn);
    } finally {
      await release?.();
    }
  }

  private async apply(name: string, flags: UpdateFlags, warn: (line: string) => void): Promise<void> {
    const moving = flags['move-backups'];
    const dataDir = this.config.dataDir;
    const store = await ProfileStore.open({flag: flags.config, configDir: this.config.configDir, cli: cliPrefix(this.config)});
    // the profile as it is, when its old location or key matters (a move, or the warnings about what stays there)
    const touchesKey = flags.encryption !== undefined || flags['encryption-key'] !== undefined;
    const before = (flags.prefix !== undefined || touchesKey) && flags.check ? store.resolve(name) : undefined;
    store.update(name, inputFromFlags(flags), flagLabel);
    // and one move from a location at a time, whichever profile names it
    const releaseLocation = before && moving && !flags['dry-run'] ? await lockMove(dataDir, {location: locationId(before)}, `the backups under ${JSON.stringify(before.prefix)} in bucket ${before.bucket}`, warn) : undefined;
    try {
      await this.save(store, name, before, flags, warn);
    } finally {
      await releaseLocation?.();
    }
  }

  private async save(store: ProfileStore, name: string, before: ResolvedProfile | undefined, flags: UpdateFlags, warn: (line: string) => void): Promise<void> {
    const moving = flags['move-backups'];
    const dataDir = this.config.dataDir;
    const saved = await withInterrupt((signal) =>
      saveChecked(store, name, {
        check: flags.check ? (profile) => checkB2(profile, {dataDir, cli: cliPrefix(this.config)}) : undefined,
        warn,
        beforeSave: async () => {
          if (!before) return true;
          const after = store.resolve(name);
          // a move copies every backup anew, with the new key: nothing stays behind
          if (moving) return moveProfileBackups(before, after, {dataDir, cli: cliPrefix(this.config), dryRun: flags['dry-run'], signal, log: (line) => this.log(line), warn});
          // how many backups stay where the profile was, for the warnings below (counted once)
          let counted: Promise<number> | undefined;
          const stayingBehind = () =>
            (counted ??= backupsLeftBehind(before, {dataDir, signal}).catch((err: unknown) => {
              if (signal.aborted) throw err;
              return 0; // the old location may be out of reach now: no count, no warning
            }));
          if (customerKeyDropped(before, after) && (await stayingBehind()) > 0) warn(keyChangeWarning(await stayingBehind(), before, after));
          // a new location in the same bucket: say what stays behind
          if (before.prefix !== after.prefix && before.bucket === after.bucket && before.endpoint === after.endpoint && (await stayingBehind()) > 0) {
            warn(leftBehindWarning(await stayingBehind(), before, after, cliPrefix(this.config)));
          }
          return true;
        },
      }),
      {interrupted: () => (moving && !flags['dry-run'] ? `profile update interrupted; the profile was not saved and the move is unfinished: run the same command again to finish it` : 'profile update interrupted; nothing was changed')},
    );
    if (saved) this.log(`Updated profile "${name}" in ${store.path}`);
  }
}
