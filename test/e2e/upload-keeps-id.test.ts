import {afterAll, beforeAll, expect, test} from '@jest/globals';
import {randomBytes} from 'node:crypto';
import {writeFile} from 'node:fs/promises';
import {join} from 'node:path';
import {coreBackupJson, haBackupAt, haBackupTar} from '../backups/ha-fixtures.js';
import {keysOf} from '../backups/helpers.js';
import {E2EWorld, expectFailure, parseJson} from './helpers.js';

// `b2 upload FILE --id ID --date DATE`: a backup that is not a Home Assistant archive,
// moved by hand (downloaded from one location, uploaded to another), stays the same
// backup: its id, date, name and metadata. The built CLI in child processes, the
// emulator over HTTP; setups (profiles, the first backup) in this process.

let world: E2EWorld;

interface Shown {
  id: string;
  name: string;
  date: string;
  size: number;
  sha1: string;
  metadata: {extra_metadata: Record<string, string>};
}

beforeAll(async () => {
  world = await E2EWorld.start();
  const key = await world.createKey();
  await world.addProfile('here', {...key, prefix: 'here/'});
  await world.addProfile('there', {...key, prefix: 'there/'});
  await world.addProfile('bad', {...key, prefix: 'bad/'});
});

afterAll(async () => {
  world?.expectNoSecretInAnyRun();
  await world?.close();
});

const identity = (s: Shown) => ({id: s.id, name: s.name, date: s.date, size: s.size, sha1: s.sha1, extra_metadata: s.metadata.extra_metadata});

test('downloaded from one location and uploaded to another with --name, --id, --date and --meta: show --json agrees on both', async () => {
  const source = join(world.dir, 'source.tar');
  await writeFile(source, randomBytes(5000));
  const stored = await world.storeBackup('here', {path: source}, {name: "nightly's 7", metadata: {host: 'pi4', note: 'two words'}});
  expect((await world.b2(['download', stored.id, '-o', 'moved.tar', '--profile', 'here'])).code).toBe(0);
  const up = await world.b2(['upload', 'moved.tar', '--name', "nightly's 7", '--id', stored.id, '--date', stored.date, '--meta', 'host=pi4', '--meta', 'note=two words', '--profile', 'there', '--json']);
  expect({code: up.code, stderr: up.stderr}).toEqual({code: 0, stderr: ''});
  const [here, there] = await Promise.all(['here', 'there'].map(async (p) => parseJson<Shown>(await world.b2(['show', stored.id, '--json', '--profile', p]))));
  expect(identity(there)).toEqual(identity(here));
  expect(identity(there)).toMatchObject({id: stored.id, date: stored.date, name: "nightly's 7", extra_metadata: {host: 'pi4', note: 'two words'}});
}, 60_000);

test('--dry-run shows the id and date it would use', async () => {
  const file = join(world.dir, 'planned.tar');
  await writeFile(file, randomBytes(300));
  const r = await world.b2(['upload', file, '--name', 'planned', '--id', 'c0ffee00c0ffee', '--date', '2026-01-02T03:04:05.600000-05:00', '--dry-run', '--profile', 'bad']);
  expect({code: r.code, stderr: r.stderr}).toEqual({code: 0, stderr: ''});
  expect(r.stdout).toMatch(/^Backup "planned" \(300 B, sha1 [0-9a-f]{40}\)\n {2}id {13}c0ffee00c0ffee\n {2}date {11}2026-01-02 03:04:05 -05:00\n {2}archive {8}"planned_2026-01-02_03\.04_05600000\.tar"$/m);
}, 60_000);

test('a bad --id, a bad --date, and an id or date a Home Assistant archive\'s backup.json contradicts: exit 2, one line, nothing stored', async () => {
  const file = join(world.dir, 'plain.tar');
  await writeFile(file, randomBytes(300));
  const at = haBackupAt(3);
  const ha = join(world.dir, 'ha.tar');
  await writeFile(ha, haBackupTar(coreBackupJson(at)));
  const cases: Array<[string[], RegExp]> = [
    [[file, '--id', 'my backup'], /^Error: invalid --id "my backup": a backup id must be 1-64 letters, digits, "_", "\." or "-", starting with a letter or digit; give the backup's own id, as "show ID --json" prints it where the backup was$/],
    [[file, '--date', '2026-04-08 04:57'], /^Error: invalid --date "2026-04-08 04:57": not an ISO 8601 date and time with an offset \(e\.g\. 2026-04-08T04:57:43\.001930\+00:00\); give the backup's own date, as "show ID --json" prints it where the backup was$/],
    [[ha, '--id', 'aaaa1111'], new RegExp(`^Error: --id aaaa1111 contradicts the Home Assistant archive, whose backup.json gives it the id ${at.backupId}: it keeps its own; leave out --id$`)],
    [[ha, '--date', '2020-01-01T00:00:00+00:00'], /^Error: --date 2020-01-01T00:00:00\+00:00 contradicts the Home Assistant archive, whose backup\.json dates it .*: it keeps its own; leave out --date$/],
  ];
  for (const [args, line] of cases) expectFailure(await world.b2(['upload', ...args, '--profile', 'bad']), 2, line, world.secrets);
  expect(await world.withLocation('bad', ({backend}) => keysOf(backend))).toEqual([]);
}, 60_000);
