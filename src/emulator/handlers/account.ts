import {badRequest, unauthorized} from '../b2-error.js';
import {ALL_CAPABILITIES, MAX_KEY_DURATION_SECONDS, MAX_KEY_LIST_COUNT} from '../constants.js';
import {EmulatorCore} from '../core.js';
import {optInt, optString, optStringArray, reqString} from '../params.js';
import {hashSecret} from '../state.js';
import {KeyRecord} from '../types.js';
import {Handler} from './handler.js';

/** b2_authorize_account: flat v1/v2 answer, nested v3, v4 with `allowed.buckets`. */
export const authorizeAccount: Handler = async (core, ctx) => {
  const [scheme, encoded] = (ctx.header('authorization') ?? '').split(' ');
  if (scheme?.toLowerCase() !== 'basic' || !encoded) throw unauthorized('authorize needs "Authorization: Basic base64(keyId:applicationKey)"');
  const decoded = Buffer.from(encoded, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) throw unauthorized('invalid application key id or application key');
  const key = core.checkCredentials(decoded.slice(0, colon), decoded.slice(colon + 1));
  ctx.key = key;
  const token = core.issueToken('account', key);
  await core.state.commit();
  const {baseUrl, recommendedPartSize, minPartSize} = core.settings;
  const bucket = key.bucketId ? core.state.buckets.get(key.bucketId) : undefined;
  const urls = {apiUrl: baseUrl, downloadUrl: baseUrl, s3ApiUrl: `${baseUrl}/s3`};
  const sizes = {recommendedPartSize, absoluteMinimumPartSize: minPartSize};
  const restriction = {bucketId: key.bucketId, bucketName: bucket?.bucketName ?? null, capabilities: [...key.capabilities], namePrefix: key.namePrefix};
  if (ctx.apiVersion <= 2) {
    const json: Record<string, unknown> = {accountId: core.accountId, authorizationToken: token, ...urls, ...sizes, allowed: restriction};
    if (ctx.apiVersion === 1) json.minimumPartSize = recommendedPartSize;
    return {json};
  }
  const storageApi: Record<string, unknown> = {infoType: 'storageApi', ...urls, ...sizes};
  if (ctx.apiVersion === 3) Object.assign(storageApi, restriction);
  else {
    storageApi.allowed = {
      buckets: key.bucketId ? [{id: key.bucketId, name: bucket?.bucketName ?? null}] : null,
      capabilities: [...key.capabilities],
      namePrefix: key.namePrefix,
    };
  }
  return {
    json: {
      accountId: core.accountId,
      authorizationToken: token,
      applicationKeyExpirationTimestamp: key.expirationTimestamp,
      apiInfo: {storageApi},
    },
  };
};

export function keyJson(key: KeyRecord, accountId: string): Record<string, unknown> {
  return {
    accountId,
    applicationKeyId: key.keyId,
    bucketId: key.bucketId,
    capabilities: [...key.capabilities],
    expirationTimestamp: key.expirationTimestamp,
    keyName: key.keyName,
    namePrefix: key.namePrefix,
    options: ['s3'],
  };
}

export interface NewKeySpec {
  capabilities: string[];
  keyName: string;
  bucketId: string | null;
  namePrefix: string | null;
  validDurationSeconds?: number;
}

/** Validates and stores a new key; the only way keys are made (API and programmatic). */
export function addKey(core: EmulatorCore, spec: NewKeySpec, fixed?: {keyId: string; applicationKey: string}): {key: KeyRecord; applicationKey: string} {
  if (spec.capabilities.length === 0) throw badRequest('capabilities must not be empty');
  const unknown = spec.capabilities.filter((c) => !(ALL_CAPABILITIES as readonly string[]).includes(c));
  if (unknown.length > 0) throw badRequest(`unknown capabilities: ${unknown.join(', ')}`);
  if (!/^[A-Za-z0-9-]{1,100}$/.test(spec.keyName)) throw badRequest('keyName must be 1..100 letters, digits and "-"');
  if (spec.namePrefix !== null && spec.bucketId === null) throw badRequest('namePrefix needs bucketId');
  if (spec.bucketId !== null && !core.state.buckets.has(spec.bucketId)) throw badRequest(`bucket does not exist: ${spec.bucketId}`, 'bad_bucket_id');
  const keyId = fixed?.keyId ?? core.state.newKeyId();
  if (core.state.keys.has(keyId)) throw badRequest(`key id already exists: ${keyId}`);
  const applicationKey = fixed?.applicationKey ?? core.state.newApplicationKey();
  const key: KeyRecord = {
    keyId,
    secretHash: hashSecret(applicationKey),
    keyName: spec.keyName,
    capabilities: [...new Set(spec.capabilities)],
    bucketId: spec.bucketId,
    namePrefix: spec.namePrefix,
    expirationTimestamp: spec.validDurationSeconds === undefined ? null : core.now() + spec.validDurationSeconds * 1000,
  };
  core.state.putKey(key);
  return {key, applicationKey};
}


export const createKey: Handler = async (core, ctx) => {
  const {key: caller} = core.authenticate(ctx, ['account']);
  core.requireCapability(caller, 'writeKeys');
  const p = ctx.params;
  core.checkAccountId(p);
  const capabilities = optStringArray(p, 'capabilities');
  if (!capabilities) throw badRequest('required field capabilities is missing');
  const bucketIds = optStringArray(p, 'bucketIds');
  const bucketId = optString(p, 'bucketId') ?? bucketIds?.[0] ?? null;
  if (bucketId !== null) core.allowedBucket(caller, bucketId);
  else if (caller.bucketId !== null) throw unauthorized('a bucket-restricted key can only create keys for its bucket');
  const {key, applicationKey} = addKey(core, {
    capabilities,
    keyName: reqString(p, 'keyName'),
    bucketId,
    namePrefix: optString(p, 'namePrefix') ?? null,
    validDurationSeconds: optInt(p, 'validDurationInSeconds', 1, MAX_KEY_DURATION_SECONDS),
  });
  await core.state.commit();
  return {json: {...keyJson(key, core.accountId), applicationKey}};
};

export const listKeys: Handler = async (core, ctx) => {
  const {key: caller} = core.authenticate(ctx, ['account']);
  core.requireCapability(caller, 'listKeys');
  core.checkAccountId(ctx.params);
  const max = optInt(ctx.params, 'maxKeyCount', 1, MAX_KEY_LIST_COUNT) ?? 100;
  const start = optString(ctx.params, 'startApplicationKeyId') ?? '';
  const all = [...core.state.keys.values()].filter((k) => k.keyId >= start).sort((a, b) => (a.keyId < b.keyId ? -1 : 1));
  const page = all.slice(0, max);
  return {json: {keys: page.map((k) => keyJson(k, core.accountId)), nextApplicationKeyId: all[max]?.keyId ?? null}};
};

export const deleteKey: Handler = async (core, ctx) => {
  const {key: caller} = core.authenticate(ctx, ['account']);
  core.requireCapability(caller, 'deleteKeys');
  const keyId = reqString(ctx.params, 'applicationKeyId');
  const key = core.state.keys.get(keyId);
  if (!key) throw badRequest(`application key does not exist: ${keyId}`);
  core.state.deleteKey(keyId);
  await core.state.commit();
  return {json: keyJson(key, core.accountId)};
};

/** b2_get_download_authorization: a token that downloads names under a prefix of one bucket. */
export const getDownloadAuthorization: Handler = async (core, ctx) => {
  const {key} = core.authenticate(ctx, ['account']);
  core.requireCapability(key, 'shareFiles');
  const p = ctx.params;
  const bucket = core.allowedBucket(key, reqString(p, 'bucketId'));
  const fileNamePrefix = optString(p, 'fileNamePrefix');
  if (fileNamePrefix === undefined) throw badRequest('required field fileNamePrefix is missing');
  core.allowedName(key, fileNamePrefix);
  const seconds = optInt(p, 'validDurationInSeconds', 1, 604_800);
  if (seconds === undefined) throw badRequest('required field validDurationInSeconds is missing');
  const token = core.issueToken('download', key, {target: bucket.bucketId, fileNamePrefix}, seconds * 1000);
  await core.state.commit();
  return {json: {bucketId: bucket.bucketId, fileNamePrefix, authorizationToken: token}};
};

