import {join} from 'node:path';
import {BackupError} from '../errors.js';
import {takeKeyedLock} from '../process-lock.js';

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
    refusal: (holders, dir) => `${names.backup} is being copied to ${names.where} by another command (process ${holders}; its lock is in ${dir}); nothing was copied: run this one again when that one has finished (it copies only what is missing)`,
  });
}

/**
 * One `profile update NAME --prefix … --move-backups` at a time per profile and per
 * location moved from: two at once to different prefixes would each copy every backup,
 * one set then billed under a prefix no profile names (and one would fail on the
 * originals the other deleted). The profile's lock is held from before it is read until
 * it is saved, so that a second move cannot read the old prefix and save over the first;
 * the location's (`location`: a locationId) catches another profile on the same bucket
 * and prefix. `what` names the backups for people.
 */
export function lockMove(dataDir: string, on: {profile: string} | {location: string}, what: string, warn: (line: string) => void): Promise<() => Promise<void>> {
  const key = 'profile' in on ? `profile\n${on.profile}` : `location\n${on.location}`;
  return lockIn(join(dataDir, 'move-locks'), key, warn, {
    what: `another move of ${what} at the same time`,
    refusal: (holders, dir) => `${what} are being moved by another command (process ${holders}; its lock is in ${dir}); nothing was moved and the profile is unchanged: run this one again when that one has finished`,
  });
}

async function lockIn(dir: string, key: string, warn: (line: string) => void, say: {what: string; refusal: (holders: string, dir: string) => string}): Promise<() => Promise<void>> {
  const lock = await takeKeyedLock(dir, key);
  if ('release' in lock) return lock.release;
  if ('unavailable' in lock) {
    warn(`Warning: cannot take a lock in ${dir} (${lock.unavailable.code ?? lock.unavailable.message}): ${say.what} would not be kept out`);
    return async () => undefined;
  }
  throw new BackupError('failure', say.refusal(lock.holders.join(', '), dir), {transient: true});
}
