/**
 * The profiles module's public face: what commands and the target registration use.
 * A command that works on one profile needs only loadProfile().
 */
import {ProfileStore} from './store.js';
import type {ResolvedProfile} from './types.js';

export {ProfileStore, type StoredProfile, type ProfileSource} from './store.js';
export {LOCAL_PROFILE, LOCAL_PROFILE_NAME} from './builtin.js';
export {profilesFilePath, PROFILES_FILE_NAME} from './location.js';
export {profileJsonSchema, type ProfileEntry, type ProfileInput} from './schema.js';
export {formatSize, parseSize} from './size.js';
export * from './types.js';

/**
 * The profile a command runs with: the file from `--config` / B2_BACKUP_CONFIG /
 * `<configDir>/profiles.yaml`, the name from `--profile` / B2_PROFILE / the only one.
 * Throws a one-line `config` BackupError naming file, line and field when anything is off.
 */
export async function loadProfile(opts: {configFlag?: string; profileFlag?: string; configDir: string; env?: NodeJS.ProcessEnv; cli?: string; givenBy?: string}): Promise<ResolvedProfile> {
  const store = await ProfileStore.open({flag: opts.configFlag, configDir: opts.configDir, env: opts.env, cli: opts.cli});
  return store.resolve(opts.profileFlag, {givenBy: opts.givenBy});
}
