import {Flags} from '@oclif/core';
import {displayDate} from '../../src/backups/display.js';
import {parseDuration} from '../../src/cli/format.js';
import {LocationCommand} from '../../src/cli/location-command.js';
import {BackupError} from '../../src/errors.js';
import {table} from '../../src/profiles/display.js';

interface CleanupView {
  dryRun: boolean;
  olderThan: string;
  cancelled: Array<{fileId: string; key: string; started: string}>;
  /** Unfinished uploads younger than --older-than: possibly still running, left alone. */
  kept: number;
}

export default class Cleanup extends LocationCommand {
  static override summary = 'Cancel unfinished uploads under the prefix (they are billed as storage).';
  static override description =
    'An interrupted upload leaves its parts in the bucket so that running the same upload again resumes it; B2 bills them as stored data until they are cancelled. This cancels the unfinished uploads under the profile prefix that started more than --older-than ago (default 24h, so that an upload still running elsewhere is not cut off).';
  static override examples = ['<%= config.bin %> b2 cleanup --dry-run', '<%= config.bin %> b2 cleanup --older-than 0s --json'];
  static override enableJsonFlag = true;
  static override flags = {
    'older-than': Flags.string({description: 'only uploads started longer ago than this (e.g. 90s, 30m, 24h, 7d)', default: '24h'}),
    'dry-run': Flags.boolean({description: 'list what would be cancelled, cancel nothing', default: false}),
  };

  async run(): Promise<CleanupView> {
    const {flags} = await this.parse(Cleanup);
    const age = parseDuration(flags['older-than']);
    if ('problem' in age) throw new BackupError('bad_input', `--older-than: ${age.problem}`);
    const view = await this.withLocation(flags, async ({backend}, signal) => {
      const cutoff = Date.now() - age.ms;
      const result: CleanupView = {dryRun: flags['dry-run'], olderThan: flags['older-than'], cancelled: [], kept: 0};
      for await (const u of backend.listUnfinished({signal})) {
        if (u.started.getTime() > cutoff) {
          result.kept++;
          continue;
        }
        if (!flags['dry-run']) await backend.cancelUnfinished(u, {signal});
        result.cancelled.push({fileId: u.fileId, key: u.key, started: u.started.toISOString()});
      }
      return result;
    });
    const verb = view.dryRun ? 'Would cancel' : 'Cancelled';
    if (view.cancelled.length > 0) this.log(table([['KEY', 'STARTED', 'FILE ID'], ...view.cancelled.map((c) => [c.key, displayDate(c.started), c.fileId])]));
    this.log(`${verb} ${view.cancelled.length} unfinished upload(s)${view.kept ? `; kept ${view.kept} started within ${view.olderThan}` : ''}.`);
    return view;
  }
}
