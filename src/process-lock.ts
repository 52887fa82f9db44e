import {createHash, randomBytes} from 'node:crypto';
import {readFile, rm, writeFile} from 'node:fs/promises';
import {join} from 'node:path';
import {setTimeout as sleep} from 'node:timers/promises';
import {abortError} from './errors.js';
import {removeDeadWritersFiles} from './atomic-file.js';
import {makeDirs} from './make-dirs.js';
import {isAliveSince, startTime} from './process-alive.js';

/** Contenders that meet withdraw and try again this many times in all; a lock still taken then is a live holder's. */
const LOCK_ATTEMPTS = 4;

/** What this process writes into its lock entries: its pid and, where known, its start time (isAliveSince). */
const MY_STAMP = [process.pid, startTime(process.pid)].filter((part) => part !== undefined).join(' ');

/**
 * Held (release it), held by others (their pids, and what those said they do: their
 * `note`s, where they gave one), or impossible here (`dir` cannot be written: `unavailable` says why).
 */
export type ProcessLock = {release: () => Promise<void>} | {holders: number[]; notes?: string[]} | {unavailable: NodeJS.ErrnoException};

/**
 * How a lock is held: `exclusive` keeps every other holder out; `shared` keeps out only
 * exclusive holders (any number of shared holders at once: readers and writers rule).
 */
export type LockMode = 'exclusive' | 'shared';

/**
 * Takes the lock called `name` among the processes of this machine that lock in `dir`;
 * answers its release, or the pids of the live processes that hold it, or why `dir`
 * cannot hold locks. A lock whose process is gone (killed) keeps no one out.
 *
 * Each contender first publishes an entry of its own, `<name>.lock.<pid>.<random>`
 * (`<name>.shared.<pid>.<random>` for a shared hold, `mode`), then looks for the
 * entries of live processes other than its own that conflict with it: every entry for
 * an exclusive contender, the exclusive entries for a shared one. None found, it holds
 * the lock until it removes its entry; else it withdraws its entry and tries again a
 * little later, and an entry that stays is a holder. Because everyone publishes before
 * looking, the later of two conflicting lookers sees the earlier one's entry: two that
 * conflict can never both find themselves free, whatever the timing. No one removes a live process's entry,
 * so there is no takeover step to race on (with a single lock file, two that saw the
 * same dead holder could each remove it, the second one the first one's fresh lock).
 * Entries of dead processes are swept on the way. An entry holds its process's pid and
 * start time: a pid alive again under a process that started at another time (reused
 * after the holder died) keeps no one out either.
 *
 * `entries` matches the lock entries kept in `dir` (of every name and mode), capturing
 * the pid; `alsoHeld` answers whether something else holds the lock as well (an earlier
 * version's lock file). `note` (one line) says what this holder does, for those it keeps out.
 */
export async function takeProcessLock(dir: string, name: string, opts: {entries: RegExp; alsoHeld?: () => Promise<boolean>; mode?: LockMode; note?: string}): Promise<ProcessLock> {
  const exclusive = `${name}.lock.`;
  const conflicting = opts.mode === 'shared' ? [exclusive] : [exclusive, `${name}.shared.`];
  const mine = `${opts.mode === 'shared' ? `${name}.shared.` : exclusive}${process.pid}.${randomBytes(4).toString('hex')}`;
  const release = () => rm(join(dir, mine), {force: true}).then(() => undefined, () => undefined);
  for (let attempt = 1; ; attempt++) {
    try {
      await makeDirs(dir, {mode: 0o700});
      await writeFile(join(dir, mine), entryText(opts.note), {flag: 'wx', mode: 0o600});
    } catch (err) {
      return {unavailable: err as NodeJS.ErrnoException};
    }
    const live = await removeDeadWritersFiles(dir, opts.entries, (pid, entry) => entryAlive(join(dir, entry), pid));
    const others = live.filter((entry) => entry !== mine && conflicting.some((prefix) => entry.startsWith(prefix)));
    const held = (await opts.alsoHeld?.()) ?? false;
    if (others.length === 0 && !held) return {release};
    await release();
    if (attempt >= LOCK_ATTEMPTS) {
      const holders = others.map((entry) => Number(opts.entries.exec(entry)?.[1]));
      const notes = (await Promise.all(others.map(async (entry) => entryFields(await readFile(join(dir, entry), 'utf8').catch(() => '')).note))).filter((note) => note !== '');
      return notes.length > 0 ? {holders, notes} : {holders};
    }
    await sleep(5 + Math.floor(Math.random() * 20 * attempt)); // random: two contenders that met do not meet again
  }
}

/**
 * Whether the process that wrote the lock entry at `path` (named with `pid`) runs. An
 * entry without a start time (an earlier version's, or one whose writer has not yet
 * written it) is judged by its pid alone.
 */
async function entryAlive(path: string, pid: number): Promise<boolean> {
  return isAliveSince(pid, entryFields(await readFile(path, 'utf8').catch(() => '')).start);
}

/**
 * What a lock entry holds: `pid start`, then, where the holder gave a note, ` note`
 * (start `-` where it is not known). The start time stays the second word, where an
 * earlier version reads it.
 */
function entryText(note: string | undefined): string {
  if (note === undefined) return MY_STAMP;
  return `${process.pid} ${startTime(process.pid) ?? '-'} ${note.replace(/\s+/g, ' ')}`;
}

function entryFields(text: string): {start?: string; note: string} {
  const [, start, ...note] = text.split(' ');
  return {start: start && start !== '-' ? start : undefined, note: note.join(' ')};
}

/** The entries of keyed locks (takeKeyedLock): `<sha1 of the key>.lock.<pid>.<random>` (`.shared.` for a shared hold); captures the pid. */
const KEYED_LOCK_ENTRY = /^[0-9a-f]{40}\.(?:lock|shared)\.(\d+)\.[0-9a-f]{8}$/;
/** How often a waiter looks again at a lock a live process holds. */
const WAIT_POLL_MS = 250;

/** takeProcessLock of any text `key` (names, ids, several joined by newlines) among the keyed locks in `dir`; exclusive unless `mode` says. */
export function takeKeyedLock(dir: string, key: string, hold: {mode?: LockMode; note?: string} = {}): Promise<ProcessLock> {
  return takeProcessLock(dir, createHash('sha1').update(key).digest('hex'), {entries: KEYED_LOCK_ENTRY, ...hold});
}

/**
 * takeKeyedLock, waiting while live processes hold the lock (`onWait` is told their pids
 * once, when the wait begins) until it is free or `signal` aborts. Never answers holders.
 */
export async function waitForKeyedLock(dir: string, key: string, opts: {signal?: AbortSignal; onWait: (holders: number[]) => void}): Promise<Exclude<ProcessLock, {holders: number[]}>> {
  for (let waited = false; ; waited = true) {
    if (opts.signal?.aborted) throw abortError(opts.signal);
    const lock = await takeKeyedLock(dir, key);
    if (!('holders' in lock)) return lock;
    if (!waited) opts.onWait(lock.holders);
    await sleep(WAIT_POLL_MS, undefined, {signal: opts.signal}).catch(() => undefined); // an abort is thrown above
  }
}
