/**
 * A local Backblaze B2 native-API server (`backup-plugin-b2/emulator`): real HTTP on
 * loopback, keys with capabilities and restrictions, large files, fault injection and
 * counters. Start one with `startEmulator({port: 0})` and point any B2 client at `url`.
 */
import {createHash} from 'node:crypto';
import {AddressInfo} from 'node:net';
import {BlobStore, MemoryBlobStore} from './blob-store.js';
import {EmulatorClock} from './clock.js';
import {ensureBootstrap} from './bootstrap.js';
import {DEFAULT_MIN_PART_SIZE, DEFAULT_RECOMMENDED_PART_SIZE, DEFAULT_STALL_TIMEOUT_MS} from './constants.js';
import {EmulatorCore} from './core.js';
import {lockDataDir} from './data-dir-lock.js';
import {DiskBlobStore} from './disk-blob-store.js';
import {bucketDefaultSse} from './encryption.js';
import {FaultEngine} from './faults.js';
import {addKey} from './handlers/account.js';
import {addBucket} from './handlers/buckets.js';
import {checkFileName} from './names.js';
import {makeDirs} from '../make-dirs.js';
import {SeededRandom} from './rng.js';
import {createEmulatorServer} from './server.js';
import {EmulatorState} from './state.js';
import {StatsCollector} from './stats.js';
import {EmulatorOptions, RunningEmulator} from './types.js';

export type {BootstrapOptions, CreateKeyOptions, EmulatorOptions, EmulatorStats, FaultKind, FaultRule, RunningEmulator, SeedFile} from './types.js';
export {ALL_CAPABILITIES} from './constants.js';
export {checkFaultRule} from './faults.js';

function checkOptions(o: EmulatorOptions): void {
  const int = (v: number | undefined, name: string, min: number, max = Number.MAX_SAFE_INTEGER) => {
    if (v !== undefined && (!Number.isInteger(v) || v < min || v > max)) throw new Error(`emulator option ${name} must be an integer ${min}..${max}, got ${v}`);
  };
  const fraction = (v: number | undefined, name: string) => {
    if (v !== undefined && !(v >= 0 && v <= 1)) throw new Error(`emulator option ${name} must be a fraction 0..1, got ${v}`);
  };
  int(o.port, 'port', 0, 65535);
  int(o.minPartSize, 'minPartSize', 1);
  int(o.recommendedPartSize, 'recommendedPartSize', 1);
  int(o.expireTokensEvery, 'expireTokensEvery', 0);
  int(o.seed, 'seed', 0, 0xffffffff);
  int(o.stallTimeoutMs, 'stallTimeoutMs', 1);
  fraction(o.failUploads, 'failUploads');
}

function urlHost(host: string): string {
  if (host === '0.0.0.0' || host === '::') return '127.0.0.1';
  return host.includes(':') ? `[${host}]` : host;
}

export async function startEmulator(opts: EmulatorOptions = {}): Promise<RunningEmulator> {
  checkOptions(opts);
  let unlock = async (): Promise<void> => undefined;
  if (opts.dataDir) {
    await makeDirs(opts.dataDir, {mode: 0o700});
    unlock = await lockDataDir(opts.dataDir);
  }
  try {
    return await serve(opts, unlock);
  } catch (e) {
    await unlock();
    throw e;
  }
}

/** Starts the server; `unlock` releases the data dir once it stops. */
async function serve(opts: EmulatorOptions, unlock: () => Promise<void>): Promise<RunningEmulator> {
  const host = opts.host ?? '127.0.0.1';
  let blobs: BlobStore = new MemoryBlobStore();
  if (opts.dataDir) {
    const disk = new DiskBlobStore(opts.dataDir);
    await disk.init();
    blobs = disk;
  }
  const clock = new EmulatorClock();
  const state = new EmulatorState(blobs, clock);
  if (opts.dataDir) await state.attach(opts.dataDir);
  const random = new SeededRandom(opts.seed ?? 1);
  const stats = new StatsCollector();
  const faults = new FaultEngine(random, opts.failUploads ?? 0);
  const settings = {
    baseUrl: '',
    minPartSize: opts.minPartSize ?? DEFAULT_MIN_PART_SIZE,
    recommendedPartSize: opts.recommendedPartSize ?? DEFAULT_RECOMMENDED_PART_SIZE,
    expireTokensEvery: opts.expireTokensEvery,
    onRequest: opts.onRequest,
    stallTimeoutMs: opts.stallTimeoutMs ?? DEFAULT_STALL_TIMEOUT_MS,
    refuseKeyOnPlainFiles: opts.refuseKeyOnPlainFiles ?? false,
  };
  const core = new EmulatorCore(state, blobs, stats, faults, random, settings, clock);
  const server = createEmulatorServer(core);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const {port} = server.address() as AddressInfo;
  settings.baseUrl = `http://${urlHost(host)}:${port}`;
  let boot;
  try {
    boot = await ensureBootstrap(core, opts.bootstrap);
  } catch (e) {
    server.close();
    throw e;
  }

  return {
    url: settings.baseUrl,
    ...boot,
    async createKey(o) {
      const bucket = o.bucketName === undefined ? undefined : state.bucketByName(o.bucketName);
      if (o.bucketName !== undefined && !bucket) throw new Error(`no bucket named ${o.bucketName}`);
      const {key, applicationKey} = addKey(core, {
        capabilities: o.capabilities,
        keyName: o.keyName ?? `emulator-key-${state.keys.size + 1}`,
        bucketId: bucket?.bucketId ?? null,
        namePrefix: o.namePrefix ?? null,
        validDurationSeconds: o.validDurationSeconds,
      });
      await state.commit();
      return {keyId: key.keyId, applicationKey};
    },
    async deleteKey(keyId) {
      if (!state.keys.has(keyId) || !state.deleteKey(keyId)) throw new Error(`no key ${keyId}`);
      await state.commit();
    },
    async createBucket(name) {
      const bucket = addBucket(core, name);
      await state.commit();
      return {bucketId: bucket.bucketId, bucketName: bucket.bucketName};
    },
    faults: {
      add: (rule) => faults.add(rule),
      clear: () => faults.clear(),
      expireAllTokens: () => core.expireAllTokens(),
    },
    stats: () => stats.snapshot(),
    resetStats: () => stats.reset(),
    clock: {
      advance: (ms) => clock.advance(ms),
      now: () => clock.now(),
    },
    async putFiles(bucketName, files) {
      const bucket = state.bucketByName(bucketName);
      if (!bucket) throw new Error(`no bucket named ${bucketName}`);
      const store = async (data: Buffer) => {
        const writer = await blobs.createWriter();
        await new Promise<void>((resolve, reject) => writer.stream.end(data, (err?: Error | null) => (err ? reject(err) : resolve())));
        return {ref: await writer.commit(), size: data.length};
      };
      const stored = [];
      for (const f of files) {
        checkFileName(f.fileName);
        const pieces: Buffer[] = [];
        if (f.partSize !== undefined && f.partSize > 0) for (let at = 0; at < f.data.length; at += f.partSize) pieces.push(f.data.subarray(at, at + f.partSize));
        else pieces.push(f.data);
        const segments = [];
        for (const piece of pieces) segments.push(await store(piece));
        stored.push({f, segments});
      }
      // every version at once, right before the commit: no await between them (see EmulatorState)
      for (const {f, segments} of stored) {
        state.createVersion(bucket.bucketId, f.fileName, 'upload', {
          contentLength: f.data.length,
          contentSha1: f.partSize ? 'none' : createHash('sha1').update(f.data).digest('hex'),
          contentType: f.contentType ?? 'application/octet-stream',
          fileInfo: {...f.fileInfo},
          serverSideEncryption: bucketDefaultSse(bucket), // as an upload that asks for none
          segments,
        });
      }
      await core.commitWithBlobs(stored.flatMap(({segments}) => segments.map((seg) => seg.ref)));
    },
    async corrupt(bucketName, fileName) {
      const bucket = state.bucketByName(bucketName);
      const file = bucket && state.newestFinished(bucket.bucketId, fileName);
      const segment = file?.action === 'upload' ? file.segments.find((s) => s.size > 0) : undefined;
      if (!segment) throw new Error(`no stored data for ${bucketName}/${fileName}`);
      await blobs.flipByte(segment.ref, Math.floor(segment.size / 2));
    },
    async stop() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await state.close();
      await unlock();
    },
  };
}
