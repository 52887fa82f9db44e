import type {CheckItem} from '../backend.js';
import type {B2Bucket} from './wire-types.js';

/** What to do about a public bucket; shared by `profile check` and the upload refusal. */
export const PUBLIC_BUCKET_FIX = 'make the bucket private (Backblaze web console: Buckets > Bucket Settings > Files in Bucket are: Private), or use another, private bucket';

export const isPublicBucket = (bucket: Pick<B2Bucket, 'bucketType'>): boolean => bucket.bucketType === 'allPublic';

/**
 * Check items about the bucket's own settings (b2_list_buckets), each with its fix.
 * `settings` is undefined when the key could not list the bucket.
 */
export function bucketSettingItems(settings: B2Bucket | undefined): CheckItem[] {
  return [privateItem(settings)];
}

/** Anyone who guesses a file name downloads it from a public bucket: backups hold passwords and tokens. */
function privateItem(settings: B2Bucket | undefined): CheckItem {
  const base = {id: 'bucket_private', title: 'Bucket is private'};
  if (!settings?.bucketType) return {...base, status: 'warn', message: 'could not read the bucket type (the key lacks listBuckets)', fix: 'give the key listBuckets, or check in the Backblaze web console that the bucket is private'};
  if (isPublicBucket(settings)) return {...base, status: 'fail', message: `bucket ${settings.bucketName} is public (allPublic): anyone can download its files by name, without a key`, fix: PUBLIC_BUCKET_FIX};
  return {...base, status: 'ok', message: `bucket ${settings.bucketName} is ${settings.bucketType}`};
}
