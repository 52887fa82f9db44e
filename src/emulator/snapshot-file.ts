import {open, readFile, rename} from 'node:fs/promises';
import {dirname, join} from 'node:path';

/**
 * The metadata of a data-dir emulator (keys, buckets, file records, tokens) as one JSON
 * file, replaced atomically: write a temporary file, fsync it, rename it over the old
 * one, fsync the directory. Saves coalesce: a save requested while another is queued
 * shares it, and every save serialises the state as it is when it starts.
 */
export class SnapshotFile {
  private queued: Promise<void> | null = null;
  private tail: Promise<void> = Promise.resolve();

  constructor(
    readonly path: string,
    private readonly serialize: () => string,
  ) {}

  static inDir(dataDir: string, serialize: () => string): SnapshotFile {
    return new SnapshotFile(join(dataDir, 'state.json'), serialize);
  }

  async load(): Promise<unknown | undefined> {
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw e;
    }
    try {
      return JSON.parse(text);
    } catch {
      throw new Error(`emulator state file ${this.path} is not valid JSON; move it away to start empty`);
    }
  }

  save(): Promise<void> {
    if (this.queued) return this.queued;
    const run = this.tail.then(() => {
      this.queued = null;
      return this.writeNow(this.serialize());
    });
    this.queued = run;
    this.tail = run.catch(() => undefined);
    return run;
  }

  private async writeNow(text: string): Promise<void> {
    const tmp = `${this.path}.tmp`;
    const handle = await open(tmp, 'w', 0o600);
    try {
      await handle.writeFile(text);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(tmp, this.path);
    const dir = await open(dirname(this.path), 'r');
    try {
      await dir.sync();
    } finally {
      await dir.close();
    }
  }
}
