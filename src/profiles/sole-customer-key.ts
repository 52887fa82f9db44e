import {parseSecretRef} from './secrets.js';
import type {StoredProfile} from './store.js';

/**
 * Whether profile `name` holds its SSE-C key inline with no other profile of the file
 * holding the same text: removing it removes the only copy this tool has, and B2 keeps
 * none, so the backups uploaded with it could never be read again. A key from env: or
 * file: lives elsewhere and stays.
 */
export function holdsSoleCustomerKey(profiles: StoredProfile[], name: string): boolean {
  const key = profiles.find((p) => p.name === name)?.entry.encryptionKey;
  if (typeof key !== 'string' || parseSecretRef(key).kind !== 'inline') return false;
  return !profiles.some((p) => p.name !== name && p.entry.encryptionKey === key);
}
