import {createHash} from 'node:crypto';
import {readdir, readFile, rm} from 'node:fs/promises';
import {join} from 'node:path';
import {removeStaleTempFilesIn, writeFileAtomic} from '../atomic-file.js';
import {makeDirs} from '../make-dirs.js';

/** An orphan archive a cleanup on this machine is hiding before its last look for the metadata file. */
export interface HidingRecord {
  key: string;
  metadataKey: string;
  /** The archive's base name (`<base>.tar`), whose lock the decision is taken under. */
  base: string;
  /** The hide marker's id, once the hide has answered: what an unhide removes. */
  markerId?: string;
  /** The backup as the cleanup reported it (CleanupReport.deleted). */
  entry: {id: string; name: string; date: string; size: number; stored: string};
}

/**
 * Archives that a cleanup hid and has not decided about yet (unhide or delete), one
 * record each, in a location's data dir: written before the hide, removed once the
 * decision is made. A cleanup killed in between (kill -9, a crash) leaves its record,
 * and the next cleanup here finishes the decision. Hidden files in general are not a
 * cleanup's to decide about (a hide marker is how B2 users, rclone and lifecycle rules
 * soft-delete), so without the record such an archive would stay hidden for good, its
 * storage billed, seen by no listing. Without a dir, or one that cannot be written
 * (warned once), cleanups go on without records.
 */
export class HidingRecords {
  private warned = false;
  private swept?: Promise<void>;

  constructor(
    private readonly dir: string | undefined,
    private readonly warn: (msg: string) => void,
  ) {}

  async record(r: HidingRecord): Promise<void> {
    if (!this.dir) return;
    try {
      await makeDirs(this.dir, {mode: 0o700});
      this.swept ??= removeStaleTempFilesIn(this.dir); // what a writer killed mid-write left
      await this.swept;
      await writeFileAtomic(this.fileFor(r.key), JSON.stringify(r), {mode: 0o600});
    } catch (err) {
      if (!this.warned) this.warn(`cannot record what cleanup hides in ${this.dir} (${(err as NodeJS.ErrnoException).code ?? String(err)}); a cleanup killed while deciding about an archive would leave it hidden`);
      this.warned = true;
    }
  }

  async clear(key: string): Promise<void> {
    if (this.dir) await rm(this.fileFor(key), {force: true}).catch(() => undefined);
  }

  /** Every well-formed record (one that cannot be read is left, and skipped). */
  async all(): Promise<HidingRecord[]> {
    if (!this.dir) return [];
    const names = await readdir(this.dir).catch(() => [] as string[]);
    const records: HidingRecord[] = [];
    for (const name of names.filter((n) => /^[0-9a-f]{40}\.json$/.test(n)).sort()) {
      const r = await readFile(join(this.dir, name), 'utf8').then((text) => JSON.parse(text) as HidingRecord, () => undefined);
      if (r && typeof r.key === 'string' && typeof r.metadataKey === 'string' && typeof r.base === 'string' && typeof r.entry?.id === 'string' && name === `${keyDigest(r.key)}.json`) records.push(r);
    }
    return records;
  }

  private fileFor(key: string): string {
    return join(this.dir as string, `${keyDigest(key)}.json`);
  }
}

/** A file name for any key (a key is any text, a file name is not). */
function keyDigest(key: string): string {
  return createHash('sha1').update(key, 'utf8').digest('hex');
}
