import {join} from 'node:path';
import {BackupError} from '../errors.js';
import {takeKeyedLock, type LockMode, type ProcessLock} from '../process-lock.js';
import {profileKey, type ProfileRef} from './move-record.js';

/**
 * One copy of a backup to a location at a time among the commands that share this data
 * dir (one user's CLI), `b2 copy` and a move's copies alike. Two at once would each copy
 * the archive (a second billed version of it), and one whose metadata file's copy failed
 * deletes what stands under both names there, the other's finished copy with it, after
 * that one reported the backup copied. Keyed by the destination (`location`, a
 * locationId) and the archive's name there, which is what the two would race on. Answers
 * the release; a copy already running is one clear line (the same command run again
 * once it has ended finds the backup there). A data dir that cannot hold the lock is
 * warned about, and the copy goes on unlocked, as it did before there was a lock.
 * `backup` names the backup for people, `where` the destination.
 */
export function lockCopy(dataDir: string, location: string, archiveKey: string, names: {backup: string; where: string}, warn: (line: string) => void): Promise<() => Promise<void>> {
  return lockIn(join(dataDir, 'copy-locks'), `${location}\n${archiveKey}`, warn, {
    what: `another copy of this backup to ${names.where} at the same time`,
    refusal: (holders, dir) => `${names.backup} is being copied to ${names.where} by ${holders.who} (process ${holders.pids}; its lock is in ${dir}); nothing was copied: run this one again when that one has finished (it copies only what is missing)`,
  });
}

/** A key of the move locks: a profile (its name in its profiles file), or a location (a locationId). */
export type MoveLockKey = {profile: ProfileRef} | {location: string};

/**
 * Holds `move-locks/` keys: a move exclusively, everything that writes where a move reads
 * or saves shared (holdShared). One `profile update NAME --prefix … --move-backups` at a
 * time per profile and per location moved from: two at once to different prefixes would
 * each copy every backup, one set then billed under a prefix no profile names (and one
 * would fail on the originals the other deleted). The profile's lock is held from before
 * it is read until it is saved, so that a second move cannot read the old prefix and save
 * over the first; the location's (a locationId) catches another profile on the same
 * bucket and prefix. `what` names the backups for people (when the holder said nothing
 * of itself); `note` says what this move does, for the commands it keeps out ("the
 * backups of profile "p1" are being moved to "p1b/"").
 */
export function lockMove(dataDir: string, on: MoveLockKey, names: {what: string; note: string}, warn: (line: string) => void): Promise<() => Promise<void>> {
  return lockIn(join(dataDir, 'move-locks'), moveLockKey(on), warn, {
    mode: 'exclusive',
    note: names.note,
    what: `another move of ${names.what}, or a command writing there, at the same time`,
    refusal: (holders, dir) => `${holders.doing ?? `${names.what} are being moved`} by ${holders.who} (process ${holders.pids}; its lock is in ${dir}); nothing was moved and the profile is unchanged: run this one again when that one has finished`,
  });
}

/**
 * A shared hold of move-locks keys `on`, in order (a profile before its location): what
 * a command that writes to a location (an upload, a copy into it, a prune, a delete, a
 * cleanup, a lock) or saves a profile without a move holds for as long as it runs, so that
 * no move of that location or profile runs meanwhile (lockMove): a move lists once, and
 * what is written after its listing would stay behind under the old prefix, or be copied
 * back after it was deleted. Any number of these run together. Refused while a move runs,
 * with one line that says what the move does and `notDone` (what this command did not
 * do); `note` says what this one does, for a move it keeps out. A data dir that cannot
 * hold it is warned about once, and the command goes on, as before there were holds.
 */
export async function holdShared(dataDir: string, on: MoveLockKey[], names: {note: string; notDone: string}, warn: (line: string) => void): Promise<() => Promise<void>> {
  const releases: Array<() => Promise<void>> = [];
  const release = async () => {
    for (const r of releases.reverse()) await r();
  };
  try {
    for (const key of on) {
      const lock = await takeKeyedLock(join(dataDir, 'move-locks'), moveLockKey(key), {mode: 'shared', note: names.note});
      if (!('unavailable' in lock)) {
        releases.push(await heldOrRefused(lock, join(dataDir, 'move-locks'), {refusal: (holders, dir) => `${holders.doing ?? 'these backups are being moved'} by ${holders.who} (process ${holders.pids}; its lock is in ${dir}); ${names.notDone}: run this again when it has finished`}));
        continue;
      }
      warnUnavailable(warn, join(dataDir, 'move-locks'), lock.unavailable, 'a move of these backups at the same time');
      break; // the other keys are in the same dir: once is enough
    }
  } catch (err) {
    await release();
    throw err;
  }
  return release;
}

function moveLockKey(on: MoveLockKey): string {
  return 'profile' in on ? `profile\n${profileKey(on.profile)}` : `location\n${on.location}`;
}

/** Who keeps a lock: `doing`, what they said they do (undefined when none said), `who` ("another command"), `pids`. */
interface Holders {
  doing?: string;
  who: string;
  pids: string;
}

async function lockIn(dir: string, key: string, warn: (line: string) => void, say: {what: string; refusal: (holders: Holders, dir: string) => string; mode?: LockMode; note?: string}): Promise<() => Promise<void>> {
  const lock = await takeKeyedLock(dir, key, {mode: say.mode, note: say.note});
  if (!('unavailable' in lock)) return heldOrRefused(lock, dir, say);
  warnUnavailable(warn, dir, lock.unavailable, say.what);
  return async () => undefined;
}

function heldOrRefused(lock: Exclude<ProcessLock, {unavailable: unknown}>, dir: string, say: {refusal: (holders: Holders, dir: string) => string}): () => Promise<void> {
  if ('release' in lock) return lock.release;
  const notes = [...new Set(lock.notes ?? [])];
  const holders = {doing: notes.length > 0 ? notes.join(' and ') : undefined, who: lock.holders.length > 1 ? 'other commands' : 'another command', pids: lock.holders.join(', ')};
  throw new BackupError('failure', say.refusal(holders, dir), {transient: true});
}

function warnUnavailable(warn: (line: string) => void, dir: string, err: NodeJS.ErrnoException, what: string): void {
  warn(`Warning: cannot take a lock in ${dir} (${err.code ?? err.message}): ${what} would not be kept out`);
}
