import type {B2Backend} from '../b2/index.js';
// the checks alone: the barrel would load the provider and its HTTP stack with them
import {PUBLIC_BUCKET_FIX, isPublicBucket} from '../b2/bucket-checks.js';
import {BackupError, isBackupError} from '../errors.js';

/** How a refusal and its warning name what writes the backup: `upload` or `copy` (`b2 copy` to another profile's bucket). */
const WORDS = {
  upload: {done: 'uploaded', doing: 'uploading', verb: 'upload'},
  copy: {done: 'copied', doing: 'copying', verb: 'copy'},
} as const;

/**
 * Refuses to write a backup into a public bucket, where anyone who guesses its name can
 * download it (Home Assistant backups hold passwords and tokens), unless the user said
 * so with `--allow-public-bucket`. A key that may not list the bucket leaves its type
 * unknown: the upload goes on, and `profile check` warns about that. `writes` words the
 * lines for the command that writes (default: upload).
 */
export async function refusePublicBucket(backend: B2Backend, opts: {allow: boolean; warn: (line: string) => void; signal?: AbortSignal; writes?: keyof typeof WORDS}): Promise<void> {
  const bucket = await backend.bucket(opts.signal).catch((err: unknown) => {
    if (isBackupError(err, 'missing_capabilities')) return undefined;
    throw err;
  });
  if (!bucket || !isPublicBucket(bucket)) return;
  const words = WORDS[opts.writes ?? 'upload'];
  const what = `bucket ${bucket.bucketName} is public (allPublic): anyone could download the backup by its name, without a key`;
  if (opts.allow) {
    opts.warn(`Warning: ${what} (${words.doing} anyway: --allow-public-bucket)`);
    return;
  }
  throw new BackupError('public_bucket', `${what}; nothing was ${words.done}. Fix: ${PUBLIC_BUCKET_FIX}, or pass --allow-public-bucket to ${words.verb} anyway`);
}
