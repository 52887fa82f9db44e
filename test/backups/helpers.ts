import {afterAll, beforeAll} from '@jest/globals';
import {randomBytes} from 'node:crypto';
import {mkdtemp, rm, writeFile} from 'node:fs/promises';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import type {StorageBackend} from '../../src/backend.js';
import {BackupCatalog} from '../../src/backups/index.js';
import type {CatalogOptions} from '../../src/backups/index.js';
import type {B2Backend, B2BackendOptions} from '../../src/b2/index.js';
import type {EmulatorOptions, RunningEmulator} from '../../src/emulator/index.js';
import {confirmed, emulator, openBackend} from '../b2/helpers.js';
import {authorizeRaw, storedVersions} from '../emulator/helpers.js';

/** One emulator for a test file, the backends opened on it and the master key's token (see sharedEmulator). */
export interface SharedEmulator {
  readonly emu: RunningEmulator;
  /** The master key's token, for raw calls that look at what is stored (api, storedVersions). */
  readonly master: string;
  /** A backend on `prefix` with the file's defaults and `more`, closed after the file's tests. */
  open(prefix: string, more?: Partial<B2BackendOptions>): Promise<B2Backend>;
  /** Every stored version under `prefix`, read with the master key (storedVersions). */
  versions(prefix: string, bucketId?: string): Promise<string[]>;
}

/**
 * The world most catalog tests share: one emulator started before the file's tests and
 * stopped after them, with every backend opened on it closed first. Call at the top
 * level of a test file; `backend` holds the options every `open` starts from.
 */
export function sharedEmulator(opts: {emulator?: EmulatorOptions; backend?: Partial<B2BackendOptions>} = {}): SharedEmulator {
  let running: {emu: RunningEmulator; master: string} | undefined;
  const opened: B2Backend[] = [];
  const started = () => {
    if (!running) throw new Error('sharedEmulator: used before its beforeAll ran');
    return running;
  };
  beforeAll(async () => {
    const emu = await emulator(opts.emulator);
    running = {emu, master: (await authorizeRaw(emu)).authorizationToken};
  });
  afterAll(async () => {
    await Promise.all(opened.map((b) => b.close()));
    await running?.emu.stop();
  });
  return {
    get emu() {
      return started().emu;
    },
    get master() {
      return started().master;
    },
    async open(prefix, more = {}) {
      const backend = await openBackend(started().emu, {prefix, ...opts.backend, ...more});
      opened.push(backend);
      return backend;
    },
    versions: (prefix, bucketId) => storedVersions(started().emu, started().master, prefix, bucketId),
  };
}

/** A catalog that records its warnings instead of printing them. */
export function catalogWithWarnings(backend: StorageBackend, opts: CatalogOptions = {}): {catalog: BackupCatalog; warnings: string[]} {
  const warnings: string[] = [];
  const catalog = new BackupCatalog(backend, {...opts, onWarning: (m) => warnings.push(m)});
  return {catalog, warnings};
}

export async function tempDir(): Promise<{dir: string; cleanup: () => Promise<void>}> {
  const dir = await mkdtemp(join(tmpdir(), 'b2-backups-test-'));
  return {dir, cleanup: () => rm(dir, {recursive: true, force: true})};
}

/** Rejects like `promise` does and returns the error, failing the test if it resolves. */
export async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (err) {
    return err;
  }
  throw new Error('expected the operation to fail, but it succeeded');
}

/** Uploads the file at `path` as backup `name`, aborting (a Ctrl-C) once `storedBytes` are stored; answers the error. */
export async function interruptUpload(catalog: BackupCatalog, path: string, opts: {storedBytes: number; name?: string; date?: string}): Promise<unknown> {
  const controller = new AbortController();
  return rejection(catalog.upload({path}, {name: opts.name ?? 'nightly', ...(opts.date ? {date: opts.date} : {}), signal: controller.signal, onProgress: (p) => confirmed(p) >= opts.storedBytes && controller.abort()}));
}

export async function keysOf(backend: StorageBackend): Promise<string[]> {
  const keys: string[] = [];
  for await (const o of backend.list()) keys.push(o.key);
  return keys;
}

/**
 * A fresh archive for test `n` of a file's: `size` random bytes at `dir`/archive-N.tar, a
 * cache dir of its own, and the backend's prefix emptied (unfinished uploads, files).
 */
export async function freshArchive(backend: B2Backend, dir: string, n: number, size: number): Promise<{path: string; data: Buffer; cacheDir: string}> {
  for await (const u of backend.listUnfinished()) await backend.cancelUnfinished(u);
  for (const key of await keysOf(backend)) await backend.delete(key);
  const data = randomBytes(size);
  const path = join(dir, `archive-${n}.tar`);
  await writeFile(path, data);
  return {path, data, cacheDir: join(dir, `cache-${n}`)};
}
