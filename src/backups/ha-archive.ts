import {open} from 'node:fs/promises';
import {pipeline} from 'node:stream';
import type {BodySource} from '../body.js';
import {StreamPeek} from '../stream-peek.js';
import {StreamTap} from '../stream-tap.js';
import {BackupError} from '../errors.js';
import {TAR_BLOCK, TarFormatError, findTarMember, tarEntries, tarWalk, type ReadAt, type TarEntry, type TarEnding, type TarLimits} from '../tar-reader.js';
import {comparedSizes} from './display.js';
import {parseHaBackupJson, type HaBackupDescription} from './ha-backup-json.js';
import {visible} from './validate.js';

/** A backup.json is a few KiB; a larger one is treated as malformed rather than read. */
export const MAX_BACKUP_JSON_BYTES = 1024 * 1024;
/** The member names HA's own tars use (read_backup asks for "./backup.json"). */
const BACKUP_JSON = ['./backup.json', 'backup.json'] as const;
const LIMITS: Required<TarLimits> = {maxMetaBytes: 64 * 1024, maxEntries: 1000};
/** A stream is followed member by member whatever their number: each costs a header of the stream's own bytes. */
const FOLLOW_LIMITS: TarLimits = {...LIMITS, maxEntries: Number.POSITIVE_INFINITY};
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
 * warning (`warn`), and the archive uploads as a plain one. A stream that is a tar (HA's
 * or not) is followed to its end-of-archive blocks as it streams by: one cut short fails
 * the stream handed back (`checksum_mismatch`) at its end instead of ending it.
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
      if (first === undefined) return {src: {...src, stream: peek.release()}}; // not a tar: nothing to follow
      const jsonFirst = isBackupJson(first);
      const backup = jsonFirst ? await describe(peek.readAt, 'stdin', warn, true) : undefined;
      // any tar is followed to its end (a plain `tar -c` is cut by a failing producer as an HA
      // tar is): one that ended early fails the stream, so the upload stores nothing
      const tap = new StreamTap(async () => {
        const {ending} = await followed;
        if (ending && !ending.complete) throw truncatedTar(ending);
      });
      const stream = pipeline(peek.release(), tap, () => {}); // a failure of either end destroys both
      const followed = follow(tap, jsonFirst ? undefined : warn).finally(() => tap.readerDone());
      return {src: {...src, stream}, backup, later: jsonFirst ? undefined : followed.then((f) => f.backup)};
    }
  }
}

/**
 * Reads the headers of a tar as it streams through `tap`, to its end: how it ended (unknown
 * for a tar found damaged on the way: it uploads as before) and, when `warn` is given, what
 * its backup.json says. Never rejects.
 */
async function follow(tap: StreamTap, warn?: (msg: string) => void): Promise<{ending?: TarEnding; backup?: HaBackupDescription}> {
  const walk = tarWalk(tap.readAt, FOLLOW_LIMITS, () => tap.bytesSeen);
  let backup: HaBackupDescription | undefined;
  let looked = false;
  try {
    for (let step = await walk.next(); ; step = await walk.next()) {
      if (step.done) return {ending: step.value, backup};
      if (warn && !looked && isBackupJson(step.value)) {
        looked = true;
        backup = await describeMember(tap.readAt, step.value, 'stdin', warn);
      }
    }
  } catch {
    return {backup}; // not a tar after all (a damaged header), or the stream failed: nothing to say
  }
}

/** The error that fails an upload of a tar from stdin that was cut short (exit 5: the stream is not what it claims to be). */
function truncatedTar(ending: Exclude<TarEnding, {complete: true}>): BackupError {
  let where: string;
  if (ending.inside === 'data') {
    const [present, size] = comparedSizes(ending.present, ending.size);
    where = ` inside member ${visible(ending.member)} (${present} of ${size})`;
  } else {
    const after = ending.after === undefined ? '' : ` after member ${visible(ending.after)}`;
    where = ending.inside === 'header' ? ` inside a member's header at byte ${ending.at}${after}` : `${after} without its end-of-archive blocks`;
  }
  return new BackupError('checksum_mismatch', `the tar from stdin ended${where}: the program writing it probably failed; nothing was stored. Check that program (did it fail? "set -o pipefail" shows it) and run the backup again`);
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
  return entry && describeMember(read, entry, where, warn);
}

function isBackupJson(entry: {name: string; type: string}): boolean {
  return entry.type === '0' && (BACKUP_JSON as readonly string[]).includes(entry.name);
}

/** What the backup.json member `entry` says, or undefined (with one warning) when it cannot be used. */
async function describeMember(read: ReadAt, entry: TarEntry, where: string, warn: (msg: string) => void): Promise<HaBackupDescription | undefined> {
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
