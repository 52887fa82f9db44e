import {DEFAULT_CONCURRENCY, EMBEDDED_ENDPOINT} from './types.js';
import type {ProfileEntry} from './schema.js';

/**
 * The profile a newcomer has without an account: the embedded emulator, whose bucket and
 * key are provisioned on first use. Always available unless the file defines `local`.
 * The key values are placeholders the emulator's provisioning accepts.
 */
export const LOCAL_PROFILE_NAME = 'local';

export const LOCAL_PROFILE: Readonly<ProfileEntry> = Object.freeze({
  keyId: 'embedded',
  applicationKey: 'embedded',
  bucket: 'local-backups',
  endpoint: EMBEDDED_ENDPOINT,
  concurrency: DEFAULT_CONCURRENCY,
});
