import {fstatSync, type Stats} from 'node:fs';
import {link, lstat, open, readlink, realpath, rename, rm, stat, type FileHandle} from 'node:fs/promises';
import {basename, dirname, join, resolve, sep} from 'node:path';
import type {Readable} from 'node:stream';
import {removeOnExit, removeStaleTempFiles, syncDir, tempNameExtra, tempPathBeside} from '../atomic-file.js';
import {flushBehind, writeAll, writeInBatches} from '../batched-writes.js';
import {BackupError} from '../errors.js';
import {unwritable} from '../io-errors.js';
import {quoteValue} from '../redact.js';
import {ARCHIVE_SUFFIX} from './layout.js';
import type {BackupInfo} from './types.js';

/** The longest file name, in bytes, of ext4, XFS, btrfs, ZFS and APFS (a smaller limit still gets nameTooLong's line). */
const NAME_MAX = 255;
/** The date Home Assistant's suggested_filename ends with: `_2026-04-08_04.57_43001930`. */
const DATE_TAIL = /_\d{4}-\d{2}-\d{2}_\d{2}\.\d{2}_\d{8}$/;

/**
 * The file a download writes when no path is given: the archive's name in the bucket, in
 * the current directory. A name that would not fit in a file name with its temp file's
 * extra bytes (a backup name near its 255-byte limit, plus the date) keeps its start,
 * then the backup id (unique) and the date: `Nightly_very_lo_0908b28d7945_2026-12-01_17.48_48753000.tar`.
 */
export function defaultDownloadName(info: Pick<BackupInfo, 'id' | 'archiveKey'>): string {
  const whole = basename(info.archiveKey);
  const room = NAME_MAX - tempNameExtra('partial');
  if (Buffer.byteLength(whole) <= room) return whole;
  const base = whole.endsWith(ARCHIVE_SUFFIX) ? whole.slice(0, -ARCHIVE_SUFFIX.length) : whole;
  const tail = `_${info.id}${DATE_TAIL.exec(base)?.[0] ?? ''}${ARCHIVE_SUFFIX}`;
  return cutToBytes(base, room - Buffer.byteLength(tail)) + tail;
}

/** The longest start of `text` that fits in `bytes` bytes of UTF-8, never splitting a character. */
function cutToBytes(text: string, bytes: number): string {
  let out = '';
  for (const ch of text) {
    if (Buffer.byteLength(out + ch) > bytes) break;
    out += ch;
  }
  return out;
}

/** ENAMETOOLONG: the name, or its temp file's (written first, beside it), is longer than the file system takes. */
function nameTooLong(path: string, err: unknown): BackupError {
  const extra = tempNameExtra('partial');
  return new BackupError('bad_input', `cannot write ${quoteValue(basename(path), 60)}: the name is too long for a file name here (the download is written first to a temp file whose name is ${extra} bytes longer); give a shorter one with -o FILE`, {cause: err});
}

/**
 * Where a download goes, decided before any transfer starts (so that a refusal costs
 * nothing): a regular file is written atomically (temp file beside it, fsync, rename);
 * a character device, FIFO or socket (/dev/null, /dev/stdout, a named pipe) is written
 * through as it is, never replaced. A symlink to a regular file writes the file it points at.
 */
export type Destination = {kind: 'file'; path: string} | {kind: 'special'; path: string} | {kind: 'stdout'; path: string};

export async function prepareDestination(path: string, force: boolean): Promise<Destination> {
  if (path === '' || path.endsWith(sep) || path.endsWith('/')) {
    const e = join(path || '.', 'restore.tar');
    // a path that names a missing directory: say so first, not only once the file path it suggests is given
    if (path !== '' && !(await stat(path).catch(noEntry(path)))) throw new BackupError('bad_input', `the directory ${path} does not exist; create it first, then give a file path in it, e.g. ${e}`);
    throw new BackupError('bad_input', `${path || 'the output path'} names a directory; give a file path, e.g. ${e}`);
  }
  const link = await lstat(path).catch(noEntry(path));
  let target = path;
  let existing = link;
  if (link?.isSymbolicLink()) {
    existing = await stat(path).catch(noEntry(path));
    if (!existing) {
      const to = await readlink(path).catch(() => '?');
      throw new BackupError('bad_input', `${path} is a symbolic link to ${to}, which does not exist; give another path or fix the link`);
    }
  }
  if (existing?.isDirectory()) throw new BackupError('bad_input', `${path} is a directory; give a file path, e.g. ${join(path, 'restore.tar')}`);
  // /dev/stdout of `> FILE` or `>> FILE` is a link to that file: stdout all the same, neither "already exists" nor replaced
  if (existing && link?.isSymbolicLink() && isOwnStdout(existing)) return {kind: 'stdout', path};
  if (existing && isWriteThrough(existing)) return {kind: isOwnStdout(existing) ? 'stdout' : 'special', path};
  if (existing && !existing.isFile()) throw new BackupError('bad_input', `${path} is not a regular file (a block device or another special file); give a file path`);
  if (existing && !force) throw new BackupError('already_exists', `${path} already exists; choose another path or pass --force to overwrite it`);
  if (link?.isSymbolicLink()) target = await realpath(path);
  const parent = await stat(dirname(resolve(target))).catch(() => undefined);
  if (!parent?.isDirectory()) throw new BackupError('bad_input', `the directory of ${path} does not exist; create it first`);
  return {kind: 'file', path: target};
}

/** Devices and pipes take the bytes as they come; replacing them would break the system or the caller's pipe. */
function isWriteThrough(s: Stats): boolean {
  return s.isCharacterDevice() || s.isFIFO() || s.isSocket();
}

/** /dev/stdout, /dev/fd/1 and the like: a socket behind them cannot be opened again, so the caller writes to stdout itself. */
function isOwnStdout(s: Stats): boolean {
  try {
    const out = fstatSync(1);
    return out.dev === s.dev && out.ino === s.ino;
  } catch {
    return false;
  }
}

function noEntry(path: string): (err: NodeJS.ErrnoException) => undefined {
  return (err) => {
    if (err.code === 'ENOENT') return undefined;
    if (err.code === 'ENOTDIR') throw new BackupError('bad_input', `cannot use ${path}: a part of the path is not a directory`, {cause: err});
    if (err.code === 'ENAMETOOLONG') throw nameTooLong(path, err);
    throw new BackupError('bad_input', `cannot use ${path}: ${err.code ?? String(err)}`, {cause: err});
  };
}

/**
 * Fills `dest` so that a regular file only ever holds a complete, verified file: `fill`
 * writes into a hidden temp file beside it (at any offsets; writeAll's writes are flushed
 * behind it as it goes), which is fsynced and then
 * moved into place, and the directory fsynced (the new name survives a power loss);
 * any failure (a checksum mismatch included) removes it, and so does process.exit (a
 * second Ctrl-C). What a killed download to the same path left (its temp file names its
 * pid) is removed first. Without `force` the final step is link(), which refuses to
 * replace a file that appeared meanwhile. A special file is opened for writing and
 * filled as it is.
 */
export async function writeAtomically(dest: Destination, force: boolean, fill: (fh: FileHandle) => Promise<void>): Promise<void> {
  if (dest.kind !== 'file') {
    const fh = await open(dest.path, 'w').catch(throwUnwritable(dest.path));
    try {
      await fill(fh);
    } catch (err) {
      throw unwritable(err, `write ${dest.path}`, 'failure'); // a device or pipe may have taken some bytes: not "nothing changed"
    } finally {
      await fh.close();
    }
    return;
  }
  const path = dest.path;
  await removeStaleTempFiles(path, 'partial');
  const tmp = tempPathBeside(path, 'partial');
  const forget = removeOnExit(tmp);
  try {
    const fh = await open(tmp, 'wx+', 0o600).catch(throwUnwritable(path)); // readable too: a parallel download reads back what it wrote ahead, to hash it in order
    const flushing = flushBehind(fh); // the disk writes run beside the transfer, not all in the final fsync
    try {
      await fill(fh);
      await flushing.settle();
      await fh.sync();
    } finally {
      await flushing.settle().catch(() => undefined); // never close under a datasync in flight
      await fh.close();
    }
    if (force) {
      await rename(tmp, path);
    } else {
      await moveWithoutReplacing(tmp, path);
    }
    await syncDir(dirname(path));
  } catch (err) {
    // the failure is what the user must see; a temp file rm could not remove (its name too long to exist) is swept by a later run
    await rm(tmp, {force: true}).catch(() => undefined);
    throw unwritable(err, `write ${path}`); // a full disk midway: the temp file is gone, nothing changed
  } finally {
    forget();
  }
}

/** The open of a user-given output path failing (permission, read-only, …): bad input naming that path. */
function throwUnwritable(path: string): (err: unknown) => never {
  return (err) => {
    throw (err as NodeJS.ErrnoException)?.code === 'ENAMETOOLONG' ? nameTooLong(path, err) : unwritable(err, `write ${path}`);
  };
}

/** A stream into `dest` in large writes (not piped, so that the handle stays open for fsync). */
export async function writeStreamToFile(stream: Readable, dest: Destination, force: boolean): Promise<void> {
  try {
    await writeAtomically(dest, force, (fh) => writeInBatches(stream, (bufs) => writeAll(fh, bufs)));
  } catch (err) {
    stream.destroy();
    throw err;
  }
}

const NO_HARD_LINKS = new Set(['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS']);

async function moveWithoutReplacing(tmp: string, path: string): Promise<void> {
  try {
    await link(tmp, path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? '';
    if (code === 'EEXIST') throw appeared(path);
    if (!NO_HARD_LINKS.has(code)) throw err;
    // Filesystems without hard links (FAT, some FUSE mounts): check, then rename.
    if (await stat(path).then(() => true, () => false)) throw appeared(path);
    await rename(tmp, path);
    return;
  }
  await rm(tmp, {force: true});
}

function appeared(path: string): BackupError {
  return new BackupError('already_exists', `${path} appeared while downloading; nothing was overwritten (pass --force to replace it)`);
}
