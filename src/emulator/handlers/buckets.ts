import {B2ApiError, badRequest, unauthorized} from '../b2-error.js';
import {MAX_BUCKETS} from '../constants.js';
import {EmulatorCore} from '../core.js';
import {optInt, optObject, optString, optStringArray, Params, reqString} from '../params.js';
import {bucketDefaultSse, guarded, sseFromParam, sseJson} from '../encryption.js';
import {applyBucketLock, lockConfiguration} from '../object-lock.js';
import {BucketRecord, KeyRecord} from '../types.js';
import {Handler} from './handler.js';

const BUCKET_TYPES = ['allPublic', 'allPrivate'];

/** A bucket as the API returns it; settings the key may not read show only isClientAuthorizedToRead: false. */
export function bucketJson(b: BucketRecord, accountId: string, key?: KeyRecord): Record<string, unknown> {
  return {
    accountId,
    bucketId: b.bucketId,
    bucketName: b.bucketName,
    bucketType: b.bucketType,
    bucketInfo: {...b.bucketInfo},
    corsRules: b.corsRules,
    defaultServerSideEncryption: guarded(key, 'readBucketEncryption', sseJson(bucketDefaultSse(b))),
    fileLockConfiguration: guarded(key, 'readBucketRetentions', lockConfiguration(b)),
    lifecycleRules: b.lifecycleRules,
    options: ['s3'],
    replicationConfiguration: {isClientAuthorizedToRead: true, value: null},
    revision: b.revision,
  };
}

/**
 * Validates and stores a new bucket; the only way buckets are made (API and programmatic).
 * `encryptedByDefault`: made as b2_create_bucket makes a bucket now (SSE-B2 by default);
 * without it, a bucket as B2 had them before (see BucketRecord.encryptedByDefault).
 */
export function addBucket(core: EmulatorCore, name: string, bucketType = 'allPrivate', p: Params = {}, {encryptedByDefault}: Pick<BucketRecord, 'encryptedByDefault'> = {}): BucketRecord {
  if (!/^[A-Za-z0-9-]{6,63}$/.test(name) || name.toLowerCase().startsWith('b2-')) {
    throw badRequest(`invalid bucket name "${name}": 6..63 letters, digits and "-", not starting with "b2-"`);
  }
  if (!BUCKET_TYPES.includes(bucketType)) throw badRequest(`bucketType must be one of ${BUCKET_TYPES.join(', ')}`);
  if (core.state.bucketByName(name)) throw badRequest(`bucket name is already in use: ${name}`, 'duplicate_bucket_name');
  if (core.state.buckets.size >= MAX_BUCKETS) throw badRequest(`an account can have at most ${MAX_BUCKETS} buckets`, 'too_many_buckets');
  const bucket: BucketRecord = {
    bucketId: core.state.newBucketId(),
    bucketName: name,
    bucketType,
    bucketInfo: stringMap(optObject(p, 'bucketInfo')),
    lifecycleRules: arrayParam(p, 'lifecycleRules'),
    corsRules: arrayParam(p, 'corsRules'),
    revision: 1,
    ...(encryptedByDefault ? {encryptedByDefault: true} : {}),
    ...bucketEncryptionParam(p),
  };
  core.state.putBucket(bucket);
  return bucket;
}

/**
 * defaultServerSideEncryption of b2_create_bucket / b2_update_bucket: SSE-B2 or mode null
 * (SSE-C cannot be a default). Mode null resets the bucket to its effective default
 * (bucketDefaultSse): SSE-B2, or none in a bucket B2 has not enabled for default encryption.
 */
function bucketEncryptionParam(p: Params): Pick<BucketRecord, 'defaultServerSideEncryption'> {
  const sse = sseFromParam(p.defaultServerSideEncryption, 'defaultServerSideEncryption', {allowCustomer: false});
  return sse ? {defaultServerSideEncryption: {mode: sse.mode, ...(sse.algorithm ? {algorithm: sse.algorithm} : {})}} : {};
}

function stringMap(o: Record<string, unknown> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(o ?? {})) out[k] = String(v);
  return out;
}

function arrayParam(p: Params, name: string): unknown[] {
  const v = p[name];
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw badRequest(`${name} must be an array`);
  return v;
}


/**
 * Setting a bucket's encryption or Object Lock needs the matching write capability; the
 * SSE-B2 a new bucket gets when it names no default does not (Backblaze: "Automatic SSE-B2
 * does not require writeBucketEncryption").
 */
function requireSettingCapabilities(core: EmulatorCore, key: KeyRecord, p: Params): void {
  if (p.defaultServerSideEncryption !== undefined && p.defaultServerSideEncryption !== null) core.requireCapability(key, 'writeBucketEncryption');
}

export const createBucket: Handler = async (core, ctx) => {
  const {key} = core.authenticate(ctx, ['account']);
  core.requireCapability(key, 'writeBuckets');
  if (key.bucketId !== null) throw unauthorized('a bucket-restricted key cannot create buckets');
  core.checkAccountId(ctx.params);
  requireSettingCapabilities(core, key, ctx.params);
  const bucket = addBucket(core, reqString(ctx.params, 'bucketName'), reqString(ctx.params, 'bucketType'), ctx.params, {encryptedByDefault: true});
  try {
    applyBucketLock(core, key, bucket, ctx.params);
  } catch (e) {
    core.state.removeBucket(bucket.bucketId);
    throw e;
  }
  await core.state.commit();
  return {json: bucketJson(bucket, core.accountId, key)};
};

export const deleteBucket: Handler = async (core, ctx) => {
  const {key} = core.authenticate(ctx, ['account']);
  core.requireCapability(key, 'deleteBuckets');
  core.checkAccountId(ctx.params);
  const bucket = core.allowedBucket(key, reqString(ctx.params, 'bucketId'));
  if (!core.state.bucketIsEmpty(bucket.bucketId)) throw badRequest('bucket is not empty', 'cannot_delete_non_empty_bucket');
  core.state.removeBucket(bucket.bucketId);
  await core.state.commit();
  return {json: bucketJson(bucket, core.accountId, key)};
};

export const listBuckets: Handler = async (core, ctx) => {
  const {key} = core.authenticate(ctx, ['account']);
  if (!key.capabilities.includes('listBuckets') && !key.capabilities.includes('listAllBucketNames')) {
    core.requireCapability(key, 'listBuckets');
  }
  const p = ctx.params;
  core.checkAccountId(p);
  const bucketId = optString(p, 'bucketId');
  const bucketName = optString(p, 'bucketName');
  const types = optStringArray(p, 'bucketTypes');
  if (key.bucketId !== null) {
    const own = core.state.buckets.get(key.bucketId);
    const named = bucketId === key.bucketId || (bucketName !== undefined && own?.bucketName === bucketName);
    if (!named && ctx.apiVersion >= 2) throw unauthorized('a bucket-restricted key must name its bucket (bucketId or bucketName)');
  }
  const buckets = [...core.state.buckets.values()].filter(
    (b) =>
      (key.bucketId === null || b.bucketId === key.bucketId) &&
      (bucketId === undefined || b.bucketId === bucketId) &&
      (bucketName === undefined || b.bucketName === bucketName) &&
      (!types || types.includes('all') || types.includes(b.bucketType)),
  );
  return {json: {buckets: buckets.map((b) => bucketJson(b, core.accountId, key))}};
};

export const updateBucket: Handler = async (core, ctx) => {
  const {key} = core.authenticate(ctx, ['account']);
  core.requireCapability(key, 'writeBuckets');
  const p = ctx.params;
  core.checkAccountId(p);
  const bucket = core.allowedBucket(key, reqString(p, 'bucketId'));
  const ifRevision = optInt(p, 'ifRevisionIs', 0, Number.MAX_SAFE_INTEGER);
  if (ifRevision !== undefined && ifRevision !== bucket.revision) throw new B2ApiError(409, 'conflict', `ifRevisionIs ${ifRevision} does not match the bucket's revision ${bucket.revision}`);
  requireSettingCapabilities(core, key, p);
  applyBucketLock(core, key, bucket, p);
  const bucketType = optString(p, 'bucketType');
  const encryption = bucketEncryptionParam(p);
  if (encryption.defaultServerSideEncryption) bucket.defaultServerSideEncryption = encryption.defaultServerSideEncryption;
  if (bucketType !== undefined) {
    if (!BUCKET_TYPES.includes(bucketType)) throw badRequest(`bucketType must be one of ${BUCKET_TYPES.join(', ')}`);
    bucket.bucketType = bucketType;
  }
  const info = optObject(p, 'bucketInfo');
  if (info) bucket.bucketInfo = stringMap(info);
  if (p.lifecycleRules !== undefined && p.lifecycleRules !== null) bucket.lifecycleRules = arrayParam(p, 'lifecycleRules');
  if (p.corsRules !== undefined && p.corsRules !== null) bucket.corsRules = arrayParam(p, 'corsRules');
  bucket.revision += 1;
  core.state.changed('bucket', bucket.bucketId);
  await core.state.commit();
  return {json: bucketJson(bucket, core.accountId, key)};
};

/** b2_get_upload_url: an upload URL and a token that serves one upload at a time. */
export const getUploadUrl: Handler = async (core, ctx) => {
  const {key} = core.authenticate(ctx, ['account']);
  core.requireCapability(key, 'writeFiles');
  const bucket = core.allowedBucket(key, reqString(ctx.params, 'bucketId'));
  const token = core.issueToken('upload', key, {target: bucket.bucketId});
  await core.state.commit();
  return {
    json: {
      bucketId: bucket.bucketId,
      uploadUrl: `${core.settings.baseUrl}/b2api/v${ctx.apiVersion}/b2_upload_file/${bucket.bucketId}`,
      authorizationToken: token,
    },
  };
};
