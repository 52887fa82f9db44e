import {open, readFile, FileHandle} from 'node:fs/promises';
import {dirname} from 'node:path';
import {syncDir} from './sync-dir.js';

/**
 * An append-only file of JSON lines, each fsynced before the append that wrote it
 * resolves. Appends that arrive while a write is in flight are batched into the next
 * write. A torn last line (a crash mid-append, never acknowledged) is ignored on read.
 */
export class JournalFile {
  private handle?: FileHandle;
  private pending: string[] = [];
  private waiters: Array<{resolve: () => void; reject: (e: unknown) => void}> = [];
  private writing = false;
  /** Bytes of whole, acknowledged lines: a failed append is cut back to this. */
  private size = 0;
  lines = 0;
  /** Counts writes tried and resets: a reader of the file can tell whether it changed since. */
  generation = 0;

  /** `compact` runs between appends once `tooLong(lines)` says so: it must absorb the journal and reset() it. */
  constructor(
    readonly path: string,
    private readonly compaction?: {tooLong: (lines: number) => boolean; compact: () => Promise<void>},
  ) {}

  async readEntries(): Promise<unknown[]> {
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw e;
    }
    const lines = text.split('\n').filter((l) => l !== '');
    const entries: unknown[] = [];
    for (const [i, line] of lines.entries()) {
      try {
        entries.push(JSON.parse(line));
      } catch {
        if (i === lines.length - 1) break;
        throw new Error(`emulator journal ${this.path} is damaged at line ${i + 1}; move the data dir away to start empty`);
      }
    }
    return entries;
  }

  /** Starts an empty journal (after a snapshot has absorbed the old one). */
  async reset(): Promise<void> {
    this.generation += 1;
    const old = this.handle;
    this.handle = undefined; // if the reopen fails, the next append opens the file again (never the closed handle)
    await old?.close();
    const handle = await open(this.path, 'w', 0o600);
    this.handle = handle;
    this.lines = 0;
    this.size = 0;
    await handle.sync();
    await syncDir(dirname(this.path)); // the first reset creates the file: its name must outlast a power cut
  }

  /** No write in flight and none queued: the file holds every append that has settled. */
  get quiet(): boolean {
    return !this.writing && this.pending.length === 0;
  }

  /** Resolves once the journal is quiet. */
  async settled(): Promise<void> {
    while (!this.quiet) await new Promise((r) => setImmediate(r));
  }

  append(entries: unknown[]): Promise<void> {
    if (entries.length === 0) return Promise.resolve();
    for (const e of entries) this.pending.push(`${JSON.stringify(e)}\n`);
    const done = new Promise<void>((resolve, reject) => this.waiters.push({resolve, reject}));
    if (!this.writing) void this.flush();
    return done;
  }

  private async flush(): Promise<void> {
    this.writing = true;
    while (this.pending.length > 0) {
      const text = this.pending.join('');
      const count = this.pending.length;
      const waiters = this.waiters;
      this.pending = [];
      this.waiters = [];
      this.generation += 1;
      try {
        if (!this.handle) {
          this.handle = await open(this.path, 'a', 0o600);
          this.size = (await this.handle.stat()).size;
        }
        await this.writeAll(this.handle, Buffer.from(text));
        this.lines += count;
        for (const w of waiters) w.resolve();
        // Only with nothing queued: the snapshot is taken from memory, which then holds no
        // change whose append could still fail (the snapshot would keep what the journal refused).
        if (this.pending.length === 0 && this.compaction?.tooLong(this.lines)) await this.compaction.compact().catch(() => undefined);
      } catch (e) {
        for (const w of waiters) w.reject(e);
      }
    }
    this.writing = false;
  }

  /**
   * One write may store only part of the text (a full disk): write the rest, and if that
   * fails, cut the half-written entries off again so that the error answer is the truth
   * and later appends do not follow a damaged line.
   */
  private async writeAll(handle: FileHandle, bytes: Buffer): Promise<void> {
    try {
      for (let done = 0; done < bytes.length; ) {
        const {bytesWritten} = await handle.write(bytes, done, bytes.length - done);
        if (bytesWritten === 0) throw new Error(`journal ${this.path}: nothing written`);
        done += bytesWritten;
      }
      await handle.sync();
      this.size += bytes.length;
    } catch (e) {
      await handle.truncate(this.size).catch(() => undefined);
      throw e;
    }
  }

  async close(): Promise<void> {
    await this.settled();
    await this.handle?.close();
    this.handle = undefined;
  }
}
