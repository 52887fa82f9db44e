import {BackupError, type ErrorKind} from '../errors.js';
import {commandHint} from '../command-hint.js';
import {scrub} from '../redact.js';
import {count} from '../plural.js';
import type {Failure} from './failure.js';
import type {B2Allowed} from './wire-types.js';

/** The four capabilities a backup target needs (what Home Assistant checks at setup). */
export const REQUIRED_CAPABILITIES = ['listFiles', 'readFiles', 'writeFiles', 'deleteFiles'] as const;

/** Which capability each call needs (Backblaze's table). */
const CAPABILITY_OF: Record<string, string> = {
  b2_list_buckets: 'listBuckets',
  b2_list_file_names: 'listFiles',
  b2_list_file_versions: 'listFiles',
  b2_list_unfinished_large_files: 'listFiles',
  b2_download_file_by_name: 'readFiles',
  b2_download_file_by_id: 'readFiles',
  b2_get_file_info: 'readFiles',
  b2_get_upload_url: 'writeFiles',
  b2_upload_file: 'writeFiles',
  b2_start_large_file: 'writeFiles',
  b2_get_upload_part_url: 'writeFiles',
  b2_upload_part: 'writeFiles',
  b2_finish_large_file: 'writeFiles',
  b2_cancel_large_file: 'writeFiles',
  b2_list_parts: 'writeFiles',
  b2_copy_file: 'writeFiles',
  b2_copy_part: 'writeFiles',
  b2_delete_file_version: 'deleteFiles',
  b2_update_file_retention: 'writeFileRetentions',
};

export const TOKEN_CODES = new Set(['bad_auth_token', 'expired_auth_token', 'missing_auth_token']);
export const CAP_CODES = new Set(['cap_exceeded', 'storage_cap_exceeded', 'transaction_cap_exceeded', 'download_cap_exceeded', 'access_denied']);

/** What the mapper needs to know to say where a failure happened and how to fix it. */
export interface ErrorContext {
  profileName?: string;
  bucket: string;
  prefix: string;
  endpoint: string;
  allowed?: B2Allowed;
  /**
   * How the user puts in another key, when the key did not come from the profile (e.g.
   * the B2_APPLICATION_KEY_ID/B2_APPLICATION_KEY environment variables); default: the
   * profile command.
   */
  keyFix?: string;
  /**
   * The command that changes the profile's settings (default: `<cli> profile update NAME`);
   * null when there is no saved profile to change (a host handed the fields to create()).
   */
  profileCommand?: string | null;
  /** The command prefix hints name ("backup-b2 b2", "<host> b2"; see commandHint). */
  cli?: string;
  /** The flags a hint adds to act on this location ("--profile home"; see locationFlags). */
  locationFlags?: string;
  /** How a hint says to remove a leftover here, when not by the cleanup of locationFlags (see B2BackendOptions.cleanupFix). */
  cleanupFix?: string;
  /** How messages name the endpoint instead of its host (the embedded store's random port means nothing to the user). */
  endpointName?: string;
  /** Secrets that must never reach a message. */
  secrets: string[];
  /** The profile's server-side encryption mode, to explain a refused read of SSE-C data. */
  encryption?: string;
}

export interface FailedCall {
  call: string;
  /** The B2 file name involved, if any. */
  name?: string;
  attempts: number;
  /** authorize: first sign-in (credentials); reauthorize: a later one (key expired or revoked). */
  phase?: 'authorize' | 'reauthorize';
  /** Failed after every retry on a condition that may pass (see GiveUp). */
  transient?: boolean;
  /** No connection to the server has worked yet: say that the endpoint may be wrong. */
  unreached?: boolean;
  /** Ended because B2's Retry-After asked for a longer wait than the policy's longest (see GiveUp). */
  waitAsked?: {retryAfterMs: number; maxRetryAfterMs: number};
}

type FixContext = Pick<ErrorContext, 'profileName' | 'profileCommand' | 'cli'>;

/** How messages name the profile: "profile NAME", or "the profile" when no saved profile has that name. */
export function profileRef(ctx: Pick<ErrorContext, 'profileName' | 'profileCommand'>): string {
  return ctx.profileName && ctx.profileCommand !== null ? `profile ${ctx.profileName}` : 'the profile';
}

/** "the key of profile home": the key a line says B2 refused something for. */
export function keyRef(ctx: Pick<ErrorContext, 'profileName' | 'profileCommand'>): string {
  return `the key of ${profileRef(ctx)}`;
}

/**
 * The command that gives the profile these settings (flags with their values elided);
 * without a saved profile, the fields to change in what was handed to create().
 */
export function profileFix(ctx: FixContext, flags: string): string {
  if (ctx.profileCommand === null) return `change ${fieldsOf(flags)} in the profile fields given to create()`;
  return `${ctx.profileCommand ?? commandHint(ctx.cli, `profile update ${ctx.profileName ?? 'NAME'}`)} ${flags}`;
}

/** "--key-id … --application-key …" as the profile fields they set: "keyId and applicationKey". */
function fieldsOf(flags: string): string {
  const fields = (flags.match(/--[a-z-]+/g) ?? []).map((flag) => flag.slice(2).replace(/-([a-z])/g, (_m, c: string) => c.toUpperCase()));
  return fields.length > 1 ? `${fields.slice(0, -1).join(', ')} and ${fields.at(-1)}` : (fields[0] ?? 'the fields');
}

/**
 * The flags that put in another key: both, always. Every B2 application key has a key ID
 * of its own, so a new application key under the old key ID fails to sign in.
 */
const NEW_KEY_FLAGS = '--key-id … --application-key …';

/** How to put in another key (its key ID and application key). */
export function newKeyFix(ctx: FixContext & Pick<ErrorContext, 'keyFix'>): string {
  return ctx.keyFix ?? profileFix(ctx, NEW_KEY_FLAGS);
}

/** The endpoint as messages name it: its host, or the name it goes by ("embedded"). */
export function endpointText(ctx: Pick<ErrorContext, 'endpoint' | 'endpointName'>): string {
  return ctx.endpointName ?? hostOf(ctx.endpoint);
}

/**
 * The fix that puts another key in: "<lead> with: <the profile command>", or, when the key
 * comes from the environment, what to do with those variables instead (a whole clause
 * of its own, never spliced after "<lead> with:").
 */
export function keyFixClause(ctx: FixContext & Pick<ErrorContext, 'keyFix'>, lead: string): string {
  return ctx.keyFix ?? fixClause(ctx, `${lead} with`, NEW_KEY_FLAGS);
}

/**
 * "<lead>: <the profile command>" (the lead ends in "with"); without a saved profile (a
 * host's create()) the fields to change, a clause of its own (never spliced after "with:").
 */
export function fixClause(ctx: FixContext, lead: string, flags: string): string {
  return ctx.profileCommand === null ? profileFix(ctx, flags) : `${lead}: ${profileFix(ctx, flags)}`;
}

/** The one place B2 failures become user-facing errors. */
export function toBackupError(f: Failure, call: FailedCall, ctx: ErrorContext): BackupError {
  if (f.error) return f.error;
  const [kind, message] = describe(f, call, ctx);
  return new BackupError(kind, scrub(message, ctx.secrets), {cause: plainCause(f, ctx.secrets), transient: call.transient});
}

/**
 * What a BackupError keeps as its cause: plain, scrubbed data. Never the library's error:
 * its config and request carry the Authorization header (base64 of keyId:applicationKey,
 * later the account token), which console.error, util.inspect and JSON.stringify show.
 */
export interface PlainCause {
  status?: number;
  code: string;
  message: string;
}

function plainCause(f: {status?: number; code?: string; message?: string}, secrets: string[]): PlainCause {
  return {...(f.status === undefined ? {} : {status: f.status}), code: f.code ?? 'local', message: scrub(f.message ?? '', secrets)};
}

/** An unclassified error from below (a file read, a stream) as a BackupError whose cause is plain data. */
export function wrapUnknown(err: unknown, message: string, secrets: string[]): BackupError {
  const e = err as {code?: unknown; message?: unknown};
  const code = typeof e?.code === 'string' ? e.code : undefined;
  const text = typeof e?.message === 'string' ? e.message : String(err);
  return new BackupError('failure', scrub(message, secrets), {cause: plainCause({code, message: text}, secrets)});
}

function describe(f: Failure, call: FailedCall, ctx: ErrorContext): [ErrorKind, string] {
  const b2Says = `B2 answered ${f.status ?? ''} ${f.code}: ${f.message}`.replace('  ', ' ');
  const what = call.name ? `${call.call} for ${JSON.stringify(call.name)}` : call.call;
  const host = endpointText(ctx);
  if (f.code === 'aborted') return ['aborted', `${what} was aborted`];
  const keyExpired = (): [ErrorKind, string] => ['key_expired', `the application key of ${profileRef(ctx)} stopped working: it has expired or was revoked (${b2Says}); ${keyFixClause(ctx, 'put in a new key')}`];
  if (call.phase === 'authorize' && f.status === 401) {
    if (/expired|revoked/i.test(f.message)) return keyExpired();
    return ['invalid_credentials', `B2 at ${host} rejected the key of ${profileRef(ctx)}: the key ID or application key is wrong, or the key was deleted or has expired (${b2Says}); ${keyFixClause(ctx, 'put in a working key')}`];
  }
  if (call.phase === 'reauthorize' && f.status === 401) return keyExpired();
  if (f.status === 403 && (f.code === 'access_denied' || f.code === 'http_403') && READS.has(call.call)) {
    // B2 refuses a read with 403 for SSE-C data without its key, but also for a suspended
    // account or (a bare 403 to a HEAD) a cap: SSE-C only when B2 or the profile says so
    if (SSE_C_REFUSAL.test(f.message)) return ['encryption_key', customerKeyRefused(call, ctx)];
    if (ctx.encryption === 'SSE-C') return ['encryption_key', `${customerKeyRefused(call, ctx)} (or the account is suspended or at a cap: ${b2Says})`];
    if (f.code === 'http_403') return ['cap_exceeded', `B2 refused ${what} (403 without a reason): an account cap (transactions or downloads), a suspended account, or SSE-C data read without its key; check "Caps & Alerts" and the account status in the Backblaze web UI`];
  }
  if (f.status === 403 && f.code === 'access_denied' && REMOVALS.has(call.call)) {
    return ['locked', `B2 refused to remove ${call.name ? JSON.stringify(call.name) : 'the file'}: it is protected by Object Lock (${f.message}); it can be deleted once its retention date has passed`];
  }
  if (f.status === 403 && f.code === 'access_denied' && call.call === 'b2_update_file_retention') {
    return ['locked', `B2 refused to change the retention of ${call.name ? JSON.stringify(call.name) : 'the file'} (${f.message}): a compliance retention cannot be shortened, a governance one only with bypassGovernance`];
  }
  if (f.status === 403 && CAP_CODES.has(f.code)) {
    const fix = f.code === 'access_denied' ? 'check the account status in the Backblaze web UI' : 'raise the cap under "Caps & Alerts" in the Backblaze web UI, or wait until it resets';
    return ['cap_exceeded', `B2 refused ${what}: ${f.code} (${f.message}); ${fix}`];
  }
  // a bodiless 401 (a HEAD) that a new token did not cure is a refusal too
  if (f.status === 401 && (f.code === 'unauthorized' || f.code === 'http_401')) return unauthorizedKind(f, call, ctx, what);
  if (f.status === 404 || f.code === 'not_found' || f.code === 'no_such_file' || f.code === 'file_not_present') {
    return ['not_found', `${call.name ? JSON.stringify(call.name) : what} does not exist in bucket ${ctx.bucket} (${b2Says})`];
  }
  if (call.waitAsked) {
    const {retryAfterMs, maxRetryAfterMs} = call.waitAsked;
    return ['failure', `B2 asked to wait ${Math.ceil(retryAfterMs / 1000)} s before ${what} is tried again (${b2Says}), longer than the ${Math.round(maxRetryAfterMs / 1000)} s this tool waits for B2; try again later`];
  }
  if (f.status === 416) return ['bad_input', `the requested range is outside ${call.name ? JSON.stringify(call.name) : 'the file'} (${b2Says})`];
  if (f.code === 'network' && call.unreached) return ['network', `cannot reach ${ctx.endpointName ?? ctx.endpoint}: is the endpoint right? (${f.message}; ${call.attempts} attempts, none connected); check the profile's endpoint and the network`];
  if (f.code === 'network' && f.connect) return ['network', `cannot reach B2 at ${host} for ${what} after ${count(call.attempts, 'attempt')}: ${f.message}; check the network connection and the profile's endpoint`];
  // connected, then cut (reset, closed early): the endpoint is right, the path to it is not
  if (f.code === 'network') return ['network', `the connection to B2 at ${host} broke during ${what} after ${count(call.attempts, 'attempt')}: ${f.message}; check the network connection (or a proxy or firewall in between)`];
  if (f.code === 'timeout') return ['timeout', `B2 at ${host} stopped answering ${what} (${f.message}) after ${count(call.attempts, 'attempt')}; check the network or raise the timeout`];
  if (f.code === 'wrong_range') return ['failure', `${what}: ${f.message} after ${count(call.attempts, 'attempt')}; no wrong bytes were kept: something between here and B2 (a cache or proxy) answers other bytes than were asked for; try again later or bypass it`];
  if (f.code === 'bad_answer' || /sha1 did not match/i.test(f.message)) return ['checksum_mismatch', `${what}: ${f.message} after ${count(call.attempts, 'attempt')}; the data changed while it was being sent or was damaged on the way`];
  // not B2's answer nor the network: a bug or an unforeseen local failure, so nothing says nothing changed
  if (f.code === 'local') return ['failure', `unexpected error in ${what} (run with DEBUG=1 for details)`];
  if (f.status === 400 && LARGE_FILE_WRITES.has(call.call) && NO_ACTIVE_UPLOAD.test(f.message)) return ['failure', endedElsewhere(call)];
  if (f.status === 400 && f.code !== 'auth_token_limit') return ['bad_input', `B2 rejected ${what}: ${f.code} (${f.message})`];
  return ['failure', `B2 kept failing ${what} after ${count(call.attempts, 'attempt')}: ${b2Says}; try again later`];
}

/** Calls that write into an unfinished large file (by its fileId). */
const LARGE_FILE_WRITES = new Set(['b2_get_upload_part_url', 'b2_upload_part', 'b2_copy_part', 'b2_finish_large_file']);
/** B2's answer (400 bad_request) to those once the file is no longer unfinished: cancelled, or finished. */
const NO_ACTIVE_UPLOAD = /no active upload/i;

/**
 * The unfinished large file was cancelled or finished by someone else while this call
 * wrote into it: not bad input (parts were sent, and billed), and no fault of the request.
 */
function endedElsewhere(call: FailedCall): string {
  const file = call.name ? `of ${JSON.stringify(call.name)} ` : '';
  const copy = call.call === 'b2_copy_part';
  const what = copy ? 'copy' : 'upload';
  return `the unfinished ${what} ${file}was finished or cancelled by another command (e.g. a cleanup, or a second ${what} of the same file) while this one was still writing it; ${copy ? 'run the same command' : 'run the upload'} again`;
}

/** Calls that read a file's data: B2 answers 403 access_denied (a HEAD: a bare 403) when SSE-C data comes without its key. */
const READS = new Set(['b2_download_file_by_name', 'b2_download_file_by_id']);
/** B2's message when SSE-C data is read without its key (or with another). */
const SSE_C_REFUSAL = /SSE-C|encrypt|customer key/i;
/** Calls that remove a version or a name: B2 answers 403 access_denied while Object Lock protects it. */
const REMOVALS = new Set(['b2_delete_file_version', 'b2_hide_file']);

function customerKeyRefused(call: FailedCall, ctx: ErrorContext): string {
  const what = call.name ? JSON.stringify(call.name) : 'the file';
  const why = ctx.encryption === 'SSE-C' ? "the profile's encryptionKey is not the key it was uploaded with" : 'the profile has no SSE-C encryptionKey';
  return `B2 refused to read ${what}: it is encrypted with SSE-C and ${why}; ${fixClause(ctx, 'set the key it was uploaded with', '--encryption SSE-C --encryption-key …')}`;
}

/** A 401 `unauthorized`: a capability is missing, or the name/bucket is outside the key's restriction. */
function unauthorizedKind(f: Failure, call: FailedCall, ctx: ErrorContext, what: string): [ErrorKind, string] {
  const allowed = ctx.allowed;
  const needed = CAPABILITY_OF[call.call];
  if (allowed && needed && !allowed.capabilities.includes(needed)) {
    return ['missing_capabilities', `the key of ${profileRef(ctx)} lacks the ${needed} capability needed for ${what}; create a key with ${REQUIRED_CAPABILITIES.join(', ')} and ${keyFixClause(ctx, 'put it in')}`];
  }
  if (allowed?.namePrefix && !(call.name ?? ctx.prefix).startsWith(allowed.namePrefix)) {
    return ['prefix_not_allowed', prefixNotAllowed(ctx, allowed.namePrefix)];
  }
  if (allowed?.bucketName && allowed.bucketName !== ctx.bucket) return ['bucket_unavailable', bucketUnavailable(ctx, allowed.bucketName)];
  return ['missing_capabilities', `B2 refused ${what} for the key of ${profileRef(ctx)} (unauthorized: ${f.message}); check the key's capabilities and restrictions, or ${keyFixClause(ctx, 'put in another key')}`];
}

export function prefixNotAllowed(ctx: FixContext & Pick<ErrorContext, 'prefix'>, keyPrefix: string): string {
  return `the key of ${profileRef(ctx)} is restricted to names starting with ${JSON.stringify(keyPrefix)}, but the profile prefix is ${JSON.stringify(ctx.prefix)}; set a prefix that starts with ${JSON.stringify(keyPrefix)} (${profileFix(ctx, '--prefix …')}) or use a key without that restriction`;
}

/** `withFix: false` leaves the fix out, for a check line that prints its fix on its own. */
export function bucketUnavailable(ctx: FixContext & Pick<ErrorContext, 'bucket'>, restrictedTo?: string | null, opts: {withFix?: boolean} = {}): string {
  if (restrictedTo) return `bucket ${ctx.bucket} of ${profileRef(ctx)} is not available: this key is restricted to bucket ${restrictedTo}; use that bucket or a key for ${ctx.bucket}`;
  return `bucket ${ctx.bucket} of ${profileRef(ctx)} does not exist or this key may not use it${opts.withFix === false ? '' : `; ${fixClause(ctx, 'fix the bucket name with', '--bucket …')}`}`;
}

/** How to give the profile another bucket. */
export function bucketFix(ctx: FixContext): string {
  return profileFix(ctx, '--bucket …');
}

/** The host of an endpoint for messages (the endpoint itself if it is not a URL). */
export function hostOf(endpoint: string): string {
  try {
    return new URL(endpoint).host;
  } catch {
    return endpoint;
  }
}
