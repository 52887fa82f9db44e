import {BackupError} from './errors.js';
import {unwritable} from './io-errors.js';

/** A lock older than this (not refreshed by a live holder) belongs to a process that died. */
export const STALE_MS = 10_000;
/**
 * Waits between tries for a held lock, growing from 10 ms to 200 ms: ~21.7 s in all,
 * longer than STALE_MS, so a dead holder's lock goes stale meanwhile.
 */
export const LOCK_WAITS_MS: readonly number[] = Array.from({length: 120}, (_, attempt) => Math.min(200, 10 * 1.2 ** attempt));

/**
 * Runs `critical` while holding an exclusive lock on `path` (a `<path>.lock` directory
 * beside it, as proper-lockfile makes it), so read-modify-write cycles of concurrent
 * processes run one after another instead of losing each other's updates. A waiting
 * process retries for longer than a dead holder's lock takes to go stale. The file
 * itself need not exist. proper-lockfile is loaded only when a lock is taken. `waitsMs`
 * replaces LOCK_WAITS_MS (a test of a lock that stays held need not wait 22 s).
 */
export async function withFileLock<T>(path: string, critical: () => Promise<T>, {waitsMs = LOCK_WAITS_MS}: {waitsMs?: readonly number[]} = {}): Promise<T> {
  const {default: lockfile} = await import('proper-lockfile');
  let compromised: Error | undefined;
  let release: () => Promise<void>;
  // Only a held lock is waited for (proper-lockfile's own retries would retry a
  // permission error for half a minute too, and then blame another command).
  for (let attempt = 0; ; attempt++) {
    try {
      release = await lockfile.lock(path, {
        realpath: false,
        stale: STALE_MS,
        onCompromised: (err) => {
          compromised = err;
        },
      });
      break;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ELOCKED' && attempt < waitsMs.length) {
        await new Promise((resolve) => setTimeout(resolve, waitsMs[attempt]));
        continue;
      }
      if (code === 'ELOCKED') throw new BackupError('failure', `cannot lock ${path}: another command may be using it, try again`, {cause: err});
      const unusable = unwritable(err, `lock ${path} (creating ${path}.lock)`);
      throw unusable === err ? new BackupError('failure', `cannot lock ${path}: ${code ?? (err as Error).message}`, {cause: err}) : unusable;
    }
  }
  let result: T;
  try {
    result = await critical();
  } finally {
    await release().catch(() => undefined); // a compromised lock is gone already
  }
  if (compromised) throw new BackupError('failure', `the lock on ${path} was taken over while this command held it (${compromised.message}); check the file and run the command again`);
  return result;
}
