import type {CheckItem} from '../backend.js';
import type {Encryption} from '../profiles/types.js';
import type {B2Bucket} from './wire-types.js';

/** What to do about a public bucket; shared by `profile check` and the upload refusal. */
export const PUBLIC_BUCKET_FIX = 'make the bucket private (Backblaze web console: Buckets > Bucket Settings > Files in Bucket are: Private), or use another, private bucket';

export const isPublicBucket = (bucket: Pick<B2Bucket, 'bucketType'>): boolean => bucket.bucketType === 'allPublic';

/**
 * Check items about the bucket's own settings (b2_list_buckets), each with its fix.
 * `settings` is undefined when the key could not list the bucket.
 */
export function bucketSettingItems(settings: B2Bucket | undefined, profile: {encryption?: Encryption} = {}): CheckItem[] {
  return [privateItem(settings), encryptionItem(settings, profile.encryption)];
}

/** The bucket's default encryption as B2 reports it, in words. */
export function bucketEncryptionText(settings: B2Bucket | undefined): string {
  const sse = settings?.defaultServerSideEncryption;
  if (!sse) return 'unknown (the key cannot list the bucket)';
  if (!sse.isClientAuthorizedToRead) return 'unknown (the key lacks readBucketEncryption)';
  return sse.value?.mode ? `${sse.value.mode}${sse.value.algorithm ? ` (${sse.value.algorithm})` : ''}` : 'none';
}

/** Reports what encrypts the backups: the profile's choice, else the bucket's default. */
function encryptionItem(settings: B2Bucket | undefined, encryption: Encryption | undefined): CheckItem {
  const uploads = {
    'SSE-C': "uploads use SSE-C with the profile's encryptionKey (keep a copy: without it the backups cannot be restored)",
    'SSE-B2': 'uploads ask for SSE-B2',
    none: 'uploads follow the bucket default',
  }[encryption?.mode ?? 'none'];
  return {id: 'encryption', title: 'Encryption', status: 'ok', message: `bucket default encryption: ${bucketEncryptionText(settings)}; ${uploads}`};
}

/** Anyone who guesses a file name downloads it from a public bucket: backups hold passwords and tokens. */
function privateItem(settings: B2Bucket | undefined): CheckItem {
  const base = {id: 'bucket_private', title: 'Bucket is private'};
  if (!settings?.bucketType) return {...base, status: 'warn', message: 'could not read the bucket type (the key lacks listBuckets)', fix: 'give the key listBuckets, or check in the Backblaze web console that the bucket is private'};
  if (isPublicBucket(settings)) return {...base, status: 'fail', message: `bucket ${settings.bucketName} is public (allPublic): anyone can download its files by name, without a key`, fix: PUBLIC_BUCKET_FIX};
  return {...base, status: 'ok', message: `bucket ${settings.bucketName} is ${settings.bucketType}`};
}
