import {afterAll, beforeAll, describe, expect, test} from '@jest/globals';
import {spawn, spawnSync} from 'node:child_process';
import {mkdir, mkdtemp, readFile, readdir, rm, stat, writeFile} from 'node:fs/promises';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {parse} from 'yaml';
import {cleanEnv} from '../helpers/host-cli.js';
import {cliRoot, runCli} from '../helpers/run-cli.js';

// Several processes editing profiles.yaml at once, and processes killed while they edit
// it: no update is lost, the file always parses and holds the old or the new content,
// and no temp file holding a key outlives the next command. Real CLI child processes.

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'profile-concurrency-'));
});
afterAll(async () => {
  await rm(root, {recursive: true, force: true});
});

const KEY = (n: number) => `K005inlineKeyForConcurrencyTest${String(n).padStart(4, '0')}`;
const addArgs = (config: string, name: string, n: number) => ['b2', 'profile', 'add', name, '--key-id', `005key${n}`, '--application-key', KEY(n), '--bucket', `bucket-${name}`, '--no-check', '--config', config];
const names = async (config: string) => Object.keys((parse(await readFile(config, 'utf8')) as {profiles: Record<string, unknown>}).profiles ?? {}).sort();
const leftovers = async (dir: string) => (await readdir(dir)).filter((f) => f !== 'profiles.yaml');
/** These tests run many CLI processes one after another: their time limit grows with the count, not with a guess of the machine's speed. */
const PER_PROCESS_MS = 15_000;
const FIRST = `profiles:\n  first:\n    keyId: 005first\n    applicationKey: env:FIRST_KEY\n    bucket: bucket-first\n`;
/** The file `profile add home` (addArgs, n = 0) makes, written here: the scene of a test whose subject is later edits. */
const withHome = (config: string) => writeFile(config, `profiles:\n  home:\n    keyId: 005key0\n    applicationKey: ${KEY(0)}\n    bucket: bucket-home\n`, {mode: 0o600});

describe('concurrent profile edits', () => {
  // Six writers at once lose an update far more often without the lock than two do: with
  // the lock taken out of ProfileStore.save, 7 of 8 such trials lost at least one profile
  // (two writers: 2 of 20), so four trials catch a missing lock with fewer processes.
  const TRIALS = 4;
  const WRITERS = ['a', 'b', 'c', 'd', 'e', 'f'];
  test(`${WRITERS.length} \`profile add\` at the same instant, ${TRIALS} times: every profile is saved every time`, async () => {
    const lost: string[] = [];
    for (let trial = 0; trial < TRIALS; trial++) {
      const dir = join(root, `race-${trial}`);
      await mkdir(dir);
      const config = join(dir, 'profiles.yaml');
      await writeFile(config, FIRST, {mode: 0o600}); // an existing file, as most users have
      const results = await Promise.all(WRITERS.map((name, i) => runCli(addArgs(config, name, i + 1))));
      for (const r of results) expect({code: r.code, stderr: r.stderr}).toEqual({code: 0, stderr: ''});
      const saved = await names(config);
      if (saved.join() !== [...WRITERS, 'first'].join()) lost.push(`trial ${trial}: ${saved.join()}`);
      expect(await leftovers(dir)).toEqual([]); // lock released, no temp file
    }
    expect(lost).toEqual([]);
  }, TRIALS * WRITERS.length * PER_PROCESS_MS);
});

/** mulberry32: kill points that are the same on every run. */
function seeded(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function runAndKillAfter(args: string[], ms: number): Promise<{code: number | null; signal: NodeJS.Signals | null}> {
  const home = join(root, 'xdg');
  const child = spawn(process.execPath, [join(cliRoot, 'bin/run.js'), ...args], {
    env: {...cleanEnv(), XDG_CONFIG_HOME: join(home, 'c'), XDG_CACHE_HOME: join(home, 'k'), XDG_DATA_HOME: join(home, 'd')},
    stdio: 'ignore',
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), ms);
  return new Promise((resolve) =>
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({code, signal});
    }),
  );
}

const POINTS = 20;
describe(`profile add/update killed at ${POINTS} seeded points`, () => {
  test('profiles.yaml parses and holds the old or the new content; no temp file survives the next command', async () => {
    const dir = join(root, 'kills');
    await mkdir(dir);
    const config = join(dir, 'profiles.yaml');
    await withHome(config);
    // how long one edit takes here: kill points are spread over it (and a little past)
    const started = Date.now();
    expect((await runCli(['b2', 'profile', 'update', 'home', '--concurrency', '2', '--no-check', '--config', config])).code).toBe(0);
    const span = (Date.now() - started) * 1.2;
    const random = seeded(20261130);
    const outcomes = {killed: 0, finished: 0};
    for (let point = 0; point < POINTS; point++) {
      const before = await readFile(config, 'utf8');
      const update = point % 2 === 0;
      const args = update
        ? ['b2', 'profile', 'update', 'home', '--application-key', KEY(100 + point), '--concurrency', String(1 + (point % 8)), '--no-check', '--config', config]
        : addArgs(config, `p${point}`, 100 + point);
      const r = await runAndKillAfter(args, Math.floor(random() * span));
      outcomes[r.signal === 'SIGKILL' ? 'killed' : 'finished'] += 1;

      const after = await readFile(config, 'utf8');
      const parsed = parse(after) as {profiles: Record<string, {applicationKey: string; concurrency?: number}>};
      if (after !== before) {
        // the new content, whole
        if (update) expect(parsed.profiles.home).toMatchObject({applicationKey: KEY(100 + point), concurrency: 1 + (point % 8)});
        else expect(parsed.profiles[`p${point}`]).toMatchObject({applicationKey: KEY(100 + point)});
      }
      expect((await stat(config)).mode & 0o777).toBe(0o600);

      const next = await runCli(['b2', 'profile', 'list', '--config', config]);
      expect(next.code).toBe(0);
      expect(await leftovers(dir)).toEqual(expect.not.arrayContaining([expect.stringMatching(/\.tmp$/)]));
    }
    process.stdout.write(`profile edits killed at ${POINTS} seeded points: ${outcomes.killed} killed, ${outcomes.finished} finished first\n`);
    expect(outcomes.killed).toBeGreaterThan(0);
  }, (POINTS * 2 + 2) * PER_PROCESS_MS);

  test('a temp file left by a killed writer (its process gone) is removed by the next command; a live one is kept', async () => {
    const dir = join(root, 'leftover');
    await mkdir(dir);
    const config = join(dir, 'profiles.yaml');
    await withHome(config);
    const gone = spawnSync(process.execPath, ['-e', '']).pid!; // a pid that has exited
    const dead = join(dir, `.profiles.yaml.${gone}.0badc0de.tmp`);
    const live = join(dir, `.profiles.yaml.${process.pid}.0badc0de.tmp`);
    await writeFile(dead, `profiles:\n  home:\n    applicationKey: ${KEY(999)}\n`, {mode: 0o600});
    await writeFile(live, 'being written by a live process\n', {mode: 0o600});
    const r = await runCli(['b2', 'profile', 'list', '--config', config]);
    expect(r.code).toBe(0);
    expect((await readdir(dir)).sort()).toEqual([`.profiles.yaml.${process.pid}.0badc0de.tmp`, 'profiles.yaml']);
  }, 2 * PER_PROCESS_MS);
});
