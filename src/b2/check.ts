import type {CheckItem, CheckReport} from '../backend.js';
import {checkReport} from '../backend.js';
import {isBackupError} from '../errors.js';
import type {AuthInfo, B2Client} from './client.js';
import {REQUIRED_CAPABILITIES, bucketUnavailable, bucketFix, endpointText, keyFixClause, newKeyFix, prefixNotAllowed, profileFix, profileRef, type ErrorContext} from './errors.js';
import {bucketSettingItems} from './bucket-checks.js';
import type {Encryption} from '../profiles/types.js';
import type {B2Bucket, B2File} from './wire-types.js';

const WEEK_MS = 7 * 24 * 60 * 60 * 1000;
/** How many names the foreign-file check looks at (one class C call). */
const FOREIGN_SAMPLE = 1000;

export interface CheckTarget {
  client: B2Client;
  bucket: string;
  prefix: string;
  /** Names a backup writes (relative to the prefix); anything else in the prefix is foreign. */
  isOwnKey?: (key: string) => boolean;
  /** The profile's server-side encryption, reported with the bucket's default. */
  encryption?: Encryption;
  /** Uploads ask for Object Lock retentions: the bucket must have Object Lock and the key writeFileRetentions. */
  lockUploads?: boolean;
  signal?: AbortSignal;
  now?: Date;
}

/** Backups are `<base>.tar` with a `<base>.metadata.json` sidecar (Home Assistant's layout). */
export const isBackupKey = (key: string): boolean => /\.tar$|\.metadata\.json$/.test(key);

/**
 * The setup checks (Home Assistant's, and more), each reported on its own with a fix.
 * Never throws for a failed check; later checks that depend on an earlier one are skipped.
 */
export async function runChecks(t: CheckTarget): Promise<CheckReport> {
  const items: CheckItem[] = [];
  const ctx = t.client.context;
  let auth: AuthInfo;
  try {
    auth = await t.client.authorize(t.signal);
    items.push({id: 'credentials', title: 'Key ID and application key', status: 'ok', message: `key accepted by ${endpointText(ctx)}`});
  } catch (err) {
    items.push(signInItem(err, ctx));
    return checkReport(items);
  }
  items.push(expiryItem(auth, t.now ?? new Date(), profileRef(ctx), ctx));

  const bucket = await bucketItem(t, auth, items);
  const bucketOk = bucket?.bucketId;
  if (bucket) items.push(...bucketSettingItems(bucket.settings, {encryption: t.encryption, lockUploads: t.lockUploads, capabilities: auth.allowed.capabilities, putKeyIn: keyFixClause(ctx, 'put it in')}));
  const missing = REQUIRED_CAPABILITIES.filter((c) => !auth.allowed.capabilities.includes(c));
  items.push(missing.length === 0
    ? {id: 'capabilities', title: 'Key capabilities', status: 'ok', message: `the key has ${REQUIRED_CAPABILITIES.join(', ')}`}
    : {id: 'capabilities', title: 'Key capabilities', status: 'fail', message: `the key lacks ${missing.join(', ')}`, fix: `create a key with ${REQUIRED_CAPABILITIES.join(', ')} and ${keyFixClause(ctx, 'put it in')}`});

  const keyPrefix = auth.allowed.namePrefix;
  const prefixOk = !keyPrefix || t.prefix.startsWith(keyPrefix);
  items.push(prefixOk
    ? {id: 'prefix', title: 'Prefix allowed by the key', status: 'ok', message: keyPrefix ? `the key is restricted to ${JSON.stringify(keyPrefix)}, which the prefix ${JSON.stringify(t.prefix)} is inside` : 'the key has no name-prefix restriction'}
    : {id: 'prefix', title: 'Prefix allowed by the key', status: 'fail', message: prefixNotAllowed({...ctx, prefix: t.prefix}, keyPrefix), fix: profileFix(ctx, `--prefix ${keyPrefix}…`)});

  if (bucketOk && prefixOk && auth.allowed.capabilities.includes('listFiles')) items.push(await foreignItem(t, bucketOk));
  return checkReport(items);
}

/**
 * Why signing in failed, as a check item: a rejected key ('credentials'), an expired or
 * revoked one ('credentials', with the command that puts in a new key), or anything
 * else, such as an endpoint that refuses connections ('connection': the network or the
 * endpoint, not the key).
 */
function signInItem(err: unknown, ctx: B2Client['context']): CheckItem {
  const title = 'Key ID and application key';
  if (isBackupError(err, 'invalid_credentials')) {
    return {id: 'credentials', title, status: 'fail', message: 'the key ID or application key is wrong (or the key was deleted)', fix: newKeyFix(ctx)};
  }
  if (isBackupError(err, 'key_expired')) {
    return {id: 'credentials', title, status: 'fail', message: `the key of ${profileRef(ctx)} has expired or was revoked`, fix: `create a new key and ${keyFixClause(ctx, 'put it in')}`};
  }
  return {id: 'connection', title: 'Connection to B2', status: 'fail', message: (err as Error).message}; // the message says what to check
}

function expiryItem(auth: AuthInfo, now: Date, profile: string, ctx: ErrorContext): CheckItem {
  const fix = newKeyFix(ctx);
  const base = {id: 'key_expiry', title: 'Key expiry'};
  if (!auth.expiresAt) return {...base, status: 'ok', message: 'the key does not expire'};
  const left = auth.expiresAt.getTime() - now.getTime();
  const when = auth.expiresAt.toISOString();
  if (left <= 0) return {...base, status: 'fail', message: `the key of ${profile} expired on ${when}`, fix};
  if (left < WEEK_MS) return {...base, status: 'warn', message: `the key of ${profile} expires on ${when} (in ${inHours(left)})`, fix: `create a new key before then and ${keyFixClause(ctx, 'put it in')}`};
  return {...base, status: 'ok', message: `the key expires on ${when}`};
}

/** The bucket's id and, when the key may list it, its settings (undefined: they could not be read). */
interface CheckedBucket {
  bucketId: string;
  settings?: B2Bucket;
}

async function bucketItem(t: CheckTarget, auth: AuthInfo, items: CheckItem[]): Promise<CheckedBucket | undefined> {
  const title = 'Bucket';
  const restricted = auth.allowed.bucketName;
  const fail = (message: string, fix: string) => items.push({id: 'bucket', title, status: 'fail', message, fix});
  if (restricted && restricted !== t.bucket) {
    fail(`bucket ${t.bucket} does not exist or this key is restricted to bucket ${restricted}`, `use bucket ${restricted} in the profile, or a key for ${t.bucket}`);
    return undefined;
  }
  if (restricted && auth.allowed.bucketId) {
    items.push({id: 'bucket', title, status: 'ok', message: `bucket ${t.bucket} (the key is restricted to it)`});
    // its settings need listBuckets, which a restricted key may lack: then they stay unknown
    const settings = await t.client.findBucket(t.bucket, t.signal).catch(() => undefined);
    return {bucketId: auth.allowed.bucketId, settings};
  }
  try {
    const found = await t.client.findBucket(t.bucket, t.signal);
    if (found) {
      items.push({id: 'bucket', title, status: 'ok', message: `bucket ${t.bucket} exists and the key may use it`});
      return {bucketId: found.bucketId, settings: found};
    }
    fail(bucketUnavailable({...t.client.context, bucket: t.bucket}, undefined, {withFix: false}), bucketFix(t.client.context));
  } catch (err) {
    fail(`cannot look up bucket ${t.bucket}: ${(err as Error).message}`, 'give the key the listBuckets capability or restrict it to this bucket');
  }
  return undefined;
}

async function foreignItem(t: CheckTarget, bucketId: string): Promise<CheckItem> {
  const base = {id: 'foreign_files', title: 'Prefix holds only backups'};
  const isOwn = t.isOwnKey ?? isBackupKey;
  try {
    const page = await t.client.listFileNames({bucketId, prefix: t.prefix, maxFileCount: FOREIGN_SAMPLE}, t.signal);
    const foreign = page.files.filter((f: B2File) => f.action === 'upload' && !isOwn(f.fileName.slice(t.prefix.length)));
    if (foreign.length === 0) return {...base, status: 'ok', message: `no other files under ${JSON.stringify(t.prefix)}`};
    const examples = foreign.slice(0, 3).map((f) => JSON.stringify(f.fileName)).join(', ');
    return {...base, status: 'warn', message: `${foreign.length}${page.nextFileName ? '+' : ''} files under ${JSON.stringify(t.prefix)} are not backups (e.g. ${examples}); they could be overwritten or deleted`, fix: `give backups a prefix of their own (${profileFix(t.client.context, '--prefix …')})`};
  } catch (err) {
    return {...base, status: 'warn', message: `could not list ${JSON.stringify(t.prefix)}: ${(err as Error).message}`};
  }
}

function inHours(ms: number): string {
  const hours = Math.ceil(ms / 3_600_000);
  return hours === 1 ? 'less than an hour' : `${hours} hours`;
}
