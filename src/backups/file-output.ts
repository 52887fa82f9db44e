import {randomBytes} from 'node:crypto';
import {link, open, rename, rm, stat} from 'node:fs/promises';
import {basename, dirname, join} from 'node:path';
import type {Readable} from 'node:stream';
import {BackupError} from '../errors.js';

/** Refuses before any transfer starts, so that a refusal costs nothing. */
export async function assertWritableDestination(path: string, force: boolean): Promise<void> {
  const existing = await stat(path).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return undefined;
    throw new BackupError('bad_input', `cannot use ${path}: ${err.code ?? String(err)}`, {cause: err});
  });
  if (existing?.isDirectory()) throw new BackupError('bad_input', `${path} is a directory; give a file path`);
  if (existing && !force) throw new BackupError('already_exists', `${path} already exists; choose another path or pass --force to overwrite it`);
  const parent = await stat(dirname(path)).catch(() => undefined);
  if (!parent?.isDirectory()) throw new BackupError('bad_input', `the directory of ${path} does not exist; create it first`);
}

/**
 * Writes a stream to `path` so that the path only ever holds a complete, verified file:
 * the bytes go to a hidden temp file beside it, which is fsynced and then moved into
 * place; any failure (including a checksum mismatch raised by the stream) removes it.
 * Without `force` the final step is link(), which refuses to replace a file that
 * appeared meanwhile.
 */
export async function writeStreamToFile(stream: Readable, path: string, force: boolean): Promise<void> {
  const tmp = join(dirname(path), `.${basename(path)}.${randomBytes(4).toString('hex')}.partial`);
  try {
    const fh = await open(tmp, 'wx', 0o600);
    try {
      // Written chunk by chunk (not piped) so that the handle stays open for fsync.
      for await (const chunk of stream) await fh.write(chunk as Buffer);
      await fh.sync();
    } finally {
      await fh.close();
    }
    if (force) {
      await rename(tmp, path);
    } else {
      await moveWithoutReplacing(tmp, path);
    }
  } catch (err) {
    stream.destroy();
    await rm(tmp, {force: true});
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
