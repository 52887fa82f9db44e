import {mkdir, readFile, rm} from 'node:fs/promises';
import {join} from 'node:path';
import {writeFileAtomic} from '../atomic-file.js';
import {SHA1_HEX} from '../hash.js';

/** What an interrupted upload was called, so that running it again produces the same names. */
export interface PendingUpload {
  id: string;
  name: string;
  date: string;
  base: string;
  size: number;
  sha1: string;
}

/**
 * Records of uploads that started but did not finish, keyed by the archive's SHA1. A
 * backend resumes an unfinished upload only when it is asked for the same name with the
 * same object info; a new upload gets a fresh id and date, so without this record a
 * second run could never continue the first. Cleared when the upload completes.
 */
export class PendingUploads {
  constructor(
    private readonly dir: string | undefined,
    private readonly onWarning: (msg: string) => void,
  ) {}

  /** The pending upload of exactly this content under this name, if one was interrupted. */
  async find(sha1: string, size: number, name: string): Promise<PendingUpload | undefined> {
    if (!this.dir) return undefined;
    try {
      const p = JSON.parse(await readFile(this.fileFor(sha1), 'utf8')) as PendingUpload;
      return p.sha1 === sha1 && p.size === size && p.name === name && typeof p.id === 'string' && typeof p.base === 'string' && typeof p.date === 'string' ? p : undefined;
    } catch {
      return undefined;
    }
  }

  async record(p: PendingUpload): Promise<void> {
    if (!this.dir) return;
    try {
      await mkdir(this.dir, {recursive: true, mode: 0o700});
      await writeFileAtomic(this.fileFor(p.sha1), JSON.stringify(p), {mode: 0o600});
    } catch (err) {
      this.onWarning(`cannot record the upload in ${this.dir} (${(err as NodeJS.ErrnoException).code ?? String(err)}); if it is interrupted it will start over`);
    }
  }

  async clear(sha1: string): Promise<void> {
    if (this.dir) await rm(this.fileFor(sha1), {force: true}).catch(() => undefined);
  }

  private fileFor(sha1: string): string {
    if (!SHA1_HEX.test(sha1)) throw new Error(`not a SHA1: ${sha1}`);
    return join(this.dir as string, `${sha1}.json`);
  }
}
