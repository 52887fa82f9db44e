import type {RunningEmulator} from '../../src/emulator/index.js';
import {archiveInfoMetadata} from '../../src/backups/archive-info.js';
import {archiveKeyOf, isoDateWithOffset, metadataKeyOf, safeBaseName} from '../../src/backups/layout.js';
import {buildMetadataFile} from '../../src/backups/metadata-file.js';
import {backupFiles} from '../../bench/lib/seed-backups.mjs';

/** `count` of our backups written straight into the emulator (see bench/lib/seed-backups.mjs). */
export async function seedBackups(emu: RunningEmulator, prefix: string, count: number, first = 0): Promise<void> {
  const lib = {archiveInfoMetadata, archiveKeyOf, isoDateWithOffset, metadataKeyOf, safeBaseName, buildMetadataFile};
  await emu.putFiles(emu.bucket, backupFiles(lib, prefix, count, first));
}
