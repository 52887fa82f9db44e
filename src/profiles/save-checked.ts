import type {CheckItem, CheckReport} from '../backend.js';
import {BackupError, type ErrorKind} from '../errors.js';
import {customerKeyWarning, renderCheckItems} from './display.js';
import type {ProfileStore} from './store.js';
import type {ResolvedProfile} from './types.js';

/** The exit kind of a failed check, from its first failed item (unknown items: plain failure). */
const KIND_OF_CHECK: Record<string, ErrorKind> = {
  credentials: 'invalid_credentials',
  connection: 'network',
  key_expiry: 'key_expired',
  bucket: 'bucket_unavailable',
  capabilities: 'missing_capabilities',
  prefix: 'prefix_not_allowed',
  bucket_private: 'public_bucket',
  object_lock: 'no_object_lock',
  lock_capabilities: 'missing_capabilities',
};

/**
 * Saves an added or updated profile, after connecting with it when `check` is given
 * (Home Assistant validates before it configures): a failed check prints each failed
 * item with its fix and saves nothing. Then warns about profiles it would collide with.
 */
export async function saveChecked(
  store: ProfileStore,
  name: string,
  opts: {
    check?: (profile: ResolvedProfile) => Promise<CheckReport>;
    warn: (line: string) => void;
    /** Runs once the check passed, before the file is written (a move of backups); false: save nothing (a dry run). */
    beforeSave?: () => Promise<boolean>;
  },
): Promise<boolean> {
  if (opts.check) {
    // the key being saved, not a B2_APPLICATION_KEY_ID/B2_APPLICATION_KEY override from the environment
    const report = await opts.check(store.resolve(name, {envCredentials: false}));
    const notOk = report.items.filter((i) => i.status !== 'ok');
    if (notOk.length > 0) opts.warn(renderCheckItems(notOk));
    if (!report.ok) throw checkFailed(name, report, '; nothing was saved: fix it, or pass --no-check to save anyway');
  }
  if (opts.beforeSave && !(await opts.beforeSave())) return false;
  await store.save();
  for (const warning of store.overlapWarnings(name)) opts.warn(`Warning: ${warning}`);
  if (store.get(name)?.entry.encryption === 'SSE-C') opts.warn(customerKeyWarning(name));
  return true;
}

/** The error for a report that is not ok; `advice` ends the line. */
export function checkFailed(name: string, report: CheckReport, advice = ''): BackupError {
  const failed: CheckItem[] = report.items.filter((i) => i.status === 'fail');
  const kind = KIND_OF_CHECK[failed[0]?.id ?? ''] ?? 'failure';
  const what = failed.map((i) => i.title).join(', ') || 'unknown problem';
  return new BackupError(kind, `profile "${name}" failed its check (${what})${advice}`);
}
