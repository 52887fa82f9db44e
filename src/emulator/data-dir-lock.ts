import {randomBytes} from 'node:crypto';
import {link, readFile, rm, stat, writeFile} from 'node:fs/promises';
import {join} from 'node:path';

/** An unreadable lock younger than this may be a writer mid-way: treat it as held. */
const FRESH_MS = 10_000;

/**
 * One emulator per data directory: two writers would overwrite each other's state
 * file. The lock is a file holding the owner's pid, created whole (written aside, then
 * hard-linked into place) so that no one ever sees it empty; a lock whose process is
 * gone (a crash) is taken over, and release removes only a lock that is still ours.
 */
export async function lockDataDir(dataDir: string): Promise<() => Promise<void>> {
  const path = join(dataDir, 'lock');
  const mine = String(process.pid);
  for (let attempt = 0; attempt < 3; attempt++) {
    if (await createWhole(path, mine)) {
      return async () => {
        if ((await readFile(path, 'utf8').catch(() => '')).trim() === mine) await rm(path, {force: true});
      };
    }
    const text = (await readFile(path, 'utf8').catch(() => '')).trim();
    const owner = /^\d+$/.test(text) ? Number(text) : 0;
    if (owner === process.pid) throw new Error(`data dir ${dataDir} is already used by an emulator in this process; stop it first`);
    if (owner > 0 ? isAlive(owner) : await isFresh(path)) {
      throw new Error(`data dir ${dataDir} is in use by another emulator${owner ? ` (process ${owner})` : ''}; stop it or use another --data-dir`);
    }
    await rm(path, {force: true}); // left by a process that died
  }
  throw new Error(`cannot lock data dir ${dataDir}; remove ${path} if no emulator uses it`);
}

/** Creates `path` holding `content`, or answers false if it already exists. */
async function createWhole(path: string, content: string): Promise<boolean> {
  const tmp = `${path}.${content}.${randomBytes(4).toString('hex')}.tmp`;
  await writeFile(tmp, content, {mode: 0o600});
  try {
    await link(tmp, path);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw e;
  } finally {
    await rm(tmp, {force: true});
  }
}

async function isFresh(path: string): Promise<boolean> {
  const st = await stat(path).catch(() => undefined);
  return st !== undefined && Date.now() - st.mtimeMs < FRESH_MS;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
