import {describe, test, expect, beforeAll, afterAll} from '@jest/globals';
import {readFile, writeFile} from 'node:fs/promises';
import {join} from 'node:path';
import {parse, stringify} from 'yaml';
import {BackupCatalog} from '../../src/backups/index.js';
import {provisionalArchiveInfo} from '../../src/backups/archive-info.js';
import {haBackupAt, haBackupTar, supervisorBackupJson} from '../backups/ha-fixtures.js';
import {openBackend} from '../b2/helpers.js';
import {api, authorizeRaw} from '../emulator/helpers.js';
import {E2EWorld, expectFailure, parseJson} from './helpers.js';

// `b2 prune` and retention in profiles, as a user runs them: the built CLI in a child
// process against the emulator. Every test prunes its own prefix, laid out through the
// catalog with explicit dates spread over two years; the CLI runs with TZ=UTC unless a
// test says otherwise, so the expected survivors below are worked out by hand.

/** label → date (UTC). Newest first: p o n m l k j i h g f e d c b a. */
const DATES: Record<string, string> = {
  a: '2025-01-10T12:00:00Z',
  b: '2025-03-05T12:00:00Z',
  c: '2025-06-20T12:00:00Z',
  d: '2025-12-31T23:00:00Z', // ISO week 2026-W01, like e
  e: '2026-01-01T01:00:00Z',
  f: '2026-05-04T09:00:00Z', // Monday
  g: '2026-05-10T09:00:00Z', // Sunday of f's week
  h: '2026-05-11T09:00:00Z',
  i: '2026-11-02T08:00:00Z',
  j: '2026-11-20T10:00:00Z',
  k: '2026-11-27T06:00:00Z',
  l: '2026-11-28T06:00:00Z',
  m: '2026-11-29T06:00:00Z', // Sunday: week 48
  n: '2026-11-30T06:00:00Z', // Monday: week 49
  o: '2026-11-30T06:40:00Z', // n's hour
  p: '2026-11-30T09:00:00Z',
};
const ALL = Object.keys(DATES);

interface PruneJson {
  dryRun: boolean;
  backups: Array<{id: string; name: string; action: 'keep' | 'delete'; reasons: string[]}>;
  deleted: string[];
  skipped: string[];
  unfinishedUploads: number;
}

let world: E2EWorld;
let nextPrefix = 0;

/**
 * A fresh profile on its own prefix holding the given backups (name = label, date =
 * DATES[label]), laid out through the catalog in parallel. The profile is a copy of the
 * one `profile add` made and checked in beforeAll, with its own prefix, written to the
 * file directly: setting up costs no CLI run.
 */
async function location(labels: string[] = ALL, dates: Record<string, string> = DATES): Promise<{profile: string; prefix: string}> {
  const n = nextPrefix++;
  const profile = `p${n}`;
  const prefix = `prune-${n}/`;
  const backend = await openBackend(world.emu, {prefix});
  await Promise.all(labels.map((label) => new BackupCatalog(backend, {now: () => new Date(dates[label])}).upload(Buffer.from(`backup ${label}`), {name: label})));
  await backend.close();
  await editProfiles((profiles) => {
    profiles[profile] = {...profiles.base, prefix};
  });
  return {profile, prefix};
}

async function editProfiles(edit: (profiles: Record<string, Record<string, unknown>>) => void): Promise<void> {
  const doc = parse(await readFile(world.config, 'utf8')) as {profiles: Record<string, Record<string, unknown>>};
  edit(doc.profiles);
  await writeFile(world.config, stringify(doc), {mode: 0o600});
}

/**
 * The names of the backups left under the profile's prefix, listed in this process over
 * the emulator: a CLI run per check would double the file's cost, and `b2 list` has its own tests.
 */
async function survivors(profile: string): Promise<string[]> {
  const doc = parse(await readFile(world.config, 'utf8')) as {profiles: Record<string, {prefix: string}>};
  const backend = await openBackend(world.emu, {prefix: doc.profiles[profile].prefix});
  try {
    return (await new BackupCatalog(backend, {onWarning: () => undefined}).list()).map((b) => b.name).sort();
  } finally {
    await backend.close();
  }
}

async function prune(profile: string, args: string[], env: Record<string, string> = {TZ: 'UTC'}) {
  return world.b2(['prune', '--profile', profile, ...args], {env});
}

/** Sets (or removes) the profile's retention: by editing the YAML file, as a user does. */
async function setRetention(profile: string, retention: Record<string, unknown> | undefined): Promise<void> {
  await editProfiles((profiles) => {
    if (retention) profiles[profile].retention = retention;
    else delete profiles[profile].retention;
  });
}

beforeAll(async () => {
  world = await E2EWorld.start();
  await world.addProfile('base', {...(await world.createKey()), prefix: 'base/'});
});

afterAll(async () => {
  world?.expectNoSecretInAnyRun();
  await world?.close();
});

describe('what a prune costs in B2 calls', () => {
  test('13 backups deleted from one listing: one b2_list_file_names per 1,000 names, no metadata download, no lookup per backup', async () => {
    const {profile} = await location();
    const before = {...world.emu.stats().calls};
    const r = await prune(profile, ['--keep-last', '3', '--yes', '--json']);
    expect(r.code).toBe(0);
    const out = parseJson<PruneJson>(r);
    expect(out.backups.filter((b) => b.action === 'keep').map((b) => b.name).sort()).toEqual(['n', 'o', 'p']); // --keep-last 3: the rule cases below
    expect(out.deleted).toHaveLength(ALL.length - 3);
    const after = world.emu.stats().calls;
    const made = (name: string) => (after[name] ?? 0) - (before[name] ?? 0);
    // 32 names (16 backups × archive + metadata file) fit one page; before the fix each delete listed again
    expect(made('b2_list_file_names')).toBe(1);
    expect(made('b2_download_file_by_name') + made('b2_download_file_by_id')).toBe(0);
    expect(await survivors(profile)).toEqual(['n', 'o', 'p']);
  });
});

describe('b2 prune: each rule and combinations, exactly which backups survive', () => {
  // --keep-last 3: the prune of the cost test above, which checks the same
  const cases: Array<[string, string[], string[]]> = [
    ['--keep-hourly 3 (o and n share an hour)', ['--keep-hourly', '3'], ['m', 'o', 'p']],
    ['--keep-daily 3', ['--keep-daily', '3'], ['l', 'm', 'p']],
    ['--keep-weekly 3 (ISO weeks: Sunday ends one)', ['--keep-weekly', '3'], ['j', 'm', 'p']],
    ['--keep-weekly 100 (2025-12-31 and 2026-01-01 are one ISO week)', ['--keep-weekly', '100'], ['a', 'b', 'c', 'e', 'g', 'h', 'i', 'j', 'm', 'p']],
    ['--keep-monthly 3', ['--keep-monthly', '3'], ['e', 'h', 'p']],
    ['--keep-yearly 3 (only two years exist)', ['--keep-yearly', '3'], ['d', 'p']],
    ['--keep-within 30d (of the newest backup)', ['--keep-within', '30d'], ['i', 'j', 'k', 'l', 'm', 'n', 'o', 'p']],
    ['--keep-within 1d', ['--keep-within', '1d'], ['n', 'o', 'p']],
    ['--keep-last 1 --keep-monthly 2 --keep-yearly 2', ['--keep-last', '1', '--keep-monthly', '2', '--keep-yearly', '2'], ['d', 'h', 'p']],
    ['--keep-daily 2 --keep-weekly 2 --keep-within 1d', ['--keep-daily', '2', '--keep-weekly', '2', '--keep-within', '1d'], ['m', 'n', 'o', 'p']],
    ['--keep-hourly 2 --keep-yearly 1 --keep-within 1y', ['--keep-hourly', '2', '--keep-yearly', '1', '--keep-within', '1y'], ['d', 'e', 'f', 'g', 'h', 'i', 'j', 'k', 'l', 'm', 'n', 'o', 'p']],
  ];
  test.each(cases)('%s', async (_title, args, expected) => {
    const {profile} = await location();
    const r = await prune(profile, [...args, '--yes', '--json']);
    expect(r.code).toBe(0);
    const out = parseJson<PruneJson>(r);
    expect(out.backups.filter((b) => b.action === 'keep').map((b) => b.name).sort()).toEqual(expected);
    expect(out.deleted).toHaveLength(ALL.length - expected.length);
    expect(await survivors(profile)).toEqual(expected);
  });

  test('buckets follow the local time zone: two backups an hour apart across UTC midnight are one day in New York', async () => {
    const dates = {x: '2026-11-29T23:30:00Z', y: '2026-11-30T00:30:00Z'};
    const utc = await location(['x', 'y'], dates);
    expect(parseJson<PruneJson>(await prune(utc.profile, ['--keep-daily', '1', '--dry-run', '--json'])).backups.map((b) => b.action)).toEqual(['keep', 'delete']);
    const r = await prune(utc.profile, ['--keep-daily', '2', '--yes', '--json'], {TZ: 'America/New_York'});
    expect(parseJson<PruneJson>(r).deleted).toHaveLength(1);
    expect(await survivors(utc.profile)).toEqual(['y']);
  });
});

describe('b2 prune: safety', () => {
  test('--dry-run lists every backup with keep/delete and the rule that kept it, names in "deleted" what would go, and deletes nothing', async () => {
    const {profile} = await location();
    const r = await prune(profile, ['--keep-daily', '2', '--keep-monthly', '2', '--dry-run', '--json']);
    expect(r.code).toBe(0);
    const out = parseJson<PruneJson>(r);
    expect(out.dryRun).toBe(true);
    // as cleanup --dry-run: what a real run would delete, in its order (oldest first)
    expect(out.deleted).toHaveLength(13);
    expect(out.deleted).toEqual(out.backups.filter((b) => b.action === 'delete').map((b) => b.id).reverse());
    expect(out.backups.map((b) => b.name)).toEqual([...ALL].reverse());
    expect(out.backups.find((b) => b.name === 'p')).toMatchObject({action: 'keep', reasons: ['daily', 'monthly']});
    expect(out.backups.find((b) => b.name === 'm')).toMatchObject({action: 'keep', reasons: ['daily']});
    expect(out.backups.find((b) => b.name === 'h')).toMatchObject({action: 'keep', reasons: ['monthly']});
    expect(out.backups.find((b) => b.name === 'a')).toMatchObject({action: 'delete', reasons: []});
    const human = await prune(profile, ['--keep-daily', '2', '--keep-monthly', '2', '--dry-run']);
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(/^delete\s+[0-9a-f]{12}\s+2025-01-10 12:00:00 \+00:00\s+\d+ B\s+a\s*$/m);
    expect(human.stderr).toMatch(/Would delete 13 backups and keep 3 \(--keep-daily 2 --keep-monthly 2\); --dry-run deleted nothing\./);
    expect(await survivors(profile)).toEqual(ALL);
  });

  test('without --yes off a terminal: exit 2, nothing deleted', async () => {
    const {profile} = await location(['a', 'b', 'c']);
    expectFailure(await prune(profile, ['--keep-last', '1']), 2, /refusing to prune without confirmation: stdin is not a terminal; pass --yes/, world.secrets);
    expect(await survivors(profile)).toEqual(['a', 'b', 'c']);
  });

  test('a policy with no rule is an error: all zero, or no flags and no profile retention (exit 2, nothing deleted)', async () => {
    const {profile} = await location(['a', 'b']);
    expectFailure(await prune(profile, ['--keep-last', '0', '--keep-daily', '0', '--yes']), 2, /retention policy has no rule/, world.secrets);
    expectFailure(await prune(profile, ['--yes']), 2, new RegExp(`profile "${profile}" has no "retention:" and no --keep-\\* flag`), world.secrets);
    expectFailure(await prune(profile, ['--keep-within', '30x', '--yes']), 2, /--keep-within "30x" is not a duration/, world.secrets);
    expect(await survivors(profile)).toEqual(['a', 'b']);
  });

  test('foreign files, orphans and unfinished uploads are never touched, and are reported', async () => {
    const {profile, prefix} = await location(['a', 'b', 'c']);
    const backend = await openBackend(world.emu, {prefix});
    await backend.put('notes.txt', Buffer.from('mine'));
    await backend.put('Orphan_2025-01-01_00.00_00000000.tar', Buffer.from('an archive with no metadata file'));
    const auth = await authorizeRaw(world.emu);
    // an interrupted upload of this location's (as an upload starts it: its provisional marker), one of the same
    // under a deeper prefix (another profile's: a prefix of its own), and another tool's: only the first is this cleanup's
    const ours = provisionalArchiveInfo({id: '0badc0de', name: 'Unfinished', date: '2025-01-01T00:00:00.000000+00:00'});
    const start = (fileName: string, fileInfo?: Record<string, string>) => api(world.emu, auth.authorizationToken, 'b2_start_large_file', {bucketId: world.emu.bucketId, fileName, contentType: 'application/x-tar', fileInfo});
    await start(`${prefix}Unfinished_2025-01-01_00.00_00000000.tar`, ours);
    await start(`${prefix}deeper/Unfinished_2025-01-01_00.00_00000000.tar`, ours);
    await start(`${prefix}Unfinished_2025.tar`);
    const r = await prune(profile, ['--keep-last', '1', '--yes', '--json']);
    expect(r.code).toBe(0);
    const out = parseJson<PruneJson>(r);
    expect(out.skipped).toEqual([expect.stringMatching(/Orphan_2025-01-01_00\.00_00000000\.tar: it has no metadata file/)]);
    expect(out.unfinishedUploads).toBe(1);
    // for people, counted as such ("1 unfinished upload", "removes it"), and when its cleanup takes it: a younger one it leaves alone
    const human = await prune(profile, ['--keep-last', '1', '--dry-run']);
    expect(`${human.stdout}${human.stderr}`).toContain(`Not touched: 1 unfinished upload; "backup-b2 b2 cleanup --config ${world.config} --profile ${profile}" removes it once it is 24 hours old (cleanup's default --older-than)\n`);
    // as that cleanup counts them: the one it would cancel, the two others left as not this location's
    const cleanup = parseJson<{cancelled: unknown[]; foreign: number}>(await world.b2(['cleanup', '--profile', profile, '--older-than', '0s', '--dry-run', '--json']));
    expect(cleanup).toMatchObject({cancelled: [expect.objectContaining({key: 'Unfinished_2025-01-01_00.00_00000000.tar'})], foreign: 2});
    const keys: string[] = [];
    for await (const o of backend.list()) keys.push(o.key);
    expect(keys).toEqual(expect.arrayContaining(['notes.txt', 'Orphan_2025-01-01_00.00_00000000.tar']));
    await backend.close();
    expect(await survivors(profile)).toEqual(['c']);
  });
});

describe('retention in the profile', () => {
  test('prune without flags uses the profile\'s rules', async () => {
    const {profile} = await location();
    await setRetention(profile, {keepLast: 1, keepYearly: 2});
    const r = await prune(profile, ['--yes']);
    expect(r.code).toBe(0);
    expect(await survivors(profile)).toEqual(['d', 'p']);
    // the rules as the profile holds them, not as --keep-* flags nobody typed
    expect(r.stderr).toMatch(new RegExp(`^Deleted 14 backups and kept 2 \\(retention: \\{keepLast: 1, keepYearly: 2\\} in profile "${profile}"\\)\\.$`, 'm'));
  });

  test('an upload whose prune fails names the profile in the fix: "prune --yes" alone would prune the default location', async () => {
    const {profile} = await location(ALL.slice(0, 3));
    await setRetention(profile, {keepLast: 1});
    const archive = join(world.dir, 'prune-fails.tar');
    await writeFile(archive, 'a backup whose prune B2 refuses');
    // a 400 is not retried: the prune fails at its first delete; the backup itself is stored
    world.emu.faults.add({call: 'b2_delete_file_version', status: 400, code: 'bad_request', message: 'injected'});
    try {
      const r = await world.b2(['upload', archive, '--name', 'prune-fails', '--profile', profile]);
      expect(r.code).toBe(0);
      expect(r.stderr).toContain(`; run "backup-b2 b2 prune --yes --config ${world.config} --profile ${profile}" to finish it\n`);
    } finally {
      world.emu.faults.clear();
    }
    expect(await survivors(profile)).toContain('prune-fails');
  });

  test('upload prunes after it succeeds, says what it removed, and never deletes the backup it just made', async () => {
    // A Home Assistant archive names its own date: made in April, it is older than x, y and z, so by keepLast 2 it would go.
    const dates = {x: '2026-10-01T00:00:00Z', y: '2026-10-02T00:00:00Z', z: '2026-10-03T00:00:00Z'};
    const {profile} = await location(['x', 'y', 'z'], dates);
    await setRetention(profile, {keepLast: 2});
    const at = haBackupAt(0);
    const archive = join(world.dir, 'april.tar');
    await writeFile(archive, haBackupTar(supervisorBackupJson(at)));
    const r = await world.b2(['upload', archive, '--profile', profile]);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/^Pruned backup [0-9a-f]{12} "x" of 2026-10-01 00:00:00 \+00:00 \(retention: \{keepLast: 2\} in profile "p\d+"\)$/m);
    expect(await survivors(profile)).toEqual([at.name, 'y', 'z']);
    // --json says it too
    const newer = join(world.dir, 'newer.tar');
    await writeFile(newer, 'a newer backup');
    const json = await world.b2(['upload', newer, '--name', 'newer', '--profile', profile, '--json']);
    const out = parseJson<{id: string; pruned: string[]}>(json);
    expect(out.pruned).toHaveLength(2);
    expect(await survivors(profile)).toEqual(['newer', 'z']); // the April one went: the oldest, and no longer just uploaded
  });

  test('an archive dated after now (a device with a wrong clock) is kept and named in a warning, and no real backup is pruned because of it', async () => {
    const {profile} = await location(['n', 'o', 'p']);
    await setRetention(profile, {keepWithin: '30d', keepLast: 2});
    const at = {...haBackupAt(3), date: '2030-01-01T00:00:00.000000+00:00'};
    const archive = join(world.dir, 'skewed.tar');
    await writeFile(archive, haBackupTar(supervisorBackupJson(at)));
    const r = await world.b2(['upload', archive, '--profile', profile]);
    expect(r.code).toBe(0);
    expect(r.stderr).not.toMatch(/^Pruned backup/m);
    expect(r.stderr).toMatch(new RegExp(`^Pruned nothing: every backup is kept by retention: \\{keepLast: 2, keepWithin: 30d\\} in profile "${profile}"$`, 'm'));
    expect(r.stderr).toMatch(/^Warning: backup [0-9a-f]+ "Automatic backup 2026\.4\.1" is dated 2030-01-01 00:00:00 \+00:00, after now by B2's clock: it is kept and not counted by the retention rules \(is the clock of the device that made it wrong\?\)$/m);
    expect(await survivors(profile)).toEqual([at.name, 'n', 'o', 'p']);
    const dry = await prune(profile, ['--dry-run']);
    expect(dry.code).toBe(0);
    expect(dry.stderr).toMatch(/^Warning: backup [0-9a-f]+ .* is dated 2030-01-01 00:00:00 \+00:00, after now by B2's clock/m);
    expect(dry.stdout).toMatch(/^keep +[0-9a-f]+ +2030-01-01 00:00:00 \+00:00 .* dated after now$/m);
    expect(dry.stdout).toMatch(/^keep +[0-9a-f]+ +2026-11-30 06:00:00 \+00:00 .* n +within 30d$/m);
    expect(dry.stderr).toMatch(/Would delete 0 backups and keep 4 \(/);
  });

  test('upload --dry-run says what the prune after it would delete, counting the backup it would store; the real run deletes exactly that', async () => {
    const dates = {x: '2026-10-01T00:00:00Z', y: '2026-10-02T00:00:00Z', z: '2026-10-03T00:00:00Z'};
    const {profile} = await location(['x', 'y', 'z'], dates);
    await setRetention(profile, {keepLast: 2});
    const archive = join(world.dir, 'planned.tar');
    await writeFile(archive, 'a backup planned before it is made');
    const args = ['upload', archive, '--name', 'planned', '--profile', profile];
    const dry = await world.b2([...args, '--dry-run']);
    expect(dry.code).toBe(0);
    // the new backup is the newest: with it and z kept, x and y would go (oldest first, as a prune deletes)
    expect(dry.stdout).toMatch(/^Then prune \(retention: \{keepLast: 2\} in profile "p\d+"; --no-prune skips it\): would delete 2 backups, oldest first:\n {2}[0-9a-f]{12} "x" of 2026-10-01 00:00:00 \+00:00\n {2}[0-9a-f]{12} "y" of 2026-10-02 00:00:00 \+00:00$/m);
    const planned = parseJson<{prune: {delete: Array<{id: string; name: string}>; kept: number}}>(await world.b2([...args, '--dry-run', '--json']));
    expect({names: planned.prune.delete.map((b) => b.name), kept: planned.prune.kept}).toEqual({names: ['x', 'y'], kept: 2});
    expect(await survivors(profile)).toEqual(['x', 'y', 'z']); // a dry run deletes nothing
    const skipped = await world.b2([...args, '--dry-run', '--no-prune', '--json']);
    expect(parseJson(skipped)).not.toHaveProperty('prune');
    const real = parseJson<{pruned: string[]}>(await world.b2([...args, '--json']));
    expect(real.pruned.sort()).toEqual(planned.prune.delete.map((b) => b.id).sort());
    expect(await survivors(profile)).toEqual(['planned', 'z']);
  });

  test('upload --quiet prunes as usual and says nothing of it: only the id on stdout, stderr empty (a cron job mails any output)', async () => {
    const {profile} = await location(['a', 'b', 'c']);
    await setRetention(profile, {keepLast: 1});
    const archive = join(world.dir, 'quiet.tar');
    await writeFile(archive, 'a backup made by cron');
    const r = await world.b2(['upload', archive, '--name', 'd', '--quiet', '--profile', profile]);
    expect(r).toMatchObject({code: 0, stderr: ''});
    expect(r.stdout).toMatch(/^[0-9a-f]{12}\n$/);
    expect(await survivors(profile)).toEqual(['d']);
  });

  test('--no-prune skips it', async () => {
    const {profile} = await location(['a', 'b', 'c']);
    await setRetention(profile, {keepLast: 1});
    const archive = join(world.dir, 'skip.tar');
    await writeFile(archive, 'another backup');
    const r = await world.b2(['upload', archive, '--name', 'd', '--no-prune', '--profile', profile]);
    expect(r.code).toBe(0);
    expect(r.stderr).not.toMatch(/Pruned/);
    expect(await survivors(profile)).toEqual(['a', 'b', 'c', 'd']);
  });

  test('a failed upload prunes nothing', async () => {
    const {profile} = await location(['a', 'b', 'c']);
    await setRetention(profile, {keepLast: 1});
    const archive = join(world.dir, 'fails.tar');
    await writeFile(archive, 'this upload is refused by the server');
    world.emu.faults.add({call: 'b2_upload_file', status: 400, code: 'bad_request', message: 'refused (test)'});
    try {
      const r = await world.b2(['upload', archive, '--name', 'd', '--profile', profile]);
      expect(r.code).not.toBe(0);
      expect(r.stderr).not.toMatch(/Pruned/);
    } finally {
      world.emu.faults.clear();
    }
    expect(await survivors(profile)).toEqual(['a', 'b', 'c']);
  });

  test('a retention policy with no rule is refused with its line in the file', async () => {
    const {profile} = await location(['a']);
    await setRetention(profile, {keepDaily: 0});
    const r = await world.b2(['list', '--profile', profile]);
    expectFailure(r, 2, /profiles\.yaml:\d+: profiles\.p\d+\.retention: the retention policy has no rule \(every keep count is 0 or missing\)/, world.secrets);
    await setRetention(profile, {keepLast: 1, keepDialy: 3});
    expectFailure(await world.b2(['list', '--profile', profile]), 2, /retention\.keepDialy: unknown field \(did you mean "keepDaily"\?\); expected one of keepLast, keepHourly, keepDaily/, world.secrets);
    await setRetention(profile, {keepDaily: 'seven'});
    expectFailure(await world.b2(['list', '--profile', profile]), 2, /retention\.keepDaily: expected a whole number ≥ 0, got "seven"/, world.secrets);
    await setRetention(profile, undefined);
  });
});
