import type {Retention} from '../backend.js';
import type {B2File, B2FileRetention} from './wire-types.js';

/**
 * Object Lock on the wire (Backblaze's "File Lock" fields): a retention goes up as two
 * headers on b2_upload_file and as `fileRetention` on b2_start_large_file and
 * b2_update_file_retention, and comes back in every file JSON (behind
 * readFileRetentions) and in download headers.
 */
export function retentionHeaders(r: Retention | undefined): Record<string, string> {
  if (!r) return {};
  return {'X-Bz-File-Retention-Mode': r.mode, 'X-Bz-File-Retention-Retain-Until-Timestamp': String(r.retainUntil.getTime())};
}

export function retentionField(r: Retention | undefined): B2FileRetention | undefined {
  return r && {mode: r.mode, retainUntilTimestamp: r.retainUntil.getTime()};
}

/** A file's retention when the key may read it and it has one (expired ones too: the caller knows the time). */
export function retentionOf(file: Pick<B2File, 'fileRetention'>): Retention | undefined {
  const value = file.fileRetention?.isClientAuthorizedToRead ? file.fileRetention.value : undefined;
  if (!value?.mode || typeof value.retainUntilTimestamp !== 'number') return undefined;
  return {mode: value.mode, retainUntil: new Date(value.retainUntilTimestamp)};
}

/** True when the key may read the file's legal hold and it is on. */
export function legalHoldOf(file: Pick<B2File, 'legalHold'>): boolean {
  return file.legalHold?.isClientAuthorizedToRead === true && file.legalHold.value === 'on';
}

/** The fileRetention of download (GET/HEAD) headers, which B2 sends to a key with readFileRetentions. */
export function retentionFromHeaders(headers: Record<string, string | undefined>): B2File['fileRetention'] {
  const mode = headers['x-bz-file-retention-mode'];
  const until = Number(headers['x-bz-file-retention-retain-until-timestamp']);
  if ((mode !== 'governance' && mode !== 'compliance') || !Number.isSafeInteger(until)) return undefined;
  return {isClientAuthorizedToRead: true, value: {mode, retainUntilTimestamp: until}};
}
