import {Flags} from '@oclif/core';
import {doomedOldestFirst, executePrune, lockedReason, planPrune, type PruneResult} from '../../src/backups/prune.js';
import type {BackupInfo} from '../../src/backups/index.js';
import {askYesNo} from '../../src/cli/ask.js';
import {LocationCommand} from '../../src/cli/location-command.js';
import {alreadyGoneLine, describeBackup, describePolicy, futureLines, policyFromFlags, pruneView, renderPlan, retentionFlags, untouchedLines, type PruneView} from '../../src/cli/prune-view.js';
import {BackupError} from '../../src/errors.js';
import {count, everyOne} from '../../src/plural.js';

export default class Prune extends LocationCommand {
  static override summary = 'Delete the backups a retention policy does not keep (restic\'s --keep-* rules).';
  static override description =
    'A backup is kept if any rule keeps it. --keep-last N keeps the N newest; --keep-hourly/daily/weekly/monthly/yearly N keep the newest backup of each of the last N hours, days, ISO weeks, months or years that have one (by the backup\'s own date, in the local time zone); --keep-within DURATION keeps every backup made within DURATION of the newest one. Without rule flags the profile\'s "retention:" rules apply. A policy with no rule is an error. Backups under B2 Object Lock are kept until their lock ends, and reported. Backups whose date cannot be read, files that are not backups and unfinished uploads are never touched, and are reported. On a terminal it shows the plan and asks; elsewhere it needs --yes (or --dry-run).';
  static override examples = [
    '<%= config.bin %> b2 prune --keep-daily 7 --keep-weekly 4 --keep-monthly 12 --dry-run',
    '<%= config.bin %> b2 prune --keep-last 3 --keep-within 30d --yes',
    '<%= config.bin %> b2 prune --yes --json   # by the profile\'s retention: rules',
  ];
  static override enableJsonFlag = true;
  static override flags = {
    ...retentionFlags,
    'dry-run': Flags.boolean({description: 'show what would be deleted, delete nothing', default: false}),
    yes: Flags.boolean({char: 'y', description: 'delete without asking', default: false}),
  };

  async run(): Promise<PruneView> {
    const {flags} = await this.parse(Prune);
    const given = policyFromFlags(flags); // before connecting: a bad policy costs nothing
    const dryRun = flags['dry-run'];
    if (!dryRun && !flags.yes && !process.stdin.isTTY) {
      throw new BackupError('bad_input', 'refusing to prune without confirmation: stdin is not a terminal; pass --yes, or --dry-run to see what would be deleted');
    }
    // once deletes start: how many there are to make, and how far they got (sofar.underWay: a backup an interruption left half deleted)
    let deleting: number | undefined;
    const sofar: PruneResult = {deleted: [], alreadyGone: []};
    return this.withLocation(flags, async ({profile, catalog, backend}, signal) => {
      const policy = given ?? profile.retention;
      if (!policy) {
        throw new BackupError('bad_input', `no retention rules: profile "${profile.name}" has no "retention:" and no --keep-* flag was given; give e.g. --keep-daily 7`);
      }
      const rules = describePolicy(policy, given ? 'flags' : {profile: profile.name});
      const now = backend.now(); // B2's clock decides whether a lock still holds
      const plan = await planPrune(catalog, policy, {now, signal});
      const unfinished = await catalog.countOwnUnfinished(signal); // those its cleanup hint removes, as cleanup tells them
      const doomed = plan.decisions.filter((d) => !d.keep);
      for (const line of futureLines(plan)) this.warnLine(line);
      // what prune leaves alone: --json says it (undated, skipped, unfinishedUploads)
      for (const line of untouchedLines(plan, unfinished, catalog.hint.bind(catalog))) this.logToStderr(line);
      if (dryRun || (!flags.yes && doomed.length > 0)) this.log(renderPlan(plan));
      if (!dryRun && !flags.yes && doomed.length > 0 && !(await askYesNo(`Delete ${count(doomed.length, 'backup')} not kept by ${rules}?`))) {
        this.logToStderr(`Kept ${everyOne(plan.decisions.length, 'backup')}; nothing was deleted.`); // a "no" is an answer, not a failure
        return pruneView(plan, {dryRun, deleted: [], alreadyGone: [], unfinishedUploads: unfinished, now});
      }
      const keptLocked = (b: BackupInfo) => this.logToStderr(`Kept backup ${describeBackup(b)}: ${lockedReason(b)} (the rules alone would delete it)`);
      for (const d of plan.decisions) if (d.locked) keptLocked(d.backup);
      if (!dryRun) deleting = doomed.length;
      const onDeleted = (b: BackupInfo) => this.logToStderr(`Deleted backup ${describeBackup(b)}`);
      const onAlreadyGone = (b: BackupInfo) => this.logToStderr(alreadyGoneLine(b));
      // a dry run reports in `deleted` what would go, in the order a prune deletes (oldest first), as cleanup --dry-run does
      const {deleted, alreadyGone} = dryRun
        ? {deleted: doomedOldestFirst(plan), alreadyGone: []}
        : await executePrune(catalog, plan, {signal, onLocked: keptLocked, onDeleted, onAlreadyGone, result: sofar}).catch((err: unknown) => {
          // once a backup is deleted, --json tells which, with the error
          throw sofar.deleted.length === 0 ? err : this.printedBeforeFailure(err, pruneView(plan, {dryRun, ...sofar, unfinishedUploads: unfinished, now}));
        });
      const kept = plan.decisions.length - deleted.length - alreadyGone.length;
      const gone = alreadyGone.length > 0 ? `; ${alreadyGone.length === 1 ? '1 was' : `${alreadyGone.length} were`} already gone (another command deleted ${alreadyGone.length === 1 ? 'it' : 'them'} meanwhile)` : '';
      this.logToStderr(dryRun
        ? `Would delete ${count(deleted.length, 'backup')} and keep ${kept} (${rules}); --dry-run deleted nothing.`
        : `Deleted ${count(deleted.length, 'backup')} and kept ${kept} (${rules})${gone}.`);
      return pruneView(plan, {dryRun, deleted, alreadyGone, unfinishedUploads: unfinished, now});
    }, {
      // a dry run changes nothing: a move may run meanwhile
      writes: dryRun ? undefined : {doing: 'backups are being pruned in', notDone: 'nothing was deleted'},
      // a backup whose delete was under way is no longer listed once its archive is gone: only its full id finds what is left
      interrupted: (_err, hint) => {
        if (deleting === undefined) return 'prune interrupted; nothing was deleted';
        const after = `prune interrupted after deleting ${sofar.deleted.length} of ${count(deleting, 'backup')}`;
        const partly = sofar.underWay?.id;
        return partly
          ? `${after}; backup ${partly} may be partly deleted: run "${hint(`delete ${partly} --yes`)}" to finish it, then the same prune again for the rest`
          : `${after}; run the same command again to finish`;
      },
    });
  }
}
