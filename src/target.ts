import type {StorageBackend, TargetRegistration} from './backend.js';
import {BackupError} from './errors.js';
import type {ProfileInput} from './profiles/schema.js';
// profileJsonSchema() as data: the hook answers without loading zod (test/profiles/schema-json.test.ts keeps it in step)
import PROFILE_SCHEMA from './profiles/profile-schema.json' with {type: 'json'};
import type {ResolvedProfile} from './profiles/types.js';
import type {B2BackendOptions} from './b2/options.js';

export interface TargetContext {
  /** Where profiles.yaml lives by default (the host's config dir inside a host). */
  configDir: string;
  /** Where the embedded emulator keeps its data (the host's data dir inside a host). */
  dataDir: string;
  /** The command prefix hints about a saved profile name ("<host> b2"; see commandHint). */
  cli?: string;
}

/**
 * What a host may hand to create(): either a reference to a saved profile
 * (`{profile: "home", config?: "/path/profiles.yaml"}`), or the profile's fields
 * themselves as profileSchema describes them (secrets as inline, env:NAME or file:PATH).
 */
export type TargetProfile = {profile: string; config?: string} | (ProfileInput & {name?: string});

/** The `b2` storage target as the host sees it. */
export function b2TargetRegistration(ctx: TargetContext): TargetRegistration<TargetProfile> {
  return {
    type: 'b2',
    title: 'Backblaze B2',
    profileSchema: structuredClone(PROFILE_SCHEMA) as Record<string, unknown>,
    async create(input: TargetProfile): Promise<StorageBackend> {
      // the provider (and its HTTP stack) loads when a host first uses the target, not at registration
      const {connectB2} = await import('./connect.js');
      return connectB2(await resolveTargetProfile(input, ctx), ctx);
    },
  };
}

/**
 * The profile create() connects with. Fields handed in directly are no saved profile:
 * fix hints name the fields to change, not a profile or a command (profileCommand null).
 */
export async function resolveTargetProfile(input: TargetProfile, ctx: TargetContext): Promise<ResolvedProfile & Pick<B2BackendOptions, 'profileCommand'>> {
  if (input === null || typeof input !== 'object') throw new BackupError('bad_input', 'the b2 target needs a profile object: {profile: NAME} or {keyId, applicationKey, bucket, …}');
  if ('profile' in input && typeof input.profile === 'string') {
    const {loadProfile} = await import('./profiles/index.js');
    return loadProfile({configFlag: input.config, profileFlag: input.profile, configDir: ctx.configDir, cli: ctx.cli});
  }
  const [{resolveSecret}, {entryEncryption, resolvedProfile, validateInput}] = await Promise.all([import('./profiles/secrets.js'), import('./profiles/store.js')]);
  const {name = 'host', ...fields} = input as ProfileInput & {name?: string};
  const entry = validateInput(fields, (field) => `profile.${field}`);
  const secret = (field: 'applicationKey' | 'encryptionKey') => {
    const result = resolveSecret(entry[field] ?? '', {env: process.env, baseDir: process.cwd()});
    if ('problem' in result) throw new BackupError('config', `profile.${field}: ${result.problem}`);
    return result.value;
  };
  const encryption = entryEncryption(entry, () => secret('encryptionKey'), 'profile.encryptionKey');
  return {...resolvedProfile(name, entry, {keyId: entry.keyId, applicationKey: secret('applicationKey')}), ...(encryption ? {encryption} : {}), profileCommand: null};
}
