import {afterAll, beforeAll, describe, expect, test} from '@jest/globals';
import fc from 'fast-check';
import {mkdtemp, rm, writeFile} from 'node:fs/promises';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {isBackupError} from '../../src/errors.js';
import {ProfileStore} from '../../src/profiles/store.js';

// Whatever the layout of the file (field order, comments, blank lines, several profiles),
// a bad value is reported on the line that holds it, under its full dotted path.

const GOOD: Record<string, string> = {
  keyId: '0051234abcd0000000000001',
  applicationKey: 'env:SOME_KEY',
  bucket: 'home-backups',
  prefix: 'ha/',
  endpoint: 'https://api.backblazeb2.com',
  partSize: '100MB',
  concurrency: '4',
};
const BAD: Record<string, string> = {
  keyId: 'has space',
  applicationKey: '"env:"',
  bucket: 'AB',
  prefix: '/abs',
  endpoint: 'ftp://example.com',
  partSize: '1MB',
  concurrency: '0',
};
const OPTIONAL = ['prefix', 'endpoint', 'partSize', 'concurrency'];

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'profile-lines-'));
});
afterAll(async () => {
  await rm(dir, {recursive: true, force: true});
});

const profileShape = fc.record({
  // some optional fields, and all fields in any order
  fields: fc.shuffledSubarray(OPTIONAL).chain((optional) => fc.shuffledSubarray(['keyId', 'applicationKey', 'bucket', ...optional], {minLength: 3 + optional.length})),
  padding: fc.array(fc.constantFrom('', '    # a comment', '  # between profiles'), {maxLength: 2}),
});

describe('error lines', () => {
  test('a bad value is reported on its own line, whatever the layout', async () => {
    let run = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(profileShape, {minLength: 1, maxLength: 3}),
        fc.nat(),
        fc.nat(),
        fc.constantFrom('', '# header comment\n\n'),
        async (profiles, pickProfile, pickField, header) => {
          const badProfile = pickProfile % profiles.length;
          const badField = profiles[badProfile].fields[pickField % profiles[badProfile].fields.length];
          const lines = [...header.split('\n').slice(0, -1), 'profiles:'];
          let expectedLine = 0;
          profiles.forEach((p, i) => {
            lines.push(...p.padding, `  p${i}:`);
            for (const field of p.fields) {
              const bad = i === badProfile && field === badField;
              lines.push(`    ${field}: ${bad ? BAD[field] : GOOD[field]}`);
              if (bad) expectedLine = lines.length;
            }
          });
          const path = join(dir, `f${run++}.yaml`);
          await writeFile(path, lines.join('\n') + '\n');
          const err = await ProfileStore.load(path, {env: {}}).then(
            () => undefined,
            (e: unknown) => e,
          );
          expect(isBackupError(err, 'config')).toBe(true);
          expect((err as Error).message).toMatch(new RegExp(`^${escape(path)}:${expectedLine}: profiles\\.p${badProfile}\\.${badField}: expected `));
        },
      ),
      {numRuns: 60},
    );
  });
});

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
