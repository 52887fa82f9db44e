import {humanSize, lockedText} from '../backups/display.js';
import {lockOfRetention, retentionFor} from '../backups/lock.js';
import type {Retention} from '../backend.js';
import {escapeInvisible} from '../backups/validate.js';
import {executeMove, planMove, type MoveItem, type MovePlan} from '../backups/move.js';
import {connectB2, connectB2Pair, savedProfileFix} from '../connect.js';
import {CLEANUP_AGE, commandHint, locationFlags, profileCommandHint, shellWord} from '../command-hint.js';
import {BackupError} from '../errors.js';
import {count} from '../plural.js';
import {ARCHIVE_SUFFIX, METADATA_SUFFIX, baseOf} from '../backups/layout.js';
import type {ResolvedProfile} from '../profiles/types.js';
import {lockCopy} from './copy-lock.js';
import {profileOnHint} from './profile-on-hint.js';
import {reuploadHint} from '../reupload-hint.js';
import {assertSeesLocks} from './object-lock.js';
import {bucketWarning, locationId} from './open-backend.js';
import {assertNoOtherMove, forgetMove, recordMove} from './move-record.js';

/**
 * `b2 profile update NAME --prefix NEW --move-backups [--dry-run]`: the backups under the
 * profile's current prefix go to the new one by server-side copy, before the profile is
 * saved with it (see src/backups/move.ts). Answers whether the profile may be saved: not
 * after a dry run.
 */
export async function moveProfileBackups(
  from: ResolvedProfile,
  to: ResolvedProfile,
  ctx: {dataDir: string; cli: string; configFlag?: string; dryRun: boolean; signal: AbortSignal; log: (line: string) => void; warn: (line: string) => void},
): Promise<boolean> {
  // the same prefix in another bucket is another location: a move there is what --bucket OTHER asks for
  if (from.prefix === to.prefix && sameBucket(from, to)) throw new BackupError('bad_input', `--move-backups moves the backups to a new prefix or bucket, but profile "${to.name}" already uses ${JSON.stringify(to.prefix)} in bucket ${to.bucket}; give --prefix a different one (or --bucket another bucket)`);
  // a move killed on its way elsewhere is finished first: its copies are where no profile points
  const continued = await assertNoOtherMove(ctx.dataDir, from, to, ctx);
  // the profile names the old prefix until the move is saved: its hints act there, and the
  // new prefix's leftovers are cleaned up once the move is finished (moveCleanupFix)
  const fromFlags = locationFlags(from.name, ctx.configFlag);
  const cleanupFix = moveCleanupFix(from, to, ctx);
  // both are the one profile being updated: its fixes (a key, a bucket) name the --config it came from
  const fix = savedProfileFix(to.name, ctx.cli, ctx.configFlag);
  const [source, destination] = await connectB2Pair(from, to, {dataDir: ctx.dataDir, signal: ctx.signal, cli: ctx.cli}, [{locationFlags: fromFlags, ...fix}, {cleanupFix, ...fix}]);
  try {
    const barrier = source.copyBarrier(destination);
    if (barrier) throw new BackupError('bad_input', `${barrier.reason}; nothing was copied or saved; ${reuploadInstead(from, to, ctx)}`);
    await assertSeesLocks(source, from, 'move', ctx.signal);
    // the lines about what stays at the old prefix are printed by a dry run, or once the profile names the new one
    const strayRemover = ctx.dryRun ? undefined : `${oldPrefixRemover(from, to, ctx)} ${CLEANUP_AGE}`;
    const plan = await planMove(source, destination, {signal: ctx.signal, hint: (words) => commandHint(ctx.cli, words, fromFlags), strayRemover});
    const where = moveRoute(from, to);
    // the profile's lock:, on every copy as on its uploads (its check, passed before, saw that the bucket and key can set it)
    const destinationLock = to.lock && retentionFor(to.lock, destination.now());
    if (ctx.dryRun) {
      ctx.log(renderPlan(plan, where, to, destinationLock));
      ctx.log('Dry run: nothing was copied, deleted or saved.');
      return false;
    }
    const names = (item: MoveItem) => ({backup: `backup ${item.id ?? escapeInvisible(item.base)}`, where: `the new prefix ${JSON.stringify(to.prefix)}`});
    const warned = new Set<string>(); // a data dir that cannot hold locks is said once, not once per backup
    const warnOnce = (line: string) => void (warned.has(line) || (warned.add(line), ctx.warn(line)));
    const lockItem = (item: MoveItem) => lockCopy(ctx.dataDir, locationId(to), item.archive.key, names(item), warnOnce);
    const onWarning = bucketWarning(ctx.warn);
    // before the first copy: a kill from here on leaves backups where the profile does not point (removed once it is saved)
    await recordMove(ctx.dataDir, from, to, ctx.warn);
    // an archive copy left without its metadata file is what finishing the move completes: only a move given up removes it
    // a move that fails having left nothing at the destination (and continues none) is no unfinished move: the record goes
    let unchanged = false;
    const onFailedUnchanged = () => void (unchanged = !continued);
    const report = await executeMove(source, destination, plan, {signal: ctx.signal, concurrency: to.concurrency, lockItem, destinationLock, onWarning, onFailedUnchanged, destinationRun: (words) => abandonedMoveRun(words, to, ctx)}).catch(async (err: unknown) => {
      if (unchanged) await forgetMove(ctx.dataDir, to);
      throw err;
    });
    for (const line of staying(plan, from)) ctx.warn(line);
    if (report.refused.length > 0) ctx.warn(refusedWarning(report.refused, from, to));
    const already = plan.items.filter((i) => !i.copy.archive && !i.copy.metadataFile).length;
    const locked = destinationLock && report.copied > 0 ? `; the copies are ${lockedText(lockOfRetention(destinationLock))} (the profile's "lock:")` : '';
    ctx.log(`Moved ${count(plan.items.length, 'backup')} from ${where}: ${count(report.copied, 'file')} copied on the server (no archive downloaded)${already ? `, ${already} already copied by an interrupted run` : ''}, ${count(report.deleted, 'original')} deleted${locked}`);
    return true;
  } finally {
    await Promise.all([source.close(), destination.close()]);
  }
}

/** Where a move goes: both buckets when it leaves one for another, so that it does not read as a move inside the new one. */
function moveRoute(from: ResolvedProfile, to: ResolvedProfile): string {
  const [was, will] = movePlaces(from, to);
  return `${was} to ${will}`;
}

/** The old and the new location in words: the new one's bucket always, the old one's when it is another. */
function movePlaces(from: ResolvedProfile, to: ResolvedProfile): [string, string] {
  const inBucket = (p: ResolvedProfile) => `${JSON.stringify(p.prefix)} in bucket ${p.bucket}`;
  return [sameBucket(from, to) ? JSON.stringify(from.prefix) : inBucket(from), inBucket(to)];
}

/**
 * How to remove what a failed or stopped copy left under the new prefix (followed by "to
 * remove it"): the profile names that prefix only once the move is saved, so its cleanup
 * run before then would look under the old one. The move is finished first: by the same
 * command, which only the user has whole (it may change the key too). A move the user
 * gives up leaves it to a profile on the new prefix, which none names yet (profileOnHint).
 */
function moveCleanupFix(from: ResolvedProfile, to: ResolvedProfile, ctx: {cli: string; configFlag?: string}): string {
  const [was, will] = movePlaces(from, to);
  return (
    `finish the move first (the same profile update command again: profile "${to.name}" uses the new prefix ${will} only once the move is saved, and a cleanup before then would look under ${was}; ` +
    `a move you will not finish leaves it to a profile on the new prefix: ${profileOnHint(ctx.cli, to, ctx.configFlag)}, then "${cleanupWith('PROFILE', ctx)}"), ` +
    `then run "${cleanupWith(to.name, ctx)}"`
  );
}

/**
 * How a command (`words`: "cleanup", "delete ID --yes") removes what a move given up leaves
 * under the new prefix: no saved profile names that prefix until the move is saved.
 */
function abandonedMoveRun(words: string, to: ResolvedProfile, ctx: {cli: string; configFlag?: string}): string {
  return `add a profile on the new prefix, ${profileOnHint(ctx.cli, to, ctx.configFlag)}, and run "${commandWith(words, 'PROFILE', ctx)}"`;
}

/**
 * What removes an archive without its metadata file that a finished move leaves at the
 * old prefix (CLEANUP_AGE follows): the profile names the new one by then, so its own
 * cleanup would look there; a profile on the old prefix does it.
 */
function oldPrefixRemover(from: ResolvedProfile, to: ResolvedProfile, ctx: {cli: string; configFlag?: string}): string {
  const [was] = movePlaces(from, to);
  return `profile "${to.name}" no longer names ${was}, so its cleanup does not look there; a profile on it does: ${profileOnHint(ctx.cli, from, ctx.configFlag)}, then "${cleanupWith('PROFILE', ctx)}" removes it`;
}

/**
 * A move between two B2 accounts or endpoints, which no server-side copy makes: what the
 * user does instead, backup by backup, through a profile on the new location (none names
 * it until the profile is saved), then the profile changed without --move-backups.
 */
function reuploadInstead(from: ResolvedProfile, to: ResolvedProfile, ctx: {cli: string; configFlag?: string}): string {
  return (
    `to move them anyway, add a profile on the new location, ${profileOnHint(ctx.cli, to, ctx.configFlag)}${sameProtection(to)}; for each backup, ${reuploadHint(ctx.cli, locationFlags(from.name, ctx.configFlag), locationFlags('PROFILE', ctx.configFlag))}; ` +
    `then run the same profile update command without --move-backups (the originals stay under ${movePlaces(from, to)[0]} until deleted)`
  );
}

/**
 * What the profile that re-uploads must be given besides its location, so that the
 * backups are stored as `to` would store them: its encryption (the SSE-C key is the
 * user's, never printed) and its `lock:` (a field of the profiles file, no flag).
 */
function sameProtection(to: ResolvedProfile): string {
  const needs = [
    to.encryption && `--encryption ${to.encryption.mode}${to.encryption.mode === 'SSE-C' ? ' --encryption-key …' : ''}`,
    to.lock && `the "lock:" of profile "${to.name}" in the profiles file`,
  ].filter(Boolean);
  return needs.length === 0 ? '' : `, with ${needs.join(' and ')} as profile "${to.name}" has them (else the copies are stored without)`;
}

function cleanupWith(profileName: string, ctx: {cli: string; configFlag?: string}): string {
  return commandWith('cleanup', profileName, ctx);
}

/** A command of this plugin (`words`) on the location of profile `profileName` (its --config repeated). */
function commandWith(words: string, profileName: string, ctx: {cli: string; configFlag?: string}): string {
  return commandHint(ctx.cli, words, locationFlags(profileName, ctx.configFlag));
}

function sameBucket(from: ResolvedProfile, to: ResolvedProfile): boolean {
  return from.bucket === to.bucket && from.endpoint === to.endpoint;
}

/**
 * Changing the prefix without --move-backups: how many backups stay behind under the old
 * one (a listing, nothing downloaded), for the warning that names the flag.
 */
export async function backupsLeftBehind(from: ResolvedProfile, ctx: {dataDir: string; signal?: AbortSignal}): Promise<number> {
  const backend = await connectB2(from, {dataDir: ctx.dataDir, signal: ctx.signal});
  try {
    const bases = new Set<string>();
    let n = 0;
    for await (const obj of backend.list({signal: ctx.signal})) {
      const archive = baseOf(obj.key, ARCHIVE_SUFFIX);
      const metadata = baseOf(obj.key, METADATA_SUFFIX);
      for (const base of [archive, metadata]) {
        if (base === undefined) continue;
        if (bases.has(base)) n++;
        else bases.add(base);
      }
    }
    return n;
  } finally {
    await backend.close();
  }
}

/**
 * A new location (prefix, bucket or endpoint) saved without --move-backups: how many backups
 * stay at the old one, and the commands that move them after all: every part that changed
 * put back, then the move (none goes to another endpoint: no server-side copy does).
 * `configFlag`: the --config the profiles file came from, which the commands repeat.
 */
export function leftBehindWarning(n: number, from: ResolvedProfile, to: ResolvedProfile, ctx: {cli: string; configFlag?: string}): string {
  const update = (words: string) => profileCommandHint(ctx.cli, `update ${shellWord(to.name)} ${words}`, ctx.configFlag);
  const changed = (['endpoint', 'bucket', 'prefix'] as const).filter((part) => from[part] !== to[part]);
  const putBack = update(changed.map((part) => `--${part} ${shellWord(from[part])}`).join(' '));
  const where = changed.length === 1 && changed[0] === 'prefix' ? `the old prefix ${JSON.stringify(from.prefix)}` : `${JSON.stringify(from.prefix)} in bucket ${from.bucket}${changed.includes('endpoint') ? ` at ${from.endpoint}` : ''}`;
  const [them, stays] = n === 1 ? ['it', 'stays'] : ['them', 'stay'];
  const stay = `Warning: ${count(n, 'backup')} ${stays} under ${where}: changing the ${changed.join(' and ')} does not move ${them}, and profile "${to.name}" no longer lists ${them}`;
  if (changed.includes('endpoint')) return `${stay}; to list ${them} again, put the old location back ("${putBack}") (a move does not go to another endpoint: no server-side copy does)`;
  const bucket = to.bucket === from.bucket ? '' : `--bucket ${shellWord(to.bucket)} `;
  const move = update(`${bucket}--prefix ${shellWord(to.prefix)} --move-backups`);
  // the new key may not read the old location (restricted to the new bucket): putting the location back alone may not work
  if (to.keyId !== from.keyId) {
    return `${stay}; the key changed too, and the new one may not read there: to list ${them} again, put the old ${changed.join(' and ')} back together with the old key ("${putBack}" with --key-id and --application-key of the old key); a move needs one key that reads both locations: with such a key in the profile, run "${putBack}", then "${move}"`;
  }
  return `${stay}; to move ${them}, put the old ${changed.join(' and ')} back ("${putBack}"), then run "${move}"`;
}

/** Whether an update leaves behind the SSE-C key the profile uploaded with (another key, or none). */
export function customerKeyDropped(before: ResolvedProfile, after: ResolvedProfile): boolean {
  const old = before.encryption;
  if (old?.mode !== 'SSE-C') return false;
  return after.encryption?.mode !== 'SSE-C' || after.encryption.key !== old.key;
}

/** B2 keeps no copy of an SSE-C key: the backups uploaded with the old one are readable only with it. Names no key. */
export function keyChangeWarning(n: number, before: ResolvedProfile, after: ResolvedProfile): string {
  const now = after.encryption?.mode === 'SSE-C' ? 'another encryptionKey' : 'no SSE-C key';
  return (
    `Warning: profile "${after.name}" now has ${now}, and B2 keeps no copy of the old one: of the ${count(n, 'backup')} under ${JSON.stringify(before.prefix)} in bucket ${before.bucket}, ` +
    `those uploaded with the old key can be downloaded, verified, copied or moved only with it; keep it (e.g. in another profile with this bucket and prefix)`
  );
}

/** The originals B2 kept (Object Lock the key could not see): where they are, and that their copies are complete. */
function refusedWarning(keys: string[], from: ResolvedProfile, to: ResolvedProfile): string {
  const shown = escapeInvisible(keys.slice(0, 5).join(', ')) + (keys.length > 5 ? ` and ${keys.length - 5} more` : '');
  return `Warning: B2 refused to delete ${count(keys.length, 'original')} under ${JSON.stringify(from.prefix)} in bucket ${from.bucket} (Object Lock that the key cannot see: it lacks readFileRetentions or readFileLegalHolds): ${shown}. ` +
    `Every backup is whole under ${JSON.stringify(to.prefix)}, and the profile now uses it; those originals stay until their lock ends (${to.lock ? 'their copies have only the profile\'s "lock:"' : 'their copies are not locked'}), then delete them with the B2 web console or a profile on the old prefix`;
}

function renderPlan(plan: MovePlan, where: string, to: ResolvedProfile, destinationLock: Retention | undefined): string {
  const lines = [`Would move ${count(plan.items.length, 'backup')} from ${where} (server-side copies; nothing is downloaded):`];
  for (const item of plan.items) lines.push(`  ${action(item)}  ${label(item)}`);
  if (destinationLock && plan.items.some((i) => i.copy.archive || i.copy.metadataFile)) {
    lines.push(`The copies would be ${lockedText(lockOfRetention(destinationLock))} (the profile's "lock:", dated from now).`);
  }
  if (plan.leftovers.length > 0) lines.push(`  delete ${count(plan.leftovers.length, 'archive')} an interrupted move left under the old prefix (their backups are whole under the new one)`);
  lines.push(`Then it would delete the originals and save profile "${to.name}" with prefix ${JSON.stringify(to.prefix)}.`);
  for (const line of staying(plan)) lines.push(line);
  return lines.join('\n');
}

function action(item: MoveItem): string {
  if (item.copy.archive) return 'copy          ';
  return item.copy.metadataFile ? 'copy metadata ' : 'already copied';
}

function label(item: MoveItem): string {
  const who = item.id ? `${item.name ?? item.base} (${item.id})` : item.base;
  return `${escapeInvisible(who)}, ${humanSize(item.size)}`; // names and file names of the bucket
}

function staying(plan: MovePlan, from?: ResolvedProfile): string[] {
  if (plan.staying.length === 0) return [];
  const where = from ? ` under ${JSON.stringify(from.prefix)}` : '';
  return [`Not moved (they stay${where}): ${escapeInvisible(plan.staying.slice(0, 10).join('; '))}${plan.staying.length > 10 ? ` and ${plan.staying.length - 10} more` : ''}`];
}
