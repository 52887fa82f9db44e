/**
 * The soak: concurrent uploads (files and streams, single and multi-part), downloads,
 * lists, verifies and deletes through the backup catalog on the B2 provider, against the
 * emulator over real HTTP, with a seeded mix of faults and files changed under the
 * uploader. Bounded by an operation count and a time limit. At the end, with the faults
 * off, it checks the invariants and reports every violation.
 *
 * Used by `npm run soak` (scripts/soak-cli.ts) and, short, by test/soak/soak.test.ts.
 */
import {createHash} from 'node:crypto';
import {closeSync, openSync, writeSync} from 'node:fs';
import {mkdtemp, readFile, rm, stat, utimes, writeFile} from 'node:fs/promises';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {Readable} from 'node:stream';
import {B2Backend} from '../src/b2/index.js';
import {BackupCatalog} from '../src/backups/index.js';
import {isBackupError} from '../src/errors.js';
import {SeededRandom} from '../src/emulator/rng.js';
import {startEmulator, type FaultRule, type RunningEmulator} from '../src/emulator/index.js';

export interface SoakOptions {
  seed: number;
  /** Operations to run (the run stops at whichever bound comes first). */
  ops: number;
  seconds: number;
  /** Operations in flight at once. */
  concurrency?: number;
  /** Part size of multi-part uploads, and the emulator's minimum part size. */
  partSize?: number;
  /** Lines of progress (default: none). */
  log?: (line: string) => void;
}

export interface MemorySample {
  heapUsed: number;
  rss: number;
}

/** Heap growth beyond this between the warm-up checkpoint and the end (after a GC) is a leak. */
const LEAK_MARGIN_BYTES = 32 * 1024 * 1024;

export interface SoakReport {
  seed: number;
  elapsedMs: number;
  stoppedBy: 'ops' | 'time';
  operations: Record<string, number>;
  /** Operations that ended in an error, by operation and error kind. */
  failuresSurfaced: Record<string, number>;
  /** Those errors' messages with names, paths and hashes masked, and how often each came. */
  failureMessages: Record<string, number>;
  /** Faults the emulator injected, by kind, plus files changed under the uploader. */
  faults: Record<string, number>;
  /** Backoff waits of the retry policy (a retry that waits; a fresh upload URL does not). */
  retries: number;
  reauthorizations: number;
  /** Unfinished large files left by failures that said so, removed by the cleanup at the end. */
  cleanedAfterFailures: number;
  /** File uploads whose failure kept their unfinished large file, rerun at the end (each must complete and take it over). */
  rerunAfterFailures: number;
  /** Of those, the ones that had stored parts and reused them. */
  resumedAfterFailures: number;
  violations: string[];
  /**
   * first: at the start; warm: after a fifth of the operations; last: after all of them.
   * warm and last follow a full GC when node runs with --expose-gc (gcMeasured).
   */
  memory: {first: MemorySample; warm?: MemorySample; last: MemorySample; peakRss: number; peakHeapUsed: number; gcMeasured: boolean};
}

type OpKind = 'upload-file' | 'upload-stream' | 'download' | 'list' | 'verify' | 'delete';
const OP_WEIGHTS: Array<[OpKind, number]> = [
  ['upload-file', 6], ['upload-stream', 4], ['download', 3], ['list', 2], ['verify', 2], ['delete', 2],
];
const CHANGE_UNDER_UPLOADER_RATE = 0.2;
/** Every this many operations, the next STORM_FAILURES part uploads answer 503. */
const STORM_EVERY = 100;
const STORM_FAILURES = 60;

/** What the soak knows about a backup whose upload reported success. */
interface Known {
  id: string;
  name: string;
  sha1: string;
  size: number;
  state: 'live' | 'deleting' | 'deleted' | 'delete-failed';
}

/** The faults injected during the run: every kind the emulator has, at seeded rates. */
export function faultMix(): FaultRule[] {
  const tokenCalls = ['b2_list_file_names', 'b2_list_file_versions', 'b2_get_upload_url', 'b2_get_upload_part_url', 'b2_start_large_file',
    'b2_finish_large_file', 'b2_delete_file_version', 'b2_download_file_by_name', 'b2_upload_file', 'b2_upload_part'];
  return [
    {call: 'uploads', rate: 0.04, status: 503},
    {call: 'uploads', rate: 0.02, status: 500},
    {call: 'uploads', rate: 0.03, status: 429, retryAfter: 1},
    {call: 'b2_upload_part', rate: 0.03, corruptRequestBody: true},
    {call: 'b2_upload_file', rate: 0.03, corruptRequestBody: true},
    {call: 'uploads', rate: 0.02, cutRequestAfterBytes: 1500},
    {call: 'b2_download_file_by_name', rate: 0.04, cutResponseAfterBytes: 3000},
    {call: 'b2_download_file_by_name', rate: 0.02, status: 503},
    {call: 'b2_finish_large_file', rate: 0.05, cutResponseAfterBytes: 10},
    {call: 'b2_delete_file_version', rate: 0.03, cutResponseAfterBytes: 10},
    {call: 'b2_list_file_names', rate: 0.03, status: 503},
    {call: 'b2_list_file_names', rate: 0.02, status: 429, retryAfter: 1},
    {call: 'b2_get_upload_url', rate: 0.02, status: 503},
    {call: 'b2_start_large_file', rate: 0.02, status: 500},
    ...tokenCalls.map((call): FaultRule => ({call, rate: 0.015, expireToken: true})),
    {call: '*', rate: 0.05, latencyMs: 10},
  ];
}

const sha1Hex = (b: Buffer) => createHash('sha1').update(b).digest('hex');

/** Deterministic bytes for an upload (no two uploads alike). */
function bytesFor(size: number, seed: number): Buffer {
  const rng = new SeededRandom(seed);
  const out = Buffer.alloc(Math.ceil(size / 4) * 4);
  for (let i = 0; i < out.length; i += 4) out.writeUInt32LE(Math.floor(rng.next() * 0x1_0000_0000), i);
  return out.subarray(0, size);
}

function pick<T>(rng: SeededRandom, items: T[]): T {
  return items[Math.floor(rng.next() * items.length)];
}

function weighted(rng: SeededRandom): OpKind {
  const total = OP_WEIGHTS.reduce((n, [, w]) => n + w, 0);
  let r = rng.next() * total;
  for (const [kind, w] of OP_WEIGHTS) if ((r -= w) < 0) return kind;
  return OP_WEIGHTS[0][0];
}

const bump = (counts: Record<string, number>, key: string, n = 1) => (counts[key] = (counts[key] ?? 0) + n);

export async function runSoak(opts: SoakOptions): Promise<SoakReport> {
  const log = opts.log ?? (() => undefined);
  const partSize = opts.partSize ?? 256 * 1024;
  const concurrency = opts.concurrency ?? 4;
  const sizes = [0, 1, 777, 40_000, partSize - 1, partSize, partSize + 1, Math.floor(2.5 * partSize), 4 * partSize + 123];
  const work = await mkdtemp(join(tmpdir(), 'b2-soak-'));
  const violations: string[] = [];
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown) => unhandled.push(reason);
  process.on('unhandledRejection', onUnhandled);
  let emu: RunningEmulator | undefined;
  let backend: B2Backend | undefined;
  const started = Date.now();
  try {
    emu = await startEmulator({port: 0, seed: opts.seed, dataDir: join(work, 'emulator'), minPartSize: partSize});
    let retries = 0;
    const openBackend = () => B2Backend.open({
      keyId: emu!.keyId, applicationKey: emu!.applicationKey, bucket: emu!.bucket, prefix: 'soak/', endpoint: emu!.url,
      profileName: 'soak', partSize, uploadCutoff: partSize, concurrency: 3,
      // Waits are counted, not slept: the soak tests what is retried, not how long it waits.
      retry: {sleep: async () => {
        retries++;
        await new Promise((r) => setTimeout(r, 1));
      }, random: () => 0.5},
    });
    backend = await openBackend();
    const catalog = new BackupCatalog(backend, {cacheDir: join(work, 'cache'), onWarning: () => undefined});
    for (const rule of faultMix()) emu.faults.add(rule);
    const authorizeCallsAtStart = emu.stats().calls.b2_authorize_account ?? 0;

    const operations: Record<string, number> = {};
    const failuresSurfaced: Record<string, number> = {};
    const failureMessages: Record<string, number> = {};
    const soakFaults: Record<string, number> = {};
    const known = new Map<string, Known>();
    const failedUploads: Array<{name: string; message: string}> = [];
    let cleanupAnnounced = 0;
    /** Files whose failed upload kept its parts: rerun at the end, they must resume. */
    const keptFiles: Array<{path: string; name: string; accepted: Set<string>; storedParts: number}> = [];
    const memory: MemorySample[] = [];
    const gc = (globalThis as {gc?: () => void}).gc;
    const sample = (collect = false): MemorySample => {
      if (collect) gc?.();
      const m = process.memoryUsage();
      memory.push({heapUsed: m.heapUsed, rss: m.rss});
      return memory[memory.length - 1];
    };
    sample();
    let warm: MemorySample | undefined;
    let done = 0;

    const liveIds = () => [...known.values()].filter((k) => k.state === 'live').map((k) => k.id);
    const surfaced = (kind: OpKind, err: unknown) => {
      const errKind = isBackupError(err) ? err.kind : `unexpected:${(err as Error)?.name ?? typeof err}`;
      bump(failuresSurfaced, `${kind}:${errKind}`);
      const message = `${kind}: ${(err as Error)?.message ?? String(err)}`;
      bump(failureMessages, message.replace(/"[^"]*"/g, 'NAME').replace(/soak\/soak_\S+?\.(tar|metadata\.json)\b/g, 'NAME').replace(/\S*upload-\d+\.bin/g, 'FILE').replace(/\b[0-9a-f]{40}\b/g, 'SHA1').replace(/\d+ part/g, 'N part'));
      if (!isBackupError(err)) violations.push(`${kind} failed with a non-BackupError: ${(err as Error)?.stack ?? String(err)}`);
      return err;
    };

    const upload = async (i: number, rng: SeededRandom, fromFile: boolean) => {
      const size = pick(rng, sizes);
      const data = bytesFor(size, opts.seed * 100_003 + i);
      const name = `soak ${i}`;
      const change = fromFile && size > 1000 && rng.next() < CHANGE_UNDER_UPLOADER_RATE;
      const accepted = new Set([sha1Hex(data)]);
      let body: Readable | {path: string};
      let path: string | undefined;
      let changed = false;
      if (fromFile) {
        path = join(work, `upload-${i}.bin`);
        await writeFile(path, data);
        body = {path};
      } else {
        const piece = 64 * 1024;
        body = Readable.from((function* () {
          for (let at = 0; at < data.length; at += piece) yield data.subarray(at, at + piece);
        })());
      }
      const changeFile = async () => {
        if (!path || changed) return;
        changed = true;
        bump(soakFaults, 'file_changed_under_uploader');
        // Rewrite one byte in place and put the mtime back, as `cp -p` or `rsync -t` leave it.
        const before = await stat(path);
        const at = Math.floor(size / 2);
        const fd = openSync(path, 'r+');
        try {
          writeSync(fd, Buffer.from([data[at] ^ 0xff]), 0, 1, at);
        } finally {
          closeSync(fd);
        }
        await utimes(path, before.atime, before.mtime);
        const after = Buffer.from(data);
        after[at] ^= 0xff;
        accepted.add(sha1Hex(after));
      };
      try {
        const result = await catalog.upload(body, {
          name,
          size: fromFile || rng.next() < 0.5 ? size : undefined,
          onProgress: change ? (p) => void (p.loaded + (p.inFlight ?? 0) > 0 && changeFile()) : undefined,
        });
        const reported = result.sha1 ?? 'none';
        if (!accepted.has(reported)) violations.push(`upload ${name} reported SHA1 ${reported}, which is the SHA1 of no version of its source`);
        known.set(result.id, {id: result.id, name, sha1: reported, size: result.size, state: 'live'});
      } catch (err) {
        surfaced(fromFile ? 'upload-file' : 'upload-stream', err);
        const message = (err as Error)?.message ?? String(err);
        // A failure that kept its unfinished large file says so (for a rerun to resume, or `b2 cleanup`).
        const kept = (err as {resumable?: boolean})?.resumable === true || /kept to be resumed|b2 cleanup/.test(message);
        const storedParts = Number(/\((\d+) parts? stored\)/.exec(message)?.[1] ?? 1);
        if (kept && path && !changed) keptFiles.push({path, name, accepted, storedParts});
        else if (kept) cleanupAnnounced++;
        failedUploads.push({name, message});
        if (kept && path && !changed) path = undefined; // kept for the rerun at the end
      } finally {
        if (path) await rm(path, {force: true});
      }
    };

    const download = async (rng: SeededRandom) => {
      const id = pick(rng, liveIds());
      if (!id) return;
      const k = known.get(id)!;
      const toFile = rng.next() < 0.5 ? join(work, `download-${id}-${Math.floor(rng.next() * 1e9)}.tar`) : undefined;
      try {
        let got: string;
        let size: number;
        if (toFile) {
          await catalog.downloadToFile(id, toFile);
          const data = await readFile(toFile);
          [got, size] = [sha1Hex(data), data.length];
        } else {
          const {stream} = await catalog.download(id);
          const hash = createHash('sha1');
          size = 0;
          for await (const chunk of stream) {
            hash.update(chunk as Buffer);
            size += (chunk as Buffer).length;
          }
          got = hash.digest('hex');
        }
        if (got !== k.sha1 || size !== k.size) violations.push(`download of ${k.name} gave ${size} bytes SHA1 ${got}; uploaded ${k.size} bytes SHA1 ${k.sha1}`);
      } catch (err) {
        // Deleted meanwhile by another operation: not this download's failure.
        if (k.state === 'live') surfaced('download', err);
        // A failed download to a file leaves nothing behind (never a partial file).
        if (toFile && (await stat(toFile).catch(() => undefined))) violations.push(`failed download of ${k.name} left ${toFile} behind`);
      } finally {
        if (toFile) await rm(toFile, {force: true});
      }
    };

    const verify = async (rng: SeededRandom) => {
      const id = pick(rng, liveIds());
      if (!id) return;
      const k = known.get(id)!;
      try {
        const r = await catalog.verify(id);
        if (!r.ok) violations.push(`verify of ${k.name} reported it broken (${r.size} bytes, SHA1 ${r.sha1}; expected ${r.expectedSha1})`);
      } catch (err) {
        if (k.state === 'live') surfaced('verify', err);
      }
    };

    const list = async () => {
      const deletedBefore = [...known.values()].filter((k) => k.state === 'deleted').map((k) => k.id);
      try {
        const listed = new Set((await catalog.list()).map((b) => b.id));
        for (const id of deletedBefore) if (listed.has(id)) violations.push(`deleted backup ${known.get(id)!.name} (${id}) is listed`);
      } catch (err) {
        surfaced('list', err);
      }
    };

    const remove = async (rng: SeededRandom) => {
      const id = pick(rng, liveIds());
      if (!id) return;
      const k = known.get(id)!;
      k.state = 'deleting';
      try {
        await catalog.delete(id);
        k.state = 'deleted';
      } catch (err) {
        surfaced('delete', err);
        k.state = 'delete-failed';
      }
    };

    let next = 0;
    let stoppedBy: SoakReport['stoppedBy'] = 'ops';
    const deadline = started + opts.seconds * 1000;
    const worker = async () => {
      for (;;) {
        if (next >= opts.ops) return;
        if (Date.now() >= deadline) {
          stoppedBy = 'time';
          return;
        }
        const i = next++;
        // Now and then B2 stays busy for a while: parts fail until the uploads in flight give up, keeping their parts.
        if (i % STORM_EVERY === STORM_EVERY / 2) {
          emu!.faults.add({call: 'b2_upload_part', count: STORM_FAILURES, status: 503});
          bump(soakFaults, 'busy_storm');
        }
        const rng = new SeededRandom((opts.seed * 1_000_003 + i) >>> 0);
        const kind = weighted(rng);
        bump(operations, kind);
        if (kind === 'upload-file' || kind === 'upload-stream') await upload(i, rng, kind === 'upload-file');
        else if (kind === 'download') await download(rng);
        else if (kind === 'verify') await verify(rng);
        else if (kind === 'list') await list();
        else await remove(rng);
        done++;
        if (!warm && done >= Math.ceil(opts.ops / 5)) warm = sample(true);
        else sample();
        if ((i + 1) % 50 === 0) log(`soak: ${i + 1} operations, ${violations.length} violations`);
      }
    };
    await Promise.all(Array.from({length: concurrency}, worker));

    const last = sample(true);
    if (gc && warm && last.heapUsed > warm.heapUsed + LEAK_MARGIN_BYTES) {
      violations.push(`heap grew from ${warm.heapUsed} to ${last.heapUsed} bytes between a fifth of the operations and the end (after GC)`);
    }

    // ---- the invariants, with the faults off ----
    emu.faults.clear();
    const faults: Record<string, number> = {...(emu.stats().faults as Record<string, number>), ...soakFaults};
    const reauthorizations = (emu.stats().calls.b2_authorize_account ?? 0) - authorizeCallsAtStart;
    let resumedAfterFailures = 0;
    for (const f of keptFiles) {
      try {
        const r = await catalog.upload({path: f.path}, {name: f.name});
        // A kept upload with no part stored yet has nothing to reuse; the rerun must still take it over (no unfinished file is left).
        if (r.resumed) resumedAfterFailures++;
        else if (f.storedParts > 0) violations.push(`rerun of ${f.name}, whose failed upload kept ${f.storedParts} stored parts, did not resume`);
        if (!f.accepted.has(r.sha1 ?? 'none')) violations.push(`rerun of ${f.name} reported SHA1 ${r.sha1}, which is not its source's`);
        known.set(r.id, {id: r.id, name: f.name, sha1: r.sha1 ?? 'none', size: r.size, state: 'live'});
        failedUploads.splice(failedUploads.findIndex((u) => u.name === f.name), 1);
      } catch (err) {
        violations.push(`rerun of ${f.name}, whose failed upload kept its parts, failed: ${(err as Error)?.message ?? String(err)}`);
      } finally {
        await rm(f.path, {force: true});
      }
    }
    const listed = await catalog.list();
    const listedIds = new Set(listed.map((b) => b.id));
    const listedNames = new Set(listed.map((b) => b.name));
    for (const k of known.values()) {
      if (k.state === 'deleted') {
        if (listedIds.has(k.id)) violations.push(`deleted backup ${k.name} (${k.id}) is listed`);
        continue;
      }
      // A failed delete may have removed it or not; a backup still listed must still restore.
      if (k.state === 'delete-failed' && !listedIds.has(k.id)) continue;
      if (!listedIds.has(k.id)) {
        violations.push(`backup ${k.name} (${k.id}) reported uploaded is not listed`);
        continue;
      }
      const {stream} = await catalog.download(k.id);
      const hash = createHash('sha1');
      for await (const chunk of stream) hash.update(chunk as Buffer);
      const got = hash.digest('hex');
      if (got !== k.sha1) violations.push(`backup ${k.name} (${k.id}) downloads with SHA1 ${got}, uploaded as ${k.sha1}`);
    }
    for (const f of failedUploads) if (listedNames.has(f.name)) violations.push(`upload ${f.name} reported failure (${f.message}) but is listed`);
    const owned = new Set(listed.flatMap((b) => [b.archiveKey, b.metadataKey]));
    for await (const obj of backend.list()) {
      if (!owned.has(obj.key)) violations.push(`orphan object ${obj.key} (${obj.size} bytes) belongs to no listed backup`);
    }
    let cleanedAfterFailures = 0;
    for await (const u of backend.listUnfinished()) {
      if (cleanedAfterFailures < cleanupAnnounced) {
        await backend.cancelUnfinished(u);
        cleanedAfterFailures++;
      } else violations.push(`unfinished large file ${u.key} left behind by no failure that said so`);
    }
    for await (const u of backend.listUnfinished()) violations.push(`unfinished large file ${u.key} survived the cleanup`);
    for (const reason of unhandled) violations.push(`unhandled rejection: ${(reason as Error)?.stack ?? String(reason)}`);

    const peakRss = Math.max(...memory.map((m) => m.rss));
    const peakHeapUsed = Math.max(...memory.map((m) => m.heapUsed));
    return {
      seed: opts.seed,
      elapsedMs: Date.now() - started,
      stoppedBy,
      operations,
      failuresSurfaced,
      failureMessages,
      faults,
      retries,
      reauthorizations,
      cleanedAfterFailures,
      rerunAfterFailures: keptFiles.length,
      resumedAfterFailures,
      violations,
      memory: {first: memory[0], warm, last, peakRss, peakHeapUsed, gcMeasured: gc !== undefined},
    };
  } finally {
    process.off('unhandledRejection', onUnhandled);
    await backend?.close();
    await emu?.stop();
    await rm(work, {recursive: true, force: true});
  }
}

const mb = (n: number) => `${(n / 1024 / 1024).toFixed(1)} MB`;
const table = (counts: Record<string, number>) =>
  Object.entries(counts).sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => `${k}=${v}`).join(' ') || 'none';

/** The summary a person reads: what ran, what was injected, what broke. */
export function formatSoakReport(r: SoakReport): string {
  const total = Object.values(r.operations).reduce((n, v) => n + v, 0);
  const injected = Object.values(r.faults).reduce((n, v) => n + v, 0);
  return [
    `soak seed ${r.seed}: ${total} operations in ${(r.elapsedMs / 1000).toFixed(1)} s (stopped by ${r.stoppedBy === 'ops' ? 'operation count' : 'time limit'})`,
    `  operations:        ${table(r.operations)}`,
    `  faults injected:   ${injected} (${table(r.faults)})`,
    `  retries:           ${r.retries} backoff waits`,
    `  re-authorizations: ${r.reauthorizations}`,
    `  failures surfaced: ${table(r.failuresSurfaced)}`,
    ...Object.entries(r.failureMessages).sort(([, a], [, b]) => b - a).map(([m, n]) => `    - ${n} x ${m}`),
    `  failures that kept their unfinished upload: ${r.rerunAfterFailures} rerun to completion (${r.resumedAfterFailures} reusing stored parts), ${r.cleanedAfterFailures} removed by the cleanup`,
    `  memory:            heapUsed start ${mb(r.memory.first.heapUsed)}, after 1/5 ${r.memory.warm ? mb(r.memory.warm.heapUsed) : '-'}, end ${mb(r.memory.last.heapUsed)}${r.memory.gcMeasured ? ' (after GC)' : ''}; ` +
      `RSS start ${mb(r.memory.first.rss)}, after 1/5 ${r.memory.warm ? mb(r.memory.warm.rss) : '-'}, end ${mb(r.memory.last.rss)}; peak RSS ${mb(r.memory.peakRss)}, peak heapUsed ${mb(r.memory.peakHeapUsed)}`,
    `  invariant violations: ${r.violations.length}`,
    ...r.violations.map((v) => `    - ${v}`),
  ].join('\n');
}
