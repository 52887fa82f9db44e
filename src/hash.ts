import {createHash} from 'node:crypto';
import {createReadStream} from 'node:fs';
import {stat} from 'node:fs/promises';
import {BackupError, throwIfAborted} from './errors.js';
import {quoteValue} from './redact.js';

/** A SHA1 as every layer writes it: 40 lowercase hex digits. */
export const SHA1_HEX = /^[0-9a-f]{40}$/;

export function sha1Of(data: Buffer): string {
  return createHash('sha1').update(data).digest('hex');
}

/**
 * SHA1 and size of a file, read once from start to end (the catalog's checksum and a
 * large upload's large_file_sha1 both come from here, so a file is hashed only once).
 */
export async function sha1OfFile(path: string, signal?: AbortSignal): Promise<{sha1: string; size: number}> {
  const hash = createHash('sha1');
  let size = 0;
  try {
    for await (const chunk of createReadStream(path, {highWaterMark: 1024 * 1024, signal})) {
      hash.update(chunk as Buffer);
      size += (chunk as Buffer).length;
    }
  } catch (err) {
    throwIfAborted(signal);
    throw new BackupError('bad_input', `cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, {cause: err});
  }
  throwIfAborted(signal);
  return {sha1: hash.digest('hex'), size};
}

/**
 * A hash taken from a file holds only while the file is unchanged: this fails when its
 * size or mtime now differ from what they were before it was hashed and read.
 */
export async function assertFileUnchanged(file: {path: string; size: number; mtimeMs: number}): Promise<void> {
  const now = await stat(file.path).catch(() => undefined);
  if (now?.size === file.size && now.mtimeMs === file.mtimeMs) return;
  throw new BackupError('checksum_mismatch', `${file.path} changed while it was being uploaded; nothing was stored, upload it again when it is no longer being written`);
}

/** A caller's SHA1 (PutOptions.sha1): absent, or 40 lowercase hex digits. */
export function checkedSha1Option(value: string | undefined, key: string): string | undefined {
  if (value === undefined || (typeof value === 'string' && SHA1_HEX.test(value))) return value;
  throw new BackupError('bad_input', `the sha1 given for ${quoteValue(key)} must be 40 lowercase hex digits, got ${quoteValue(value)}`);
}
