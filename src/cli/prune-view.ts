import {Flags} from '@oclif/core';
import {integerFlag} from './integer-flag.js';
import {WRONG_CLOCK, backupSummary, datedAfterNowText, displayDate, humanSize, type BackupSummary, nameCell, shownName} from '../backups/display.js';
import type {PrunePlan} from '../backups/prune.js';
import {COUNT_RULES, retentionPolicyProblem, type CountRule, type RetentionPolicy} from '../backups/retention.js';
import type {BackupInfo} from '../backups/types.js';
import {escapeInvisible, visible} from '../backups/validate.js';
import {BackupError} from '../errors.js';
import {count} from '../plural.js';
import {CLEANUP_AGE} from '../command-hint.js';
import {table} from '../profiles/display.js';

const FLAG_OF_RULE: Record<CountRule, string> = {
  keepLast: 'keep-last',
  keepHourly: 'keep-hourly',
  keepDaily: 'keep-daily',
  keepWeekly: 'keep-weekly',
  keepMonthly: 'keep-monthly',
  keepYearly: 'keep-yearly',
};

const countFlag = (what: string) => integerFlag({min: 0, description: `keep the newest backup of each of the last N ${what}`, helpGroup: 'RULES'});

/** restic's `forget` rules as flags (`b2 prune`). */
export const retentionFlags = {
  'keep-last': integerFlag({min: 0, description: 'keep the N newest backups', helpGroup: 'RULES'}),
  'keep-hourly': countFlag('hours that have one'),
  'keep-daily': countFlag('days that have one'),
  'keep-weekly': countFlag('ISO weeks that have one'),
  'keep-monthly': countFlag('months that have one'),
  'keep-yearly': countFlag('years that have one'),
  'keep-within': Flags.string({description: 'keep every backup made within this duration of the newest one (e.g. 30d, 12h, 1y6m)', helpGroup: 'RULES'}),
};

/** The policy the flags give, or undefined when no rule flag was given (the profile's rules apply). */
export function policyFromFlags(flags: Partial<Record<keyof typeof retentionFlags, number | string | undefined>>): RetentionPolicy | undefined {
  const policy: RetentionPolicy = {};
  for (const rule of COUNT_RULES) {
    const n = flags[FLAG_OF_RULE[rule] as keyof typeof retentionFlags];
    if (n !== undefined) policy[rule] = n as number;
  }
  if (flags['keep-within'] !== undefined) policy.keepWithin = String(flags['keep-within']);
  if (Object.keys(policy).length === 0) return undefined;
  const problem = retentionPolicyProblem(policy, (rule) => (rule === 'keepWithin' ? '--keep-within' : `--${FLAG_OF_RULE[rule]}`));
  if (problem) throw new BackupError('bad_input', problem.replace('give at least one rule', 'give at least one --keep-* flag'));
  return policy;
}

/** Where a prune's rules came from: prune's --keep-* flags, or a profile's `retention:`. */
export type PolicySource = 'flags' | {profile: string};

/**
 * The policy as its user gave it: as flags ("--keep-daily 7 --keep-within 30d"), or as the
 * profile's YAML holds it ('retention: {keepDaily: 7, keepWithin: 30d} in profile "home"'),
 * never as flags that were not typed.
 */
export function describePolicy(policy: RetentionPolicy, from: PolicySource): string {
  const rules = [...COUNT_RULES, 'keepWithin' as const].filter((r) => policy[r] !== undefined);
  if (from === 'flags') return rules.map((r) => `--${r === 'keepWithin' ? 'keep-within' : FLAG_OF_RULE[r]} ${policy[r]}`).join(' ');
  return `retention: {${rules.map((r) => `${r}: ${policy[r]}`).join(', ')}} in profile "${from.profile}"`;
}

/** `prune --json` (and --dry-run): every backup with keep/delete and the rules that keep it. */
export interface PruneView {
  dryRun: boolean;
  policy: RetentionPolicy;
  backups: Array<BackupSummary & {action: 'keep' | 'delete'; reasons: string[]}>;
  /** Ids deleted by this run, oldest first; on a dry run, those that would be. */
  deleted: string[];
  /** Ids the plan would delete that another command deleted meanwhile (a prune at the same time). */
  alreadyGone: string[];
  /** Ids the rules would delete but Object Lock keeps (never tried, or refused by B2). */
  locked: string[];
  /** Never touched: backups with no readable date, files that are not backups, unfinished uploads. */
  undated: BackupSummary[];
  skipped: string[];
  unfinishedUploads: number;
}

export function pruneView(plan: PrunePlan, o: {dryRun: boolean; deleted: BackupInfo[]; alreadyGone: BackupInfo[]; unfinishedUploads: number; now: Date}): PruneView {
  return {
    dryRun: o.dryRun,
    policy: plan.policy,
    backups: plan.decisions.map((d) => ({...backupSummary(d.backup, o.now), action: d.keep ? 'keep' : 'delete', reasons: d.reasons})),
    deleted: o.deleted.map((b) => b.id),
    alreadyGone: o.alreadyGone.map((b) => b.id),
    locked: plan.decisions.filter((d) => d.locked).map((d) => d.backup.id),
    undated: plan.undated.map((b) => backupSummary(b, o.now)),
    skipped: plan.skipped,
    unfinishedUploads: o.unfinishedUploads,
  };
}

/** The plan as a table: one line per backup, newest first. */
export function renderPlan(plan: PrunePlan): string {
  const rows = plan.decisions.map((d) => [d.keep ? 'keep' : 'delete', d.backup.id, displayDate(d.backup.date), humanSize(d.backup.size), nameCell(d.backup.name), d.reasons.join(', ')]);
  return table([['ACTION', 'ID', 'DATE', 'SIZE', 'NAME', 'KEPT BY'], ...rows]);
}

/** What prune leaves alone, one line each (for stderr). */
export function untouchedLines(plan: PrunePlan, unfinishedUploads: number, hint: (words: string) => string): string[] {
  const lines = plan.undated.map((b) => `Not touched: backup ${b.id} ${shownName(b.name)}: its date ${visible(b.date)} cannot be read`);
  lines.push(...plan.skipped.map((msg) => `Not touched: ${escapeInvisible(msg.replace(/^skipping /, ''))}`));
  if (unfinishedUploads > 0) lines.push(`Not touched: ${count(unfinishedUploads, 'unfinished upload')}; "${hint('cleanup')}" removes ${unfinishedUploads === 1 ? 'it' : 'each'} ${CLEANUP_AGE}`);
  return lines;
}

/** A warning for each backup dated after now: the rules leave it out (see planRetention), and its date is likely wrong. */
export function futureLines(plan: PrunePlan): string[] {
  return plan.decisions.filter((d) => d.future).map(({backup: b}) => `Warning: ${datedAfterNowText(b, WRONG_CLOCK)}`);
}

/** "a1b2c3d4 "Nightly" of 2026-04-08 04:57:43 +02:00" */
export function describeBackup(b: BackupInfo): string {
  return `${b.id} ${shownName(b.name)} of ${displayDate(b.date)}`;
}

/** A backup a prune or delete found deleted by another command meanwhile: not this run's doing. */
export function alreadyGoneLine(b: BackupInfo): string {
  return `Backup ${describeBackup(b)} was already gone: another command deleted it meanwhile`;
}

