import {randomBytes} from 'node:crypto';
import {ALL_CAPABILITIES} from './constants.js';
import {EmulatorCore} from './core.js';
import {addKey} from './handlers/account.js';
import {addBucket} from './handlers/buckets.js';
import {hashSecret} from './state.js';
import type {BootstrapOptions} from './types.js';

export interface Bootstrap {
  keyId: string;
  applicationKey: string;
  bucket: string;
  bucketId: string;
}

/**
 * Makes sure the all-capabilities bootstrap key and private bucket exist. Values not
 * given are generated, or with a data dir taken from the previous run, so a restarted
 * emulator prints the same credentials. `fileLockEnabled` gives the bucket Object Lock
 * as b2_create_bucket's fileLockEnabled does (or b2_update_bucket's, for a bucket of an
 * earlier run); as on B2, nothing turns it off again. The bucket stands for a user's
 * existing bucket, one B2 has not yet enabled for default encryption, unless
 * `encryptedByDefault` makes it one B2 has (as every bucket b2_create_bucket makes now;
 * an earlier run's bucket gets enabled, as B2 enables existing ones, never disabled).
 */
export async function ensureBootstrap(core: EmulatorCore, given: BootstrapOptions = {}): Promise<Bootstrap> {
  if ((given.keyId === undefined) !== (given.applicationKey === undefined)) {
    throw new Error('give both the bootstrap key id and application key, or neither');
  }
  const state = core.state;
  const previous = state.bootstrap;
  let keyId = given.keyId ?? previous?.keyId;
  let applicationKey = given.applicationKey ?? previous?.applicationKey;
  const existing = keyId !== undefined ? state.keys.get(keyId) : undefined;
  if (existing && applicationKey !== undefined) {
    existing.secretHash = hashSecret(applicationKey);
    existing.capabilities = [...ALL_CAPABILITIES];
    existing.bucketId = null;
    existing.namePrefix = null;
    existing.expirationTimestamp = null;
    state.changed('key', existing.keyId);
  } else {
    const fixed = keyId !== undefined && applicationKey !== undefined ? {keyId, applicationKey} : undefined;
    const made = addKey(core, {capabilities: [...ALL_CAPABILITIES], keyName: 'emulator-bootstrap', bucketId: null, namePrefix: null}, fixed);
    keyId = made.key.keyId;
    applicationKey = made.applicationKey;
  }
  const bucketName = given.bucket ?? previous?.bucket ?? `emulator-${randomBytes(6).toString('hex')}`;
  const bucket = state.bucketByName(bucketName) ?? addBucket(core, bucketName, 'allPrivate', {}, {encryptedByDefault: given.encryptedByDefault});
  for (const setting of ['fileLockEnabled', 'encryptedByDefault'] as const) {
    if (given[setting] && !bucket[setting]) {
      bucket[setting] = true;
      bucket.revision += 1;
      state.changed('bucket', bucket.bucketId);
    }
  }
  state.bootstrap = {keyId: keyId!, applicationKey: applicationKey!, bucket: bucket.bucketName};
  await state.commit();
  return {keyId: keyId!, applicationKey: applicationKey!, bucket: bucket.bucketName, bucketId: bucket.bucketId};
}
