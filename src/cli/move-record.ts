import {createHash} from 'node:crypto';
import {readFile, rm} from 'node:fs/promises';
import {dirname, join} from 'node:path';
import {writeFileAtomic} from '../atomic-file.js';
import {profileCommandHint, shellWord} from '../command-hint.js';
import {BackupError} from '../errors.js';
import {makeDirs} from '../make-dirs.js';
import {isAliveSince, startTime} from '../process-alive.js';
import type {ResolvedProfile} from '../profiles/types.js';

/** A backup location: where a profile points. */
export type Place = Pick<ResolvedProfile, 'endpoint' | 'bucket' | 'prefix'>;

/**
 * What a move (`profile update NAME --prefix NEW --move-backups`) records before its first
 * copy and removes once the profile is saved with the new location: a record still there
 * names a move that was killed, whose copies (and the backups whose originals it already
 * deleted) are where no profile points until the same move is finished. The move locks
 * (copy-lock.ts) only keep two moves apart while they run; this outlives a kill -9.
 */
export interface MoveRecord {
  profile: string;
  /** The profiles file the profile is in (ResolvedProfile.profilesFile): a same-named profile of another file is another profile. */
  profilesFile?: string;
  from: Place;
  to: Place;
  /** The moving process, and its start time (isAliveSince): a live one is a move running, not an unfinished one. */
  pid: number;
  start?: string;
}

/** A profile as the move records and locks know it: its name in its profiles file (profileKey). */
export type ProfileRef = Pick<ResolvedProfile, 'name' | 'profilesFile'>;

/** One profile among every profiles file: the file's path and the name in it. */
export function profileKey(profile: ProfileRef): string {
  return `${profile.profilesFile ?? ''}\n${profile.name}`;
}

function recordPath(dataDir: string, profile: ProfileRef): string {
  return join(dataDir, 'move-records', `${createHash('sha1').update(profileKey(profile)).digest('hex')}.json`);
}

const placeOf = (p: Place): Place => ({endpoint: p.endpoint, bucket: p.bucket, prefix: p.prefix});
export const samePlace = (a: Place, b: Place): boolean => a.endpoint === b.endpoint && a.bucket === b.bucket && a.prefix === b.prefix;

/**
 * Records, atomically, that the backups of profile `to.name` go from `from` to `to`. A data
 * dir that cannot hold it is warned about and the move goes on (as it did before records).
 */
export async function recordMove(dataDir: string, from: Place, to: Place & ProfileRef, warn: (line: string) => void): Promise<void> {
  const path = recordPath(dataDir, to);
  const record: MoveRecord = {profile: to.name, profilesFile: to.profilesFile, from: placeOf(from), to: placeOf(to), pid: process.pid, start: startTime(process.pid)};
  try {
    await makeDirs(dirname(path), {mode: 0o700});
    await writeFileAtomic(path, `${JSON.stringify(record)}\n`, {mode: 0o600});
  } catch (err) {
    warn(`Warning: cannot record the move in ${dirname(path)} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}): were it interrupted, later commands would not know it is unfinished`);
  }
}

/** Removes the record of profile `profile`'s move: it was saved with the new location, or the move changed nothing. */
export async function forgetMove(dataDir: string, profile: ProfileRef): Promise<void> {
  await rm(recordPath(dataDir, profile), {force: true}).catch(() => undefined);
}

/**
 * The recorded move of `profile` that is not finished, if any (one running now included:
 * isRunning tells). It counts only while the profile is still where the move started: one
 * at the destination was saved and only not removed (killed in between); one anywhere
 * else was changed since by hand (or removed and added again), and the record is no
 * longer about it. Either is removed here.
 */
export async function unfinishedMove(dataDir: string, profile: Place & ProfileRef): Promise<MoveRecord | undefined> {
  const text = await readFile(recordPath(dataDir, profile), 'utf8').catch(() => undefined);
  const record = text === undefined ? undefined : parseRecord(text);
  if (record?.profile !== profile.name || (record.profilesFile ?? '') !== (profile.profilesFile ?? '')) return undefined;
  if (samePlace(record.from, profile)) return record; // a move never goes where it starts
  await forgetMove(dataDir, profile);
  return undefined;
}

function parseRecord(text: string): MoveRecord | undefined {
  try {
    const r = JSON.parse(text) as MoveRecord;
    const places = [r.from, r.to].every((p) => typeof p?.endpoint === 'string' && typeof p.bucket === 'string' && typeof p.prefix === 'string');
    return places && typeof r.profile === 'string' && ['string', 'undefined'].includes(typeof r.profilesFile) && Number.isSafeInteger(r.pid) ? r : undefined;
  } catch {
    return undefined; // torn it cannot be (written atomically); another tool's file is no record
  }
}

export function isRunning(record: MoveRecord): boolean {
  return isAliveSince(record.pid, record.start);
}

/** Where a recorded move goes, in words: its bucket when it leaves the profile's. */
function destination(record: MoveRecord, current: Place): string {
  return `${JSON.stringify(record.to.prefix)}${record.to.bucket === current.bucket ? '' : ` in bucket ${record.to.bucket}`}`;
}

/** The command that finishes the recorded move: the same profile update, to its prefix (and bucket). */
export function finishCommand(record: MoveRecord, current: Place, ctx: {cli: string; configFlag?: string}): string {
  const bucket = record.to.bucket === current.bucket ? '' : ` --bucket ${shellWord(record.to.bucket)}`;
  return profileCommandHint(ctx.cli, `update ${shellWord(record.profile)}${bucket} --prefix ${shellWord(record.to.prefix)} --move-backups`, ctx.configFlag);
}

/** The warning about an unfinished move of the profile at `current` (list, show, profile show, a dry run of it). */
export function unfinishedMoveWarning(record: MoveRecord, current: Place, ctx: {cli: string; configFlag?: string}): string {
  return (
    `Warning: an interrupted move of profile "${record.profile}" to ${destination(record, current)} may have left backups there, where the profile does not look until the move is finished: ` +
    `run "${finishCommand(record, current, ctx)}" to finish it`
  );
}

/** Warns (once) about an unfinished move of `profile`; a move running now is no warning. */
export async function warnUnfinishedMove(dataDir: string, profile: Place & ProfileRef, ctx: {cli: string; configFlag?: string; warn: (line: string) => void}): Promise<void> {
  const record = await unfinishedMove(dataDir, profile);
  if (record && !isRunning(record)) ctx.warn(unfinishedMoveWarning(record, profile, ctx));
}

/**
 * Before a move of profile `from.name` to `to`: a recorded move of it elsewhere must be
 * finished first (its copies would stay where no profile points), exit 2, nothing
 * changed; one running now (seen by a dry run, which holds no lock) is exit 1. A move
 * to the recorded destination continues it: the dry run says so. Answers the record of
 * the move this one continues, if any.
 */
export async function assertNoOtherMove(dataDir: string, from: ResolvedProfile, to: Place, ctx: {cli: string; configFlag?: string; dryRun: boolean; warn: (line: string) => void}): Promise<MoveRecord | undefined> {
  const record = await unfinishedMove(dataDir, from);
  if (!record) return undefined;
  const nothing = `nothing was ${ctx.dryRun ? 'planned' : 'moved'} and the profile is unchanged`;
  if (isRunning(record)) {
    if (!samePlace(record.to, to)) throw new BackupError('failure', `the backups of profile "${from.name}" are being moved to ${destination(record, from)} by another command (process ${record.pid}); ${nothing}: run this again when it has finished`, {transient: true});
  } else if (!samePlace(record.to, to)) {
    throw new BackupError('bad_input', `${unfinishedMoveWarning(record, from, ctx).replace(/^Warning: an/, 'An')}, before moving them anywhere else; ${nothing}`);
  } else if (ctx.dryRun) ctx.warn(unfinishedMoveWarning(record, from, ctx));
  return record;
}
