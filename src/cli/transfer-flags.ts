import {Flags} from '@oclif/core';
import {flagLabel, inputFromFlags} from '../profiles/flags.js';
import {validateOverrides} from '../profiles/store.js';
import type {ResolvedProfile} from '../profiles/types.js';

/**
 * Per-run overrides of a profile's transfer settings. Values are checked by the profile
 * schema, so `--concurrency 0` and `concurrency: 0` in the file get the same message.
 */
export const concurrencyFlag = Flags.string({description: 'parallel parts for this run, 1..64 (default: the profile\'s concurrency)'});
export const partSizeFlag = Flags.string({description: 'part size for this run, 5MB..5GB, e.g. 100MB (default: the profile\'s partSize)'});

export type TransferOverrides = Partial<Pick<ResolvedProfile, 'concurrency' | 'partSize'>>;

export function transferOverrides(flags: {concurrency?: string; 'part-size'?: string}): TransferOverrides {
  const entry = validateOverrides(inputFromFlags({concurrency: flags.concurrency, 'part-size': flags['part-size']}), flagLabel);
  const out: TransferOverrides = {};
  if (entry.concurrency !== undefined) out.concurrency = entry.concurrency;
  if (entry.partSize !== undefined) out.partSize = entry.partSize;
  return out;
}
