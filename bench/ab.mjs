#!/usr/bin/env node
/**
 * A/B comparison of two builds of this CLI on one scenario, runs interleaved (A, B, A, B…)
 * against one emulator child, so that a busy or drifting machine affects both alike.
 * Prints, per build, the median wall time, CPU time (user + system) and peak RSS, and the
 * ratio B/A. CPU time is the steadier figure on a shared machine: a change that saves
 * CPU on the critical path shows there even when wall times are noisy.
 *
 *   node bench/ab.mjs --b /work/wt/other [--a DIR] --scenario NAME [--runs 7] [--size-mib 1024]
 *
 * DIR: a checkout with `npm run build` done (bin/run.js, dist/); --a defaults to this one.
 * Scenarios: upload-file, upload-pipe, download-file, download-stdout, download-null,
 * cold-help, cold-download (a 1 MB backup to /dev/null). The emulator and the seeding use build A's dist.
 */
import {fork} from 'node:child_process';
import {randomBytes} from 'node:crypto';
import {createWriteStream} from 'node:fs';
import {mkdtemp, rm, writeFile} from 'node:fs/promises';
import {once} from 'node:events';
import {tmpdir} from 'node:os';
import {dirname, join, resolve} from 'node:path';
import {fileURLToPath} from 'node:url';
import {parseArgs} from 'node:util';
import {measure, summary} from './lib/measure.mjs';
import {userEnv} from './lib/user-env.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const {values: opt} = parseArgs({options: {a: {type: 'string'}, b: {type: 'string'}, scenario: {type: 'string'}, runs: {type: 'string', default: '7'}, 'size-mib': {type: 'string', default: '1024'}}});
if (!opt.b || !opt.scenario) {
  process.stderr.write('usage: node bench/ab.mjs --b DIR [--a DIR] --scenario NAME [--runs N] [--size-mib N]\n');
  process.exit(2);
}
const builds = {A: resolve(opt.a ?? join(here, '..')), B: resolve(opt.b)};
const runs = Number(opt.runs);
const MiB = 1024 * 1024;
const size = Number(opt['size-mib']) * MiB;

const work = await mkdtemp(join(tmpdir(), 'b2-ab-'));
const env = {
  ...userEnv(work),
  B2_BACKUP_CONFIG: join(work, 'profiles.yaml'),
};
const emuChild = fork(join(here, 'lib', 'emulator-child.mjs'), [], {stdio: ['ignore', 'inherit', 'inherit', 'ipc'], env: {...process.env, BENCH_EMULATOR_DIST: join(builds.A, 'dist', 'src')}});
const emu = (await once(emuChild, 'message'))[0].ready;
const b2 = (build, args, o = {}) => measure([process.execPath, join(builds[build], 'bin', 'run.js'), 'b2', ...args], {env, ...o});
const check = (r, what) => {
  if (r.code !== 0) throw new Error(`${what} exited ${r.code}: ${r.stderr.slice(-2000)}`);
  return r;
};

try {
  const profile = (name, prefix) => `  ${name}:\n    keyId: ${emu.keyId}\n    applicationKey: ${emu.applicationKey}\n    bucket: ${emu.bucket}\n    endpoint: ${emu.url}\n    prefix: ${prefix}\n    partSize: 100MB\n    concurrency: 4\n`;
  await writeFile(env.B2_BACKUP_CONFIG, `profiles:\n${profile('ab', 'ab/')}${profile('up', 'up/')}`, {mode: 0o600});
  const source = join(work, 'source.bin');
  const block = randomBytes(4 * MiB);
  const ws = createWriteStream(source);
  for (let done = 0; done < size; done += block.length) if (!ws.write(block.subarray(0, Math.min(block.length, size - done)))) await once(ws, 'drain');
  ws.end();
  await once(ws, 'finish');
  const id = JSON.parse(check(await b2('A', ['upload', source, '--name', 'ab source', '--profile', 'ab', '--json']), 'seed upload').stdout).id;
  const small = join(work, 'small.bin');
  await writeFile(small, randomBytes(1_000_000));
  const smallId = JSON.parse(check(await b2('A', ['upload', small, '--name', 'ab small', '--profile', 'ab', '--json']), 'seed upload (1 MB)').stdout).id;
  const out = join(work, 'restore.bin');
  /** Each scenario: the run, and what to clean after it (not measured). */
  const scenarios = {
    'upload-file': {run: (b) => b2(b, ['upload', source, '--name', 'ab up', '--profile', 'up', '--no-prune', '--json']), after: purgeUploads},
    'upload-pipe': {run: (b) => b2(b, ['upload', '-', '--name', 'ab pipe', '--profile', 'up', '--no-prune', '--json'], {pipeFrom: source}), after: purgeUploads},
    'download-file': {run: (b) => b2(b, ['download', id, '-o', out, '--profile', 'ab']), after: () => rm(out, {force: true})},
    'download-stdout': {run: (b) => b2(b, ['download', id, '-o', '-', '--profile', 'ab'], {stdout: 'count'})},
    'download-null': {run: (b) => b2(b, ['download', id, '-o', '/dev/null', '--force', '--profile', 'ab'])},
    'cold-help': {run: (b) => measure([process.execPath, join(builds[b], 'bin', 'run.js'), '--help'], {env})},
    'cold-download': {run: (b) => b2(b, ['download', smallId, '-o', '/dev/null', '--force', '--profile', 'ab'])},
  };
  const chosen = scenarios[opt.scenario];
  if (!chosen) throw new Error(`unknown scenario ${opt.scenario}; one of ${Object.keys(scenarios).join(', ')}`);
  const results = {A: [], B: []};
  for (let i = 0; i < runs; i++) {
    for (const build of i % 2 ? ['B', 'A'] : ['A', 'B']) {
      const r = check(await chosen.run(build), `${opt.scenario} (${build})`);
      results[build].push(r);
      process.stderr.write(`${build} run ${i + 1}: ${r.seconds.toFixed(2)} s, CPU ${r.cpuSeconds?.toFixed(2)} s, RSS ${r.rssMiB?.toFixed(0)} MiB\n`);
      await chosen.after?.();
    }
  }
  const med = (build, key) => summary(results[build].map((r) => r[key])).median;
  const bytes = opt.scenario.startsWith('cold') ? 0 : size;
  for (const build of ['A', 'B']) {
    const s = med(build, 'seconds');
    process.stdout.write(`${build} ${builds[build]}: wall ${s.toFixed(3)} s${bytes ? ` (${(bytes / MiB / s).toFixed(1)} MiB/s)` : ''}, CPU ${med(build, 'cpuSeconds')?.toFixed(3)} s, RSS ${med(build, 'rssMiB')?.toFixed(0)} MiB\n`);
  }
  process.stdout.write(`B/A: wall ${(med('B', 'seconds') / med('A', 'seconds')).toFixed(3)}, CPU ${(med('B', 'cpuSeconds') / med('A', 'cpuSeconds')).toFixed(3)} (${runs} runs each, interleaved, ${opt.scenario}, ${opt['size-mib']} MiB)\n`);
} finally {
  emuChild.disconnect();
  await rm(work, {recursive: true, force: true});
}

/** Removes what an upload scenario stored, through the emulator's own API (build A). */
async function purgeUploads() {
  const list = JSON.parse(check(await b2('A', ['list', '--profile', 'up', '--json']), 'list').stdout);
  for (const backup of list) check(await b2('A', ['delete', backup.id, '--yes', '--profile', 'up']), 'delete');
}
