import {mkdir, stat} from 'node:fs/promises';
import {dirname, resolve} from 'node:path';

/**
 * Creates directory `path` and the missing directories above it (each with `mode`), as
 * `mkdir -p` does; one that exists already is fine. For the directories the user or the
 * environment chooses (XDG_DATA_HOME, XDG_CACHE_HOME, XDG_CONFIG_HOME, --data-dir…).
 *
 * Not Node's `mkdir(path, {recursive: true})`: on Node 20, where a file system refuses a
 * new entry with ENOENT although its directory exists (/proc, /sys), that retries the
 * parent (EEXIST) and the child forever, at full CPU, and never settles. Here each level
 * is one plain mkdir, from the first directory that exists down, so every step is a
 * single system call and any refusal is an error with its code and path, at once. The
 * errors are Node's own (ENOENT, EACCES, EROFS…), or ENOTDIR where something that is not
 * a directory is in the way, for the caller to say in one line (io-errors.ts unwritable).
 */
export async function makeDirs(path: string, opts: {mode?: number} = {}): Promise<void> {
  const missing: string[] = [];
  for (let at = resolve(path); ; at = dirname(at)) {
    const found = await stat(at).catch((err: NodeJS.ErrnoException) => {
      // ENOTDIR: something above is a file; going up finds it and says so
      if (err.code === 'ENOENT' || err.code === 'ENOTDIR') return undefined;
      throw err;
    });
    if (found) {
      if (!found.isDirectory()) throw notADirectory(at);
      break;
    }
    if (dirname(at) === at) throw Object.assign(new Error(`ENOENT: no such file or directory, stat '${at}'`), {code: 'ENOENT', syscall: 'stat', path: at});
    missing.push(at);
  }
  for (const dir of missing.reverse()) {
    await mkdir(dir, {mode: opts.mode}).catch(async (err: NodeJS.ErrnoException) => {
      if (err.code !== 'EEXIST') throw err; // ENOENT here (its parent exists): a file system that takes no new entries
      // made meanwhile by another process: fine if it is a directory
      if (!(await stat(dir)).isDirectory()) throw notADirectory(dir);
    });
  }
}

/** Node's error for a path part that is not a directory, naming it. */
function notADirectory(path: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`ENOTDIR: not a directory, mkdir '${path}'`), {code: 'ENOTDIR', syscall: 'mkdir', path});
}
