import {createHash} from 'node:crypto';
import {readFile, rm} from 'node:fs/promises';
import {join} from 'node:path';
import type {ObjectInfo} from '../backend.js';
import {removeStaleTempFilesIn, writeFileAtomic} from '../atomic-file.js';
import {makeDirs} from '../make-dirs.js';

interface CacheEntry {
  v: 1;
  id: string;
  key: string;
  size: number;
  text: string;
}

/** Where earlier versions kept every reader's entries together, SSE-C files' decrypted text among them. */
const LEGACY_DIR = 'metadata';
const DIR = 'metadata-cache';
/** The scope of readers that decrypt nothing a keyless reader could not (no SSE-C key). */
const PLAIN_SCOPE = 'plain';

/**
 * Metadata-file contents keyed by the object's immutable version id (B2: fileId): a
 * given id always names the same bytes, so an entry never goes stale. Kept in memory
 * and, with a directory, on disk so that the next process lists without downloading.
 * Entries record key and size too, and a mismatch is a miss, not a wrong answer.
 *
 * On disk each read scope (StorageBackend.readScope: an SSE-C key's digest) has its own
 * directory: a file only that key decrypts is never served to a reader without it, who
 * gets what a cold cache gives (B2's refusal, the file skipped).
 */
export class MetadataCache {
  private readonly memory = new Map<string, string>();
  private readonly dir: string | undefined;
  private dirReady?: Promise<unknown>;
  private legacyGone?: Promise<unknown>;
  private warned = false;

  constructor(
    private readonly cacheDir: string | undefined,
    scope: string | undefined,
    private readonly onWarning: (msg: string) => void,
  ) {
    this.dir = cacheDir && join(cacheDir, DIR, scope ?? PLAIN_SCOPE);
  }

  async get(obj: ObjectInfo): Promise<string | undefined> {
    if (!obj.id) return undefined;
    const hit = this.memory.get(obj.id);
    if (hit !== undefined) return hit;
    if (!this.dir) return undefined;
    await this.removeLegacy();
    let entry: CacheEntry;
    try {
      entry = JSON.parse(await readFile(this.fileFor(obj.id), 'utf8')) as CacheEntry;
    } catch {
      return undefined; // absent or unreadable: download again
    }
    if (entry?.v !== 1 || entry.id !== obj.id || entry.key !== obj.key || entry.size !== obj.size || typeof entry.text !== 'string') {
      return undefined;
    }
    this.memory.set(obj.id, entry.text);
    return entry.text;
  }

  async set(obj: ObjectInfo, text: string): Promise<void> {
    if (!obj.id) return;
    this.memory.set(obj.id, text);
    if (!this.dir) return;
    const entry: CacheEntry = {v: 1, id: obj.id, key: obj.key, size: obj.size, text};
    try {
      // once per process: what writers killed mid-write left here goes
      await this.removeLegacy();
      this.dirReady ??= makeDirs(this.dir, {mode: 0o700}).then(() => removeStaleTempFilesIn(this.dir as string));
      await this.dirReady;
      await writeFileAtomic(this.fileFor(obj.id), JSON.stringify(entry), {mode: 0o600});
    } catch (err) {
      // The cache only saves downloads; failing to fill it must not fail the listing (say so once).
      if (this.warned) return;
      this.warned = true;
      this.onWarning(`cannot write the metadata cache in ${this.dir}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
    }
  }

  /** Drops a deleted object's entry; best effort, since a stale entry is never read again. */
  async forget(id: string | undefined): Promise<void> {
    if (!id) return;
    this.memory.delete(id);
    if (this.dir) await rm(this.fileFor(id), {force: true}).catch(() => undefined);
  }

  /** Once per process (cheap when it is gone): the old shared directory may hold SSE-C files' text for any reader. */
  private removeLegacy(): Promise<unknown> {
    return (this.legacyGone ??= rm(join(this.cacheDir as string, LEGACY_DIR), {recursive: true, force: true}).catch(() => undefined));
  }

  /** Hashing the id gives a safe, fixed-length file name whatever characters a backend's ids use. */
  private fileFor(id: string): string {
    return join(this.dir as string, `${createHash('sha1').update(id).digest('hex')}.json`);
  }
}
