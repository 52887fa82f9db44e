/**
 * Checks that answer what a zod schema answers for valid input, without loading zod
 * (~100 modules, ~60 ms of a command's start; see lazy-zod.ts). A check returns the
 * parsed value, or DEFER for anything it does not accept; the zod schema then judges and
 * words the message. So a rule missing from a check costs only speed, never a different
 * answer, and each user tests its checks against its zod schema on generated input.
 */

/** What a check answers for a value it leaves to the zod schema. */
export const DEFER = Symbol('defer');
export type Check = (value: unknown) => unknown;

export const isText = (v: unknown): v is string => typeof v === 'string';
export const isWhole = (v: unknown, min: number, max: number): v is number => Number.isSafeInteger(v) && (v as number) >= min && (v as number) <= max;

/** A mapping as YAML and JSON give it (anything else, a class instance say, is zod's to judge). */
export const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && (Object.getPrototypeOf(v) === Object.prototype || Object.getPrototypeOf(v) === null);

/**
 * An object as zod checks one: the shape's keys through their checks (`required` ones
 * present), and keys outside the shape refused (z.strictObject), dropped (z.object) or
 * kept after the shape's (z.looseObject). The output has zod's key order; an optional key
 * given as undefined stays, as in zod.
 */
export function objectOf(shape: Record<string, Check>, value: unknown, opts: {unknown: 'refuse' | 'strip' | 'keep'; required?: readonly string[]}): Record<string, unknown> | typeof DEFER {
  if (!isPlainObject(value)) return DEFER;
  const extra = Object.keys(value).filter((key) => !Object.hasOwn(shape, key));
  if (extra.includes('__proto__') || (extra.length > 0 && opts.unknown === 'refuse')) return DEFER;
  const out: Record<string, unknown> = {};
  for (const [key, check] of Object.entries(shape)) {
    const v = value[key];
    if (v === undefined) {
      if (opts.required?.includes(key)) return DEFER;
      if (Object.hasOwn(value, key)) out[key] = undefined;
      continue;
    }
    const checked = check(v);
    if (checked === DEFER) return DEFER;
    out[key] = checked;
  }
  if (opts.unknown === 'keep') for (const key of extra) out[key] = value[key];
  return out;
}

/** A check's answer as the caller's value: undefined when the zod schema must judge. */
export const answer = <T>(v: unknown): T | undefined => (v === DEFER ? undefined : (v as T));
