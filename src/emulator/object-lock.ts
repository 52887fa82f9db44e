import {B2ApiError, badRequest} from './b2-error.js';
import type {EmulatorCore} from './core.js';
import type {RequestContext} from './context.js';
import type {BucketRecord, FileRecord, KeyRecord} from './types.js';
import type {Params} from './params.js';

/**
 * Object Lock as B2 documents it: a bucket with fileLockEnabled may have a
 * defaultRetention; a file version may carry a retention (governance or compliance,
 * until a timestamp) and a legal hold. While either holds, the version cannot be
 * deleted: governance yields to a key with bypassGovernance that asks for the bypass,
 * compliance and legal hold to nobody. Time is the core's clock, which tests move.
 */
export type RetentionMode = 'governance' | 'compliance';
export interface Retention {
  mode: RetentionMode | null;
  retainUntilTimestamp: number | null;
}
const MODES: readonly string[] = ['governance', 'compliance'];
const DAY_MS = 24 * 60 * 60 * 1000;

export const lockedError = (message: string) => new B2ApiError(403, 'access_denied', message);

function retention(mode: unknown, until: unknown, where: string): Retention {
  if (mode === null || mode === undefined || mode === '') return {mode: null, retainUntilTimestamp: null};
  if (typeof mode !== 'string' || !MODES.includes(mode)) throw badRequest(`${where}: mode must be governance or compliance`);
  const ts = typeof until === 'string' && /^\d+$/.test(until) ? Number(until) : until;
  if (typeof ts !== 'number' || !Number.isSafeInteger(ts) || ts <= 0) throw badRequest(`${where}: retainUntilTimestamp must be milliseconds since the epoch`);
  return {mode: mode as RetentionMode, retainUntilTimestamp: ts};
}

function legalHold(value: unknown, where: string): 'on' | 'off' | undefined {
  if (value === undefined || value === null) return undefined;
  if (value !== 'on' && value !== 'off') throw badRequest(`${where} must be on or off`);
  return value;
}

/** What an upload's headers ask for (X-Bz-File-Retention-*, X-Bz-File-Legal-Hold). */
export function lockFromHeaders(ctx: RequestContext): {retention?: Retention; legalHold?: 'on' | 'off'} {
  const mode = ctx.header('x-bz-file-retention-mode');
  const until = ctx.header('x-bz-file-retention-retain-until-timestamp');
  return {
    retention: mode === undefined && until === undefined ? undefined : retention(mode, until, 'X-Bz-File-Retention-Mode/Retain-Until-Timestamp'),
    legalHold: legalHold(ctx.header('x-bz-file-legal-hold'), 'X-Bz-File-Legal-Hold'),
  };
}

/** What b2_start_large_file / b2_copy_file ask for (fileRetention, legalHold). */
export function lockFromParams(p: Params): {retention?: Retention; legalHold?: 'on' | 'off'} {
  const r = p.fileRetention as {mode?: unknown; retainUntilTimestamp?: unknown} | null | undefined;
  if (r !== undefined && r !== null && (typeof r !== 'object' || Array.isArray(r))) throw badRequest('fileRetention must be an object');
  return {retention: r ? retention(r.mode, r.retainUntilTimestamp, 'fileRetention') : undefined, legalHold: legalHold(p.legalHold, 'legalHold')};
}

/** A new version's lock: what was asked (with the capability to ask), else the bucket's default retention. */
export function lockForNewFile(core: EmulatorCore, key: KeyRecord, bucket: BucketRecord, asked: {retention?: Retention; legalHold?: 'on' | 'off'}): Pick<FileRecord, 'fileRetention' | 'legalHold'> {
  if ((asked.retention?.mode || asked.legalHold) && !bucket.fileLockEnabled) throw badRequest('the bucket does not have Object Lock enabled (fileLockEnabled)');
  if (asked.retention?.mode) core.requireCapability(key, 'writeFileRetentions');
  if (asked.legalHold) core.requireCapability(key, 'writeFileLegalHolds');
  if (asked.retention?.mode && asked.retention.retainUntilTimestamp! <= core.now()) throw badRequest('retainUntilTimestamp must be in the future');
  const d = bucket.defaultRetention;
  const fromDefault: Retention | undefined = d?.mode && d.period ? {mode: d.mode, retainUntilTimestamp: core.now() + d.period.duration * (d.period.unit === 'years' ? 365 : 1) * DAY_MS} : undefined;
  return {fileRetention: asked.retention?.mode ? asked.retention : fromDefault, legalHold: asked.legalHold};
}

/** Whether a retention still holds now. */
export function retained(core: EmulatorCore, r: Retention | undefined): r is Retention & {mode: RetentionMode} {
  return !!r?.mode && (r.retainUntilTimestamp ?? 0) > core.now();
}

/** Deleting a version: refused while a legal hold or a retention holds (governance: unless bypassed with the capability). */
export function requireUnlocked(core: EmulatorCore, key: KeyRecord, file: FileRecord, bypass: boolean): void {
  if (file.legalHold === 'on') throw lockedError(`file version ${file.fileId} is under a legal hold`);
  const r = file.fileRetention;
  if (!retained(core, r)) return;
  const until = new Date(r.retainUntilTimestamp!).toISOString();
  if (r.mode === 'compliance') throw lockedError(`file version ${file.fileId} is locked in compliance mode until ${until}`);
  if (!bypass || !key.capabilities.includes('bypassGovernance')) {
    throw lockedError(`file version ${file.fileId} is locked in governance mode until ${until}; deleting it needs bypassGovernance`);
  }
}

/** A change of retention: longer is always fine; governance may be shortened, removed or kept with the bypass; compliance never. */
export function requireRetentionChange(core: EmulatorCore, key: KeyRecord, file: FileRecord, next: Retention, bypass: boolean): void {
  const cur = file.fileRetention;
  if (!retained(core, cur)) return;
  const weaker = next.mode === null || (next.retainUntilTimestamp ?? 0) < cur.retainUntilTimestamp! || (cur.mode === 'compliance' && next.mode === 'governance');
  if (!weaker) return;
  if (cur.mode === 'compliance') throw lockedError(`file version ${file.fileId} is in compliance mode: its retention cannot be removed or shortened`);
  if (!bypass || !key.capabilities.includes('bypassGovernance')) throw lockedError(`file version ${file.fileId} is in governance mode: removing or shortening its retention needs bypassGovernance`);
}

/** The JSON of a file's lock, behind readFileRetentions / readFileLegalHolds. */
export function lockJson(file: FileRecord, key: KeyRecord | undefined): Record<string, unknown> {
  const can = (capability: string) => !key || key.capabilities.includes(capability);
  return {
    fileRetention: can('readFileRetentions')
      ? {isClientAuthorizedToRead: true, value: file.fileRetention ?? {mode: null, retainUntilTimestamp: null}}
      : {isClientAuthorizedToRead: false, value: null},
    legalHold: can('readFileLegalHolds') ? {isClientAuthorizedToRead: true, value: file.legalHold ?? null} : {isClientAuthorizedToRead: false, value: null},
  };
}

/**
 * The lock headers of a download: X-Bz-File-Retention-Mode / -Retain-Until-Timestamp and
 * X-Bz-File-Legal-Hold for a key that may read them; for one that may not, their names in
 * X-Bz-Client-Unauthorized-To-Read. (No key: a public bucket's anonymous reader.)
 */
export function lockHeaders(file: FileRecord, key: KeyRecord | undefined): Record<string, string> {
  const headers: Record<string, string> = {};
  const hidden: string[] = [];
  const r = file.fileRetention;
  if (r?.mode) {
    if (key && !key.capabilities.includes('readFileRetentions')) hidden.push('X-Bz-File-Retention-Mode', 'X-Bz-File-Retention-Retain-Until-Timestamp');
    else Object.assign(headers, {'X-Bz-File-Retention-Mode': r.mode, 'X-Bz-File-Retention-Retain-Until-Timestamp': String(r.retainUntilTimestamp)});
  }
  if (file.legalHold) {
    if (key && !key.capabilities.includes('readFileLegalHolds')) hidden.push('X-Bz-File-Legal-Hold');
    else headers['X-Bz-File-Legal-Hold'] = file.legalHold;
  }
  if (hidden.length > 0) headers['X-Bz-Client-Unauthorized-To-Read'] = hidden.join(',');
  return headers;
}

/** The bucket's fileLockConfiguration value. */
export function lockConfiguration(b: BucketRecord): Record<string, unknown> {
  return {defaultRetention: b.defaultRetention ?? {mode: null, period: null}, isFileLockEnabled: b.fileLockEnabled === true};
}

/** fileLockEnabled / defaultRetention of b2_create_bucket and b2_update_bucket. */
export function applyBucketLock(core: EmulatorCore, key: KeyRecord, bucket: BucketRecord, p: Params): void {
  if (p.fileLockEnabled === false && bucket.fileLockEnabled) throw badRequest('fileLockEnabled value of false is not allowed when bucket is already file lock enabled.', 'file_lock_conflict');
  if (p.fileLockEnabled === true) bucket.fileLockEnabled = true;
  const d = p.defaultRetention as {mode?: unknown; period?: {duration?: unknown; unit?: unknown} | null} | null | undefined;
  if (d === undefined || d === null) return;
  core.requireCapability(key, 'writeBucketRetentions');
  if (!bucket.fileLockEnabled) throw badRequest('defaultRetention needs a bucket with Object Lock enabled (fileLockEnabled)');
  if (d.mode === null || d.mode === undefined) {
    bucket.defaultRetention = {mode: null, period: null};
    return;
  }
  if (typeof d.mode !== 'string' || !MODES.includes(d.mode)) throw badRequest('defaultRetention.mode must be governance, compliance or null');
  const duration = d.period?.duration;
  const unit = d.period?.unit;
  if (typeof duration !== 'number' || !Number.isInteger(duration) || duration < 1 || (unit !== 'days' && unit !== 'years')) {
    throw badRequest('defaultRetention.period must be {duration: a positive integer, unit: "days" or "years"}');
  }
  bucket.defaultRetention = {mode: d.mode as RetentionMode, period: {duration, unit}};
}
