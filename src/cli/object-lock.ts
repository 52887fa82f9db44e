import {Flags} from '@oclif/core';
import type {B2Backend} from '../b2/index.js';
// the checks alone: the barrel would load the provider and its HTTP stack with them
import {OBJECT_LOCK_FIX, bucketLockText} from '../b2/bucket-checks.js';
import {DEFAULT_LOCK_MODE, LOCK_MODES, type LockSetting} from '../backups/lock.js';
import {LEGAL_HOLD, displayDate, lockedText, shownName} from '../backups/display.js';
import type {BackupInfo} from '../backups/types.js';
import {BackupError, isBackupError} from '../errors.js';
import {typedNumber} from '../profiles/flags.js';
import {validateOverrides} from '../profiles/store.js';
import type {ResolvedProfile} from '../profiles/types.js';

/**
 * Object Lock in the commands: the per-run lock of `upload` (checked by the profile
 * schema, like `lock:` in the file), the checks made before asking B2 for a retention or
 * a governance bypass, and the one line a refused delete becomes.
 */
export const lockModeFlag = Flags.string({options: [...LOCK_MODES], description: 'governance (a key with bypassGovernance can lift it) or compliance (nobody can, until the date)'});
export const bypassGovernanceFlag = Flags.boolean({
  description: 'lift a governance lock (B2 Object Lock) for this command; needs a key with the bypassGovernance capability. A compliance lock cannot be lifted.',
  default: false,
});

/** `--lock-days N` and `--lock-mode M` of one run, checked before connecting; undefined: neither given. */
export function lockOverride(flags: {'lock-days'?: string; 'lock-mode'?: string}, daysFlag = '--lock-days', modeFlag = '--lock-mode'): Partial<LockSetting> | undefined {
  const text = flags['lock-days'];
  if (text === undefined && flags['lock-mode'] === undefined) return undefined;
  const days = text === undefined ? undefined : typedNumber(text);
  const lock = {...(days === undefined ? {days: 1} : {days}), ...(flags['lock-mode'] ? {mode: flags['lock-mode']} : {})};
  const entry = validateOverrides({lock}, (path) => (path[1] === 'mode' ? modeFlag : daysFlag));
  return {...(text === undefined ? {} : {days: entry.lock?.days}), ...(entry.lock?.mode ? {mode: entry.lock.mode} : {})};
}

/** Where a lockForRun lock came from, as the other way out of a bucket without Object Lock. */
export function lockInstead(profile: Pick<ResolvedProfile, 'name'>, override: Partial<LockSetting> | undefined, daysFlag = '--lock-days'): string {
  return override?.days === undefined ? `remove "lock:" from profile "${profile.name}"` : `run it without ${daysFlag}`;
}

/** The lock of this upload: the flags over the profile's `lock:`; undefined when neither asks for one. */
export function lockForRun(profile: ResolvedProfile, override: Partial<LockSetting> | undefined): LockSetting | undefined {
  if (!override) return profile.lock;
  if (override.days !== undefined) return {mode: override.mode ?? profile.lock?.mode ?? DEFAULT_LOCK_MODE, days: override.days};
  if (!profile.lock) throw new BackupError('bad_input', `--lock-mode ${override.mode} needs --lock-days N (profile "${profile.name}" has no "lock:")`);
  return {...profile.lock, mode: override.mode ?? profile.lock.mode};
}

/**
 * Before anything is written under a lock: the key must be allowed to set retentions
 * and the bucket must have Object Lock (when the key may see it), or B2 would refuse the
 * upload after the bytes were sent. `instead`: the other way out the user has, after the
 * bucket fix (e.g. not asking for the lock where it was asked for).
 */
export async function assertCanLock(backend: B2Backend, profile: Pick<ResolvedProfile, 'name'>, instead: string | undefined, signal?: AbortSignal): Promise<void> {
  if (!backend.keyInfo().capabilities.includes('writeFileRetentions')) {
    throw new BackupError('missing_capabilities', `the key of profile ${profile.name} lacks the writeFileRetentions capability that locking a backup needs; nothing was changed. Create a key with writeFileRetentions and readFileRetentions and ${backend.keyFixClause('put it in')}`);
  }
  const bucket = await backend.bucket(signal).catch((err: unknown) => {
    if (isBackupError(err, 'missing_capabilities')) return undefined;
    throw err;
  });
  if (bucketLockText(bucket).enabled === false) {
    throw new BackupError('no_object_lock', `bucket ${bucket?.bucketName} does not have Object Lock enabled, so backups in it cannot be locked; nothing was changed. Fix: ${OBJECT_LOCK_FIX}${instead ? `, or ${instead}` : ''}`);
  }
}

/**
 * Before a move or copy on a bucket with Object Lock: the key must be able to read the
 * retentions and legal holds, or a copy would be made without the backup's lock (even
 * a compliance one) and a move would find out at its deletes. Refused (nothing changed)
 * when B2 says the bucket has Object Lock; when the key cannot see that either, the
 * caller goes on (a move then keeps what B2 refuses to delete: see executeMove).
 */
export async function assertSeesLocks(backend: B2Backend, profile: Pick<ResolvedProfile, 'name' | 'bucket'>, what: 'move' | 'copy', signal?: AbortSignal): Promise<void> {
  const caps = backend.keyInfo().capabilities;
  const lacking = ['readFileRetentions', 'readFileLegalHolds'].filter((c) => !caps.includes(c));
  if (lacking.length === 0) return;
  const bucket = await backend.bucket(signal).catch((err: unknown) => {
    if (isBackupError(err, 'missing_capabilities')) return undefined;
    throw err;
  });
  if (bucketLockText(bucket).enabled !== true) return;
  const outcome = what === 'move'
    ? 'moving them would copy them without their locks and then fail to delete the locked originals'
    : 'a copy would not keep the backup\'s lock';
  throw new BackupError(
    'missing_capabilities',
    `the key of profile ${profile.name} lacks ${lacking.join(' and ')}, so it cannot see which backups in bucket ${profile.bucket} (Object Lock enabled) are locked: ${outcome}; nothing was ${what === 'move' ? 'moved' : 'copied'}. ` +
      `Use a key that also has ${lacking.join(' and ')}: ${backend.keyFixClause('put one in')}`,
  );
}

/** --bypass-governance is only asked of B2 by a key that may: otherwise one line saying so. */
export function assertCanBypass(backend: B2Backend, profile: Pick<ResolvedProfile, 'name'>): void {
  if (backend.keyInfo().capabilities.includes('bypassGovernance')) return;
  throw new BackupError('missing_capabilities', `--bypass-governance needs a key with the bypassGovernance capability, and the key of profile ${profile.name} lacks it; nothing was changed. Use a key that has it (for this one command, e.g. with B2_APPLICATION_KEY_ID and B2_APPLICATION_KEY), or wait until the lock ends`);
}

/** A delete B2 refused because of Object Lock, in one line: until when, and whether --bypass-governance can help. */
export function lockedRefusal(b: BackupInfo, err: BackupError, bypassed: boolean): BackupError {
  const what = `backup ${b.id} ${shownName(b.name, b.date)}`;
  const lock = b.lock;
  if (b.legalHold) return new BackupError('locked', `${what} is ${LEGAL_HOLD} (b2_update_file_legal_hold with legalHold "off", by a key with writeFileLegalHolds); nothing was deleted`);
  // a lock the key cannot read: B2's refusal says which; after a bypass it was not governance (or the hold came first)
  if (!lock && bypassed) return new BackupError('locked', `${what}: ${err.message}; --bypass-governance did not lift it: a compliance lock (until its date) or a legal hold (until it is removed) holds for every key; nothing was deleted`);
  if (!lock) return new BackupError('locked', `${what}: ${err.message}; for a governance lock, --bypass-governance (with a key that has bypassGovernance) deletes it now`);
  if (lock.mode === 'compliance') return new BackupError('locked', `${what} is ${lockedText(lock)}: nobody can delete it before then, not even with --bypass-governance`);
  if (bypassed && lock.complianceUntil) return new BackupError('locked', `${what} is ${lockedText(lock)}, and one of its files is locked (compliance) until ${displayDate(lock.complianceUntil)}: nobody can delete it before then, not even with --bypass-governance; nothing was deleted`);
  if (bypassed) return new BackupError('locked', `${what} is ${lockedText(lock)}, and B2 refused the bypass too (${err.message})`);
  return new BackupError('locked', `${what} is ${lockedText(lock)}: B2 refuses to delete it before then; to delete it now, pass --bypass-governance with a key that has the bypassGovernance capability`);
}
