import {createHash, randomBytes} from 'node:crypto';
import type {RunningEmulator, SeedFile} from '../../src/emulator/index.js';
import {archiveInfoMetadata} from '../../src/backups/archive-info.js';
import {archiveKeyOf, isoDateWithOffset, metadataKeyOf, safeBaseName} from '../../src/backups/layout.js';
import {buildMetadataFile} from '../../src/backups/metadata-file.js';
import {backupFiles} from '../../bench/lib/seed-backups.mjs';

/**
 * The files of `count` of our backups (each archive, then its metadata file; see
 * bench/lib/seed-backups.mjs), for a test that writes some of them later or never.
 */
export function backupFilesToSeed(prefix: string, count: number, first = 0): SeedFile[] {
  const lib = {archiveInfoMetadata, archiveKeyOf, isoDateWithOffset, metadataKeyOf, safeBaseName, buildMetadataFile};
  return backupFiles(lib, prefix, count, first);
}

/** `count` of our backups written straight into the emulator. */
export async function seedBackups(emu: RunningEmulator, prefix: string, count: number, first = 0): Promise<void> {
  await emu.putFiles(emu.bucket, backupFilesToSeed(prefix, count, first));
}

/**
 * One backup whose archive is a large file (parts of `partSize`, large_file_sha1 in its
 * info, as `b2 upload` stores an archive above its cutoff; without `partSize`, one file,
 * as it stores one at or below the cutoff) written straight into the emulator: a large
 * archive without sending its bytes over HTTP.
 */
export async function seedLargeBackup(emu: RunningEmulator, prefix: string, o: {name: string; size: number; partSize?: number}): Promise<{id: string; sha1: string}> {
  const data = randomBytes(o.size);
  const sha1 = createHash('sha1').update(data).digest('hex');
  const id = randomBytes(4).toString('hex');
  const date = isoDateWithOffset(new Date());
  const base = safeBaseName(o.name, date);
  const meta = buildMetadataFile({id, name: o.name, date, size: o.size, sha1, extra: {}, createdBy: 'backup-plugin-b2'});
  await emu.putFiles(emu.bucket, [
    {fileName: prefix + archiveKeyOf(base), data, contentType: 'application/x-tar', fileInfo: {...archiveInfoMetadata({id, name: o.name, date, sha1}), ...(o.partSize ? {large_file_sha1: sha1} : {})}, partSize: o.partSize},
    {fileName: prefix + metadataKeyOf(base), data: Buffer.from(JSON.stringify(meta)), contentType: 'application/json', fileInfo: {metadata_only: 'true'}},
  ]);
  return {id, sha1};
}
