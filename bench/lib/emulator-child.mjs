#!/usr/bin/env node
// The benchmark's emulator, in its own process (memory storage) so that its CPU and memory
// are not the measured process's. Answers IPC requests {id, op, args} from bench/run.mjs:
// stats, resetStats, seedBackups (a catalog of our backups stored directly, without HTTP).
import {dirname, join} from 'node:path';
import {fileURLToPath} from 'node:url';
import {backupFiles} from './seed-backups.mjs';

// BENCH_EMULATOR_DIST: another build's dist/src for the emulator (e.g. measuring an older CLI)
const dist = process.env.BENCH_EMULATOR_DIST ?? join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'dist', 'src');
const {startEmulator} = await import(join(dist, 'emulator', 'index.js'));
const layout = {
  ...(await import(join(dist, 'backups', 'archive-info.js'))),
  ...(await import(join(dist, 'backups', 'metadata-file.js'))),
  ...(await import(join(dist, 'backups', 'layout.js'))),
};

const emu = await startEmulator({port: 0, recommendedPartSize: 100_000_000});

/** `count` of our backups, stored directly (see seed-backups.mjs). */
async function seedBackups({prefix, count, first = 0}) {
  const files = backupFiles(layout, prefix, count, first);
  await emu.putFiles(emu.bucket, files);
  return files.length;
}

const ops = {
  stats: () => emu.stats(),
  resetStats: () => emu.resetStats(),
  seedBackups,
};

process.on('message', async ({id, op, args}) => {
  try {
    process.send({id, result: await ops[op](args)});
  } catch (err) {
    process.send({id, error: String(err?.stack ?? err)});
  }
});
process.on('disconnect', async () => {
  await emu.stop();
  process.exit(0);
});
process.send({ready: {url: emu.url, keyId: emu.keyId, applicationKey: emu.applicationKey, bucket: emu.bucket, pid: process.pid}});
