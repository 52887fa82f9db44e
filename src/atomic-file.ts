import {randomBytes} from 'node:crypto';
import {rmSync} from 'node:fs';
import {lstat, open, readdir, rename, rm} from 'node:fs/promises';
import {basename, dirname, join} from 'node:path';
import {isAlive} from './process-alive.js';

/**
 * Writes a file so that readers see either the old content or the new, never a torn
 * one: write a temp file beside it, fsync, rename over, fsync the directory.
 */
export async function writeFileAtomic(path: string, data: string | Buffer, opts: {mode?: number} = {}): Promise<void> {
  const dir = dirname(path);
  const tmp = tempPathBeside(path, 'tmp');
  const mode = opts.mode ?? 0o644; // from creation on: a secret is never in a file others can read
  const forget = removeOnExit(tmp);
  try {
    const fh = await open(tmp, 'wx', mode);
    try {
      await fh.writeFile(data);
      await fh.chmod(mode); // the umask may have narrowed or widened what open() set
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, {force: true});
    throw err;
  } finally {
    forget();
  }
  await syncDir(dir);
}

/** What a temp file is for: `tmp` (writeFileAtomic), `partial` (a download, named so for whoever lists the directory). */
export type TempKind = 'tmp' | 'partial';

/**
 * A hidden temp file's path beside `path`. It carries this process's pid, so that a
 * later sweep (removeStaleTempFiles) can tell a killed writer's file from a live one's,
 * and a random part, so that writers in one process never share one.
 */
export function tempPathBeside(path: string, kind: TempKind): string {
  return join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.${kind}`);
}

/** How many bytes longer than the file's own name its temp file's name is (in this process: the pid is part of it). */
export function tempNameExtra(kind: TempKind): number {
  return Buffer.byteLength(basename(tempPathBeside('x', kind))) - 1;
}

const writing = new Set<string>();
let listening = false;

/**
 * Registers a temp file this process is writing until the returned function is called.
 * process.exit() (a second Ctrl-C exits at once) runs no cleanup code but the 'exit'
 * listeners, which must be synchronous: this one removes what is still registered.
 */
export function removeOnExit(tmp: string): () => void {
  if (!listening) process.on('exit', removeRegistered);
  listening = true;
  writing.add(tmp);
  return () => writing.delete(tmp);
}

function removeRegistered(): void {
  for (const tmp of writing) {
    try {
      rmSync(tmp, {force: true});
    } catch {
      // exiting anyway; the next sweep of this directory removes it
    }
  }
}

/**
 * How long a download's temp file named without a pid (`.NAME.RANDOM.partial`: versions
 * before pids were added to the name) must have gone unwritten before a download to the
 * same path removes it. No pid tells whether its writer lives; a live download writes
 * into it as the bytes arrive, and no retry of those versions waits anywhere near a day.
 * A writer that was only stopped (Ctrl-Z, a suspended machine) for longer finds its file
 * gone when it resumes: its final rename or link fails, and nothing takes the path.
 */
const PIDLESS_PARTIAL_AGE_MS = 24 * 60 * 60 * 1000;

/**
 * Removes the temp files that writers of `path` left beside it when their process was
 * killed mid-write (they may hold a new key, or a part of a backup). Only ours by name,
 * and only those of processes that are gone: a live writer's temp file is about to be
 * renamed. For a download (`partial`), also those that versions before pids were added
 * to the name left, once nothing wrote to them for a day (PIDLESS_PARTIAL_AGE_MS).
 */
export async function removeStaleTempFiles(path: string, kind: TempKind = 'tmp'): Promise<void> {
  const name = escapeRegExp(basename(path));
  await removeDeadWritersFiles(dirname(path), new RegExp(`^\\.${name}\\.(\\d+)\\.[0-9a-f]{8}\\.${kind}$`));
  if (kind === 'partial') await removePidlessPartials(dirname(path), new RegExp(`^\\.${name}\\.[0-9a-f]{8}\\.partial$`));
}

/** The same for every file in `dir` that writeFileAtomic writes (a cache directory of many small files). */
export async function removeStaleTempFilesIn(dir: string): Promise<void> {
  await removeDeadWritersFiles(dir, /^\..+\.(\d+)\.[0-9a-f]{8}\.tmp$/);
}

/**
 * Removes the files in `dir` whose name matches `pattern` (it captures the writer's pid)
 * and names a process that is gone; answers the names of the matching files that live
 * processes hold (a lock looks for its contenders so). `alive` can tell more than the
 * pid does (a lock entry records its process's start time).
 */
export async function removeDeadWritersFiles(
  dir: string,
  pattern: RegExp,
  alive: (pid: number, name: string) => boolean | Promise<boolean> = isAlive,
): Promise<string[]> {
  const live: string[] = [];
  for (const name of await namesIn(dir)) {
    const pid = pattern.exec(name)?.[1];
    if (pid === undefined) continue;
    if (await alive(Number(pid), name)) live.push(name);
    else await rm(join(dir, name), {force: true}).catch(() => undefined);
  }
  return live;
}

/**
 * Removes the regular files in `dir` whose name matches `pattern` (pid-less temp files)
 * and that nothing wrote to for PIDLESS_PARTIAL_AGE_MS (by mtime; one dated ahead stays).
 * A name that also reads as a live process's temp file of a shorter path (a download to
 * `x.123` sees `.x.123.RANDOM.partial`, which may be process 123's download to `x`) stays.
 */
async function removePidlessPartials(dir: string, pattern: RegExp): Promise<void> {
  for (const name of await namesIn(dir)) {
    if (!pattern.test(name) || isAlive(Number(/\.(\d+)\.[0-9a-f]{8}\.partial$/.exec(name)?.[1]))) continue;
    const s = await lstat(join(dir, name)).catch(() => undefined);
    if (s?.isFile() && Date.now() - s.mtimeMs > PIDLESS_PARTIAL_AGE_MS) await rm(join(dir, name), {force: true}).catch(() => undefined);
  }
}

/** The names in `dir`; none when it cannot be read (no directory, no leftovers). */
async function namesIn(dir: string): Promise<string[]> {
  return readdir(dir).catch(() => []);
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Makes a rename or link in `dir` durable (it survives a power loss once this returns). */
export async function syncDir(dir: string): Promise<void> {
  try {
    const fh = await open(dir, 'r');
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
  } catch {
    // Some filesystems refuse fsync on directories; the rename is still atomic there.
  }
}
