import type {RetentionPolicy} from '../backups/retention.js';
import type {LockSetting} from '../backups/lock.js';

/** Backblaze's production realm: where keys are authorized unless a profile says otherwise. */
export const DEFAULT_ENDPOINT = 'https://api.backblazeb2.com';
/** Endpoint value that runs the bundled emulator in-process (no account needed). */
export const EMBEDDED_ENDPOINT = 'embedded';
export const DEFAULT_CONCURRENCY = 4;

/** Server-side encryption of uploads: B2's keys (SSE-B2), or the user's (SSE-C, `key` base64). Never print the key. */
export type Encryption = {mode: 'SSE-B2'} | {mode: 'SSE-C'; key: string};

/** Why a text is not an SSE-C key (256 bits, base64), or undefined; the reason never quotes it. */
export function customerKeyProblem(key: string): string | undefined {
  const raw = Buffer.from(key, 'base64');
  if (raw.length === 32 && raw.toString('base64') === key) return undefined;
  return 'not an SSE-C key: expected 256 bits in base64 (44 characters ending in "="), e.g. from: openssl rand -base64 32';
}

/** A profile ready to connect: secrets resolved, prefix normalised, defaults applied. */
export interface ResolvedProfile {
  name: string;
  /** The profiles file it was read from (absolute): a profile is its name in this file (move records and locks key by both). */
  profilesFile?: string;
  keyId: string;
  /** The secret itself (resolved from inline, env:NAME or file:PATH). Never print it. */
  applicationKey: string;
  bucket: string;
  /** '' or a name prefix ending in '/'. */
  prefix: string;
  /** DEFAULT_ENDPOINT, any http(s) URL, or EMBEDDED_ENDPOINT. */
  endpoint: string;
  /** Bytes; undefined means the server's recommendedPartSize. */
  partSize?: number;
  concurrency: number;
  /** 'env': the key came from B2_APPLICATION_KEY_ID/B2_APPLICATION_KEY, not the profile. */
  keyFrom?: 'profile' | 'env';
  /** Bytes per second for this process's uploads / downloads; undefined: unlimited. */
  bandwidth?: {upload?: number; download?: number};
  encryption?: Encryption;
  /** The profile's `retention:` rules: upload prunes by them, and so does `prune` without flags. */
  retention?: RetentionPolicy;
  /** The profile's `lock:`: every upload is retained (B2 Object Lock) this long, in this mode. */
  lock?: LockSetting;
}
