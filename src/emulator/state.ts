import {createHash, randomBytes} from 'node:crypto';
import {serviceUnavailable} from './b2-error.js';
import {BlobStore} from './blob-store.js';
import {EmulatorClock} from './clock.js';
import {compareUtf8} from './names.js';
import {join} from 'node:path';
import {JournalFile} from './journal-file.js';
import {SnapshotFile} from './snapshot-file.js';
import {BucketRecord, FileRecord, KeyRecord, TokenRecord} from './types.js';

interface SnapshotData {
  format: 1;
  accountId: string;
  fileCounter: number;
  keys: KeyRecord[];
  buckets: BucketRecord[];
  /** Every version, each name's versions newest first. */
  files: FileRecord[];
  tokens: Array<[string, TokenRecord]>;
  bootstrap?: BootstrapRecord;
}

/** The bootstrap credentials, kept (in the 0600 state file) so a restart prints the same ones. */
export interface BootstrapRecord {
  keyId: string;
  applicationKey: string;
  bucket: string;
}

export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}

function randomHex(bytes: number): string {
  return randomBytes(bytes).toString('hex');
}

const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
function randomAlnum(length: number): string {
  const bytes = randomBytes(length);
  return Array.from(bytes, (b) => ALNUM[b % ALNUM.length]).join('');
}

type EntityKind = 'key' | 'bucket' | 'file' | 'token';

/** One journal line: an entity's new value (null = deleted), or the counters. */
type JournalEntry =
  | {t: EntityKind; id: string; v: unknown}
  | {t: 'meta'; accountId: string; fileCounter: number; bootstrap?: BootstrapRecord};

/**
 * Everything the emulator knows: keys, buckets, file versions (with each name's
 * versions newest first), tokens. Mutators change memory and mark what they changed;
 * `commit()` makes the changes durable (with a data dir) and must be awaited before a
 * call answers success; it must follow the mutations with no await between (a commit
 * that fails puts memory back to what the data dir holds). On disk: a snapshot plus a
 * journal of changed entities since, so a commit costs one small fsynced append, not a
 * rewrite of everything.
 */
export class EmulatorState {
  accountId = randomHex(6);
  readonly keys = new Map<string, KeyRecord>();
  readonly buckets = new Map<string, BucketRecord>();
  readonly files = new Map<string, FileRecord>();
  readonly tokens = new Map<string, TokenRecord>();
  /** bucketId → name → fileIds, newest first. */
  private readonly names = new Map<string, Map<string, string[]>>();
  private readonly sortedNamesCache = new Map<string, string[]>();
  bootstrap?: BootstrapRecord;
  private fileCounter = 0;
  private snapshot?: SnapshotFile;
  private journal?: JournalFile;
  /** `kind\0id` of every entity changed since the last commit (only with a data dir). */
  private readonly dirty = new Set<string>();
  private journaledBootstrap = 'null';

  constructor(
    readonly blobs: BlobStore,
    private readonly clock: EmulatorClock,
  ) {}

  /** Loads the data dir's state (if any) and saves every later commit there. */
  async attach(dataDir: string): Promise<void> {
    this.snapshot = SnapshotFile.inDir(dataDir, () => JSON.stringify(this.toSnapshot()));
    this.journal = new JournalFile(join(dataDir, 'journal.jsonl'), {
      tooLong: (lines) => lines > Math.max(1000, this.files.size + this.tokens.size),
      compact: () => this.compact(),
    });
    this.load(await this.readDisk());
    await this.compact();
    await this.blobs.collectGarbage(this.liveRefs());
  }

  /** Marks an entity changed in place, so the next commit records it. */
  changed(kind: EntityKind, id: string): void {
    if (this.journal) this.dirty.add(`${kind}\0${id}`);
  }

  async commit(): Promise<void> {
    if (!this.journal) return;
    const entries: JournalEntry[] = [...this.dirty].map((d) => {
      const [t, id] = d.split('\0') as [EntityKind, string];
      const table: Map<string, unknown> = {key: this.keys, bucket: this.buckets, file: this.files, token: this.tokens}[t];
      return {t, id, v: table.get(id) ?? null};
    });
    this.dirty.clear();
    // The bootstrap record holds a secret: journal it only when it changes.
    const bootstrap = JSON.stringify(this.bootstrap ?? null) === this.journaledBootstrap ? undefined : this.bootstrap;
    this.journaledBootstrap = JSON.stringify(this.bootstrap ?? null);
    entries.push({t: 'meta', accountId: this.accountId, fileCounter: this.fileCounter, ...(bootstrap ? {bootstrap} : {})});
    try {
      await this.journal.append(entries);
    } catch (e) {
      // Memory already holds the change, but the data dir refused it: take it back, so
      // that listings do not show what the client was told failed (and a restart would drop).
      await this.revertToDisk().catch(() => undefined);
      throw serviceUnavailable(`the change could not be stored (${(e as Error)?.message ?? String(e)}); retry later`);
    }
  }

  /**
   * Makes memory what the data dir holds, read at a moment with no append in flight or
   * queued: changes whose append failed are gone, every acknowledged one stays.
   */
  private async revertToDisk(): Promise<void> {
    const journal = this.journal!;
    for (;;) {
      await journal.settled();
      const generation = journal.generation;
      const disk = await this.readDisk();
      // Another append ran while we read: what we read may miss it (or hold a failed one).
      if (!journal.quiet || journal.generation !== generation) continue;
      this.clearMemory();
      this.load(disk);
      return;
    }
  }

  private async readDisk(): Promise<{snapshot?: SnapshotData; entries: JournalEntry[]}> {
    const snapshot = (await this.snapshot!.load()) as SnapshotData | undefined;
    return {snapshot, entries: (await this.journal!.readEntries()) as JournalEntry[]};
  }

  /** Memory from the snapshot and the journal after it: nothing is left to commit. */
  private load(disk: {snapshot?: SnapshotData; entries: JournalEntry[]}): void {
    if (disk.snapshot) this.fromSnapshot(disk.snapshot);
    for (const entry of disk.entries) this.apply(entry);
    this.dirty.clear();
    this.journaledBootstrap = JSON.stringify(this.bootstrap ?? null);
  }

  private clearMemory(): void {
    for (const table of [this.keys, this.buckets, this.files, this.tokens, this.names, this.sortedNamesCache]) table.clear();
    this.bootstrap = undefined; // the file counter stays: an ID the reverted change used is never issued again
  }

  /** Writes a full snapshot and empties the journal it now contains. */
  private async compact(): Promise<void> {
    await this.snapshot!.save();
    await this.journal!.reset();
    this.journaledBootstrap = JSON.stringify(this.bootstrap ?? null);
  }

  async close(): Promise<void> {
    await this.commit();
    await this.journal?.close();
  }

  private apply(e: JournalEntry): void {
    if (e.t === 'meta') {
      this.accountId = e.accountId;
      this.fileCounter = Math.max(this.fileCounter, e.fileCounter);
      if (e.bootstrap) this.bootstrap = e.bootstrap;
    } else if (e.t === 'key') {
      if (e.v) this.keys.set(e.id, e.v as KeyRecord);
      else this.keys.delete(e.id);
    } else if (e.t === 'token') {
      if (e.v) this.tokens.set(e.id, e.v as TokenRecord);
      else this.tokens.delete(e.id);
    } else if (e.t === 'bucket') {
      if (e.v) this.buckets.set(e.id, e.v as BucketRecord);
      else this.removeBucket(e.id);
    } else if (e.v === null) this.removeVersion(e.id);
    else if (this.files.has(e.id)) this.files.set(e.id, e.v as FileRecord);
    else this.addVersion(e.v as FileRecord);
  }

  putKey(key: KeyRecord): void {
    this.keys.set(key.keyId, key);
    this.changed('key', key.keyId);
  }

  deleteKey(keyId: string): boolean {
    this.changed('key', keyId);
    return this.keys.delete(keyId);
  }

  putBucket(bucket: BucketRecord): void {
    this.buckets.set(bucket.bucketId, bucket);
    this.changed('bucket', bucket.bucketId);
  }

  putToken(token: string, record: TokenRecord): void {
    this.tokens.set(token, record);
    this.changed('token', token);
  }

  // ---- ids and secrets ----

  newKeyId(): string {
    return `005${this.accountId}${randomHex(5)}`;
  }

  newApplicationKey(): string {
    return `K005${randomAlnum(27)}`;
  }

  newBucketId(): string {
    return randomHex(12);
  }

  newToken(prefix: string): string {
    return `${prefix}_${randomAlnum(8)}${randomBytes(24).toString('base64url')}`;
  }

  /** A file ID's place in creation order (versions of a name list newest first), or undefined if it is no file ID of this emulator. */
  static fileIdSequence(fileId: string): number | undefined {
    const m = /^4_z[^_]+_f([0-9a-f]{15})_d\d{8}_m\d{6}_c\d+_v\d+_t\d+$/.exec(fileId);
    return m ? parseInt(m[1], 16) : undefined;
  }

  newFileId(bucketId: string, now: number): string {
    this.fileCounter += 1;
    const d = new Date(now).toISOString();
    const date = `${d.slice(0, 4)}${d.slice(5, 7)}${d.slice(8, 10)}`;
    const time = `${d.slice(11, 13)}${d.slice(14, 16)}${d.slice(17, 19)}`;
    return `4_z${bucketId}_f${this.fileCounter.toString(16).padStart(15, '0')}_d${date}_m${time}_c000_v0001000_t0000`;
  }

  // ---- buckets ----

  bucketByName(name: string): BucketRecord | undefined {
    const lower = name.toLowerCase();
    for (const b of this.buckets.values()) if (b.bucketName.toLowerCase() === lower) return b;
    return undefined;
  }

  bucketIsEmpty(bucketId: string): boolean {
    const names = this.names.get(bucketId);
    return !names || names.size === 0;
  }

  removeBucket(bucketId: string): void {
    this.changed('bucket', bucketId);
    this.buckets.delete(bucketId);
    this.names.delete(bucketId);
    this.sortedNamesCache.delete(bucketId);
  }

  // ---- file versions ----

  /** Every name in a bucket that has any version, sorted by UTF-8 bytes. */
  sortedNames(bucketId: string): string[] {
    let sorted = this.sortedNamesCache.get(bucketId);
    if (!sorted) {
      sorted = [...(this.names.get(bucketId)?.keys() ?? [])].sort(compareUtf8);
      this.sortedNamesCache.set(bucketId, sorted);
    }
    return sorted;
  }

  /** Versions of one name, newest first. */
  versions(bucketId: string, name: string): FileRecord[] {
    const ids = this.names.get(bucketId)?.get(name) ?? [];
    return ids.map((id) => this.files.get(id)!);
  }

  /** The newest upload or hide marker of a name (unfinished large files do not count). */
  newestFinished(bucketId: string, name: string): FileRecord | undefined {
    return this.versions(bucketId, name).find((f) => f.action !== 'start');
  }

  /** Records a new newest version of a name with a fresh id and upload timestamp. */
  createVersion(bucketId: string, fileName: string, action: FileRecord['action'], fields: Partial<FileRecord>): FileRecord {
    const now = this.clock.now();
    const file: FileRecord = {
      fileId: this.newFileId(bucketId, now),
      bucketId,
      fileName,
      action,
      contentLength: 0,
      contentSha1: 'none',
      contentType: 'application/octet-stream',
      fileInfo: {},
      uploadTimestamp: now,
      serverSideEncryption: {mode: null},
      segments: [],
      ...fields,
    };
    this.addVersion(file);
    return file;
  }

  addVersion(file: FileRecord): void {
    this.changed('file', file.fileId);
    this.files.set(file.fileId, file);
    let names = this.names.get(file.bucketId);
    if (!names) this.names.set(file.bucketId, (names = new Map()));
    const ids = names.get(file.fileName);
    if (ids) ids.unshift(file.fileId);
    else {
      names.set(file.fileName, [file.fileId]);
      this.sortedNamesCache.delete(file.bucketId);
    }
  }

  removeVersion(fileId: string): FileRecord | undefined {
    const file = this.files.get(fileId);
    if (!file) return undefined;
    this.changed('file', fileId);
    this.files.delete(fileId);
    const names = this.names.get(file.bucketId);
    const ids = names?.get(file.fileName);
    if (names && ids) {
      const rest = ids.filter((id) => id !== fileId);
      if (rest.length > 0) names.set(file.fileName, rest);
      else {
        names.delete(file.fileName);
        this.sortedNamesCache.delete(file.bucketId);
      }
    }
    return file;
  }

  /** Blob refs of a record: its data segments and, while unfinished, its parts. */
  refsOf(file: FileRecord): string[] {
    return [...file.segments.map((s) => s.ref), ...Object.values(file.parts ?? {}).map((p) => p.ref)];
  }

  /** Whether any record names the blob (after a failed commit: may its bytes go?). */
  refersTo(ref: string): boolean {
    return this.liveRefs().has(ref);
  }

  private liveRefs(): Set<string> {
    const live = new Set<string>();
    for (const f of this.files.values()) for (const r of this.refsOf(f)) live.add(r);
    return live;
  }

  // ---- persistence ----

  private toSnapshot(): SnapshotData {
    const files: FileRecord[] = [];
    for (const names of this.names.values()) for (const ids of names.values()) for (const id of ids) files.push(this.files.get(id)!);
    return {
      format: 1,
      accountId: this.accountId,
      fileCounter: this.fileCounter,
      keys: [...this.keys.values()],
      buckets: [...this.buckets.values()],
      files,
      tokens: [...this.tokens.entries()].filter(([, t]) => t.expiresAt > this.clock.now()),
      bootstrap: this.bootstrap,
    };
  }

  private fromSnapshot(data: SnapshotData): void {
    this.accountId = data.accountId;
    this.fileCounter = Math.max(this.fileCounter, data.fileCounter);
    for (const k of data.keys) this.keys.set(k.keyId, k);
    for (const b of data.buckets) this.buckets.set(b.bucketId, b);
    // Stored newest first per name; adding oldest first rebuilds the same order.
    for (const f of [...data.files].reverse()) this.addVersion(f);
    for (const [token, record] of data.tokens) this.tokens.set(token, record);
    this.bootstrap = data.bootstrap;
  }
}
