import {open, readFile, rename} from 'node:fs/promises';
import {dirname, join} from 'node:path';
import {syncDir} from './sync-dir.js';

/**
 * The metadata of a data-dir emulator (keys, buckets, file records, tokens) as one JSON
 * file, replaced atomically: write a temporary file, fsync it, rename it over the old
 * one, fsync the directory. A save serialises the state at once, when it is called (its
 * caller knows that moment holds only journalled changes); saves must not overlap.
 */
export class SnapshotFile {
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
    return this.writeNow(this.serialize());
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
    await syncDir(dirname(this.path));
  }
}
