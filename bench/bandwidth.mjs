#!/usr/bin/env node
// Bandwidth limits, measured (issue 11; a benchmark, not a test): how long a 20 MB
// upload takes at --limit-upload 4MB/s (expected 5 s ± 10%), as one request and as 4
// parallel parts sharing the limit, plus the same download at --limit-download 4MB/s,
// and the whole CLI command (`b2 upload --limit-upload 4MB/s`) minus the fixed cost of
// the same command on a 1 KB file.
// Needs `npm run build` first (it runs dist/ and bin/run.js).
//   node bench/bandwidth.mjs [--mb 20] [--rate-mb 4]
import {execFile} from 'node:child_process';
import {randomBytes} from 'node:crypto';
import {mkdtemp, rm, writeFile} from 'node:fs/promises';
import {tmpdir} from 'node:os';
import {join, resolve} from 'node:path';
import {performance} from 'node:perf_hooks';
import {promisify} from 'node:util';

const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const MB = 1_000_000;
const size = arg('mb', 20) * MB;
const rate = arg('rate-mb', 4) * MB;
const expected = size / rate;
const repo = resolve(new URL('..', import.meta.url).pathname);
const {startEmulator} = await import(join(repo, 'dist/src/emulator/index.js'));
const {B2Backend} = await import(join(repo, 'dist/src/b2/index.js'));

const emu = await startEmulator({port: 0});
const work = await mkdtemp(join(tmpdir(), 'b2-bandwidth-'));
const data = randomBytes(size);
const rows = [];
const report = (what, seconds, target = expected) => {
  const off = ((seconds - target) / target) * 100;
  rows.push({what, seconds: seconds.toFixed(2), 'MB/s': (size / MB / seconds).toFixed(2), 'vs expected': `${off >= 0 ? '+' : ''}${off.toFixed(1)}%`, 'within 10%': Math.abs(off) <= 10 ? 'yes' : 'NO'});
};
const timed = async (op) => {
  const start = performance.now();
  await op();
  return (performance.now() - start) / 1000;
};
const open = (opts) => B2Backend.open({keyId: emu.keyId, applicationKey: emu.applicationKey, bucket: emu.bucket, endpoint: emu.url, prefix: 'bench/', ...opts});

try {
  const single = await open({bandwidth: {upload: rate}});
  report(`provider: ${size / MB} MB as one upload at ${rate / MB} MB/s`, await timed(() => single.put('single.tar', data)));
  await single.close();

  const parts = await open({bandwidth: {upload: rate}, partSize: 5 * MB, uploadCutoff: 5 * MB, concurrency: 4});
  report(`provider: ${size / MB} MB as 5 MB parts, 4 in parallel, at ${rate / MB} MB/s shared`, await timed(() => parts.put('parts.tar', data)));
  await parts.close();

  const down = await open({bandwidth: {download: rate}});
  report(`provider: ${size / MB} MB download at ${rate / MB} MB/s`, await timed(async () => {
    const {stream} = await down.get('single.tar');
    for await (const _ of stream);
  }));
  await down.close();

  // the CLI as a user runs it: a profile on the emulator, one process per command
  const file = join(work, 'archive.tar');
  await writeFile(file, data);
  const config = join(work, 'profiles.yaml');
  await writeFile(config, `profiles:\n  bench:\n    keyId: ${emu.keyId}\n    applicationKey: env:BENCH_KEY\n    bucket: ${emu.bucket}\n    endpoint: ${emu.url}\n    prefix: cli/\n`, {mode: 0o600});
  const env = {...process.env, BENCH_KEY: emu.applicationKey, XDG_CONFIG_HOME: join(work, 'c'), XDG_DATA_HOME: join(work, 'd'), XDG_CACHE_HOME: join(work, 'x')};
  const tiny = join(work, 'tiny.tar');
  await writeFile(tiny, randomBytes(1000));
  const cli = (path, extra) => timed(() => promisify(execFile)(process.execPath, [join(repo, 'bin/run.js'), 'b2', 'upload', path, '--config', config, '--profile', 'bench', '--json', ...extra], {env}));
  const overhead = await cli(tiny, ['--name', 'tiny', '--limit-upload', `${rate / MB}MB/s`]);
  const limited = await cli(file, ['--name', 'limited', '--limit-upload', `${rate / MB}MB/s`]);
  rows.push({what: 'CLI: b2 upload of 1 KB (start-up, authorize, metadata file): the fixed cost', seconds: overhead.toFixed(2)});
  rows.push({what: `CLI: b2 upload ${size / MB} MB --limit-upload ${rate / MB}MB/s, whole command`, seconds: limited.toFixed(2)});
  report(`CLI: the same, minus the fixed cost`, limited - overhead);
  console.table(rows);
} finally {
  await emu.stop();
  await rm(work, {recursive: true, force: true});
}
