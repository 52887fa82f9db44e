import {test, expect} from '@jest/globals';
import {readFileSync} from 'node:fs';
import {join} from 'node:path';
import {profileJsonSchema} from '../../src/profiles/schema.js';
import {repoRoot} from '../helpers/host-cli.js';

// The backup:targets hook hands hosts src/profiles/profile-schema.json instead of building
// the schema with zod at start-up; it must be exactly what the zod schema says.
test('profile-schema.json is profileJsonSchema() (regenerate it when the schema changes)', () => {
  const stored = JSON.parse(readFileSync(join(repoRoot, 'src/profiles/profile-schema.json'), 'utf8'));
  const hint = "node -e \"import('./dist/src/profiles/schema.js').then(m=>process.stdout.write(JSON.stringify(m.profileJsonSchema(),null,2)+'\\n'))\" > src/profiles/profile-schema.json";
  expect({schema: stored, hint}).toEqual({schema: profileJsonSchema(), hint});
});
