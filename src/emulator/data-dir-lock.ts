import {randomBytes} from 'node:crypto';
import {readdir, readFile, rename, rm, stat, writeFile} from 'node:fs/promises';
import {basename, dirname, join} from 'node:path';
import {setTimeout as sleep} from 'node:timers/promises';
import {makeDirs} from '../make-dirs.js';
import {isAliveSince, startTime} from '../process-alive.js';

/** Contenders that meet back off and try again this many times before giving up. */
const ATTEMPTS = 8;

/** What an entry holds: the pid and, where known, the process's start time (a pid alone may be reused). */
const MY_STAMP = [process.pid, startTime(process.pid)].filter((part) => part !== undefined).join(' ');

/**
 * One emulator per data directory: two writers would overwrite each other's state file.
 *
 * Each starter first publishes an entry `locks/<pid>.<random>`, then looks for entries
 * of live processes other than its own. Alone: it holds the lock. Because everyone
 * publishes before looking, two starters can never both find themselves alone, whatever
 * the timing; there is no takeover step to race on. Not alone: the entries are ordered
 * by when they were written (mtime, then name), an order every starter reads alike; the
 * first stays and looks again a little later, every other withdraws and publishes again
 * only once it sees no entry. So starters that meet do not all withdraw and meet again
 * (ten at once on a busy machine could all give up), and one that holds the lock,
 * always the first, keeps the others out. Entries of dead processes (a crash) are ignored and swept; release removes only
 * our own entry. An entry holds its process's start time too: a killed command's pid
 * taken again by another process (a container runs each command under the same pid)
 * keeps no one out.
 */
export async function lockDataDir(dataDir: string): Promise<() => Promise<void>> {
  const dir = join(dataDir, 'locks');
  await makeDirs(dir, {mode: 0o700});
  const entry = join(dir, `${process.pid}.${randomBytes(6).toString('hex')}`);
  let mine: Entry | undefined; // while published
  for (let attempt = 1; ; attempt++) {
    if (!mine) {
      // one that withdrew publishes again only once no entry is there: the first then finds itself alone
      const present = await liveEntries(dir, entry);
      if (present.length > 0) {
        if (attempt >= ATTEMPTS) throw inUse(dataDir, dir, present);
        await sleep(5 + Math.floor(Math.random() * 20 * attempt));
        continue;
      }
      mine = await publish(entry);
    }
    const others = await liveEntries(dir, entry);
    if (others.length === 0) return async () => rm(entry, {force: true});
    // the first of those contending stays and looks again; the others withdraw
    const first = others.every((other) => comesAfter(other, mine!));
    if (!first || attempt >= ATTEMPTS) {
      await rm(entry, {force: true});
      mine = undefined;
    }
    if (attempt >= ATTEMPTS) throw inUse(dataDir, dir, others);
    // Random back-off so that two starters that met do not meet again.
    await sleep(5 + Math.floor(Math.random() * 20 * attempt));
  }
}

/** An entry as starters order them: when it was written, then its name. */
interface Entry {
  name: string;
  pid: number;
  mtimeNs: bigint;
}

function comesAfter(a: Entry, b: Entry): boolean {
  return a.mtimeNs > b.mtimeNs || (a.mtimeNs === b.mtimeNs && a.name > b.name);
}

/**
 * Writes our entry whole under another name, then renames it into place: it appears with
 * its content, and its mtime never changes while it is there (others order by it).
 */
async function publish(entry: string): Promise<Entry> {
  const writing = join(dirname(entry), `.writing-${basename(entry)}`);
  try {
    await writeFile(writing, MY_STAMP, {flag: 'wx', mode: 0o600});
    await rename(writing, entry);
  } finally {
    await rm(writing, {force: true});
  }
  return {name: basename(entry), pid: process.pid, mtimeNs: (await stat(entry, {bigint: true})).mtimeNs};
}

/** Other entries whose process is alive; entries of dead processes are removed on the way, withdrawn ones skipped. */
async function liveEntries(dir: string, mine: string): Promise<Entry[]> {
  const live: Entry[] = [];
  for (const name of await readdir(dir)) {
    if (join(dir, name) === mine) continue;
    const pid = Number(/^(\d+)\./.exec(name)?.[1] ?? NaN);
    if (!Number.isInteger(pid)) continue;
    const path = join(dir, name);
    const seen = await stat(path, {bigint: true}).catch(() => undefined);
    const text = seen && (await readFile(path, 'utf8').catch(() => undefined));
    if (!seen || text === undefined) continue; // withdrawn meanwhile
    // an entry of an older version may still be being written: no start time yet, its pid alone answers
    const start = text.split(' ')[1];
    if (isAliveSince(pid, start || undefined)) live.push({name, pid, mtimeNs: seen.mtimeNs});
    else await rm(path, {force: true}); // left by a process that died
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

function inUse(dataDir: string, dir: string, others: Entry[]): Error {
  const pids = [...new Set(others.map((o) => o.pid))];
  if (pids.includes(process.pid)) {
    return new DataDirInUse(`data dir ${dataDir} is already used by an emulator in this process; stop it first`, pids);
  }
  return new DataDirInUse(`data dir ${dataDir} is in use by another emulator (process ${pids.join(', ')}); stop it or use another --data-dir ` +
    `(if no emulator uses it, remove ${join(dir, others[0].name)})`, pids);
}
