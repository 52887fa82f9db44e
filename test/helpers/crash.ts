import {expect} from '@jest/globals';
import {B2Backend} from '../../src/b2/index.js';
import {BackupCatalog} from '../../src/backups/index.js';
import type {RunningEmulator} from '../../src/emulator/index.js';
import {libraryClient} from '../emulator/helpers.js';
import {E2EWorld, type SpawnedCli} from '../e2e/helpers.js';

/** A small seeded generator (mulberry32): the same seed, the same kill points. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `count` kill points, each with its seeded draw in [0, 1) that picks the request to kill at. */
export function killPoints(seed: number, count: number): Array<{i: number; draw: number}> {
  const random = seededRandom(seed);
  return Array.from({length: count}, (_, i) => ({i, draw: random()}));
}

/**
 * The request (1..requests) kill point `i` of `count` kills at: a seeded place within the
 * i-th of `count` equal slices of the run, so that the points cover the whole run.
 */
export function requestOf(point: {i: number; draw: number}, count: number, requests: number): number {
  return 1 + Math.min(requests - 1, Math.floor(((point.i + point.draw) / count) * requests));
}

/** What the emulator's request hook does for one request of the child under test. */
export type OnCall = (call: string, n: number, kill: () => Promise<void>) => void | Promise<void>;

/**
 * An E2E world whose emulator reports every request to the test: a CLI child can be
 * SIGKILLed at an exact request (counted, never timed), and the request is handled only
 * once the child is dead.
 */
export class CrashWorld {
  private onCall?: (call: string) => void | Promise<void>;

  private constructor(readonly world: E2EWorld) {}

  static async start(): Promise<CrashWorld> {
    const holder: {self?: CrashWorld} = {};
    const world = await E2EWorld.start({onRequest: (call) => holder.self?.onCall?.(call)});
    holder.self = new CrashWorld(world);
    return holder.self;
  }

  get emu(): RunningEmulator {
    return this.world.emu;
  }

  /**
   * Runs `b2 ARGS`; `onCall` sees each request it makes (numbered from 1) and may kill
   * the child there (the request then proceeds against a dead client). `input` is its
   * stdin. Answers how the run ended and the calls it made.
   */
  async run(args: string[], onCall: OnCall, opts: {input?: Buffer} = {}): Promise<{result: Awaited<SpawnedCli['done']>; calls: string[]; killed: boolean}> {
    const calls: string[] = [];
    let killed = false;
    const spawned = this.world.spawn(args, opts);
    const kill = async () => {
      killed = true;
      spawned.child.kill('SIGKILL');
      await spawned.done;
    };
    this.onCall = (call) => {
      calls.push(call);
      return onCall(call, calls.length, kill);
    };
    try {
      const result = await spawned.done;
      return {result, calls, killed};
    } finally {
      this.onCall = undefined;
    }
  }

  /** Kills the child as its `k`th request arrives (or lets it finish when it makes fewer). */
  killAt(args: string[], k: number): ReturnType<CrashWorld['run']> {
    return this.run(args, (_call, n, kill) => (n === k ? kill() : undefined));
  }

  async close(): Promise<void> {
    await this.world.close();
  }
}

/** The location as the test sees it, over HTTP with its own key: for invariants, not under test. */
export async function inspector(emu: RunningEmulator, prefix: string): Promise<{backend: B2Backend; catalog: BackupCatalog}> {
  const backend = await B2Backend.open({keyId: emu.keyId, applicationKey: emu.applicationKey, bucket: emu.bucket, prefix, endpoint: emu.url});
  return {backend, catalog: new BackupCatalog(backend)};
}

/**
 * Files that are not ours, in the prefix and outside it: finished, unfinished, and an
 * archive carrying our file info outside the prefix. Answers a check that they all
 * survived.
 */
export async function layForeignFiles(emu: RunningEmulator, prefix: string): Promise<() => Promise<void>> {
  const b2 = await libraryClient(emu);
  const inside = await inspector(emu, prefix);
  const outside = await inspector(emu, 'elsewhere/');
  await inside.backend.put('foreign_2026-01-01_00.00_00000000.tar', Buffer.from('another tool made this'));
  await inside.backend.put('foreign_2026-01-01_00.00_00000000.metadata.json', Buffer.from('{"not": "ours"}'));
  await inside.backend.put('notes.txt', Buffer.from('hello'));
  await outside.backend.put('orphan_2026-01-01_00.00_00000000.tar', Buffer.from('ours, but outside the prefix'), {metadata: {backup_id: '0badc0de', backup_name: 'orphan', backup_date: '2026-01-01T00:00:00.000000+00:00'}});
  for (const fileName of [`${prefix}unfinished-foreign.tar`, 'elsewhere/unfinished.tar']) {
    await b2.startLargeFile({bucketId: emu.bucketId, fileName, contentType: 'application/x-tar'});
  }
  const snapshot = async () => {
    const names = (await b2.listFileVersions({bucketId: emu.bucketId, maxFileCount: 10_000})).data.files as Array<{fileName: string; action: string; fileId: string}>;
    return names.filter((f) => !f.fileName.startsWith(prefix) || /(foreign|notes|unfinished-foreign)/.test(f.fileName)).map((f) => `${f.action} ${f.fileName} ${f.fileId}`).sort();
  };
  const before = await snapshot();
  expect(before).toHaveLength(6);
  await inside.backend.close();
  await outside.backend.close();
  return async () => expect(await snapshot()).toEqual(before);
}

/** Every metadata file of ours under the prefix has its archive: no backup is half there. */
export async function expectNoHalfBackup(backend: B2Backend): Promise<void> {
  const keys: string[] = [];
  for await (const o of backend.list()) keys.push(o.key);
  const metadata = keys.filter((k) => k.endsWith('.metadata.json') && !k.startsWith('foreign_'));
  for (const m of metadata) expect(keys).toContain(m.replace(/\.metadata\.json$/, '.tar'));
}

/**
 * What every crash test starts from: a CrashWorld, a profile made through the CLI on
 * `prefix` (5 MB parts, 2 at once), the test's own view of the location, and files that
 * are not ours laid beside (foreignSurvived() checks they are all still there).
 */
export interface CrashLocation {
  cw: CrashWorld;
  backend: B2Backend;
  catalog: BackupCatalog;
  foreignSurvived: () => Promise<void>;
  close(): Promise<void>;
}

export async function startCrashLocation(profile: string, prefix: string): Promise<CrashLocation> {
  const cw = await CrashWorld.start();
  let backend: B2Backend | undefined;
  try {
    const key = await cw.world.createKey();
    await cw.world.addProfile(profile, {...key, prefix, partSize: '5MB', concurrency: 2});
    const view = await inspector(cw.emu, prefix);
    backend = view.backend;
    const foreignSurvived = await layForeignFiles(cw.emu, prefix);
    const opened = backend;
    return {
      cw,
      backend: opened,
      catalog: view.catalog,
      foreignSurvived,
      close: async () => {
        await opened.close();
        await cw.close();
      },
    };
  } catch (err) {
    await backend?.close();
    await cw.close();
    throw err;
  }
}
