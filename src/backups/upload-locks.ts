import {takeKeyedLock, waitForKeyedLock, type ProcessLock} from '../process-lock.js';

export type Release = () => Promise<void>;

/**
 * The locks the uploads, cleanups and deletes of one location take on this machine, in
 * `dir` (CatalogOptions.lockDir), so that they stay out of each other's way:
 *
 * - a name (a base name, `<base>.tar` + `<base>.metadata.json`) is held by the upload
 *   that stores under it from the moment it picks it until it has answered; a second
 *   upload that would pick the same name takes another (two would store over each
 *   other), and a cleanup or delete leaves what the upload has stored so far alone
 *   (an archive without its metadata file yet, an unfinished large file);
 * - a backup id is held by the upload of a Home Assistant archive (which names its own
 *   id) from before it looks for that id until it has answered: a second upload of the
 *   same backup waits, and then finds it stored.
 *
 * Without `dir` nothing is locked. A dir that cannot hold locks is warned about once, and
 * the command goes on unlocked.
 */
export class UploadLocks {
  private warned = false;

  constructor(
    private readonly dir: string | undefined,
    private readonly warn: (msg: string) => void,
  ) {}

  /** Holds the name `base` unless a live process does: its release, or their pids. */
  async tryName(base: string): Promise<{release: Release} | {holders: number[]}> {
    if (!this.dir) return {release: noop};
    return this.usable(await takeKeyedLock(this.dir, nameKey(base)));
  }

  /** Holds the name `base`, waiting while another process does (a resumed upload's own names: no other will do). */
  async name(base: string, signal?: AbortSignal): Promise<Release> {
    if (!this.dir) return noop;
    const lock = await waitForKeyedLock(this.dir, nameKey(base), {
      signal,
      onWait: (holders) => this.warn(`another command on this machine (process ${holders.join(', ')}) is storing or cleaning up ${base}; waiting for it to finish`),
    });
    return this.usable(lock).release;
  }

  /** Holds backup id `id`, waiting while another upload of it here runs (it then finds that one's backup). */
  async id(id: string, signal?: AbortSignal): Promise<Release> {
    if (!this.dir) return noop;
    const lock = await waitForKeyedLock(this.dir, `id\n${id}`, {
      signal,
      onWait: (holders) => this.warn(`another upload of backup ${id} to this location is running on this machine (process ${holders.join(', ')}); waiting for it to finish`),
    });
    return this.usable(lock).release;
  }

  /** The lock as taken, or (once warned) no lock where `dir` cannot hold one. */
  private usable<L extends ProcessLock>(lock: L): Exclude<L, {unavailable: unknown}> | {release: Release} {
    if (!('unavailable' in lock)) return lock as Exclude<L, {unavailable: unknown}>;
    if (!this.warned) this.warn(`cannot take a lock in ${this.dir} (${lock.unavailable.code ?? lock.unavailable.message}): uploads and cleanups of this location running at the same time on this machine are not kept apart`);
    this.warned = true;
    return {release: noop};
  }
}

const nameKey = (base: string) => `name\n${base}`;
const noop: Release = async () => undefined;
