import {describe, test, expect} from '@jest/globals';
import fc from 'fast-check';
import {isBackupError} from '../../src/errors.js';
import {parseRetentionDuration, planRetention, type RetentionPolicy} from '../../src/backups/retention.js';

/**
 * An independent, deliberately plain reading of restic's rules (`restic forget`): sort
 * newest first; for each count rule, cut the list into runs of equal bucket (local time),
 * take the first N runs and keep the first (newest) backup of each; --keep-within keeps
 * what is newer than the newest backup minus the duration, done with the Date
 * constructor's own calendar normalisation. Kept = kept by any rule.
 */
type B = {id: string; date: string};
const pad = (n: number) => String(n).padStart(2, '0');

function isoWeekKey(t: Date): string {
  // The ISO week belongs to the year of its Thursday; week 1 holds the year's first Thursday.
  const monday = new Date(t.getFullYear(), t.getMonth(), t.getDate() - ((t.getDay() + 6) % 7));
  const thursday = new Date(monday.getFullYear(), monday.getMonth(), monday.getDate() + 3);
  const jan1 = new Date(thursday.getFullYear(), 0, 1);
  const dayOfYear = Math.round((Date.UTC(thursday.getFullYear(), thursday.getMonth(), thursday.getDate()) - Date.UTC(jan1.getFullYear(), 0, 1)) / 86_400_000);
  return `${thursday.getFullYear()}-W${pad(Math.floor(dayOfYear / 7) + 1)}`;
}

const KEYS: Record<string, (t: Date, i: number) => string> = {
  keepLast: (_t, i) => `#${i}`,
  keepHourly: (t) => `${t.getFullYear()}-${pad(t.getMonth() + 1)}-${pad(t.getDate())} ${pad(t.getHours())}`,
  keepDaily: (t) => `${t.getFullYear()}-${pad(t.getMonth() + 1)}-${pad(t.getDate())}`,
  keepWeekly: isoWeekKey,
  keepMonthly: (t) => `${t.getFullYear()}-${pad(t.getMonth() + 1)}`,
  keepYearly: (t) => `${t.getFullYear()}`,
};

function referenceKept(backups: B[], policy: RetentionPolicy): Set<string> {
  const sorted = [...backups].sort((a, b) => Date.parse(b.date) - Date.parse(a.date) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const kept = new Set<string>();
  for (const [rule, keyOf] of Object.entries(KEYS)) {
    const n = policy[rule as keyof RetentionPolicy] as number | undefined;
    if (!n) continue;
    const runs: B[][] = [];
    sorted.forEach((b, i) => {
      const key = keyOf(new Date(b.date), i);
      const last = runs[runs.length - 1];
      if (last && keyOf(new Date(last[0].date), sorted.indexOf(last[0])) === key) last.push(b);
      else runs.push([b]);
    });
    for (const run of runs.slice(0, n)) kept.add(run[0].id);
  }
  if (policy.keepWithin && sorted.length > 0) {
    const d = parseRetentionDuration(policy.keepWithin)!;
    const t = new Date(sorted[0].date);
    const cutoff = new Date(t.getFullYear() - d.years, t.getMonth() - d.months, t.getDate() - d.days, t.getHours(), t.getMinutes(), t.getSeconds(), t.getMilliseconds()).getTime() - d.hours * 3_600_000;
    for (const b of sorted) if (Date.parse(b.date) > cutoff) kept.add(b.id);
  }
  return kept;
}

const FROM = Date.UTC(2025, 0, 1);
const TO = Date.UTC(2027, 0, 1);
/** Dates over two years, clustered enough that hours, days and weeks repeat. */
const dateArb = fc.oneof(
  fc.integer({min: FROM, max: TO}),
  fc.integer({min: Date.UTC(2026, 2, 25), max: Date.UTC(2026, 3, 5)}), // across a DST change in many zones
  fc.integer({min: Date.UTC(2025, 11, 28), max: Date.UTC(2026, 0, 4)}), // across a year and ISO-week boundary
);
const backupsArb = fc.array(dateArb, {maxLength: 60}).map((times) => times.map((t, i) => ({id: `b${String(i).padStart(3, '0')}`, date: new Date(t).toISOString()})));
const countArb = fc.option(fc.integer({min: 0, max: 12}), {nil: undefined});
const withinArb = fc.option(
  fc.tuple(fc.integer({min: 0, max: 2}), fc.integer({min: 0, max: 14}), fc.integer({min: 0, max: 40}), fc.integer({min: 0, max: 48})).filter(([y, m, d, h]) => y + m + d + h > 0).map(([y, m, d, h]) => `${y ? `${y}y` : ''}${m ? `${m}m` : ''}${d ? `${d}d` : ''}${h ? `${h}h` : ''}`),
  {nil: undefined},
);
const policyArb = fc.record({keepLast: countArb, keepHourly: countArb, keepDaily: countArb, keepWeekly: countArb, keepMonthly: countArb, keepYearly: countArb, keepWithin: withinArb}, {requiredKeys: []});

const hasRule = (p: RetentionPolicy) => Object.entries(p).some(([k, v]) => (k === 'keepWithin' ? v !== undefined : typeof v === 'number' && v > 0));

describe('retention (restic\'s rules)', () => {
  test('for any dates and any policy with a rule, exactly what the reference keeps is kept', () => {
    fc.assert(
      fc.property(backupsArb, policyArb.filter(hasRule), (backups, policy) => {
        const plan = planRetention(backups, policy);
        const kept = plan.decisions.filter((d) => d.keep).map((d) => d.backup.id).sort();
        expect(kept).toEqual([...referenceKept(backups, policy)].sort());
        expect(plan.decisions).toHaveLength(backups.length);
        for (const d of plan.decisions) expect(d.keep).toBe(d.reasons.length > 0);
      }),
      {numRuns: 400},
    );
  });

  test('a policy whose every rule is zero or absent is an error and decides nothing', () => {
    fc.assert(
      fc.property(backupsArb, policyArb.filter((p) => !hasRule(p)), (backups, policy) => {
        let err: unknown;
        try {
          planRetention(backups, policy);
        } catch (e) {
          err = e;
        }
        expect(isBackupError(err, 'bad_input')).toBe(true);
        expect((err as Error).message).toMatch(/no rule/);
      }),
    );
  });

  test('a backup whose date cannot be read is never deleted, and reported', () => {
    const plan = planRetention([{id: 'x', date: 'yesterday'}, {id: 'a', date: '2026-01-01T00:00:00Z'}, {id: 'b', date: '2026-01-02T00:00:00Z'}], {keepLast: 1});
    expect(plan.undated.map((b) => b.id)).toEqual(['x']);
    expect(plan.decisions.map((d) => [d.backup.id, d.keep, d.reasons])).toEqual([['b', true, ['last']], ['a', false, []]]);
  });

  test('--keep-within keeps what is strictly newer than the newest backup minus the duration (restic\'s After)', () => {
    const backups = [{id: 'new', date: '2026-01-31T12:00:00Z'}, {id: 'edge', date: '2026-01-30T12:00:00Z'}, {id: 'in', date: '2026-01-30T12:00:01Z'}];
    const kept = planRetention(backups, {keepWithin: '24h'}).decisions.filter((d) => d.keep).map((d) => d.backup.id);
    expect(kept).toEqual(['new', 'in']);
  });

  describe('a backup dated after now (an archive from a device with a wrong clock)', () => {
    const now = new Date('2026-03-10T12:00:00Z');
    const real = [{id: 'n1', date: '2026-03-08T12:00:00Z'}, {id: 'n2', date: '2026-03-09T12:00:00Z'}, {id: 'n3', date: '2026-03-10T11:00:00Z'}];
    const future = {id: 'skew', date: '2030-01-01T00:00:00Z'};
    const decided = (policy: RetentionPolicy) => planRetention([...real, future], policy, {now}).decisions.map((d) => [d.backup.id, d.keep, d.reasons]);

    test('keepWithin is measured from the newest backup not dated after now: every real backup within 30 days stays, the future one is kept and marked', () => {
      expect(decided({keepWithin: '30d', keepLast: 2})).toEqual([
        ['skew', true, ['dated after now']],
        ['n3', true, ['within 30d', 'last']],
        ['n2', true, ['within 30d', 'last']],
        ['n1', true, ['within 30d']],
      ]);
      expect(planRetention([...real, future], {keepWithin: '30d'}, {now}).decisions.filter((d) => d.future).map((d) => d.backup.id)).toEqual(['skew']);
    });

    test('it takes no count rule\'s place: keepLast 1 keeps the newest real backup', () => {
      expect(decided({keepLast: 1})).toEqual([['skew', true, ['dated after now']], ['n3', true, ['last']], ['n2', false, []], ['n1', false, []]]);
    });

    test('within an hour of now it is an ordinary backup (clocks a little apart)', () => {
      const soon = {id: 'soon', date: '2026-03-10T12:30:00Z'};
      expect(planRetention([...real, soon], {keepLast: 1}, {now}).decisions.map((d) => [d.backup.id, d.keep])).toEqual([['soon', true], ['n3', false], ['n2', false], ['n1', false]]);
    });
  });

  test('durations: restic\'s units, nothing else', () => {
    expect(parseRetentionDuration('1y6m2d3h')).toEqual({years: 1, months: 6, days: 2, hours: 3});
    expect(parseRetentionDuration('30d')).toEqual({years: 0, months: 0, days: 30, hours: 0});
    for (const bad of ['', '30', 'd', '0d', '30s', '1w', ' 30d', '-1d']) expect(parseRetentionDuration(bad)).toBeUndefined();
  });
});
