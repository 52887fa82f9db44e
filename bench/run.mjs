#!/usr/bin/env node
/**
 * `npm run bench`: the transfer engine against the wire's own ceiling (issue 8).
 *
 * Starts the emulator in a separate process (memory storage), then measures each scenario
 * `--runs` times as a separate child process: uploads of a file (part sizes × concurrency)
 * and from a pipe, downloads to a file, to stdout and to /dev/null (verified), listing a
 * catalog of 10,000 backups, CLI cold start, the same transfers by a minimal raw client
 * (the ceiling) and, when `rclone` is on PATH, by rclone. Writes results.json, results.md
 * and chart.svg (into bench/, or --out DIR). Needs `npm run build` first.
 *
 *   node bench/run.mjs [--quick] [--runs N] [--out DIR] [--only upload,download,list,cold,rclone]
 *
 * --quick: small sizes and one run each (what `npm test` runs, so the harness cannot rot).
 */
import {fork} from 'node:child_process';
import {randomBytes} from 'node:crypto';
import {createWriteStream, statSync} from 'node:fs';
import {cp, mkdir, mkdtemp, rm, symlink, writeFile} from 'node:fs/promises';
import {cpus, tmpdir} from 'node:os';
import {once} from 'node:events';
import {dirname, join} from 'node:path';
import {fileURLToPath} from 'node:url';
import {parseArgs} from 'node:util';
import {measure, summary} from './lib/measure.mjs';
import {writeReport} from './lib/report.mjs';
import {rcloneScenarios} from './lib/rclone.mjs';
import {userEnv} from './lib/user-env.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const repo = join(here, '..');
const {values: opt} = parseArgs({
  options: {quick: {type: 'boolean', default: false}, runs: {type: 'string'}, out: {type: 'string'}, only: {type: 'string'}, 'size-mib': {type: 'string'}},
});
const quick = opt.quick;
const MiB = 1024 * 1024;
const cfg = quick
  ? {sizeMiB: 12, parts: [5], bigParts: [], concurrency: [1, 4], runs: 1, listing: 200, coldRuns: 1, downloadPart: 5, downloadConcurrency: 4}
  : {sizeMiB: 1024, parts: [25, 100], bigParts: [500], concurrency: [1, 4, 8], runs: 3, listing: 10_000, coldRuns: 10, downloadPart: 100, downloadConcurrency: 4};
if (opt.runs) cfg.runs = Number(opt.runs);
if (opt['size-mib']) cfg.sizeMiB = Number(opt['size-mib']);
const only = opt.only ? new Set(opt.only.split(',')) : undefined;
// rclone is slow to start and optional: --quick leaves it out unless asked for with --only
const wanted = (group) => (only ? only.has(group) : !(quick && group === 'rclone'));
const outDir = opt.out ?? here;
const size = cfg.sizeMiB * MiB;

const work = await mkdtemp(join(tmpdir(), 'b2-bench-'));
const env = {
  ...userEnv(work),
  B2_BACKUP_CONFIG: join(work, 'profiles.yaml'),
};
const cli = [process.execPath, join(repo, 'bin', 'run.js')];
const scenarios = [];
const notes = [];
const log = (line) => process.stderr.write(`${line}\n`);

// ---- the emulator, in its own process ----
const emuChild = fork(join(here, 'lib', 'emulator-child.mjs'), [], {stdio: ['ignore', 'inherit', 'inherit', 'ipc']});
const emu = (await once(emuChild, 'message'))[0].ready;
let nextId = 0;
const pending = new Map();
emuChild.on('message', ({id, result, error}) => {
  const p = pending.get(id);
  pending.delete(id);
  if (error) p?.reject(new Error(error));
  else p?.resolve(result);
});
const ask = (op, args) => new Promise((resolve, reject) => {
  const id = nextId++;
  pending.set(id, {resolve, reject});
  emuChild.send({id, op, args});
});

/** Calls and transactions of one measured run: the emulator's counters, reset before it. */
async function counted(run) {
  await ask('resetStats');
  const r = await run();
  const stats = await ask('stats');
  const calls = Object.values(stats.calls).reduce((a, b) => a + b, 0);
  return {...r, calls, transactions: stats.transactions, callNames: stats.calls};
}

function check(r, what) {
  if (r.code !== 0) throw new Error(`${what} exited ${r.code}: ${r.stderr.slice(-2000)}`);
  return r;
}

/**
 * Runs a scenario `runs` times and records medians. `bytes` is what moved (for MiB/s);
 * `after` cleans up after each run (not measured).
 */
async function scenario(name, {bytes, runs = cfg.runs, run, after, chart, ceilingOf}) {
  const results = [];
  for (let i = 0; i < runs; i++) {
    const r = await counted(run);
    results.push(r);
    await after?.(r);
  }
  const seconds = summary(results.map((r) => r.seconds));
  const s = {
    name,
    runs: results.length,
    bytes,
    seconds,
    mibps: bytes ? bytes / MiB / seconds.median : null,
    rssMiB: summary(results.map((r) => r.rssMiB)),
    cpuSeconds: summary(results.map((r) => r.cpuSeconds)),
    calls: results[0].calls,
    transactions: results[0].transactions,
    callNames: results[0].callNames,
    ...(chart ? {chart} : {}),
    ...(ceilingOf ? {ceilingOf} : {}),
  };
  scenarios.push(s);
  log(`${name.padEnd(60)} ${s.mibps === null ? '' : `${s.mibps.toFixed(1)} MiB/s `}${seconds.median.toFixed(2)} s (${seconds.min.toFixed(2)}–${seconds.max.toFixed(2)}), RSS ${s.rssMiB.median?.toFixed(0)} MiB, ${s.calls} calls`);
  return s;
}

const raw = (job, o = {}) => measure([process.execPath, join(here, 'lib', 'raw-transfer.mjs'), JSON.stringify({url: emu.url, keyId: emu.keyId, applicationKey: emu.applicationKey, bucket: emu.bucket, ...job})], {env, ...o});
const purge = async (prefix) => check(await raw({op: 'purge', prefix}), `purge ${prefix}`);
const b2 = (args, o = {}) => measure([...cli, 'b2', ...args], {env, ...o});

async function writeProfiles() {
  const profile = (name, prefix, partMB, concurrency) =>
    `  ${name}:\n    keyId: ${emu.keyId}\n    applicationKey: ${emu.applicationKey}\n    bucket: ${emu.bucket}\n    endpoint: ${emu.url}\n    prefix: ${prefix}\n    partSize: ${partMB}MB\n    concurrency: ${concurrency}\n`;
  let yaml = 'profiles:\n';
  for (const p of new Set([...cfg.parts, ...cfg.bigParts, cfg.downloadPart])) for (const c of new Set([...cfg.concurrency, cfg.downloadConcurrency])) yaml += profile(`p${p}c${c}`, `up-p${p}c${c}/`, p, c);
  yaml += profile('many', 'many/', 100, 4) + profile('few', 'few/', 100, 4) + profile('dl', 'dl/', cfg.downloadPart, cfg.downloadConcurrency) + profile('fixed', 'fixed/', 100, 4);
  await writeFile(env.B2_BACKUP_CONFIG, yaml, {mode: 0o600});
}

async function makeSource(path) {
  const block = randomBytes(4 * MiB);
  const ws = createWriteStream(path);
  for (let done = 0; done < size; done += block.length) if (!ws.write(block.subarray(0, Math.min(block.length, size - done)))) await once(ws, 'drain');
  ws.end();
  await once(ws, 'finish');
}

const ratio = (s, ceiling, label) => {
  if (s && ceiling?.mibps) Object.assign(s, {ratio: s.mibps / ceiling.mibps, ceiling: label});
};

try {
  await writeProfiles();
  const source = join(work, 'source.bin');
  await makeSource(source);
  log(`bench: ${cfg.sizeMiB} MiB, ${cfg.runs} run(s) each, emulator pid ${emu.pid} at ${emu.url}, work dir ${work}`);

  // ---- uploads ----
  if (wanted('upload')) {
    const fileUpload = async (p, c, grid) => {
      const prefix = `up-p${p}c${c}/`;
      const ceiling = await scenario(`raw ceiling: upload, ${p} MB parts × ${c}`, {
        bytes: size, ...(grid ? {chart: {who: 'ceiling', partMB: p, concurrency: c}} : {}),
        run: async () => check(await raw({op: 'upload', path: source, fileName: `${prefix}raw.bin`, partSize: p * 1e6, concurrency: c}), 'raw upload'),
        after: () => purge(prefix),
      });
      // the provider gives large_file_sha1 at the start call, so it reads the whole file first:
      // the best that design can do is this pre-pass plus the raw send
      const design = await scenario(`raw design ceiling: whole-file SHA1 pre-pass, then upload, ${p} MB parts × ${c}`, {
        bytes: size, ...(grid ? {chart: {who: 'design', partMB: p, concurrency: c}} : {}),
        run: async () => check(await raw({op: 'upload', prehash: true, path: source, fileName: `${prefix}raw.bin`, partSize: p * 1e6, concurrency: c}), 'raw upload with pre-pass'),
        after: () => purge(prefix),
      });
      const s = await scenario(`upload from a file, ${p} MB parts × ${c}`, {
        bytes: size, ...(grid ? {chart: {who: 'provider', partMB: p, concurrency: c}} : {}),
        run: async () => check(await b2(['upload', source, '--name', 'bench', '--profile', `p${p}c${c}`, '--json']), 'b2 upload'),
        after: () => purge(prefix),
      });
      ratio(s, ceiling, `raw ${p} MB × ${c}`);
      if (s.mibps && design.mibps) Object.assign(s, {designRatio: s.mibps / design.mibps});
    };
    for (const p of cfg.parts) for (const c of cfg.concurrency) await fileUpload(p, c, true);
    // issue 8: peak RSS must not grow with the part size (parts are read from disk, not held)
    for (const p of cfg.bigParts) await fileUpload(p, cfg.downloadConcurrency, false);
    const p = cfg.downloadPart;
    const c = cfg.downloadConcurrency;
    const pipeCeiling = scenarios.find((s) => s.chart?.who === 'ceiling' && s.chart.partMB === p && s.chart.concurrency === c);
    // what a pipe costs by itself: the raw uploader reading the same pipe (parts buffered, the whole SHA1 as read)
    const pipeRaw = await scenario(`raw pipe ceiling: upload from a pipe, ${p} MB parts × ${c} (${c} + 1 part buffers, whole SHA1 as read)`, {
      bytes: size,
      run: async () => check(await raw({op: 'upload', pipe: true, fileName: `up-p${p}c${c}/raw.bin`, partSize: p * 1e6, concurrency: c}, {pipeFrom: source}), 'raw pipe upload'),
      after: () => purge(`up-p${p}c${c}/`),
    });
    const s = await scenario(`upload from a pipe (size unknown), ${p} MB parts × ${c}`, {
      bytes: size,
      run: async () => check(await b2(['upload', '-', '--name', 'bench pipe', '--profile', `p${p}c${c}`, '--json'], {pipeFrom: source}), 'b2 upload -'),
      after: () => purge(`up-p${p}c${c}/`),
    });
    ratio(s, pipeCeiling, `raw ${p} MB × ${c}`);
    if (s.mibps && pipeRaw.mibps) Object.assign(s, {designRatio: s.mibps / pipeRaw.mibps});
    // the issue's upload targets, in one place for the closing note
    const pct = (x) => (x === undefined ? '–' : `${(x * 100).toFixed(0)}%`);
    const file = scenarios.find((x) => x.chart?.who === 'provider' && x.chart.partMB === p && x.chart.concurrency === c);
    const big = cfg.bigParts.map((b) => scenarios.find((x) => x.name === `upload from a file, ${b} MB parts × ${c}`)).filter(Boolean);
    if (file) {
      notes.push(`upload from a file, ${p} MB × ${c}: ${pct(file.ratio)} of the raw ceiling (target 85%), ${pct(file.designRatio)} of the design ceiling; peak RSS ${file.rssMiB.median?.toFixed(0)} MiB (target < 200)` +
        big.map((b) => `, with ${b.name.match(/(\d+) MB parts/)[1]} MB parts ${b.rssMiB.median?.toFixed(0)} MiB`).join(''));
    }
    const bound = ((c + 1) * p * 1e6) / MiB + 100;
    notes.push(`upload from a pipe, ${p} MB × ${c}: ${pct(s.ratio)} of the raw ceiling (target 75%), ${pct(s.designRatio)} of the raw pipe ceiling; peak RSS ${s.rssMiB.median?.toFixed(0)} MiB (target < (${c} + 1) × ${p} MB + 100 MiB = ${bound.toFixed(0)} MiB)`);
  }

  // ---- downloads (of one backup of the source, uploaded once) ----
  if (wanted('download')) {
    const up = check(await b2(['upload', source, '--name', 'download source', '--profile', 'dl', '--json']), 'b2 upload (download source)');
    const id = JSON.parse(up.stdout).id;
    const stored = JSON.parse(check(await b2(['show', id, '--profile', 'dl', '--json']), 'b2 show').stdout);
    const fileName = `dl/${stored.archiveKey}`;
    const rangeSize = cfg.downloadPart * 1e6;
    const out = join(work, 'restore.tar');
    const single = await scenario('raw ceiling: download, single stream, SHA1, discarded', {
      bytes: size, run: async () => check(await raw({op: 'download-single', fileName}), 'raw download'),
    });
    const parallel = await scenario(`raw ceiling: download, ${cfg.downloadConcurrency} parallel ranges of ${cfg.downloadPart} MB streamed into a file, SHA1 in order`, {
      bytes: size, run: async () => check(await raw({op: 'download-parallel', fileName, out, rangeSize, concurrency: cfg.downloadConcurrency}), 'raw parallel download'),
      after: () => rm(out, {force: true}),
    });
    const toFile = await scenario('download to a file (verified)', {
      bytes: size, run: async () => check(await b2(['download', id, '-o', out, '--profile', 'dl']), 'b2 download -o file'),
      after: async () => {
        if (statSync(out).size !== size) throw new Error('the downloaded file has the wrong size');
        await rm(out, {force: true});
      },
    });
    ratio(toFile, parallel, 'raw parallel');
    const toStdout = await scenario('download to stdout (verified)', {
      bytes: size, run: async () => {
        const r = check(await b2(['download', id, '-o', '-', '--profile', 'dl'], {stdout: 'count'}), 'b2 download -o -');
        if (r.stdoutBytes !== size) throw new Error(`stdout had ${r.stdoutBytes} bytes, expected ${size}`);
        return r;
      },
    });
    ratio(toStdout, single, 'raw single stream');
    // what writing to the pipe costs by itself: the raw single stream written to the same reader
    const singleOut = await scenario('raw stdout ceiling: download, single stream, SHA1, written to stdout', {
      bytes: size, run: async () => {
        const r = check(await raw({op: 'download-single', fileName, stdout: true}, {stdout: 'count'}), 'raw download to stdout');
        if (r.stdoutBytes !== size) throw new Error(`raw stdout had ${r.stdoutBytes} bytes, expected ${size}`);
        return r;
      },
    });
    if (toStdout.mibps && singleOut.mibps) Object.assign(toStdout, {designRatio: toStdout.mibps / singleOut.mibps});
    const devNull = statSync('/dev/null');
    const toNull = await scenario('download to /dev/null --force (verified)', {
      bytes: size, run: async () => check(await b2(['download', id, '-o', '/dev/null', '--force', '--profile', 'dl']), 'b2 download -o /dev/null'),
      after: () => {
        const now = statSync('/dev/null');
        if (!now.isCharacterDevice() || now.rdev !== devNull.rdev) throw new Error('/dev/null is no longer the device it was: the download replaced it');
      },
    });
    ratio(toNull, single, 'raw single stream');
    if (wanted('rclone')) await rcloneScenarios({emu, work, source, size, cfg, scenario, check, purge, ceilings: {upload: scenarios.find((s) => s.chart?.who === 'ceiling' && s.chart.partMB === cfg.downloadPart && s.chart.concurrency === cfg.downloadConcurrency), single, parallel}, ratio, log, notes});
    // the issue's download targets, in one place for the closing note
    const pct = (x) => (x === undefined ? '–' : `${(x * 100).toFixed(0)}%`);
    const rss = (x) => `${x.rssMiB.median?.toFixed(0)} MiB`;
    notes.push(`download to a file (verified): ${pct(toFile.ratio)} of the raw parallel ceiling (target 85%); peak RSS ${rss(toFile)} (target < 150); ${toFile.calls} calls`);
    notes.push(`download to stdout (verified): ${pct(toStdout.ratio)} of the raw single-stream ceiling (target 85%), ${pct(toStdout.designRatio)} of the raw stdout ceiling; peak RSS ${rss(toStdout)} (target < 150); ${toStdout.calls} calls`);
    const rc = (what) => scenarios.find((x) => x.name.startsWith('rclone') && x.name.endsWith(what));
    for (const [ours, theirs] of [[toStdout, rc('cat to stdout')], [toFile, rc('multi-thread streams)')], [toFile, rc('then sync FILE')]]) {
      if (theirs?.mibps) notes.push(`${ours.name}: ${(ours.mibps / theirs.mibps).toFixed(2)}× the speed of ${theirs.name} (target ≥ 1), peak RSS ${rss(ours)} against ${rss(theirs)}`);
    }
    await purge('dl/');
  }

  // ---- listing ----
  if (wanted('list')) {
    await ask('seedBackups', {prefix: 'many/', count: cfg.listing});
    const s = await scenario(`b2 list --json, ${cfg.listing} backups (${2 * cfg.listing} names)`, {
      bytes: 0,
      run: async () => {
        const r = check(await b2(['list', '--json', '--profile', 'many']), 'b2 list');
        const n = JSON.parse(r.stdout).length;
        if (n !== cfg.listing) throw new Error(`b2 list showed ${n} backups, expected ${cfg.listing}`);
        return r;
      },
    });
    s.listCalls = s.callNames.b2_list_file_names ?? 0;
    s.downloads = (s.callNames.b2_download_file_by_name ?? 0) + (s.callNames.b2_download_file_by_id ?? 0);
    notes.push(`listing ${cfg.listing} backups: ${s.listCalls} b2_list_file_names call(s), ${s.downloads} downloads, median ${s.seconds.median.toFixed(2)} s`);
  }

  // ---- cold start ----
  if (wanted('cold')) {
    await ask('seedBackups', {prefix: 'few/', count: 10, first: 50_000});
    const host = await installHost();
    const cold = {runs: cfg.coldRuns, bytes: 0};
    await scenario('cold start: run.js --help', {...cold, run: async () => check(await measure([...cli, '--help'], {env}), '--help')});
    await scenario('cold start: run.js b2 --help', {...cold, run: async () => check(await measure([...cli, 'b2', '--help'], {env}), 'b2 --help')});
    await scenario('cold start: b2 list (10 backups)', {...cold, run: async () => check(await b2(['list', '--profile', 'few']), 'b2 list')});
    await scenario('cold start: host CLI `targets` (runs the backup:targets hook)', {...cold, run: async () => check(await measure([process.execPath, join(host, 'bin', 'run.js'), 'targets'], {env, cwd: host}), 'host targets')});
    const hook = await scenario('hook alone: backup:targets in a fresh host process', {
      ...cold,
      run: async () => {
        const r = check(await measure([process.execPath, join(here, 'lib', 'hook-timer.mjs'), host], {env, cwd: host}), 'hook timer');
        return {...r, seconds: JSON.parse(r.stdout).hookMs / 1000};
      },
    });
    notes.push(`backup:targets hook alone (fresh process, oclif config loaded first): median ${(hook.seconds.median * 1000).toFixed(0)} ms`);
    await fixedCost(cold);
  }

  const results = {mode: quick ? 'quick' : 'full', date: new Date().toISOString(), node: process.version, cpus: cpus().length, sizeMiB: cfg.sizeMiB, runs: cfg.runs, scenarios, notes};
  await mkdir(outDir, {recursive: true});
  await writeReport(outDir, results);
  log(`bench: wrote results.json, results.md and chart.svg to ${outDir}`);
} finally {
  emuChild.disconnect();
  await once(emuChild, 'exit').catch(() => undefined);
  await rm(work, {recursive: true, force: true});
}

/**
 * The fixed cost of a command, phase by phase: a 1 MB backup downloaded to /dev/null,
 * with DEBUG=backup-b2:timing (src/timing.ts) printing the wall and CPU milliseconds
 * since the process started at each phase. Medians go into the notes.
 */
async function fixedCost(cold) {
  const small = join(work, 'fixed-1mb.tar');
  await writeFile(small, randomBytes(1_000_000));
  const {id} = JSON.parse(check(await b2(['upload', small, '--name', 'fixed cost', '--profile', 'fixed', '--json']), 'b2 upload (1 MB)').stdout);
  const phases = new Map();
  await scenario('cold start: b2 download of a 1 MB backup to /dev/null', {
    ...cold,
    run: async () => {
      const r = check(await measure([...cli, 'b2', 'download', id, '-o', '/dev/null', '--force', '--profile', 'fixed'], {env: {...env, DEBUG: 'backup-b2:timing'}}), 'b2 download (1 MB)');
      for (const [, phase, wall, cpu] of r.stderr.matchAll(/backup-b2:timing (.+?): ([\d.]+) ms since start, ([\d.]+) ms CPU/g)) {
        if (!phases.has(phase)) phases.set(phase, {wall: [], cpu: []});
        phases.get(phase).wall.push(Number(wall));
        phases.get(phase).cpu.push(Number(cpu));
      }
      return r;
    },
  });
  const at = [...phases].map(([phase, t]) => `${phase} ${summary(t.wall).median.toFixed(0)} (${summary(t.cpu).median.toFixed(0)} CPU)`);
  notes.push(`fixed cost of b2 download (1 MB to /dev/null), median ms since the process started (CPU ms): ${at.join(', ')}`);
}

/** The fixture host CLI with this plugin linked into its node_modules, as a user installs it. */
async function installHost() {
  const dir = join(work, 'host');
  await cp(join(repo, 'test', 'fixtures', 'host-cli'), dir, {recursive: true, filter: (src) => !src.includes('node_modules')});
  await mkdir(join(dir, 'node_modules', '@oclif'), {recursive: true});
  await symlink(join(repo, 'node_modules', '@oclif', 'core'), join(dir, 'node_modules', '@oclif', 'core'), 'dir');
  await symlink(repo, join(dir, 'node_modules', 'backup-plugin-b2'), 'dir');
  return dir;
}
