import {COUNT_RULES, parseRetentionDuration, retentionPolicyProblem} from '../backups/retention.js';
import {LOCK_MODES, MAX_LOCK_DAYS, lockDurationProblem} from '../backups/lock.js';
import {parseRate} from './rate.js';
import {
  ENCRYPTION_MODES,
  MAX_CONCURRENCY,
  REQUIRED_FIELDS,
  bucketProblem,
  endpointProblem,
  keyIdProblem,
  normalizePrefix,
  partSizeProblem,
  profileNameProblem,
  type ProfileEntry,
  type ProfilesFile,
} from './schema.js';
import {secretRefProblem} from './secrets.js';
import {DEFER, answer, isPlainObject, isText, isWhole, objectOf, type Check} from '../zod-free-checks.js';

/**
 * The profile rules for input that passes them, without zod: each function answers
 * exactly what the zod schema in schema.ts answers for valid input (the same object, keys
 * in the same order), or undefined, and the zod schema then judges and words the message
 * (see zod-free-checks.ts). test/profiles/fast-validate.test.ts compares both on
 * generated input.
 */

const isNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const strict = (shape: Record<string, Check>, value: unknown, required: readonly string[] = []) => objectOf(shape, value, {unknown: 'refuse', required});

const nonBlank = (v: unknown): v is string => isText(v) && v.trim() !== '';
const secretRef: Check = (v) => (nonBlank(v) && secretRefProblem(v) === undefined ? v : DEFER);

const rate: Check = (v) => {
  if (!isNumber(v) && !isText(v)) return DEFER;
  const r = parseRate(v);
  return 'problem' in r ? DEFER : r.bytesPerSecond;
};

const retention: Check = (v) => {
  const keep: Check = (n) => (isWhole(n, 0, Number.MAX_SAFE_INTEGER) ? n : DEFER);
  const policy = strict({
    ...Object.fromEntries(COUNT_RULES.map((rule) => [rule, keep])),
    keepWithin: (d) => (isText(d) && parseRetentionDuration(d) !== undefined ? d : DEFER),
  }, v);
  return policy !== DEFER && retentionPolicyProblem(policy) === undefined ? policy : DEFER;
};

const lock: Check = (v) => {
  const setting = strict({
    days: (d) => (isWhole(d, 1, MAX_LOCK_DAYS) ? d : DEFER),
    duration: (d) => (isText(d) && lockDurationProblem(d) === undefined ? d : DEFER),
    mode: (m) => ((LOCK_MODES as readonly unknown[]).includes(m) ? m : DEFER),
  }, v);
  if (setting === DEFER) return DEFER;
  return (setting.days === undefined) !== (setting.duration === undefined) ? setting : DEFER;
};

/** Every field, in the schema's order. */
const FIELDS: Record<string, Check> = {
  keyId: (v) => (nonBlank(v) && keyIdProblem(v) === undefined ? v : DEFER),
  applicationKey: secretRef,
  bucket: (v) => (isText(v) && bucketProblem(v) === undefined ? v : DEFER),
  prefix: (v) => {
    const r = isText(v) ? normalizePrefix(v) : undefined;
    return r && 'prefix' in r ? r.prefix : DEFER;
  },
  endpoint: (v) => (isText(v) && endpointProblem(v) === undefined ? v.replace(/\/+$/, '') : DEFER),
  partSize: (v) => {
    const r = isNumber(v) || isText(v) ? partSizeProblem(v) : undefined;
    return r && 'bytes' in r ? r.bytes : DEFER;
  },
  concurrency: (v) => (isWhole(v, 1, MAX_CONCURRENCY) ? v : DEFER),
  bandwidth: (v) => strict({upload: rate, download: rate}, v),
  encryption: (v) => ((ENCRYPTION_MODES as readonly unknown[]).includes(v) ? v : DEFER),
  encryptionKey: secretRef,
  retention,
  lock,
};

const entry: Check = (v) => {
  const e = strict(FIELDS, v, REQUIRED_FIELDS);
  if (e === DEFER) return DEFER;
  // the rules between fields
  return (e.encryption === 'SSE-C') === (e.encryptionKey !== undefined) ? e : DEFER;
};

/** A whole profile (profileEntrySchema), or undefined: let zod judge. */
export function fastProfileEntry(input: unknown): ProfileEntry | undefined {
  return answer(entry(input));
}

/** Some fields of a profile (profileFieldsSchema.partial()), or undefined: let zod judge. */
export function fastProfileFields(input: unknown): Partial<ProfileEntry> | undefined {
  return answer(strict(FIELDS, input));
}

/** The profiles file's content (profilesFileSchema), or undefined: let zod judge. */
export function fastProfilesFile(input: unknown): ProfilesFile | undefined {
  return answer(strict({
    profiles: (v) => {
      if (v === null) return null;
      if (!isPlainObject(v)) return DEFER;
      const out: Record<string, unknown> = {};
      for (const [name, e] of Object.entries(v)) {
        const parsed = profileNameProblem(name) === undefined ? entry(e) : DEFER;
        if (parsed === DEFER) return DEFER;
        out[name] = parsed;
      }
      return out;
    },
    default: (v) => (isText(v) ? v : DEFER),
  }, input));
}
