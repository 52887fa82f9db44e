import {afterAll, beforeAll, describe, expect, test} from '@jest/globals';
import {spawn, type ChildProcessWithoutNullStreams} from 'node:child_process';
import {once} from 'node:events';
import {mkdir, mkdtemp, readdir, rm, writeFile} from 'node:fs/promises';
import {tmpdir} from 'node:os';
import {join, resolve} from 'node:path';
import {createInterface} from 'node:readline';
import {PendingUploads, recordName} from '../../src/backups/pending-uploads.js';
import {startTime} from '../../src/process-alive.js';
import {deadPid} from '../helpers/dead-pid.js';
import {liveProcess} from '../helpers/live-process.js';

// The lock of a pending upload's record: one process at a time owns the record of one
// content; what a process that died (killed) left never keeps the next one out, and two
// that find the same dead holder never both hold the lock. Child processes load the build
// (npm run build first).

const MODULE = resolve('dist/src/backups/pending-uploads.js');
const SHA = 'a'.repeat(40);
const KEY = {sha1: SHA, name: 'nightly'};
/** This version's record of KEY; its lock entries are `<RECORD>.lock.<pid>.<random>`. */
const RECORD = recordName(KEY);
let root: string;
let n = 0;

/** Start times are read where Linux's /proc tells them; elsewhere a lock is judged by its pid alone. */
const onLinux = process.platform === 'linux' ? test : test.skip;

const noWarnings = (msg: string) => {
  throw new Error(`unexpected warning: ${msg}`);
};

/** A fresh pending-uploads directory holding what an upload killed while it held the lock of SHA left. */
async function dirWithDeadHolder(): Promise<{dir: string; dead: number}> {
  const dir = join(root, `d${n++}`);
  await mkdir(dir, {recursive: true});
  const dead = deadPid();
  await writeFile(join(dir, `${SHA}.json.lock`), String(dead)); // an earlier version's lock file
  await writeFile(join(dir, `${SHA}.json.lock.${dead}.0badc0de`), String(dead)); // an earlier version's entry (one record per content)
  await writeFile(join(dir, `${RECORD}.lock.${dead}.0badc0de`), String(dead)); // this version's entry
  return {dir, dead};
}

/** A child process with a PendingUploads on `dir`: `lock` answers 'held' or 'refused' and keeps holding; `release` lets go. */
class Locker {
  private readonly lines: AsyncIterator<string>;

  private constructor(readonly child: ChildProcessWithoutNullStreams) {
    this.lines = createInterface({input: child.stdout})[Symbol.asyncIterator]();
  }

  static async start(dir: string): Promise<Locker> {
    const script = `
      import {createInterface} from 'node:readline';
      const {PendingUploads} = await import(${JSON.stringify(MODULE)});
      const pending = new PendingUploads(${JSON.stringify(dir)}, () => undefined);
      let release;
      for await (const line of createInterface({input: process.stdin})) {
        if (line === 'lock') {
          release = await pending.lock(${JSON.stringify(KEY)});
          console.log(release ? 'held' : 'refused');
        } else {
          await release?.();
          console.log('released');
        }
      }`;
    const locker = new Locker(spawn(process.execPath, ['--input-type=module', '-e', script], {stdio: 'pipe'}));
    locker.child.stdin.write('ready?\n'); // answered once the module is loaded
    await locker.next();
    return locker;
  }

  async ask(what: 'lock' | 'release'): Promise<string> {
    this.child.stdin.write(`${what}\n`);
    return this.next();
  }

  async kill(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      const exited = once(this.child, 'exit');
      this.child.kill('SIGKILL');
      await exited;
    }
  }

  private async next(): Promise<string> {
    const {value, done} = await this.lines.next();
    if (done) throw new Error('the locker process ended');
    return value as string;
  }
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'pending-uploads-'));
});

afterAll(async () => {
  await rm(root, {recursive: true, force: true});
});

describe('PendingUploads.lock', () => {
  test('many lockers in one process against the lock of a process that died: at most one holds it, and once it lets go the next one gets it', async () => {
    const {dir, dead} = await dirWithDeadHolder();
    const lockers = Array.from({length: 8}, () => new PendingUploads(dir, noWarnings));
    // started one turn of the event loop apart, so that each finds the lock in another state
    const releases = await Promise.all(lockers.map(async (p, i) => {
      for (let t = 0; t < i; t++) await new Promise((r) => setImmediate(r));
      return p.lock(KEY);
    }));
    const holders = releases.filter((r) => r !== undefined);
    expect(holders.length).toBeLessThanOrEqual(1);
    for (const release of holders) await release!();
    const next = await new PendingUploads(dir, noWarnings).lock(KEY);
    expect(next).toBeDefined();
    await next!();
    expect((await readdir(dir)).filter((name) => name.includes(`.${dead}.`))).toEqual([]); // the dead process's entry was swept
  });

  test('lockers in other processes against the lock of a process that died: at most one holds it', async () => {
    const {dir} = await dirWithDeadHolder();
    const lockers = await Promise.all(Array.from({length: 4}, () => Locker.start(dir)));
    try {
      const answers = await Promise.all(lockers.map((l) => l.ask('lock')));
      expect(answers.filter((a) => a === 'held').length).toBeLessThanOrEqual(1);
    } finally {
      await Promise.all(lockers.map((l) => l.kill()));
    }
  });

  test('the scratch files <lock>.<pid> that an earlier version, killed between writing and removing them, left are swept when their process is dead', async () => {
    const dir = join(root, `d${n++}`);
    await mkdir(dir, {recursive: true});
    const dead = deadPid();
    const left = [`${SHA}.json.lock.${dead}`, `${'c'.repeat(40)}.json.lock.${dead}`];
    for (const name of left) await writeFile(join(dir, name), String(dead));
    const release = await new PendingUploads(dir, noWarnings).lock(KEY);
    expect(release).toBeDefined();
    await release!();
    expect(await readdir(dir)).toEqual([]);
  });

  test('a live holder in another process keeps the lock; killed (SIGKILL) while it holds, it keeps no one out and its entry is swept', async () => {
    const dir = join(root, `d${n++}`);
    const holder = await Locker.start(dir);
    try {
      expect(await holder.ask('lock')).toBe('held');
      expect(await new PendingUploads(dir, noWarnings).lock(KEY)).toBeUndefined();
      await holder.kill();
      const release = await new PendingUploads(dir, noWarnings).lock(KEY);
      expect(release).toBeDefined();
      expect((await readdir(dir)).filter((name) => name.includes(`.${holder.child.pid}.`))).toEqual([]);
      await release!();
      expect(await readdir(dir)).toEqual([]);
    } finally {
      await holder.kill();
    }
  });

  onLinux('a lock entry whose pid a live process that started at another time holds (the pid reused after its holder died) keeps no one out and is swept; the same pid with its start time, or with no start time (an earlier version\'s entry), keeps the lock', async () => {
    const other = await liveProcess();
    try {
      const start = startTime(other.pid);
      expect(start).toMatch(/^\d+$/);
      const held = async (content: string) => {
        const dir = join(root, `d${n++}`);
        await mkdir(dir, {recursive: true});
        const entry = `${RECORD}.lock.${other.pid}.0badc0de`;
        await writeFile(join(dir, entry), content);
        const release = await new PendingUploads(dir, noWarnings).lock(KEY);
        await release?.();
        return {held: release !== undefined, entryLeft: (await readdir(dir)).includes(entry)};
      };
      expect({
        reused: await held(`${other.pid} ${start}1`),
        sameProcess: await held(`${other.pid} ${start}`),
        pidOnly: await held(String(other.pid)),
      }).toEqual({
        reused: {held: true, entryLeft: false},
        sameProcess: {held: false, entryLeft: true},
        pidOnly: {held: false, entryLeft: true},
      });
    } finally {
      await other.stop();
    }
  });

  test('an earlier version\'s lock file <sha1>.json.lock naming a dead process is removed when found; one naming a live process keeps the lock and stays', async () => {
    const other = await liveProcess();
    try {
      const lockFile = async (pid: number) => {
        const dir = join(root, `d${n++}`);
        await mkdir(dir, {recursive: true});
        await writeFile(join(dir, `${SHA}.json.lock`), String(pid));
        const release = await new PendingUploads(dir, noWarnings).lock(KEY);
        await release?.();
        return {held: release !== undefined, left: await readdir(dir)};
      };
      expect({dead: await lockFile(deadPid()), live: await lockFile(other.pid)}).toEqual({
        dead: {held: true, left: []},
        live: {held: false, left: [`${SHA}.json.lock`]},
      });
    } finally {
      await other.stop();
    }
  });
});

describe('PendingUploads records: one per upload (content and name)', () => {
  const upload = (name: string) => ({id: `id-${name}`, name, date: '2026-01-01T00:00:00.000000+00:00', base: `${name}_2026-01-01`, size: 10, sha1: SHA});

  test('the same content under two names: two records, each found and cleared by its own upload alone', async () => {
    const pending = new PendingUploads(join(root, `d${n++}`), noWarnings);
    await pending.record(upload('nightly'));
    await pending.record(upload('weekly'));
    await pending.clear({sha1: SHA, name: 'weekly'});
    expect(await pending.find({sha1: SHA, name: 'nightly'}, 10)).toMatchObject({id: 'id-nightly'});
    expect(await pending.find({sha1: SHA, name: 'weekly'}, 10)).toBeUndefined();
  });

  test('an earlier version\'s record <sha1>.json (one per content) is found for its own name only, and cleared only by that upload', async () => {
    const dir = join(root, `d${n++}`);
    await mkdir(dir, {recursive: true});
    const older = join(dir, `${SHA}.json`);
    await writeFile(older, JSON.stringify({...upload('nightly'), recorded: Date.now()}));
    const pending = new PendingUploads(dir, noWarnings);
    expect(await pending.find({sha1: SHA, name: 'weekly'}, 10)).toBeUndefined();
    await pending.clear({sha1: SHA, name: 'weekly'});
    expect(await pending.find({sha1: SHA, name: 'nightly'}, 10)).toMatchObject({id: 'id-nightly'});
    await pending.clear({sha1: SHA, name: 'nightly'});
    expect(await readdir(dir)).toEqual([]);
  });

  test('a live process of an earlier version that holds the lock of this content (one lock per content) keeps the lock of every name of it', async () => {
    const other = await liveProcess();
    try {
      const dir = join(root, `d${n++}`);
      await mkdir(dir, {recursive: true});
      await writeFile(join(dir, `${SHA}.json.lock.${other.pid}.0badc0de`), String(other.pid));
      expect(await new PendingUploads(dir, noWarnings).lock(KEY)).toBeUndefined();
    } finally {
      await other.stop();
    }
  });
});
