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
export function bucketSettingItems(settings: B2Bucket | undefined, profile: {encryption?: Encryption; lockUploads?: boolean; capabilities?: string[]; putKeyIn?: string} = {}): CheckItem[] {
  const items = [privateItem(settings), encryptionItem(settings, profile.encryption), objectLockItem(settings, profile.lockUploads === true)];
  if (profile.lockUploads) items.push(lockCapabilitiesItem(profile.capabilities ?? [], profile.putKeyIn));
  return items;
}

/** What to do about a bucket without Object Lock when the profile locks its uploads. */
export const OBJECT_LOCK_FIX = 'enable Object Lock on the bucket (Backblaze web console: Buckets > Bucket Settings > Object Lock: Enabled), or use a bucket created with it';

/** The bucket's Object Lock as B2 reports it: enabled or not, and its default retention, in words. */
export function bucketLockText(settings: B2Bucket | undefined): {enabled?: boolean; text: string} {
  const flc = settings?.fileLockConfiguration;
  if (!flc) return {text: 'unknown (the key cannot list the bucket)'};
  if (!flc.isClientAuthorizedToRead || !flc.value) return {text: 'unknown (the key lacks readBucketRetentions)'};
  if (!flc.value.isFileLockEnabled) return {enabled: false, text: 'not enabled'};
  const d = flc.value.defaultRetention;
  const period = d?.period ? `${d.period.duration} ${d.period.unit}` : undefined;
  return {enabled: true, text: `enabled; default retention: ${d?.mode && period ? `${d.mode}, ${period} from each upload` : 'none'}`};
}

/** Object Lock of the bucket; a failure when the profile locks uploads and the bucket cannot. */
function objectLockItem(settings: B2Bucket | undefined, lockUploads: boolean): CheckItem {
  const base = {id: 'object_lock', title: 'Bucket Object Lock'};
  const {enabled, text} = bucketLockText(settings);
  const message = `bucket Object Lock: ${text}`;
  if (!lockUploads) return {...base, status: 'ok', message: `${message}; the profile does not lock uploads`};
  if (enabled === false) return {...base, status: 'fail', message: `${message}, but the profile locks every upload ("lock:"): B2 would refuse them`, fix: `${OBJECT_LOCK_FIX}, or remove "lock:" from the profile`};
  if (enabled === undefined) return {...base, status: 'warn', message: `${message}; the profile locks every upload ("lock:")`, fix: 'give the key listBuckets and readBucketRetentions, or check in the Backblaze web console that the bucket has Object Lock enabled'};
  return {...base, status: 'ok', message: `${message}; the profile locks every upload ("lock:")`};
}

/**
 * The retention capabilities a locking profile's key needs (write) and should have (read);
 * bypassGovernance reported. `putKeyIn`: how to put another key in ("put it in with: …").
 */
function lockCapabilitiesItem(capabilities: string[], putKeyIn = 'put it in the profile'): CheckItem {
  const base = {id: 'lock_capabilities', title: 'Key can lock backups'};
  const has = (c: string) => capabilities.includes(c);
  const bypass = has('bypassGovernance')
    ? 'it has bypassGovernance, so it can lift governance locks (--bypass-governance): a key without it is safer on a machine that may be compromised'
    : 'it lacks bypassGovernance, so governance locks hold against it too';
  if (!has('writeFileRetentions')) {
    return {...base, status: 'fail', message: `the key lacks writeFileRetentions, which the profile's "lock:" needs to lock uploads`, fix: `create a key with writeFileRetentions and readFileRetentions (besides listBuckets listFiles readFiles writeFiles deleteFiles) and ${putKeyIn}`};
  }
  if (!has('readFileRetentions')) {
    return {...base, status: 'warn', message: `the key has writeFileRetentions but lacks readFileRetentions: list and show cannot tell which backups are locked, and prune only learns it when B2 refuses; ${bypass}`, fix: 'create a key that also has readFileRetentions'};
  }
  return {...base, status: 'ok', message: `the key has writeFileRetentions and readFileRetentions; ${bypass}`};
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
