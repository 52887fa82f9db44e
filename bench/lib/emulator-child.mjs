#!/usr/bin/env node
// The benchmark's emulator, in its own process (memory storage) so that its CPU and memory
// are not the measured process's. Answers IPC requests {id, op, args} from bench/run.mjs:
// stats, resetStats, seedBackups (a catalog of our backups stored directly, without HTTP).
import {createHash} from 'node:crypto';
import {dirname, join} from 'node:path';
import {fileURLToPath} from 'node:url';

const dist = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'dist', 'src');
const {startEmulator} = await import(join(dist, 'emulator', 'index.js'));
const {archiveInfoMetadata} = await import(join(dist, 'backups', 'archive-info.js'));
const {buildMetadataFile} = await import(join(dist, 'backups', 'metadata-file.js'));
const {archiveKeyOf, metadataKeyOf, safeBaseName, isoDateWithOffset} = await import(join(dist, 'backups', 'layout.js'));

const emu = await startEmulator({port: 0, recommendedPartSize: 100_000_000});

/** `count` backups as `b2 upload` lays them out (archive describing itself + metadata file), ids 8 hex digits, unique. */
async function seedBackups({prefix, count, first = 0}) {
  const files = [];
  for (let i = first; i < first + count; i++) {
    const id = (0x10000000 + i).toString(16);
    const name = `nightly ${i}`;
    const date = isoDateWithOffset(new Date(Date.UTC(2026, 0, 1) + i * 60_000));
    const base = safeBaseName(name, date);
    const archive = Buffer.from(`archive ${i}`);
    const sha1 = createHash('sha1').update(archive).digest('hex');
    files.push({fileName: prefix + archiveKeyOf(base), data: archive, contentType: 'application/x-tar', fileInfo: archiveInfoMetadata({id, name, date, sha1})});
    const meta = buildMetadataFile({id, name, date, size: archive.length, sha1, extra: {}, createdBy: 'backup-plugin-b2'});
    files.push({fileName: prefix + metadataKeyOf(base), data: Buffer.from(JSON.stringify(meta)), contentType: 'application/json', fileInfo: {metadata_only: 'true'}});
  }
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
