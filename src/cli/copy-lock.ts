import {createHash} from 'node:crypto';
import {join} from 'node:path';
import {BackupError} from '../errors.js';
import {takeProcessLock} from '../process-lock.js';

/** `<sha1 of location and archive name>.lock.<pid>.<random>` in the data dir's copy-locks/. */
const COPY_LOCK_ENTRY = /^[0-9a-f]{40}\.lock\.(\d+)\.[0-9a-f]{8}$/;

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
export async function lockCopy(dataDir: string, location: string, archiveKey: string, names: {backup: string; where: string}, warn: (line: string) => void): Promise<() => Promise<void>> {
  const dir = join(dataDir, 'copy-locks');
  const name = createHash('sha1').update(`${location}\n${archiveKey}`).digest('hex');
  const lock = await takeProcessLock(dir, name, {entries: COPY_LOCK_ENTRY});
  if ('release' in lock) return lock.release;
  if ('unavailable' in lock) {
    warn(`Warning: cannot lock the copy in ${dir} (${lock.unavailable.code ?? lock.unavailable.message}): another copy of this backup to ${names.where} at the same time would not be kept out`);
    return async () => undefined;
  }
  throw new BackupError('failure', `${names.backup} is being copied to ${names.where} by another command (process ${lock.holders.join(', ')}; its lock is in ${dir}); nothing was copied: run this one again when that one has finished (it copies only what is missing)`, {transient: true});
}
