import {createHash} from 'node:crypto';
import {join} from 'node:path';
import type {Config} from '@oclif/core';
import type {B2Backend, TransferEventListener} from '../b2/index.js';
import {BackupCatalog} from '../backups/index.js';
import {escapeInvisible} from '../backups/validate.js';
import {connectB2} from '../connect.js';
import {loadProfile} from '../profiles/index.js';
import type {ResolvedProfile} from '../profiles/types.js';
import {timing} from '../timing.js';
import {locationFlags} from '../command-hint.js';
import {cliPrefix} from './cli-prefix.js';
import {withOverrides, type TransferOverrides} from './transfer-flags.js';

export interface OpenedLocation {
  profile: ResolvedProfile;
  backend: B2Backend;
  catalog: BackupCatalog;
  /** A command of this plugin acting on this location, for a fix hint ("backup-b2 b2 prune --yes --profile home"). */
  hint(words: string): string;
  close(): Promise<void>;
}

/**
 * What every backup command starts with: the profile (from --profile / B2_PROFILE and
 * --config / B2_BACKUP_CONFIG), the B2 backend it describes, and the catalog over it.
 */
export async function openLocation(
  config: Config,
  flags: {config?: string; profile?: string},
  opts: {warn: (line: string) => void; signal?: AbortSignal; overrides?: TransferOverrides; onEvent?: TransferEventListener},
): Promise<OpenedLocation> {
  const profile = withOverrides(await loadProfile({configFlag: flags.config, profileFlag: flags.profile, configDir: config.configDir, cli: cliPrefix(config)}), opts.overrides);
  timing('profile loaded');
  const backend = await connectB2(profile, {dataDir: config.dataDir, signal: opts.signal, cli: cliPrefix(config), savedProfiles: {configFlag: flags.config}}, opts.onEvent ? {onEvent: opts.onEvent} : {});
  timing('connected (authorized, bucket found)');
  const catalog = catalogOf(config, profile, backend, opts.warn, flags.config);
  // the catalog's hints and the command's name the location the same way
  return {profile, backend, catalog, hint: (words) => catalog.hint(words), close: () => backend.close()};
}

/** A warning from the backups layer as a line for `warn`: "Warning: …", with what the bucket's file names could hide made visible. */
export function bucketWarning(warn: (line: string) => void): (message: string) => void {
  return (message) => warn(`Warning: ${escapeInvisible(message)}`);
}

/** The catalog over a profile's backend, with its per-location cache dir; `configFlag`: the --config the profile came from. */
export function catalogOf(config: Config, profile: ResolvedProfile, backend: B2Backend, warn: (line: string) => void, configFlag: string | undefined): BackupCatalog {
  return new BackupCatalog(backend, {
    cacheDir: join(config.cacheDir, 'locations', locationId(profile)),
    lockDir: join(config.dataDir, 'upload-locks', locationId(profile)),
    onWarning: bucketWarning(warn),
    cli: cliPrefix(config),
    locationFlags: locationFlags(profile.name, configFlag),
    where: `profile "${profile.name}" (bucket ${profile.bucket}, prefix ${JSON.stringify(profile.prefix)})`,
    createdBy: `${config.pjson.name === 'backup-plugin-b2' ? '' : `${config.pjson.name} via `}backup-plugin-b2`,
  });
}

/** A stable directory name for one backup location (endpoint, bucket, prefix). */
export function locationId(profile: Pick<ResolvedProfile, 'endpoint' | 'bucket' | 'prefix'>): string {
  const digest = createHash('sha256').update(`${profile.endpoint}\n${profile.bucket}\n${profile.prefix}`).digest('hex').slice(0, 16);
  return `${profile.bucket}-${digest}`;
}
