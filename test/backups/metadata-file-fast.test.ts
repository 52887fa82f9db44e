import {describe, expect, test} from '@jest/globals';
import fc from 'fast-check';
import {fastMetadataFile, metadataFileSchema, parseMetadataFile} from '../../src/backups/metadata-file.js';

// A listing reads many metadata files: the zod-free check (fastMetadataFile) must give
// exactly the zod schema's answer, the same value with keys in the same order when it
// accepts the input and no answer when it refuses it (zod then words the problem).

function ordered(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(ordered);
  if (v !== null && typeof v === 'object') return Object.entries(v).map(([k, x]) => [k, ordered(x)]);
  return v;
}

const pick = <T>(...values: T[]) => fc.constantFrom(...values);
const ID = pick<unknown>('1a2b3c4d', 'a.b_c-d', '-bad', '', 'x'.repeat(65), 42);
const META = {
  backup_id: ID,
  name: pick<unknown>('nightly', '', 'ünï', 5),
  date: pick<unknown>('2026-11-30T13:00:00.000Z', '2026-11-30T13:00:00+01:00', '2026-11-30', '2026-13-45T00:00:00Z', 'yesterday', 0),
  size: pick<unknown>(0, 1_000_000, -1, 1.5, 2 ** 53, Number.NaN, '12'),
  protected: pick<unknown>(true, false, 'no'),
  sha1: pick<unknown>('a'.repeat(40), 'A'.repeat(40), 'a'.repeat(39), 7),
  addons: pick<unknown>([], [{name: 'x', slug: 'x', version: '1'}]),
  extra_metadata: pick<unknown>({}, {'instance_id': 'abc', 'with_automatic_settings': true}),
  homeassistant_version: pick<unknown>(null, '2026.11.1'),
};
const metaArb = fc.oneof(
  fc.record(META, {requiredKeys: []}),
  fc.subarray(Object.keys(META) as Array<keyof typeof META>, {maxLength: 2}).chain((keys) =>
    fc.record(Object.fromEntries(keys.map((k) => [k, META[k]]))).map((some) => ({name: 'nightly', date: '2026-11-30T13:00:00.000Z', ...some})),
  ),
  pick<unknown>(null, [], 'text'),
);
const fileArb = fc.record(
  {
    metadata_version: pick<unknown>('1', '2', 1),
    backup_id: ID,
    backup_metadata: metaArb,
    other: pick<unknown>('stripped'),
  },
  {requiredKeys: []},
);
const validLooking = fc.tuple(ID, metaArb).map(([id, meta]) => ({metadata_version: '1', backup_id: id, backup_metadata: meta}));

describe('the zod-free metadata file check answers what the zod schema answers', () => {
  test('on generated metadata files, valid and not', () => {
    let accepted = 0;
    fc.assert(
      fc.property(fc.oneof(fileArb, {arbitrary: validLooking, weight: 3}), (input) => {
        const r = metadataFileSchema().safeParse(input);
        if (r.success) accepted++;
        expect(ordered(fastMetadataFile(input))).toEqual(ordered(r.success ? r.data : undefined));
      }),
      {numRuns: 4000},
    );
    expect(accepted).toBeGreaterThan(100); // valid files were compared, not only refusals
  });

  test('a file as this tool writes it takes the zod-free path, and parses', () => {
    const file = {
      metadata_version: '1',
      backup_id: '1a2b3c4d',
      backup_metadata: {addons: [], backup_id: '1a2b3c4d', date: '2026-11-30T13:00:00.000Z', database_included: false, extra_metadata: {}, folders: [], homeassistant_included: false, homeassistant_version: null, name: 'nightly', protected: false, size: 10, sha1: 'a'.repeat(40), created_by: 'backup-plugin-b2'},
    };
    expect(fastMetadataFile(file)).toEqual(file);
    expect(parseMetadataFile(JSON.stringify(file))).toEqual({ok: true, file});
  });

  test('a refused file still gets the schema\'s words', () => {
    expect(parseMetadataFile(JSON.stringify({metadata_version: '1', backup_id: '1a2b3c4d', backup_metadata: {name: 'x', date: 'yesterday'}}))).toEqual({ok: false, problem: 'backup_metadata.date: is not an ISO 8601 date'});
  });
});
