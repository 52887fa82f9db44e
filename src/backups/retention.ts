import {BackupError} from '../errors.js';
import {shownValue} from '../redact.js';

/**
 * restic's retention rules (`restic forget --keep-*`), as a pure function of the backups'
 * dates. A backup is kept if any rule keeps it. Each count rule walks the backups newest
 * first and keeps the newest backup of each new bucket (hour, day, ISO week, month, year of
 * the backup's date in the local time zone; `last` makes every backup its own bucket) until
 * it has kept N. `within` keeps every backup newer than the newest backup minus the duration
 * (the newest backup, not now, as restic does: a location nobody wrote to keeps its last state).
 *
 * One departure from restic, given `now` (B2's clock): a backup dated more than an hour
 * after it (a Home Assistant archive from a device whose clock was wrong) is kept, marked
 * `future`, and left out of the rules: it is neither keepWithin's anchor (which would make
 * every real backup expire at once) nor a count rule's pick (which would push the newest
 * real backup out). restic trusts its own snapshots' dates; these come from other devices.
 */
export interface RetentionPolicy {
  keepLast?: number;
  keepHourly?: number;
  keepDaily?: number;
  keepWeekly?: number;
  keepMonthly?: number;
  keepYearly?: number;
  /** restic's duration: numbers with units y, m (months), d, h, e.g. "30d" or "1y6m". */
  keepWithin?: string;
}

export const COUNT_RULES = ['keepLast', 'keepHourly', 'keepDaily', 'keepWeekly', 'keepMonthly', 'keepYearly'] as const;
export type CountRule = (typeof COUNT_RULES)[number];
export type RetentionRule = CountRule | 'keepWithin';

/** The reason restic prints for each rule ("daily snapshot"), in our words. */
export const RULE_REASONS: Record<RetentionRule, string> = {
  keepLast: 'last',
  keepHourly: 'hourly',
  keepDaily: 'daily',
  keepWeekly: 'weekly',
  keepMonthly: 'monthly',
  keepYearly: 'yearly',
  keepWithin: 'within',
};

export interface Datable {
  id: string;
  date: string;
}

export interface RetentionDecision<T extends Datable> {
  backup: T;
  keep: boolean;
  /** The rules that keep it, e.g. ["daily", "within 30d"]; empty when it is to be deleted. */
  reasons: string[];
  /** Dated after now (beyond FUTURE_SLACK_MS): kept, and not counted by the rules. */
  future?: boolean;
}

/** How far after now a date may be and still count as made now: clocks a little apart are not wrong ones. */
export const FUTURE_SLACK_MS = 3_600_000;

/** Whether `date` is after `now` by more than FUTURE_SLACK_MS: a wrong clock's (or a mistyped) date, which the rules leave out. */
export function datedAfterNow(date: string, now: Date): boolean {
  return Date.parse(date) > now.getTime() + FUTURE_SLACK_MS;
}

/** The reason a backup dated after now is kept. */
export const FUTURE_REASON = 'dated after now';

export interface RetentionPlan<T extends Datable> {
  /** Every datable backup, newest first, with its decision. */
  decisions: RetentionDecision<T>[];
  /** Backups whose date cannot be read: never deleted, reported. */
  undated: T[];
}

export interface Duration {
  years: number;
  months: number;
  days: number;
  hours: number;
}

/** "1y6m", "30d", "12h" → its parts; undefined unless the whole text is such a duration (not all zero). */
export function parseRetentionDuration(text: string): Duration | undefined {
  if (!/^(\d{1,6}[ymdh])+$/.test(text)) return undefined;
  const d: Duration = {years: 0, months: 0, days: 0, hours: 0};
  const unit = {y: 'years', m: 'months', d: 'days', h: 'hours'} as const;
  for (const [, n, u] of text.matchAll(/(\d+)([ymdh])/g)) d[unit[u as keyof typeof unit]] += Number(n);
  return d.years + d.months + d.days + d.hours > 0 ? d : undefined;
}

/**
 * Why a policy cannot be applied (no rule at all, or a bad value), or undefined. `label`
 * names a rule as the user wrote it (a flag, a profile field).
 */
export function retentionPolicyProblem(p: RetentionPolicy, label: (rule: RetentionRule) => string = (r) => r): string | undefined {
  for (const rule of COUNT_RULES) {
    const n = p[rule];
    if (n !== undefined && (!Number.isSafeInteger(n) || n < 0)) return `${label(rule)} must be a whole number ≥ 0, got ${String(n)}`;
  }
  if (p.keepWithin !== undefined && parseRetentionDuration(p.keepWithin) === undefined) {
    return `${label('keepWithin')} ${shownValue(p.keepWithin)} is not a duration such as 30d, 12h or 1y6m`;
  }
  const anyRule = COUNT_RULES.some((r) => (p[r] ?? 0) > 0) || p.keepWithin !== undefined;
  if (!anyRule) return 'the retention policy has no rule (every keep count is 0 or missing), and nothing is deleted by accident; give at least one rule greater than 0';
  return undefined;
}

/** Decides for every backup; throws bad_input for a policy that has no rule or a bad value. */
export function planRetention<T extends Datable>(backups: readonly T[], policy: RetentionPolicy, opts: {now?: Date} = {}): RetentionPlan<T> {
  const problem = retentionPolicyProblem(policy);
  if (problem) throw new BackupError('bad_input', problem);
  const undated = backups.filter((b) => Number.isNaN(Date.parse(b.date)));
  const all = backups
    .filter((b) => !Number.isNaN(Date.parse(b.date)))
    .map((b) => ({backup: b, time: new Date(Date.parse(b.date))}))
    .sort(newestFirst);
  const isFuture = (b: T) => opts.now !== undefined && datedAfterNow(b.date, opts.now);
  const future = all.filter((d) => isFuture(d.backup)).map(({backup}): RetentionDecision<T> => ({backup, keep: true, reasons: [FUTURE_REASON], future: true}));
  const dated = all.filter((d) => !isFuture(d.backup));

  const within = policy.keepWithin === undefined ? undefined : parseRetentionDuration(policy.keepWithin);
  const cutoff = within && dated.length > 0 ? subtract(dated[0].time, within) : undefined;
  const budgets = COUNT_RULES.map((rule) => ({rule, left: policy[rule] ?? 0, last: undefined as number | undefined}));

  const decisions = dated.map(({backup, time}, nr) => {
    const reasons: string[] = [];
    if (cutoff && time.getTime() > cutoff.getTime()) reasons.push(`within ${policy.keepWithin}`);
    for (const b of budgets) {
      if (b.left <= 0) continue;
      const bucket = bucketOf(b.rule, time, nr);
      if (bucket !== b.last) {
        b.last = bucket;
        b.left--;
        reasons.push(RULE_REASONS[b.rule]);
      }
    }
    return {backup, keep: reasons.length > 0, reasons};
  });
  return {decisions: [...future, ...decisions], undated};
}

/** Newest first; equal dates by id, so that a plan never depends on listing order. */
function newestFirst(a: {backup: Datable; time: Date}, b: {backup: Datable; time: Date}): number {
  return b.time.getTime() - a.time.getTime() || (a.backup.id < b.backup.id ? -1 : a.backup.id > b.backup.id ? 1 : 0);
}

/** Go's time.AddDate(-y, -m, -d).Add(-h): calendar arithmetic in local time, normalised like Date. */
function subtract(t: Date, d: Duration): Date {
  const out = new Date(t.getTime());
  out.setFullYear(out.getFullYear() - d.years, out.getMonth() - d.months, out.getDate() - d.days);
  return new Date(out.getTime() - d.hours * 3_600_000);
}

function bucketOf(rule: CountRule, t: Date, nr: number): number {
  const y = t.getFullYear();
  const m = t.getMonth() + 1;
  const d = t.getDate();
  switch (rule) {
    case 'keepLast':
      return nr;
    case 'keepHourly':
      return ((y * 100 + m) * 100 + d) * 100 + t.getHours();
    case 'keepDaily':
      return (y * 100 + m) * 100 + d;
    case 'keepWeekly': {
      const {year, week} = isoWeek(t);
      return year * 100 + week;
    }
    case 'keepMonthly':
      return y * 100 + m;
    case 'keepYearly':
      return y;
  }
}

/** The ISO 8601 week (and its year) of a local date, as Go's Time.ISOWeek. */
export function isoWeek(t: Date): {year: number; week: number} {
  // The Thursday of this week decides the year; computed on a UTC copy of the local calendar date.
  const day = new Date(Date.UTC(t.getFullYear(), t.getMonth(), t.getDate()));
  const weekday = day.getUTCDay() || 7;
  day.setUTCDate(day.getUTCDate() + 4 - weekday);
  const yearStart = Date.UTC(day.getUTCFullYear(), 0, 1);
  return {year: day.getUTCFullYear(), week: Math.floor((day.getTime() - yearStart) / 86_400_000 / 7) + 1};
}
