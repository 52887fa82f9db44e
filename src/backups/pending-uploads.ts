import {createHash} from 'node:crypto';
import {readdir, readFile, rm} from 'node:fs/promises';
import {basename, join, resolve} from 'node:path';
import {removeStaleTempFilesIn, writeFileAtomic} from '../atomic-file.js';
import {SHA1_HEX} from '../hash.js';
import {makeDirs} from '../make-dirs.js';
import {isAlive} from '../process-alive.js';
import {takeProcessLock} from '../process-lock.js';
import type {BackupLock} from './types.js';

/**
 * What identifies one upload in a location's records: its content and the backup name it
 * was asked for (the location is the records' directory, one per location). The same file
 * under two names is two uploads, each resumed by itself.
 */
export interface UploadKey {
  sha1: string;
  name: string;
}

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
  /**
   * The file it uploads (an absolute path): only an earlier attempt of the same file under
   * the same name, now of another content, is one that the file changing since superseded.
   */
  source?: string;
}

/** The `source` of an upload of `src`: a file's absolute path; none for a buffer or a stream. */
export function sourceOf(src: {kind: string; path?: string}): string | undefined {
  return src.kind === 'file' && src.path !== undefined ? resolve(src.path) : undefined;
}

/**
 * How long an interrupted upload can be resumed by running it again. Later, the same
 * content under the same name is a new backup with a new id and date. `b2 cleanup`'s
 * default age (24 h) cancels what is left well before; B2 itself keeps unfinished large
 * files until they are cancelled.
 */
export const PENDING_UPLOAD_LIFETIME_MS = 7 * 24 * 60 * 60 * 1000;

/**
 * An entry of the lock of one record (PendingUploads.lock), `<record>.lock.<pid>.<random>`
 * where the record is `<sha1>-<name digest>.json`, or `<sha1>.json` as an earlier version
 * named it, or such a version's scratch file `<sha1>.json.lock.<pid>` (written before it
 * linked its lock; left when it was killed in between); captures the pid. Those of dead
 * processes are swept, a live one's is a contender.
 */
const LOCK_ENTRY = /^[0-9a-f]{40}(?:-[0-9a-f]{16})?\.json\.lock\.(\d+)(?:\.[0-9a-f]{8})?$/;
/**
 * Records of uploads that started but did not finish, one per upload (UploadKey: the
 * archive's SHA1 and the backup name). A backend resumes an unfinished upload only when
 * it is asked for the same name with the same object info; a new upload gets a fresh id
 * and date, so without this record a second run could never continue the first. Cleared
 * when the upload completes or fails leaving nothing to resume, dropped when it expires
 * or when the catalog finds nothing stored to resume; only ever by the same upload.
 *
 * An earlier version kept one record per content (`<sha1>.json`, the name inside): such
 * a record is still found for its own name, and cleared with the record of that upload.
 *
 * One process at a time owns the record of one upload (lock()): a second process
 * uploading the same content under the same name meanwhile makes a backup of its own
 * instead of joining, and so racing, the first one's upload.
 */
export class PendingUploads {
  private swept?: Promise<void>;

  constructor(
    private readonly dir: string | undefined,
    private readonly onWarning: (msg: string) => void,
    private readonly now: () => number = Date.now,
  ) {}

  /** The pending upload of exactly this content under this name, if one was interrupted and has not expired. */
  async find(key: UploadKey, size: number): Promise<PendingUpload | undefined> {
    if (!this.dir) return undefined;
    for (const path of [this.fileFor(key), this.olderVersionFileFor(key.sha1)]) {
      const p = await this.read(path, key);
      if (p === 'none') continue;
      if (p === 'expired') {
        await rm(path, {force: true}).catch(() => undefined);
        continue;
      }
      if (p.name !== key.name) continue; // an earlier version's record of another upload of this content
      return p.size === size ? p : undefined;
    }
    return undefined;
  }

  /**
   * The pending uploads of this name and of this file (`source`) with another content (the
   * file changed since one was interrupted, and has not expired): earlier attempts of the
   * same upload, which no run of this content can continue. Another file under the same
   * name (yesterday's "Nightly") is another backup: its interrupted upload is left to it.
   */
  async othersOfName(key: UploadKey, source: string | undefined): Promise<PendingUpload[]> {
    if (!this.dir || source === undefined) return [];
    const suffix = `-${nameDigest(key.name)}.json`;
    const found: PendingUpload[] = [];
    for (const entry of await readdir(this.dir).catch(() => [] as string[])) {
      const sha1 = entry.endsWith(suffix) ? entry.slice(0, -suffix.length) : undefined;
      if (!sha1 || sha1 === key.sha1 || !SHA1_HEX.test(sha1)) continue;
      const p = await this.read(join(this.dir, entry), {sha1, name: key.name});
      if (typeof p === 'object' && p.name === key.name && p.source === source) found.push(p);
    }
    return found;
  }

  async record(p: Omit<PendingUpload, 'recorded'>): Promise<void> {
    if (!this.dir) return;
    try {
      await makeDirs(this.dir, {mode: 0o700});
      this.swept ??= removeStaleTempFilesIn(this.dir); // once per process: what writers killed mid-write left here goes
      await this.swept;
      await writeFileAtomic(this.fileFor(p), JSON.stringify({...p, recorded: this.now()}), {mode: 0o600});
    } catch (err) {
      this.onWarning(`cannot record the upload in ${this.dir} (${(err as NodeJS.ErrnoException).code ?? String(err)}); if it is interrupted it will start over`);
    }
  }

  /** Removes the record of this upload (an earlier version's record too, when it is this upload's). */
  async clear(key: UploadKey): Promise<void> {
    if (!this.dir) return;
    await rm(this.fileFor(key), {force: true}).catch(() => undefined);
    const older = this.olderVersionFileFor(key.sha1);
    const p = await this.read(older, key);
    if (p !== 'none' && (p === 'expired' || p.name === key.name)) await rm(older, {force: true}).catch(() => undefined);
  }

  /**
   * Takes the lock of this upload's record (takeProcessLock); answers its release, or
   * undefined when a live process holds it. An earlier version locked per content: its
   * live lock of this content (an entry `<sha1>.json.lock.<pid>.…`, or the lock file
   * `<sha1>.json.lock` with only its pid inside, of a still earlier one) keeps this one
   * out too; that lock file is removed once no process of its pid runs (that version
   * took a dead holder's lock over the same way).
   */
  async lock(key: UploadKey): Promise<(() => Promise<void>) | undefined> {
    if (!this.dir) return async () => undefined;
    const dir = this.dir;
    const older = basename(this.olderVersionFileFor(key.sha1));
    // dead processes' entries are swept before alsoHeld is asked: what is left is live
    const olderEntryLive = async () => (await readdir(dir).catch(() => [] as string[])).some((entry) => entry.startsWith(`${older}.lock.`) && LOCK_ENTRY.test(entry));
    const lock = await takeProcessLock(dir, basename(this.fileFor(key)), {
      entries: LOCK_ENTRY,
      alsoHeld: async () => (await olderVersionHeld(join(dir, `${older}.lock`))) || (await olderEntryLive()),
    });
    if ('unavailable' in lock) return async () => undefined; // no records can be written here either: nothing to race for
    return 'release' in lock ? lock.release : undefined;
  }

  /** The record at `path` when it is a well-formed one of this content ('none': no readable record; 'expired': too old or malformed). */
  private async read(path: string, key: UploadKey): Promise<PendingUpload | 'none' | 'expired'> {
    let p: PendingUpload;
    try {
      p = JSON.parse(await readFile(path, 'utf8')) as PendingUpload;
    } catch {
      return 'none';
    }
    const wellFormed = p.sha1 === key.sha1 && typeof p.size === 'number' && typeof p.name === 'string' && typeof p.id === 'string' && typeof p.base === 'string' && typeof p.date === 'string' && typeof p.recorded === 'number';
    const age = wellFormed ? this.now() - p.recorded : Infinity;
    return age >= 0 && age < PENDING_UPLOAD_LIFETIME_MS ? p : 'expired';
  }

  private fileFor(key: UploadKey): string {
    return join(this.dir as string, recordName(key));
  }

  /** Where an earlier version kept the one record of this content. */
  private olderVersionFileFor(sha1: string): string {
    return join(this.dir as string, `${checkedSha1(sha1)}.json`);
  }
}

/** The file name of an upload's record, `<sha1>-<digest of the name>.json` (a backup name is any text, a file name is not). */
export function recordName(key: UploadKey): string {
  return `${checkedSha1(key.sha1)}-${nameDigest(key.name)}.json`;
}

function nameDigest(name: string): string {
  return createHash('sha256').update(name, 'utf8').digest('hex').slice(0, 16);
}

/** A SHA1 fit for a file name (a record's name is built from it). */
function checkedSha1(sha1: string): string {
  if (!SHA1_HEX.test(sha1)) throw new Error(`not a SHA1: ${sha1}`);
  return sha1;
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
