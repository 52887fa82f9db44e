/** The B2 provider: what the rest of the plugin uses. */
export {B2Backend, DEFAULT_CONTENT_TYPE, type KeyInfo, type UnfinishedUpload} from './provider.js';
export {resolveOptions, DEFAULT_UPLOAD_CUTOFF, type B2BackendInput, type B2BackendOptions} from './options.js';
export {RetryPolicy, DEFAULT_RETRY, MIN_UPLOAD_URLS, shouldRetry, backoffMs, type RetryOptions} from './retry-policy.js';
export {planParts, MAX_PARTS, type PartPlan} from './part-plan.js';
export {REQUIRED_CAPABILITIES} from './errors.js';
export {isBackupKey} from './check.js';
export {OBJECT_LOCK_FIX, PUBLIC_BUCKET_FIX, bucketEncryptionText, bucketLockText, isPublicBucket} from './bucket-checks.js';
export type {B2Bucket} from './wire-types.js';
export type {TransferEvent, TransferEventListener} from './events.js';
