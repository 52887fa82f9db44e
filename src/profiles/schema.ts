import type {z} from 'zod';
import {loadZod, type Zod} from '../lazy-zod.js';
import {nameProblem} from '../keys.js';
import {keyShaped} from '../redact.js';
import {isPlainObject} from '../zod-free-checks.js';
import {DEFAULT_CONCURRENCY, DEFAULT_ENDPOINT, EMBEDDED_ENDPOINT} from './types.js';
import {RATE_EXPECTATION, parseRate} from './rate.js';
import {parseSize} from './size.js';
import {secretRefProblem} from './secrets.js';
import {COUNT_RULES, parseRetentionDuration, retentionPolicyProblem, type RetentionPolicy} from '../backups/retention.js';
import {LOCK_MODES, MAX_LOCK_DAYS, lockDurationProblem} from '../backups/lock.js';
import {unseenCharacterProblem} from '../backups/validate.js';

/**
 * The profiles file schema. Every field carries the sentence a user sees when it is
 * wrong ("expected …"), so that file errors and flag errors read the same; zod's own
 * messages are never shown except for the `reason` of a custom check.
 */
export const MIN_PART_SIZE = 5_000_000;
export const MAX_PART_SIZE = 5_000_000_000;
export const MAX_CONCURRENCY = 64;

export const FIELD_EXPECTATIONS = {
  keyId: 'a key ID (text without spaces)',
  applicationKey: 'an application key, env:NAME or file:PATH',
  bucket: 'a bucket name of 6..63 characters a-z, 0-9 and "-"',
  prefix: 'a name prefix such as "backups/"',
  endpoint: 'an https:// or http:// URL, or "embedded"',
  partSize: 'a size from 5MB to 5GB, such as 100MB, 100MiB or 100000000',
  concurrency: `an integer 1..${MAX_CONCURRENCY}`,
  encryption: 'SSE-B2 or SSE-C',
  encryptionKey: 'the SSE-C key (256 bits, base64): inline, env:NAME or file:PATH',
} as const;

export type ProfileField = keyof typeof FIELD_EXPECTATIONS;

export const PROFILE_FIELDS = Object.keys(FIELD_EXPECTATIONS) as ProfileField[];

/**
 * Fields that are mappings of their own (set in the file; per-run flags override them):
 * what each sub-field expects, and what the mapping as a whole is.
 */
export const GROUP_EXPECTATIONS: Record<string, {self: string; fields: Record<string, string>}> = {
  bandwidth: {self: 'a mapping with upload and/or download rates, such as {upload: 5MB/s}', fields: {upload: RATE_EXPECTATION, download: RATE_EXPECTATION}},
  // restic's rules, see src/backups/retention.ts
  retention: {
    self: `a mapping of retention rules (${[...COUNT_RULES, 'keepWithin'].join(', ')})`,
    fields: {...Object.fromEntries(COUNT_RULES.map((r) => [r, 'a whole number ≥ 0'])), keepWithin: 'a duration such as 30d, 12h or 1y6m'},
  },
  // B2 Object Lock on every upload, see src/backups/lock.ts
  lock: {
    self: 'a mapping with days (or duration) and optionally mode, such as {days: 30, mode: governance}',
    fields: {days: `whole days 1..${MAX_LOCK_DAYS}`, duration: 'a duration such as 30d, 6m or 1y', mode: 'governance or compliance'},
  },
};
/** Every field a profile may have, for "expected one of …" and typo hints. */
export const ALL_PROFILE_FIELDS: readonly string[] = [...PROFILE_FIELDS, ...Object.keys(GROUP_EXPECTATIONS)];
/** The fields that hold a secret (or an env:/file: reference to one): never shown, not even their type's value. */
export const SECRET_FIELDS = ['applicationKey', 'encryptionKey'] as const satisfies readonly ProfileField[];
export const REQUIRED_FIELDS: readonly ProfileField[] = ['keyId', 'applicationKey', 'bucket'];

export const PROFILE_NAME_EXPECTATION = 'a profile name of 1..64 letters, digits, ".", "_" or "-", starting with a letter or digit'; // not "-": it could not be typed as an argument

/** Why a profile name is unusable, or undefined. Names appear in commands and env vars. */
export function profileNameProblem(name: string): string | undefined {
  return /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(name) ? undefined : 'not a valid profile name';
}

/**
 * Why a key ID is unusable, or undefined. B2's key IDs are hex digits; text with the mixed
 * case and digits of a key is an application key given as the key ID (the two swapped, a
 * common slip), which would then be shown wherever the key ID is.
 */
export function keyIdProblem(keyId: string): string | undefined {
  if (/\s/.test(keyId.trim())) return 'it contains a space';
  if (keyShaped(keyId.trim())) return 'the key ID and the application key look swapped';
  return undefined;
}

/** Why a bucket name is unusable (B2's rules), or undefined. */
export function bucketProblem(bucket: string): string | undefined {
  if (bucket.length < 6 || bucket.length > 63) return `it has ${bucket.length} characters`;
  const bad = /[^a-z0-9-]/.exec(bucket);
  if (bad) return `it contains ${JSON.stringify(bad[0])}`;
  if (bucket.startsWith('b2-')) return 'names starting with "b2-" are reserved by Backblaze';
  return undefined;
}

/** '' stays '' (no prefix); anything else must be a valid B2 name prefix and gets a trailing '/'. */
export function normalizePrefix(prefix: string): {prefix: string} | {problem: string} {
  if (prefix === '') return {prefix: ''};
  const normalized = prefix.endsWith('/') ? prefix : `${prefix}/`;
  const unseen = unseenCharacterProblem(prefix); // as backup names: a U+202E would make listings show another prefix
  const problem = nameProblem(prefix, 'prefix') ?? (unseen && `prefix ${unseen}`) ?? nameProblem(normalized, 'prefix');
  return problem ? {problem} : {prefix: normalized};
}

export function endpointProblem(endpoint: string): string | undefined {
  if (endpoint === EMBEDDED_ENDPOINT) return undefined;
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    return 'it is not a URL';
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return `the scheme is ${url.protocol.slice(0, -1)}`;
  if (url.username || url.password) return 'it contains credentials; put the key in applicationKey instead';
  if (url.search || url.hash) return 'it has a query or fragment';
  return undefined;
}

export function partSizeProblem(value: string | number): {bytes: number} | {problem: string} {
  const parsed = parseSize(value);
  if ('problem' in parsed) return parsed;
  if (parsed.bytes < MIN_PART_SIZE) return {problem: 'B2 parts must be at least 5MB'};
  if (parsed.bytes > MAX_PART_SIZE) return {problem: 'B2 parts must be at most 5GB'};
  return parsed;
}

export const ENCRYPTION_MODES = ['SSE-B2', 'SSE-C'] as const;

/** JSON Schema annotations of a field (see profileJsonSchema): what the host shows its users. */
function about(field: ProfileField, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {description: FIELD_EXPECTATIONS[field], ...extra};
}

/**
 * The zod schemas, built on first use: zod costs ~60 ms of every command's start, and a
 * valid file never needs it (fast-validate.ts answers for valid input; these schemas
 * judge everything else and word every message).
 */
function buildSchemas(z: Zod) {
  /** Adds a custom issue whose message is the reason shown after the offending value. */
  function reject(ctx: z.RefinementCtx, reason: string): typeof z.NEVER {
    ctx.addIssue({code: 'custom', message: reason});
    return z.NEVER;
  }

  /** A rate field (`5MB/s`, `40Mbit/s`) as bytes per second. */
  const rateField = z.union([z.number(), z.string()]).transform((value, ctx) => {
    const result = parseRate(value);
    return 'problem' in result ? reject(ctx, result.problem) : result.bytesPerSecond;
  });

  const nonBlank = z.string().superRefine((value, ctx) => {
    if (value.trim() === '') ctx.addIssue({code: 'custom', message: 'it is empty'});
  });

  const keepCount = z.number().int().min(0).optional();

  /** restic's rules; a policy that keeps nothing by rule is refused (it would delete every backup). */
  const retentionSchema = z
    .strictObject({
      ...(Object.fromEntries(COUNT_RULES.map((r) => [r, keepCount])) as Record<(typeof COUNT_RULES)[number], typeof keepCount>),
      keepWithin: z
        .string()
        .superRefine((value, ctx) => {
          if (parseRetentionDuration(value) === undefined) ctx.addIssue({code: 'custom', message: 'use a number and a unit y, m, d or h'});
        })
        .optional(),
    })
    .superRefine((policy, ctx) => {
      const problem = retentionPolicyProblem(policy as RetentionPolicy);
      if (problem) ctx.addIssue({code: 'custom', message: problem});
    });

  /** Object Lock for every upload: how long (days, or a duration) and the mode (governance unless said). */
  const lockSchema = z
    .strictObject({
      days: z.number().int().min(1).max(MAX_LOCK_DAYS).optional(),
      duration: z
        .string()
        .superRefine((value, ctx) => {
          const problem = lockDurationProblem(value);
          if (problem) ctx.addIssue({code: 'custom', message: problem});
        })
        .optional(),
      mode: z.enum(LOCK_MODES).optional(),
    })
    .check((ctx) => {
      // a typo ("dayz") is the problem to report, not the days it seems to lack
      if (ctx.issues.length > 0) return;
      const lock = ctx.value;
      const issue = (message: string, field: string) => ctx.issues.push({code: 'custom', message, path: [field], input: lock});
      if (lock.days === undefined && lock.duration === undefined) issue('give days (e.g. days: 30) or a duration (e.g. duration: 1y)', 'days');
      if (lock.days !== undefined && lock.duration !== undefined) issue('give days or duration, not both', 'duration');
    });

  /** The fields one by one (per-run overrides validate a part of them). */
  const profileFieldsSchema = z.strictObject({
    keyId: nonBlank.superRefine((value, ctx) => {
      const problem = keyIdProblem(value);
      if (problem) ctx.addIssue({code: 'custom', message: problem});
    }).meta(about('keyId')),
    applicationKey: nonBlank.superRefine((value, ctx) => {
      const problem = secretRefProblem(value);
      if (problem) ctx.addIssue({code: 'custom', message: problem});
    }).meta(about('applicationKey')),
    bucket: z.string().transform((bucket, ctx) => {
      const problem = bucketProblem(bucket);
      return problem ? reject(ctx, problem) : bucket;
    }).meta(about('bucket', {pattern: '^[a-z0-9-]{6,63}$'})),
    prefix: z
      .string()
      .transform((prefix, ctx) => {
        const result = normalizePrefix(prefix);
        return 'problem' in result ? reject(ctx, result.problem) : result.prefix;
      })
      .optional()
      .meta(about('prefix', {maxLength: 1023})),
    endpoint: z
      .string()
      .transform((endpoint, ctx) => {
        const problem = endpointProblem(endpoint);
        return problem ? reject(ctx, problem) : endpoint.replace(/\/+$/, '');
      })
      .optional()
      .meta(about('endpoint', {default: DEFAULT_ENDPOINT})),
    partSize: z
      .union([z.number(), z.string()])
      .transform((value, ctx) => {
        const result = partSizeProblem(value);
        return 'problem' in result ? reject(ctx, result.problem) : result.bytes;
      })
      .optional()
      .meta(about('partSize')),
    concurrency: z.number().int().min(1).max(MAX_CONCURRENCY).optional().meta(about('concurrency', {default: DEFAULT_CONCURRENCY})),
    bandwidth: z
      .strictObject({upload: rateField.optional(), download: rateField.optional()})
      .optional()
      .meta({description: GROUP_EXPECTATIONS.bandwidth.self}),
    encryption: z.enum(ENCRYPTION_MODES).optional().meta(about('encryption')),
    // the key itself is checked once resolved (a message must never show it)
    encryptionKey: nonBlank.superRefine((value, ctx) => {
      const problem = secretRefProblem(value);
      if (problem) ctx.addIssue({code: 'custom', message: problem});
    }).optional().meta(about('encryptionKey')),
    retention: retentionSchema.optional().meta({description: GROUP_EXPECTATIONS.retention.self}),
    lock: lockSchema.optional().meta({description: GROUP_EXPECTATIONS.lock.self}),
  });

  /** A whole profile: the fields, and the rules between them. */
  const profileEntrySchema = profileFieldsSchema.superRefine((entry, ctx) => {
    if (entry.encryption === 'SSE-C' && entry.encryptionKey === undefined) ctx.addIssue({code: 'custom', message: 'SSE-C needs it', path: ['encryptionKey']});
    if (entry.encryptionKey !== undefined && entry.encryption !== 'SSE-C') ctx.addIssue({code: 'custom', message: 'encryptionKey is only for SSE-C: set encryption: SSE-C, or remove encryptionKey', path: ['encryption']});
  });

  const profilesFileSchema = z.strictObject({
    // the names are checked as the file has them: a record's output leaves out "__proto__" (a name refused all the same)
    profiles: z.preprocess((profiles, ctx) => {
      if (isPlainObject(profiles)) {
        for (const name of Object.keys(profiles)) {
          const problem = profileNameProblem(name);
          if (problem) ctx.issues.push({code: 'custom', message: problem, path: [name], params: {about: 'name'}, input: profiles});
        }
      }
      return profiles;
    }, z.record(z.string(), profileEntrySchema).nullish()),
    /** The profile used without --profile / B2_PROFILE when there are several ("b2 profile default NAME"). */
    default: z.string().optional(),
  });

  return {profileFieldsSchema, profileEntrySchema, profilesFileSchema};
}

export type ProfileSchemas = ReturnType<typeof buildSchemas>;
let schemas: ProfileSchemas | undefined;

/** The profile schemas (zod loaded and the schemas built on the first call). */
export function profileSchemas(): ProfileSchemas {
  return (schemas ??= buildSchemas(loadZod()));
}

/** A profile as the file holds it, validated and normalised (partSize in bytes, prefix ending in '/'). */
export type ProfileEntry = z.output<ProfileSchemas['profileEntrySchema']>;
/** A profile as written (before normalisation): what the file and the flags provide. */
export type ProfileInput = Partial<Record<ProfileField, string | number>>;

export type ProfilesFile = z.output<ProfileSchemas['profilesFileSchema']>;

/** JSON Schema of one profile as written, for the host (`TargetRegistration.profileSchema`). */
export function profileJsonSchema(): Record<string, unknown> {
  return loadZod().toJSONSchema(profileSchemas().profileEntrySchema, {io: 'input', unrepresentable: 'any'}) as Record<string, unknown>;
}
