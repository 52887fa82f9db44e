import {afterAll, beforeAll} from '@jest/globals';
import {mkdtemp, rm, writeFile} from 'node:fs/promises';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {loadProfile} from '../../src/profiles/index.js';

/** The start of a profiles file with one profile "home" (key from env:NOPE); a test appends fields at its indentation. */
export const HOME_PROFILE_YAML = 'profiles:\n  home:\n    keyId: k1\n    applicationKey: env:NOPE\n    bucket: my-bucket-1\n';

/**
 * Loads profiles files written from YAML text in a temp dir (made before the describe's
 * tests, removed after): `load(yaml)` resolves its only profile as a command would.
 */
export function profileYamlLoader(): (yaml: string) => ReturnType<typeof loadProfile> {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'yaml-profile-'));
  });
  afterAll(async () => {
    await rm(dir, {recursive: true, force: true});
  });
  return async (yaml: string) => {
    const path = join(dir, `${Math.random()}.yaml`);
    await writeFile(path, yaml, {mode: 0o600});
    return loadProfile({configFlag: path, configDir: dir, env: {NOPE: 'x'}});
  };
}
