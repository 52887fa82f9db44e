import {randomBytes} from 'node:crypto';
import {mkdir, readdir, readFile, rm, writeFile} from 'node:fs/promises';
import {join} from 'node:path';
import {setTimeout as sleep} from 'node:timers/promises';
import {isAliveSince, startTime} from '../process-alive.js';

/** Contenders that meet back off and try again this many times before giving up. */
const ATTEMPTS = 8;

/** What an entry holds: the pid and, where known, the process's start time (a pid alone may be reused). */
const MY_STAMP = [process.pid, startTime(process.pid)].filter((part) => part !== undefined).join(' ');

/**
 * One emulator per data directory: two writers would overwrite each other's state file.
 *
 * Each starter first publishes an entry `locks/<pid>.<random>`, then looks for entries
 * of live processes other than its own. Alone: it holds the lock. Not alone: it
 * withdraws its entry and tries again a little later; an entry that stays is a holder.
 * Because everyone publishes before looking, two starters can never both find
 * themselves alone, whatever the timing; there is no takeover step to race on. Entries
 * of dead processes (a crash) are ignored and swept; release removes only our own entry.
 * An entry holds its process's start time too: a killed command's pid taken again by
 * another process (a container runs each command under the same pid) keeps no one out.
 */
export async function lockDataDir(dataDir: string): Promise<() => Promise<void>> {
  const dir = join(dataDir, 'locks');
  await mkdir(dir, {recursive: true, mode: 0o700});
  const entry = join(dir, `${process.pid}.${randomBytes(6).toString('hex')}`);
  for (let attempt = 1; ; attempt++) {
    await writeFile(entry, MY_STAMP, {flag: 'wx', mode: 0o600});
    const others = await liveEntries(dir, entry);
    if (others.length === 0) return async () => rm(entry, {force: true});
    await rm(entry, {force: true});
    if (attempt >= ATTEMPTS) throw inUse(dataDir, dir, others);
    // Random back-off so that two starters that met do not meet again.
    await sleep(5 + Math.floor(Math.random() * 20 * attempt));
  }
}

/** Other entries whose process is alive; entries of dead processes are removed on the way. */
async function liveEntries(dir: string, mine: string): Promise<Array<{name: string; pid: number}>> {
  const live: Array<{name: string; pid: number}> = [];
  for (const name of await readdir(dir)) {
    if (join(dir, name) === mine) continue;
    const pid = Number(/^(\d+)\./.exec(name)?.[1] ?? NaN);
    if (!Number.isInteger(pid)) continue;
    // an entry still being written has no start time yet: its pid alone answers
    const start = (await readFile(join(dir, name), 'utf8').catch(() => '')).split(' ')[1];
    if (isAliveSince(pid, start || undefined)) live.push({name, pid});
    else await rm(join(dir, name), {force: true}); // left by a process that died
  }
  return live;
}

/** The data dir is held by a live emulator; `pids`: its process(es). */
export class DataDirInUse extends Error {
  constructor(
    message: string,
    readonly pids: number[],
  ) {
    super(message);
  }
}

function inUse(dataDir: string, dir: string, others: Array<{name: string; pid: number}>): Error {
  const pids = [...new Set(others.map((o) => o.pid))];
  if (pids.includes(process.pid)) {
    return new DataDirInUse(`data dir ${dataDir} is already used by an emulator in this process; stop it first`, pids);
  }
  return new DataDirInUse(`data dir ${dataDir} is in use by another emulator (process ${pids.join(', ')}); stop it or use another --data-dir ` +
    `(if no emulator uses it, remove ${join(dir, others[0].name)})`, pids);
}
