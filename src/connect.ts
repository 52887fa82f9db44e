import type {CheckReport, StorageBackend} from './backend.js';
import type {B2Backend, B2BackendInput, B2BackendOptions} from './b2/index.js';
import type {EmbeddedB2} from './embedded/embedded-b2.js';
import {locationFlags, profileCommandHint} from './command-hint.js';
import {BackupError} from './errors.js';
import {quoteValue} from './redact.js';
import {EMBEDDED_ENDPOINT, type ResolvedProfile} from './profiles/types.js';

/**
 * The embedded store is for trying the tool on small archives, so it uses parts small
 * enough that a tens-of-MB backup takes the multi-part path, as a real one does on B2.
 */
export const EMBEDDED_PART_SIZE = 8_000_000;
export const EMBEDDED_UPLOAD_CUTOFF = 16_000_000;

/** Where the embedded store keeps its data, and the command prefix hints name (commandHint). */
export interface ConnectContext {
  dataDir: string;
  signal?: AbortSignal;
  cli?: string;
  /**
   * Set by the CLI, whose profiles are saved: hints then name the profile (and this
   * --config) they act on (locationFlags). A host that hands in fields gets none.
   */
  savedProfiles?: {configFlag?: string};
}

/** The hint settings of one profile's backend (see ConnectContext). */
function hintsOf(profile: ResolvedProfile, ctx: ConnectContext): Pick<B2BackendOptions, 'cli' | 'locationFlags' | 'profileCommand'> {
  if (!ctx.savedProfiles) return {cli: ctx.cli};
  const {configFlag} = ctx.savedProfiles;
  return {cli: ctx.cli, locationFlags: locationFlags(profile.name, configFlag), ...savedProfileCommand(profile, ctx)};
}

function savedProfileCommand(profile: ResolvedProfile, ctx: ConnectContext): Pick<B2BackendOptions, 'profileCommand'> {
  return savedProfileFix(profile.name, ctx.cli, ctx.savedProfiles?.configFlag);
}

/** The `profile update NAME` that fixes a saved profile, when it must name the --config its file came from (else the provider's default, without). */
export function savedProfileFix(name: string, cli: string | undefined, configFlag: string | undefined): Pick<B2BackendOptions, 'profileCommand'> {
  return configFlag === undefined ? {} : {profileCommand: profileCommandHint(cli, `update ${name}`, configFlag)};
}

/**
 * Opens the B2 backend a profile describes. For `endpoint: embedded` it first starts the
 * bundled emulator in-process (data under `dataDir`) and stops it when the backend closes.
 */
export async function connectB2(profile: ResolvedProfile, ctx: ConnectContext, extra: Partial<B2BackendOptions> = {}): Promise<B2Backend> {
  const {B2Backend} = await provider();
  if (profile.endpoint !== EMBEDDED_ENDPOINT) return B2Backend.open({...profile, keyFix: keyFixOf(profile), ...connectTimeoutFromEnv(), ...hintsOf(profile, ctx), ...extra}, {signal: ctx.signal});
  const embedded = await startEmbedded(profile, ctx);
  try {
    return withCleanup(await B2Backend.open(embeddedInput(profile, embedded, {...hintsOf(profile, ctx), ...extra}), {signal: ctx.signal}), () => embedded.stop());
  } catch (err) {
    await embedded.stop();
    throw err;
  }
}

/**
 * The backends of two profiles at once (a copy or move between them), `extra` given to
 * each as connectB2's. Two embedded profiles share one embedded emulator (one may run per
 * data dir); it stops when the second backend closes.
 */
export async function connectB2Pair(
  a: ResolvedProfile,
  b: ResolvedProfile,
  ctx: ConnectContext,
  extra: [Partial<B2BackendOptions>, Partial<B2BackendOptions>] = [{}, {}],
): Promise<[B2Backend, B2Backend]> {
  if (a.endpoint !== EMBEDDED_ENDPOINT || b.endpoint !== EMBEDDED_ENDPOINT) {
    const first = await connectB2(a, ctx, extra[0]);
    try {
      return [first, await connectB2(b, ctx, extra[1])];
    } catch (err) {
      await first.close();
      throw err;
    }
  }
  const {B2Backend} = await provider();
  const embedded = await startEmbedded(a, ctx);
  const opened: B2Backend[] = [];
  try {
    for (const [i, p] of [a, b].entries()) opened.push(await B2Backend.open(embeddedInput(p, embedded, {...hintsOf(p, ctx), ...extra[i]}), {signal: ctx.signal}));
  } catch (err) {
    await Promise.all(opened.map((o) => o.close()));
    await embedded.stop();
    throw err;
  }
  let open = 2;
  const closeOne = async () => {
    if (--open === 0) await embedded.stop();
  };
  return [withCleanup(opened[0], closeOne), withCleanup(opened[1], closeOne)];
}

/** The setup checks for a profile (credentials, bucket, capabilities, prefix, key expiry, foreign files). */
export async function checkB2(profile: ResolvedProfile, ctx: ConnectContext & {unsaved?: boolean}): Promise<CheckReport> {
  // a profile with `lock:` needs a bucket with Object Lock and a key that may set retentions
  const lockUploads = profile.lock !== undefined;
  // a profile being added is not saved yet: "profile update" could not fix it
  const profileCommand = ctx.unsaved ? `${profileCommandHint(ctx.cli, `add ${profile.name}`, ctx.savedProfiles?.configFlag)} …` : savedProfileCommand(profile, ctx).profileCommand;
  const {B2Backend} = await provider();
  if (profile.endpoint !== EMBEDDED_ENDPOINT) return B2Backend.checkProfile({...profile, keyFix: keyFixOf(profile), profileCommand, cli: ctx.cli, lockUploads, ...connectTimeoutFromEnv()});
  const embedded = await startEmbedded(profile, ctx);
  try {
    return await B2Backend.checkProfile(embeddedInput(profile, embedded, {lockUploads, profileCommand, cli: ctx.cli}));
  } finally {
    await embedded.stop();
  }
}

/** B2_CONNECT_TIMEOUT: the seconds making a connection may take (the provider's default when unset). */
export function connectTimeoutFromEnv(env: NodeJS.ProcessEnv = process.env): Pick<B2BackendOptions, 'connectTimeoutMs'> {
  const text = env.B2_CONNECT_TIMEOUT;
  if (text === undefined || text.trim() === '') return {};
  const seconds = Number(text);
  if (!Number.isFinite(seconds) || seconds <= 0 || seconds > 600) {
    throw new BackupError('bad_input', `B2_CONNECT_TIMEOUT=${quoteValue(text)} is not a number of seconds; set it to e.g. 4 or 0.5 (at most 600), or unset it for the default`);
  }
  return {connectTimeoutMs: Math.max(1, Math.round(seconds * 1000))};
}

/** A key from the environment is fixed in the environment: updating the profile would not help. */
export const ENV_KEY_FIX = 'set B2_APPLICATION_KEY_ID and B2_APPLICATION_KEY to a working key (they replace the profile\'s key), or unset both to use the profile\'s key';

function keyFixOf(profile: ResolvedProfile): string | undefined {
  return profile.keyFrom === 'env' ? ENV_KEY_FIX : undefined;
}

/**
 * The provider and its HTTP stack (axios, backblaze-b2: most of a connecting command's
 * start-up) load when a command connects, not when it only edits or shows profiles
 * (profile add --no-check, or any bad input, which fails before connecting).
 */
const provider = () => import('./b2/index.js');

/** The emulator is loaded only here: a profile on B2 itself never pays for it. */
async function startEmbedded(profile: ResolvedProfile, ctx: {dataDir: string}): Promise<EmbeddedB2> {
  const {startEmbeddedB2} = await import('./embedded/embedded-b2.js');
  return startEmbeddedB2(ctx.dataDir, profile.bucket, {recommendedPartSize: EMBEDDED_PART_SIZE});
}

/** An embedded profile's own key is a placeholder: the emulator provisioned the real one. */
function embeddedInput(profile: ResolvedProfile, embedded: EmbeddedB2, extra: Partial<B2BackendOptions>): B2BackendInput {
  // messages say "embedded", not the emulator's random port
  return {uploadCutoff: EMBEDDED_UPLOAD_CUTOFF, ...profile, ...extra, endpoint: embedded.url, endpointName: EMBEDDED_ENDPOINT, keyId: embedded.keyId, applicationKey: embedded.applicationKey};
}

/** The same backend (B2-specific methods included) whose close() also runs `cleanup`. */
export function withCleanup<T extends StorageBackend>(backend: T, cleanup: () => Promise<void>): T {
  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      try {
        await backend.close();
      } finally {
        await cleanup();
      }
    })());
  return new Proxy(backend, {
    get(target, prop) {
      if (prop === 'close') return close;
      const value = Reflect.get(target, prop, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}
