import type {StorageBackend, TargetRegistration} from './backend.js';
import {BackupError} from './errors.js';

export interface TargetContext {
  /** Where profiles.yaml lives by default (the host's config dir inside a host). */
  configDir: string;
  /** Where the embedded emulator keeps its data (the host's data dir inside a host). */
  dataDir: string;
}

/** The `b2` storage target as the host sees it. */
export function b2TargetRegistration(ctx: TargetContext): TargetRegistration {
  return {
    type: 'b2',
    title: 'Backblaze B2',
    profileSchema: {type: 'object'},
    async create(): Promise<StorageBackend> {
      void ctx;
      throw new BackupError('failure', 'the b2 target is not implemented yet');
    },
  };
}
