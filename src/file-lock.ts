import {BackupError} from './errors.js';

/** A lock older than this (not refreshed by a live holder) belongs to a process that died. */
const STALE_MS = 10_000;

/**
 * Runs `critical` while holding an exclusive lock on `path` (a `<path>.lock` directory
 * beside it, as proper-lockfile makes it), so read-modify-write cycles of concurrent
 * processes run one after another instead of losing each other's updates. A waiting
 * process retries for longer than a dead holder's lock takes to go stale. The file
 * itself need not exist. proper-lockfile is loaded only when a lock is taken.
 */
export async function withFileLock<T>(path: string, critical: () => Promise<T>): Promise<T> {
  const {default: lockfile} = await import('proper-lockfile');
  let compromised: Error | undefined;
  let release: () => Promise<void>;
  try {
    release = await lockfile.lock(path, {
      realpath: false,
      stale: STALE_MS,
      retries: {retries: 120, factor: 1.2, minTimeout: 10, maxTimeout: 200},
      onCompromised: (err) => {
        compromised = err;
      },
    });
  } catch (err) {
    throw new BackupError('failure', `cannot lock ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}; another command may be using it, try again`, {cause: err});
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
