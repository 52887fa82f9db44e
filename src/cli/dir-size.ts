import {lstat, readdir} from 'node:fs/promises';
import {join} from 'node:path';

/** Bytes of the regular files under `dir` (0 when it does not exist); symlinks are not followed. */
export async function dirSize(dir: string): Promise<number> {
  let entries;
  try {
    entries = await readdir(dir, {withFileTypes: true});
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 0;
    throw err;
  }
  let total = 0;
  for (const e of entries) {
    const path = join(dir, e.name);
    if (e.isDirectory()) total += await dirSize(path);
    else if (e.isFile()) total += (await lstat(path)).size;
  }
  return total;
}
