import {open, readFile, rm} from 'node:fs/promises';
import {join} from 'node:path';

/**
 * One emulator per data directory: two writers would overwrite each other's state
 * file. The lock is a file holding the owner's pid; a lock whose process is gone (a
 * crash) is taken over.
 */
export async function lockDataDir(dataDir: string): Promise<() => Promise<void>> {
  const path = join(dataDir, 'lock');
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const handle = await open(path, 'wx', 0o600);
      await handle.writeFile(String(process.pid));
      await handle.close();
      return () => rm(path, {force: true});
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const owner = Number((await readFile(path, 'utf8').catch(() => '')).trim());
      if (owner > 0 && owner !== process.pid && isAlive(owner)) {
        throw new Error(`data dir ${dataDir} is in use by another emulator (process ${owner}); stop it or use another --data-dir`);
      }
      if (owner === process.pid) throw new Error(`data dir ${dataDir} is already used by an emulator in this process; stop it first`);
      await rm(path, {force: true});
    }
  }
  throw new Error(`cannot lock data dir ${dataDir}; remove ${path} if no emulator uses it`);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
