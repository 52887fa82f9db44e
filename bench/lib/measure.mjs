// Runs one measured child process: wall time (spawn to exit), peak RSS (GNU time's %M,
// the kernel's maxrss of that process alone), CPU time (user + system, %U + %S), exit code,
// and stdout (kept, or only counted).
import {spawn} from 'node:child_process';
import {existsSync} from 'node:fs';
import {readFile, rm} from 'node:fs/promises';
import {tmpdir} from 'node:os';
import {join} from 'node:path';

const GNU_TIME = '/usr/bin/time';
export const hasGnuTime = existsSync(GNU_TIME);
let seq = 0;

/**
 * `argv` runs under GNU time; with `pipeFrom`, the file is fed through a real pipe
 * (`cat FILE |`) so that the measured process reads a pipe of unknown size.
 * `stdout: 'count'` counts the bytes (a download to stdout), 'keep' returns them as text.
 */
export async function measure(argv, {env, cwd, pipeFrom, stdout = 'keep'} = {}) {
  const rssFile = join(tmpdir(), `bench-rss-${process.pid}-${seq++}`);
  const timed = hasGnuTime ? [GNU_TIME, '-f', '%M %U %S', '-o', rssFile, ...argv] : argv;
  const [cmd, ...args] = pipeFrom ? ['sh', '-c', `cat "$0" | exec "$@"`, pipeFrom, ...timed] : timed;
  const t0 = performance.now();
  const child = spawn(cmd, args, {env, cwd, stdio: ['ignore', 'pipe', 'pipe']});
  const out = [];
  let bytes = 0;
  let stderr = '';
  child.stdout.on('data', (d) => {
    bytes += d.length;
    if (stdout === 'keep') out.push(d);
  });
  child.stderr.on('data', (d) => (stderr += d));
  const code = await new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (c) => resolve(c));
  });
  const seconds = (performance.now() - t0) / 1000;
  let rssMiB = null;
  let cpuSeconds = null;
  if (hasGnuTime) {
    // the last line (GNU time puts "Command exited with non-zero status" before it)
    const text = await readFile(rssFile, 'utf8').catch(() => '');
    const m = /(\d+) ([\d.]+) ([\d.]+)\s*$/.exec(text.trim());
    if (m) {
      rssMiB = Number(m[1]) / 1024;
      cpuSeconds = Number(m[2]) + Number(m[3]);
    }
    await rm(rssFile, {force: true});
  }
  return {code, seconds, rssMiB, cpuSeconds, stdoutBytes: bytes, stdout: Buffer.concat(out).toString('utf8'), stderr};
}

/** Median and spread (min, max) of numbers. */
export function summary(values) {
  const v = values.filter((x) => typeof x === 'number' && Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return {median: null, min: null, max: null};
  const mid = Math.floor(v.length / 2);
  const median = v.length % 2 ? v[mid] : (v[mid - 1] + v[mid]) / 2;
  return {median, min: v[0], max: v[v.length - 1]};
}
