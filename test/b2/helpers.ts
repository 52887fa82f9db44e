import {createHash, randomBytes} from 'node:crypto';
import type {TransferProgress} from '../../src/backend.js';
import {closeSync, openSync, utimesSync, writeSync} from 'node:fs';
import {mkdtemp, rm, writeFile} from 'node:fs/promises';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {startEmulator, type EmulatorOptions, type RunningEmulator} from '../../src/emulator/index.js';
import {B2Backend} from '../../src/b2/index.js';
import type {B2BackendOptions} from '../../src/b2/index.js';

export const sha1 = (data: Buffer | string) => createHash('sha1').update(data).digest('hex');

/** Bytes of an upload that the backend has confirmed (the hashing pass before a large upload confirms nothing). */
export const confirmed = (p: TransferProgress) => (p.phase === 'hashing' ? 0 : p.loaded - (p.inFlight ?? 0));

/** Retry delays are recorded, not slept: fault tests stay fast and can assert on them. */
export function fastRetry(delays: number[] = []) {
  return {
    delays,
    retry: {
      sleep: async (ms: number) => {
        delays.push(ms);
        await new Promise((r) => setTimeout(r, 1));
      },
    },
  };
}

export async function emulator(opts: EmulatorOptions = {}): Promise<RunningEmulator> {
  return startEmulator({port: 0, ...opts});
}

/**
 * What the multi-part provider tests share: one emulator whose parts are `part` bytes, and
 * a file of `size` random bytes in a temp dir of its own. Start it in beforeAll, stop it in
 * afterAll.
 */
export interface PartsFixture {
  emu: RunningEmulator;
  dir: string;
  path: string;
  data: Buffer;
  stop(): Promise<void>;
}

export async function startPartsFixture(opts: {tag: string; part: number; size: number; fileName?: string; emulator?: EmulatorOptions}): Promise<PartsFixture> {
  const emu = await emulator({minPartSize: opts.part, recommendedPartSize: opts.part, ...opts.emulator});
  const dir = await mkdtemp(join(tmpdir(), `b2-${opts.tag}-`));
  const data = randomBytes(opts.size);
  const path = join(dir, opts.fileName ?? 'data.bin');
  await writeFile(path, data);
  return {
    emu,
    dir,
    path,
    data,
    stop: async () => {
      await emu.stop();
      await rm(dir, {recursive: true, force: true});
    },
  };
}

export async function openBackend(emu: RunningEmulator, opts: Partial<B2BackendOptions> = {}): Promise<B2Backend> {
  return B2Backend.open({
    keyId: emu.keyId,
    applicationKey: emu.applicationKey,
    bucket: emu.bucket,
    prefix: 'backups/',
    endpoint: emu.url,
    profileName: 'test',
    locationFlags: '--profile test',
    retry: fastRetry().retry,
    ...opts,
  });
}

/** Unfinished large files under the backend's prefix, read over the wire. */
export async function unfinishedCount(backend: B2Backend): Promise<number> {
  let n = 0;
  for await (const _ of backend.listUnfinished()) n++;
  return n;
}

/** How many of this process's file descriptors are open on `path` (Linux /proc; 0 elsewhere). */
export async function openDescriptors(path: string): Promise<number> {
  const {readdir, readlink} = await import('node:fs/promises');
  const fds = await readdir('/proc/self/fd').catch(() => [] as string[]);
  const targets = await Promise.all(fds.map((fd) => readlink(`/proc/self/fd/${fd}`).catch(() => '')));
  return targets.filter((t) => t === path).length;
}

/** Rewrites one byte of the file in place and moves its mtime, as a writer still busy with it would. */
export function rewriteByte(path: string, offset: number): void {
  const fd = openSync(path, 'r+');
  try {
    writeSync(fd, Buffer.from([0xff]), 0, 1, offset);
  } finally {
    closeSync(fd);
  }
  const later = new Date(Date.now() + 60_000);
  utimesSync(path, later, later);
}

/** What a concurrent `b2 cleanup` does: cancels every unfinished upload under the default prefix, with a backend of its own. */
export async function cancelEveryUnfinished(emu: RunningEmulator): Promise<void> {
  const other = await openBackend(emu);
  try {
    for await (const u of other.listUnfinished()) await other.cancelUnfinished(u);
  } finally {
    await other.close();
  }
}
