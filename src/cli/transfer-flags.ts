import {Flags} from '@oclif/core';
import {flagLabel, inputFromFlags} from '../profiles/flags.js';
import type {ProfileField} from '../profiles/schema.js';
import {validateOverrides} from '../profiles/store.js';
import type {ResolvedProfile} from '../profiles/types.js';

/**
 * Per-run overrides of a profile's transfer settings. Values are checked by the profile
 * schema, so `--concurrency 0` and `concurrency: 0` in the file get the same message.
 */
export const concurrencyFlag = Flags.string({description: 'parallel parts for this run, 1..64 (default: the profile\'s concurrency)'});
export const partSizeFlag = Flags.string({description: 'part size for this run, 5MB..5GB (from stdin at most 4GiB: parts are held in memory), e.g. 100MB (default: the profile\'s partSize; an interrupted upload run again keeps the part size it began with)'});
export const limitUploadFlag = Flags.string({description: 'upload at most this fast, e.g. 5MB/s or 40Mbit/s, all parts together (default: the profile\'s bandwidth.upload)'});
export const limitDownloadFlag = Flags.string({description: 'download at most this fast, e.g. 5MB/s or 40Mbit/s (default: the profile\'s bandwidth.download)'});

export type TransferOverrides = Partial<Pick<ResolvedProfile, 'concurrency' | 'partSize' | 'bandwidth'>>;

interface TransferFlags {
  concurrency?: string;
  'part-size'?: string;
  'limit-upload'?: string;
  'limit-download'?: string;
}

const RATE_FLAG: Record<string, string> = {upload: '--limit-upload', download: '--limit-download'};

/** The overrides the flags give, validated (see withOverrides for how they apply). */
export function transferOverrides(flags: TransferFlags): TransferOverrides {
  const input: Record<string, unknown> = inputFromFlags({concurrency: flags.concurrency, 'part-size': flags['part-size']});
  const rates = {upload: flags['limit-upload'], download: flags['limit-download']};
  if (rates.upload !== undefined || rates.download !== undefined) input.bandwidth = Object.fromEntries(Object.entries(rates).filter(([, v]) => v !== undefined));
  // most runs give none: building the schema's partial copy costs more than the rest of the flags' handling
  if (Object.keys(input).length === 0) return {};
  const entry = validateOverrides(input, (path) => (path[0] === 'bandwidth' ? RATE_FLAG[String(path[1])] ?? '--limit-upload' : flagLabel(path[0] as ProfileField)));
  const out: TransferOverrides = {};
  if (entry.concurrency !== undefined) out.concurrency = entry.concurrency;
  if (entry.partSize !== undefined) out.partSize = entry.partSize;
  if (entry.bandwidth) out.bandwidth = entry.bandwidth;
  return out;
}

/** The profile for one run: overrides replace fields; a bandwidth flag replaces only its own direction. */
export function withOverrides(profile: ResolvedProfile, overrides: TransferOverrides = {}): ResolvedProfile {
  const merged = {...profile, ...overrides};
  if (overrides.bandwidth) merged.bandwidth = {...profile.bandwidth, ...overrides.bandwidth};
  return merged;
}
