import {randomBytes} from 'node:crypto';
import {mkdir, open, rename, rm} from 'node:fs/promises';
import {basename, dirname, join} from 'node:path';

/**
 * Replaces a file so that a reader (or a crash) sees either the old or the new content,
 * never a mix: write a temporary file in the same directory, fsync it, rename it over the
 * target, then fsync the directory so the rename itself is durable. `beforeRename` runs
 * last, to refuse the swap if the target changed meanwhile.
 */
export async function writeFileAtomic(
  path: string,
  data: string,
  opts: {mode: number; beforeRename?: () => Promise<void>},
): Promise<void> {
  const dir = dirname(path);
  await mkdir(dir, {recursive: true, mode: 0o700});
  const tmp = join(dir, `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    const handle = await open(tmp, 'wx', opts.mode);
    try {
      await handle.writeFile(data, 'utf8');
      await handle.chmod(opts.mode); // the umask may have narrowed or the platform ignored the open mode
      await handle.sync();
    } finally {
      await handle.close();
    }
    await opts.beforeRename?.();
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, {force: true});
    throw err;
  }
  await syncDirectory(dir);
}

async function syncDirectory(dir: string): Promise<void> {
  try {
    const handle = await open(dir, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch {
    // Some platforms (Windows) cannot open or fsync a directory; the rename is still atomic there.
  }
}
