import {outputChoice, outputFlags} from '../../src/cli/output-flags.js';
import {progressDisplay} from '../../src/cli/progress.js';
import {LocationCommand} from '../../src/cli/location-command.js';
import {limitDownloadFlag, transferOverrides} from '../../src/cli/transfer-flags.js';
import {assertBackupId} from '../../src/backups/index.js';
import {backupIdArg} from '../../src/backups/command-args.js';
import {backupSummary, renderVerifyResult, UNREAD_CHECKSUM, type BackupSummary} from '../../src/backups/display.js';
import {BackupError} from '../../src/errors.js';

interface VerifyView {
  ok: boolean;
  id: string;
  size: number;
  sha1: string;
  expectedSize: number;
  expectedSha1: string | null;
  /** Only when the backup's metadata file records another backup, size or SHA1 than the archive (the archive or that file was replaced): why the verification failed. */
  disagrees?: string;
  backup: BackupSummary;
}

export default class Verify extends LocationCommand {
  static override summary = 'Download a backup and check its size and SHA1, writing nothing.';
  static override description =
    'Reads the whole archive from the bucket and compares its size and SHA1 with what was recorded when it was uploaded. Exits 0 when they match, 5 when they do not, 4 when there is no backup with that id. Archives uploaded by Home Assistant may have no recorded SHA1; then only the size is compared, and the output says so.';
  static override examples = ['<%= config.bin %> b2 verify 1a2b3c4d', '<%= config.bin %> b2 verify 1a2b3c4d --json'];
  static override enableJsonFlag = true;
  static override args = {id: backupIdArg};
  static override flags = {'limit-download': limitDownloadFlag, ...outputFlags};

  async run(): Promise<VerifyView> {
    const {args, flags} = await this.parse(Verify);
    assertBackupId(args.id); // before connecting: a bad id costs nothing
    const overrides = transferOverrides(flags);
    const out = outputChoice(flags, this.jsonEnabled());
    return this.withLocation(flags, async ({catalog}, signal) => {
      const bar = progressDisplay({label: 'Verifying', mode: out.mode, intervalMs: out.intervalMs});
      const result = await catalog.verify(args.id, {signal, onProgress: (p) => bar.update(p)}).finally(() => bar.stop());
      const view: VerifyView = {ok: result.ok, id: result.info.id, size: result.size, sha1: result.sha1, expectedSize: result.expectedSize, expectedSha1: result.expectedSha1 ?? null, ...(result.disagrees ? {disagrees: result.disagrees} : {}), backup: backupSummary(result.info)};
      this.log(renderVerifyResult(result));
      if (!result.ok) {
        if (this.jsonEnabled()) this.logJson(view); // a failed run returns nothing for oclif to print
        if (result.sha1Unread) throw new BackupError('checksum_mismatch', `backup ${result.info.id} cannot be verified: ${UNREAD_CHECKSUM} (see the warning); nothing proves its archive whole, restore from another backup if you can`);
        if (result.disagrees) throw new BackupError('checksum_mismatch', `backup ${result.info.id} failed verification: ${result.disagrees}`);
        throw new BackupError('checksum_mismatch', `backup ${result.info.id} failed verification; the stored archive is damaged or was replaced, restore from another backup`);
      }
      return view;
    }, {overrides, verbose: out.verbose});
  }
}
