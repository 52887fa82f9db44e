import {createHash} from 'node:crypto';
import {join} from 'node:path';
import type {Config} from '@oclif/core';
import type {B2Backend, TransferEventListener} from '../b2/index.js';
import {BackupCatalog} from '../backups/index.js';
import {escapeInvisible} from '../backups/validate.js';
import {connectB2} from '../connect.js';
import {BackupError} from '../errors.js';
import {loadProfile} from '../profiles/index.js';
import type {ResolvedProfile} from '../profiles/types.js';
import {timing} from '../timing.js';
import {locationFlags} from '../command-hint.js';
import {cliPrefix} from './cli-prefix.js';
import {holdShared} from './copy-lock.js';
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
  opts: {warn: (line: string) => void; signal?: AbortSignal; overrides?: TransferOverrides; onEvent?: TransferEventListener; writes?: WriterNames},
): Promise<OpenedLocation> {
  const load = async () => withOverrides(await loadProfile({configFlag: flags.config, profileFlag: flags.profile, configDir: config.configDir, cli: cliPrefix(config)}), opts.overrides);
  const {profile, release} = opts.writes ? await loadForWriting(load, config.dataDir, opts.writes, opts.warn) : {profile: await load(), release: async () => undefined};
  timing('profile loaded');
  try {
    const backend = await connectB2(profile, {dataDir: config.dataDir, signal: opts.signal, cli: cliPrefix(config), savedProfiles: {configFlag: flags.config}}, opts.onEvent ? {onEvent: opts.onEvent} : {});
    timing('connected (authorized, bucket found)');
    const catalog = catalogOf(config, profile, backend, opts.warn, flags.config);
    // the catalog's hints and the command's name the location the same way
    return {profile, backend, catalog, hint: (words) => catalog.hint(words), close: () => backend.close().finally(release)};
  } catch (err) {
    await release();
    throw err;
  }
}

/**
 * What a command that writes to its location says of itself to a move its hold keeps out
 * (`doing`, followed by the profile: "a backup is being uploaded to"), and what it did not
 * do when a move keeps it out (`notDone`: "nothing was uploaded").
 */
export interface WriterNames {
  doing: string;
  notDone: string;
}

/** A profile whose location changes under a writer this often in a row is taken as it is then held. */
const PROFILE_READS = 3;

/**
 * The profile `load` reads, with a shared hold of its name and its location (holdShared)
 * that `release` gives up: no move of either runs until then, and one running refuses
 * this command (one line, exit 1, nothing done). The profile is read again once held: a
 * move that saved it with a new location between the first read and the hold would
 * otherwise have this command write to the old one, which no profile names any more
 * (the hold of the new place is taken then). A location that keeps changing between
 * reads (PROFILE_READS in a row) refuses the command (exit 1, nothing done): whatever it
 * held, the profile no longer points there. `first`: the profile as already read.
 */
export async function loadForWriting(load: () => Promise<ResolvedProfile>, dataDir: string, names: WriterNames, warn: (line: string) => void, first?: ResolvedProfile): Promise<{profile: ResolvedProfile; release: () => Promise<void>}> {
  let profile = first ?? (await load());
  for (let read = 1; ; read++) {
    const release = await holdShared(dataDir, [{profile}, {location: locationId(profile)}], {note: `${names.doing} profile "${profile.name}"`, notDone: names.notDone}, warn);
    let now: ResolvedProfile;
    try {
      now = await load();
    } catch (err) {
      await release();
      throw err;
    }
    if (now.name === profile.name && now.profilesFile === profile.profilesFile && locationId(now) === locationId(profile)) return {profile: now, release};
    await release();
    if (read >= PROFILE_READS) {
      throw new BackupError('failure', `the location of profile "${now.name}" kept changing while this command started (another command is updating it); ${names.notDone}: run this again`, {transient: true});
    }
    profile = now;
  }
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
