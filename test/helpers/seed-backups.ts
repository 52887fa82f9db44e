import {createHash} from 'node:crypto';
import type {RunningEmulator, SeedFile} from '../../src/emulator/index.js';
import {archiveInfoMetadata} from '../../src/backups/archive-info.js';
import {archiveKeyOf, isoDateWithOffset, metadataKeyOf, safeBaseName} from '../../src/backups/layout.js';
import {buildMetadataFile} from '../../src/backups/metadata-file.js';

/**
 * `count` backups laid out exactly as `b2 upload` stores them (an archive that describes
 * itself in its file info, plus its metadata file), written straight into the emulator:
 * a cheap setup for listing tests, which then read them over HTTP like any other.
 * Ids are unique 8-hex-digit numbers from `first`; dates a minute apart.
 */
export async function seedBackups(emu: RunningEmulator, prefix: string, count: number, first = 0): Promise<void> {
  const files: SeedFile[] = [];
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
}
