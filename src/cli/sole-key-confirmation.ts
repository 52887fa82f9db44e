import {BackupError} from '../errors.js';
import type {ProfileEntry} from '../profiles/schema.js';
import type {StoredProfile} from '../profiles/store.js';
import {holdsSoleCustomerKey} from '../profiles/sole-customer-key.js';
import {askYesNo} from './ask.js';

/** The text of profile `name`'s SSE-C key (as written in the file) when it is the only copy (holdsSoleCustomerKey). */
export function soleCustomerKey(profiles: StoredProfile[], name: string): string | undefined {
  return holdsSoleCustomerKey(profiles, name) ? (profiles.find((p) => p.name === name)?.entry.encryptionKey as string) : undefined;
}

/** Whether the profile as changed (`entry`) no longer holds `key`: another key, or no SSE-C at all. */
export function customerKeyGone(key: string, entry: ProfileEntry | undefined): boolean {
  return entry?.encryption !== 'SSE-C' || entry.encryptionKey !== key;
}

/**
 * Asks before a change (`what`: "remove", …) that drops profile `name`'s only copy of its
 * SSE-C key: on a terminal, `question`; elsewhere it refuses (bad_input: nothing changed),
 * saying to keep a copy of the key (it is in `storePath`), then `rerun`. True once confirmed.
 */
export async function confirmSoleKeyLoss(o: {name: string; what: string; storePath: string; rerun: string; question: string}): Promise<boolean> {
  const loses = `profile "${o.name}" holds its SSE-C key (encryptionKey) inline, the only copy: B2 keeps none, so backups uploaded with it could never be downloaded again`;
  if (!process.stdin.isTTY) throw new BackupError('bad_input', `refusing to ${o.what} without confirmation: ${loses}; keep a copy of the key first (it is in ${o.storePath}), then ${o.rerun}`);
  return askYesNo(`${loses[0].toUpperCase()}${loses.slice(1)}. ${o.question}`);
}
