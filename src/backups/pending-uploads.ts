import {mkdir, readFile, rm} from 'node:fs/promises';
import {basename, join} from 'node:path';
import {removeStaleTempFilesIn, writeFileAtomic} from '../atomic-file.js';
import {SHA1_HEX} from '../hash.js';
import {isAlive} from '../process-alive.js';
import {takeProcessLock} from '../process-lock.js';
import type {BackupLock} from './types.js';

/** What an interrupted upload was called, so that running it again produces the same names. */
export interface PendingUpload {
  id: string;
  name: string;
  date: string;
  base: string;
  size: number;
  sha1: string;
  /** The Object Lock the upload asked for: running it again locks both files at least as long, as it would have. */
  lock?: BackupLock;
  /** When the upload started (ms since the epoch): records expire. */
  recorded: number;
}

/**
 * How long an interrupted upload can be resumed by running it again. Later, the same
 * content under the same name is a new backup with a new id and date. `b2 cleanup`'s
 * default age (24 h) cancels what is left well before; B2 itself keeps unfinished large
 * files until they are cancelled.
 */
export const PENDING_UPLOAD_LIFETIME_MS = 7 * 24 * 60 * 60 * 1000;

/**
 * An entry of the lock of one record (PendingUploads.lock), `<sha1>.json.lock.<pid>.<random>`,
 * or an earlier version's scratch file `<sha1>.json.lock.<pid>` (written before it linked
 * its lock; left when it was killed in between); captures the pid. Those of dead
 * processes are swept, a live one's is a contender.
 */
const LOCK_ENTRY = /^[0-9a-f]{40}\.json\.lock\.(\d+)(?:\.[0-9a-f]{8})?$/;
/**
 * Records of uploads that started but did not finish, keyed by the archive's SHA1. A
 * backend resumes an unfinished upload only when it is asked for the same name with the
 * same object info; a new upload gets a fresh id and date, so without this record a
 * second run could never continue the first. Cleared when the upload completes, dropped
 * when it expires or when the catalog finds nothing stored to resume.
 *
 * One process at a time owns the record of one content (lock()): a second process
 * uploading the same content meanwhile makes a backup of its own instead of joining,
 * and so racing, the first one's upload.
 */
export class PendingUploads {
  private swept?: Promise<void>;

  constructor(
    private readonly dir: string | undefined,
    private readonly onWarning: (msg: string) => void,
    private readonly now: () => number = Date.now,
  ) {}

  /** The pending upload of exactly this content under this name, if one was interrupted and has not expired. */
  async find(sha1: string, size: number, name: string): Promise<PendingUpload | undefined> {
    if (!this.dir) return undefined;
    let p: PendingUpload;
    try {
      p = JSON.parse(await readFile(this.fileFor(sha1), 'utf8')) as PendingUpload;
    } catch {
      return undefined;
    }
    const wellFormed = p.sha1 === sha1 && typeof p.size === 'number' && typeof p.name === 'string' && typeof p.id === 'string' && typeof p.base === 'string' && typeof p.date === 'string' && typeof p.recorded === 'number';
    const age = wellFormed ? this.now() - p.recorded : Infinity;
    if (!(age >= 0 && age < PENDING_UPLOAD_LIFETIME_MS)) {
      await this.clear(sha1);
      return undefined;
    }
    return p.size === size && p.name === name ? p : undefined;
  }

  async record(p: Omit<PendingUpload, 'recorded'>): Promise<void> {
    if (!this.dir) return;
    try {
      await mkdir(this.dir, {recursive: true, mode: 0o700});
      this.swept ??= removeStaleTempFilesIn(this.dir); // once per process: what writers killed mid-write left here goes
      await this.swept;
      await writeFileAtomic(this.fileFor(p.sha1), JSON.stringify({...p, recorded: this.now()}), {mode: 0o600});
    } catch (err) {
      this.onWarning(`cannot record the upload in ${this.dir} (${(err as NodeJS.ErrnoException).code ?? String(err)}); if it is interrupted it will start over`);
    }
  }

  async clear(sha1: string): Promise<void> {
    if (this.dir) await rm(this.fileFor(sha1), {force: true}).catch(() => undefined);
  }

  /**
   * Takes the lock of this content's record (takeProcessLock); answers its release, or
   * undefined when a live process holds it. A lock file of an earlier version
   * (`<sha1>.json.lock`, only its pid inside) keeps this one out while a process of that
   * pid runs, and is removed once none does (that version took a dead holder's lock
   * over the same way).
   */
  async lock(sha1: string): Promise<(() => Promise<void>) | undefined> {
    if (!this.dir) return async () => undefined;
    const record = this.fileFor(sha1);
    const lock = await takeProcessLock(this.dir, basename(record), {entries: LOCK_ENTRY, alsoHeld: () => olderVersionHeld(`${record}.lock`)});
    if ('unavailable' in lock) return async () => undefined; // no records can be written here either: nothing to race for
    return 'release' in lock ? lock.release : undefined;
  }

  private fileFor(sha1: string): string {
    if (!SHA1_HEX.test(sha1)) throw new Error(`not a SHA1: ${sha1}`);
    return join(this.dir as string, `${sha1}.json`);
  }
}

/** Whether an earlier version's lock file at `path` names a live process; removed when it provably names none. */
async function olderVersionHeld(path: string): Promise<boolean> {
  const text = await readFile(path, 'utf8').catch(() => undefined);
  if (text === undefined) return false;
  const pid = Number.parseInt(text, 10);
  if (isAlive(pid)) return true;
  if (pid > 0) await rm(path, {force: true}).catch(() => undefined); // unparsable: not provably dead, left alone (and ignored, as before)
  return false;
}
