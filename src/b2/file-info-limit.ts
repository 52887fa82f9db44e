import {BackupError} from '../errors.js';
import type {Encryption} from '../profiles/types.js';
import type {B2Bucket} from './wire-types.js';

/**
 * Backblaze (b2_upload_file, b2_start_large_file, "Add File Information with the Native
 * API"): a file's name and file info must fit in 7,000 bytes, and in 2,048 for a file
 * uploaded with server-side encryption or to a bucket with Object Lock enabled. Counted
 * as the emulator counts it: the UTF-8 bytes of the name and of each info key and value.
 */
export const MAX_NAME_AND_INFO_BYTES = 7000;
export const MAX_NAME_AND_INFO_BYTES_SSE_OR_LOCK = 2048;

/** Bytes of a file's name and file info as B2 counts them against its limit. */
export function nameAndInfoBytes(fileName: string, info: Record<string, string>): number {
  let total = Buffer.byteLength(fileName, 'utf8');
  for (const [k, v] of Object.entries(info)) total += Buffer.byteLength(k, 'utf8') + Buffer.byteLength(v, 'utf8');
  return total;
}

/** Why the profile's own encryption puts a new file under the 2,048-byte limit (SSE-B2 or SSE-C asked for with every write). */
export function profileLimitReasons(encryption: Encryption | undefined): string[] {
  return encryption ? [`the profile encrypts it with ${encryption.mode}`] : [];
}

/**
 * Why the bucket puts a new file under the 2,048-byte limit: Object Lock, or a default
 * encryption that B2 applies to a file uploaded without encryption headers (Backblaze:
 * those may be left out, the bucket's default then encrypts it, so it is stored with SSE
 * as if asked for). A default encryption the key may not read (no readBucketEncryption,
 * as a backup key usually has, or no bucket listing at all) counts as SSE-B2: B2 now
 * encrypts new buckets so by default and enables existing ones gradually ("Use
 * Server-Side Encryption with the B2 Native API"), so only a bucket seen to be plain gets
 * the larger limit. An Object Lock setting the key may not read counts as absent (B2 then
 * decides; locks are not a default).
 */
export function bucketLimitReasons(bucketName: string, bucket: B2Bucket | undefined): string[] {
  const reasons: string[] = [];
  const sse = bucket?.defaultServerSideEncryption;
  if (!sse?.isClientAuthorizedToRead) reasons.push(`B2 encrypts new files with SSE-B2 by default and this key may not read whether bucket ${bucketName} does: a key with readBucketEncryption lets that be checked`);
  else if (sse.value?.mode) reasons.push(`bucket ${bucketName} encrypts new files with ${sse.value.mode} by default`);
  const lock = bucket?.fileLockConfiguration;
  if (lock?.isClientAuthorizedToRead && lock.value?.isFileLockEnabled) reasons.push(`bucket ${bucketName} has Object Lock enabled`);
  return reasons;
}

/**
 * Refuses a name and file info that B2 would refuse for this file (`reasons`: why the
 * smaller limit applies, none for the 7,000 bytes of any file), in one line: the limit,
 * why, the size found and the fix. `outcome`: what did not happen ("uploaded", "copied")
 * and the way out.
 */
export function assertNameAndInfoFit(fileName: string, info: Record<string, string>, reasons: string[], outcome: {done: string; fix: string}): void {
  const bytes = nameAndInfoBytes(fileName, info);
  const limit = reasons.length > 0 ? MAX_NAME_AND_INFO_BYTES_SSE_OR_LOCK : MAX_NAME_AND_INFO_BYTES;
  if (bytes <= limit) return;
  const why = reasons.length > 0 ? ` for a file with server-side encryption or in an Object Lock bucket (${reasons.join('; ')})` : '';
  throw new BackupError(
    'bad_input',
    `${JSON.stringify(fileName)}: its name and file info take ${count(bytes)} bytes, more than the ${count(limit)} B2 allows${why}; nothing was ${outcome.done}; ${outcome.fix}`,
  );
}

const count = (n: number) => n.toLocaleString('en-US');
