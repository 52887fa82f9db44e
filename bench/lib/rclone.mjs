// Optional scenarios: rclone (when on PATH) against the same emulator, same part size and
// concurrency: 1 GiB upload, `rclone cat` to stdout, `rclone copyto` to a file
// (multi-thread streams), alone and followed by an fsync of the file (what ours does before
// it answers). rclone 1.60 uploads a large file's chunks --transfers at a time.
import {execFileSync} from 'node:child_process';
import {rm} from 'node:fs/promises';
import {join} from 'node:path';
import {measure} from './measure.mjs';

function rcloneVersion() {
  try {
    return execFileSync('rclone', ['version'], {encoding: 'utf8'}).split('\n')[0].trim();
  } catch {
    return undefined;
  }
}

export async function rcloneScenarios({emu, work, source, size, cfg, scenario, check, purge, ceilings, ratio, log, notes}) {
  const version = rcloneVersion();
  if (!version) {
    log('rclone: not on PATH, its scenarios are skipped');
    notes.push('rclone not on PATH: no comparison');
    return;
  }
  const env = {
    ...process.env,
    RCLONE_CONFIG: join(work, 'rclone.conf'), // none: the remote comes from the environment
    RCLONE_CONFIG_BENCH_TYPE: 'b2',
    RCLONE_CONFIG_BENCH_ACCOUNT: emu.keyId,
    RCLONE_CONFIG_BENCH_KEY: emu.applicationKey,
    RCLONE_CONFIG_BENCH_ENDPOINT: emu.url,
  };
  const part = `${cfg.downloadPart}M`;
  const c = String(cfg.downloadConcurrency);
  const common = ['--b2-chunk-size', part, '--transfers', c, '--multi-thread-streams', c, '--multi-thread-cutoff', cfg.downloadPart < 50 ? '1M' : '250M', '-q'];
  const rclone = (args, o = {}) => measure(['rclone', ...args, ...common], {env, ...o});
  const remote = (name) => `bench:${emu.bucket}/${name}`;
  const out = join(work, 'rclone-restore.bin');
  const label = (what) => `rclone ${version.replace(/^rclone\s+/, '')}: ${what}`;

  const up = await scenario(label(`upload from a file, ${cfg.downloadPart} MB chunks × ${c}`), {
    bytes: size,
    run: async () => check(await rclone(['copyto', source, remote('rc/source.bin'), '--b2-upload-cutoff', `${Math.min(200, cfg.downloadPart)}M`]), 'rclone copyto (upload)'),
    after: () => purge('rc/'),
  });
  ratio(up, ceilings.upload, `raw ${cfg.downloadPart} MB × ${c}`);
  // its downloads read its own upload of the same bytes
  check(await rclone(['copyto', source, remote('rc/source.bin'), '--b2-upload-cutoff', `${Math.min(200, cfg.downloadPart)}M`]), 'rclone upload (download source)');
  const cat = await scenario(label('cat to stdout'), {
    bytes: size,
    run: async () => {
      const r = check(await rclone(['cat', remote('rc/source.bin')], {stdout: 'count'}), 'rclone cat');
      if (r.stdoutBytes !== size) throw new Error(`rclone cat wrote ${r.stdoutBytes} bytes`);
      return r;
    },
  });
  ratio(cat, ceilings.single, 'raw single stream');
  const file = await scenario(label(`copyto a file (${c} multi-thread streams)`), {
    bytes: size,
    run: async () => check(await rclone(['copyto', remote('rc/source.bin'), out]), 'rclone copyto (download)'),
    after: () => rm(out, {force: true}),
  });
  ratio(file, ceilings.parallel, 'raw parallel');
  // ours answers only once the file is on disk (fsync, then rename): rclone does not sync, so
  // the same copy followed by coreutils' `sync FILE` (fsync of that file), timed together
  const synced = await scenario(label(`copyto a file (${c} multi-thread streams), then sync FILE`), {
    bytes: size,
    run: async () => {
      const r = check(await rclone(['copyto', remote('rc/source.bin'), out]), 'rclone copyto (download)');
      const s = check(await measure(['sync', out], {env}), 'sync FILE');
      return {...r, seconds: r.seconds + s.seconds, cpuSeconds: r.cpuSeconds === null || s.cpuSeconds === null ? null : r.cpuSeconds + s.cpuSeconds};
    },
    after: () => rm(out, {force: true}),
  });
  ratio(synced, ceilings.parallel, 'raw parallel');
  await purge('rc/');
}
