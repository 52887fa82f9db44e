import {open} from 'node:fs/promises';

/**
 * Fsyncs a directory, so that the names created, renamed or removed in it survive a power
 * cut (fsyncing a file makes its bytes durable, not its directory entry).
 */
export async function syncDir(path: string): Promise<void> {
  const dir = await open(path, 'r');
  try {
    await dir.sync();
  } finally {
    await dir.close();
  }
}
