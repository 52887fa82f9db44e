import {describe, expect, test} from '@jest/globals';
import fc from 'fast-check';
import {fastProfileEntry, fastProfileFields, fastProfilesFile} from '../../src/profiles/fast-validate.js';
import {profileSchemas} from '../../src/profiles/schema.js';

// The zod-free path (fast-validate.ts) must give, for every input, exactly zod's answer:
// the same value (same keys, same order) when zod accepts it, and no answer when zod
// refuses it (zod then words the message). Inputs mix valid and invalid values of
// every field, as a profiles file or flags give them.

/** A value with every object's keys in order, so that toEqual compares the order too. */
function ordered(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(ordered);
  if (v !== null && typeof v === 'object') return Object.entries(v).map(([k, x]) => [k, ordered(x)]);
  return v;
}

const pick = <T>(...values: T[]) => fc.constantFrom(...values);
const FIELD_VALUES = {
  keyId: pick<unknown>('0051234abcd', '  0051234abcd ', '', '   ', 'a b', 123, null, true),
  applicationKey: pick<unknown>('K005secret', 'env:B2_KEY', 'env:1BAD', 'file:', 'file:/keys/b2', 'file:  ', '', '  ', 7),
  bucket: pick<unknown>('my-bucket', 'abc', 'b2-reserved', 'Upper-Case', 'x'.repeat(64), 'my_bucket', 7),
  prefix: pick<unknown>('', 'home', 'home/', '/abs', 'a//b', 'x'.repeat(1100), 3),
  endpoint: pick<unknown>('https://api.example.com/', 'http://127.0.0.1:9000', 'embedded', 'ftp://x.org', 'not a url', 'https://u:p@x.org', 'https://x.org?q=1', 5),
  partSize: pick<unknown>('100MB', 100_000_000, '5MB', 4_999_999, '6GB', 'lots', Number.NaN, Number.POSITIVE_INFINITY, -5, 1.5e8, '100 MiB', 12.5),
  concurrency: pick<unknown>(1, 4, 64, 65, 0, 2.5, '4', -1, Number.NaN, 1e300),
  bandwidth: pick<unknown>({upload: '5MB/s'}, {download: 40_000}, {upload: '1B/s'}, {up: '5MB/s'}, {}, 'fast', null, {download: '5MB', upload: '40Mbit/s'}, {upload: Number.NaN}),
  encryption: pick<unknown>('SSE-B2', 'SSE-C', 'sse-c', 5),
  encryptionKey: pick<unknown>('env:SSEC_KEY', '', 'file:/keys/ssec', '  ', 'inline-key'),
  retention: pick<unknown>({keepLast: 3}, {keepDaily: 0}, {}, {keepWithin: '30d'}, {keepWithin: 'forever'}, {keepLast: -1}, {keepLast: 2.5}, {keepLst: 3}, [], 'x', {keepWithin: '1y6m', keepLast: 0}, {keepLast: 1e300}),
  lock: pick<unknown>({days: 30}, {duration: '1y'}, {days: 30, duration: '1y'}, {}, {days: 0}, {mode: 'compliance', days: 30}, {mode: 'governance'}, {dayz: 3}, {duration: 'soon'}, {days: 36_501}, 5),
  bukcet: pick<unknown>('typo'),
};
type Field = keyof typeof FIELD_VALUES;
/** A few fields (up to `max`), each with any value of its pool. */
const someFields = (max: number) =>
  fc.subarray(Object.keys(FIELD_VALUES) as Field[], {maxLength: max}).chain((keys) => fc.record(Object.fromEntries(keys.map((k) => [k, FIELD_VALUES[k]]))));
const fieldsArb = fc.oneof(someFields(3), fc.record(FIELD_VALUES, {requiredKeys: []}));
/** Any fields, or a complete valid-looking profile with a few fields set to any value of their pool. */
const entryArb = fc.oneof(
  fieldsArb,
  fc.tuple(someFields(2), fc.boolean()).map(([fields, sseC]) => ({keyId: '0051234abcd', applicationKey: 'env:B2_KEY', bucket: 'my-bucket', ...(sseC ? {encryption: 'SSE-C', encryptionKey: 'env:K'} : {}), ...fields})),
  pick<unknown>(null, 'text', [], 5),
);
const fileArb = fc.record(
  {
    profiles: fc.oneof(fc.dictionary(pick('home', 'nas.2', 'a_b-c', '-bad', 'x'.repeat(70), 'has space', 'constructor'), entryArb, {maxKeys: 3}), pick<unknown>(null, 'text', [], undefined)),
    default: pick<unknown>('home', 5, undefined),
    extra: pick<unknown>(1),
  },
  {requiredKeys: []},
);

/** zod's answer: the value, or undefined when it refuses the input. */
function zodAnswer(schema: {safeParse(input: unknown): {success: boolean; data?: unknown}}, input: unknown): unknown {
  const r = schema.safeParse(input);
  return r.success ? r.data : undefined;
}

describe('the zod-free profile checks answer what the zod schema answers', () => {
  test('a whole profile (a file entry, `profile add` flags, a host-given profile)', () => {
    let accepted = 0;
    fc.assert(
      fc.property(entryArb, (input) => {
        const zod = zodAnswer(profileSchemas().profileEntrySchema, input);
        if (zod !== undefined) accepted++;
        expect(ordered(fastProfileEntry(input))).toEqual(ordered(zod));
      }),
      {numRuns: 3000},
    );
    expect(accepted).toBeGreaterThan(100); // the comparison covered valid profiles, not only refusals
  });

  test('some fields (per-run overrides such as --concurrency, --limit-upload, --lock-days)', () => {
    fc.assert(
      fc.property(fieldsArb, (input) => {
        expect(ordered(fastProfileFields(input))).toEqual(ordered(zodAnswer(profileSchemas().profileFieldsSchema.partial(), input)));
      }),
      {numRuns: 2000},
    );
  });

  test('a profiles file', () => {
    let accepted = 0;
    fc.assert(
      fc.property(fileArb, (input) => {
        const zod = zodAnswer(profileSchemas().profilesFileSchema, input);
        if (zod !== undefined) accepted++;
        expect(ordered(fastProfilesFile(input))).toEqual(ordered(zod));
      }),
      {numRuns: 3000},
    );
    expect(accepted).toBeGreaterThan(50);
  });

  test.each([
    ['an empty file', {}],
    ['profiles: with no entries', {profiles: null}],
    ['a typical profile', {profiles: {home: {keyId: '005abc', applicationKey: 'env:B2_KEY', bucket: 'my-bucket', prefix: 'ha', partSize: '100MB', concurrency: 4}}, default: 'home'}],
    ['every field', {profiles: {nas: {keyId: '005abc', applicationKey: 'file:key', bucket: 'my-bucket', prefix: '', endpoint: 'http://127.0.0.1:9000//', partSize: 5_000_000, concurrency: 64, bandwidth: {upload: '40Mbit/s', download: '5MB/s'}, encryption: 'SSE-C', encryptionKey: 'env:SSEC', retention: {keepLast: 3, keepWithin: '30d'}, lock: {duration: '1y', mode: 'compliance'}}}}],
  ])('%s takes the zod-free path', (_what, input) => {
    const fast = fastProfilesFile(input);
    expect(fast).toBeDefined();
    expect(ordered(fast)).toEqual(ordered(zodAnswer(profileSchemas().profilesFileSchema, input)));
  });
});
