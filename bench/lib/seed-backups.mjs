// `count` backups laid out exactly as `b2 upload` stores them (an archive that describes
// itself in its file info, plus its metadata file), as files for the emulator's putFiles():
// a cheap setup for listing (bench and tests), which then read them over HTTP like any
// other. Ids are unique 8-hex-digit numbers from `first`; dates a minute apart. `lib` is
// the catalog's layout functions (from src/ in tests, from dist/ in the bench).
import {createHash} from 'node:crypto';

export function backupFiles(lib, prefix, count, first = 0) {
  const files = [];
  for (let i = first; i < first + count; i++) {
    const id = (0x10000000 + i).toString(16);
    const name = `nightly ${i}`;
    const date = lib.isoDateWithOffset(new Date(Date.UTC(2026, 0, 1) + i * 60_000));
    const base = lib.safeBaseName(name, date);
    const archive = Buffer.from(`archive ${i}`);
    const sha1 = createHash('sha1').update(archive).digest('hex');
    files.push({fileName: prefix + lib.archiveKeyOf(base), data: archive, contentType: 'application/x-tar', fileInfo: lib.archiveInfoMetadata({id, name, date, sha1})});
    const meta = lib.buildMetadataFile({id, name, date, size: archive.length, sha1, extra: {}, createdBy: 'backup-plugin-b2'});
    files.push({fileName: prefix + lib.metadataKeyOf(base), data: Buffer.from(JSON.stringify(meta)), contentType: 'application/json', fileInfo: {metadata_only: 'true'}});
  }
  return files;
}
