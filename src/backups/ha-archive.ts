import {open} from 'node:fs/promises';
import {pipeline} from 'node:stream';
import type {BodySource} from '../body.js';
import {StreamPeek} from '../stream-peek.js';
import {StreamTap} from '../stream-tap.js';
import {TAR_BLOCK, TarFormatError, findTarMember, tarEntries, type ReadAt, type TarLimits} from '../tar-reader.js';
import {parseHaBackupJson, type HaBackupDescription} from './ha-backup-json.js';

/** A backup.json is a few KiB; a larger one is treated as malformed rather than read. */
export const MAX_BACKUP_JSON_BYTES = 1024 * 1024;
/** The member names HA's own tars use (read_backup asks for "./backup.json"). */
const BACKUP_JSON = ['./backup.json', 'backup.json'] as const;
const LIMITS: Required<TarLimits> = {maxMetaBytes: 64 * 1024, maxEntries: 1000};
/** What a stream's first member can take: two extended headers, three header blocks, backup.json. */
const MAX_PEEK_BYTES = 2 * LIMITS.maxMetaBytes + 3 * TAR_BLOCK + MAX_BACKUP_JSON_BYTES + TAR_BLOCK;

export interface HaArchive {
  /** The source to upload: for a stream, one that starts with the bytes looked at. */
  src: BodySource;
  /** The archive's own description, when it is a Home Assistant backup with a usable backup.json. */
  backup?: HaBackupDescription;
  /**
   * A stream that is a tar whose first member is not backup.json: its backup.json (if any)
   * is read as the upload streams the tar by, and this says what it held once the stream
   * has been read through (never rejects).
   */
  later?: Promise<HaBackupDescription | undefined>;
}

/**
 * Whether the archive is a Home Assistant backup tar (an uncompressed tar with backup.json
 * at its root) and what its backup.json says. Reads only headers and that member: a file
 * is searched member by member, seeking past data; a stream is looked at up to its first
 * member (HA writes backup.json first), every byte looked at staying in the stream, and
 * when that member is another one, the rest of its headers are read as the upload
 * streams it by (`later`: nothing is buffered beyond a header or backup.json). Anything
 * that is not such a tar is simply not one; a backup.json that cannot be used gives one
 * warning (`warn`), and the archive uploads as a plain one.
 */
export async function readHaArchive(src: BodySource, warn: (msg: string) => void): Promise<HaArchive> {
  switch (src.kind) {
    case 'buffer':
      return {src, backup: await describe((pos, len) => Promise.resolve(src.buffer.subarray(pos, pos + len)), 'the archive', warn)};
    case 'file': {
      let fh;
      try {
        fh = await open(src.path, 'r');
      } catch {
        return {src}; // the upload's own read reports why the file cannot be read
      }
      try {
        const read: ReadAt = async (pos, len) => {
          const buf = Buffer.alloc(len);
          const {bytesRead} = await fh.read(buf, 0, len, pos);
          return buf.subarray(0, bytesRead);
        };
        return {src, backup: await describe(read, src.path, warn).catch(() => undefined)};
      } finally {
        await fh.close();
      }
    }
    case 'stream': {
      const peek = new StreamPeek(src.stream, MAX_PEEK_BYTES);
      const first = await firstMember(peek.readAt);
      if (first === undefined) return {src: {...src, stream: peek.release()}}; // not a tar
      if (first.type === '0' && (BACKUP_JSON as readonly string[]).includes(first.name)) {
        return {src: {...src, stream: peek.release()}, backup: await describe(peek.readAt, 'stdin', warn, true)};
      }
      const tap = new StreamTap();
      const stream = pipeline(peek.release(), tap, () => {}); // a failure of either end destroys both
      const later = describe(tap.readAt, 'stdin', warn).catch(() => undefined).finally(() => tap.readerDone());
      return {src: {...src, stream}, later};
    }
  }
}

/** The first member of a tar, or undefined when the input is not a tar. */
async function firstMember(read: ReadAt): Promise<{name: string; type: string} | undefined> {
  try {
    for await (const entry of tarEntries(read, LIMITS)) return entry;
  } catch (err) {
    if (!(err instanceof TarFormatError)) throw err;
  }
  return undefined;
}

async function describe(read: ReadAt, where: string, warn: (msg: string) => void, firstOnly = false): Promise<HaBackupDescription | undefined> {
  let entry;
  try {
    entry = await findTarMember(read, BACKUP_JSON, {...LIMITS, firstOnly});
  } catch (err) {
    if (err instanceof TarFormatError) return undefined; // not a tar (or a damaged one): a plain archive
    throw err;
  }
  if (!entry) return undefined;
  const malformed = (problem: string) => {
    warn(`${where}: its ${entry.name} is not a usable Home Assistant backup description (${problem}); uploading it as a plain archive`);
    return undefined;
  };
  if (entry.size > MAX_BACKUP_JSON_BYTES) return malformed(`${entry.size} bytes, more than the ${MAX_BACKUP_JSON_BYTES} read`);
  const data = await read(entry.dataOffset, entry.size);
  if (data.length < entry.size) return malformed('the archive ends inside it');
  let text: string;
  try {
    text = new TextDecoder('utf-8', {fatal: true}).decode(data);
  } catch {
    return malformed('not UTF-8');
  }
  const parsed = parseHaBackupJson(text);
  return parsed.ok ? parsed.backup : malformed(parsed.problem);
}
