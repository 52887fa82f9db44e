import {describe, test, expect, beforeAll, afterAll} from '@jest/globals';
import {B2Backend} from '../../src/b2/index.js';
import {layOutHaBackups} from '../backups/ha-fixtures.js';
import {seedBackups} from '../helpers/seed-backups.js';
import {calls, downloadCalls, E2EWorld, parseJson} from './helpers.js';

// What `b2 list` costs in B2 calls, counted by the emulator: our own backups describe
// themselves in the listing; Home Assistant's metadata files are downloaded once, then
// read from the CLI's cache by later runs.

const OURS = 10_000;
const HA = 200;
let world: E2EWorld;

/** The emulator's bucket under `prefix`, opened with the master key (setup only: the CLI uses its own key). */
function masterBackend(prefix: string): Promise<B2Backend> {
  const {emu} = world;
  return B2Backend.open({keyId: emu.keyId, applicationKey: emu.applicationKey, bucket: emu.bucket, endpoint: emu.url, prefix, profileName: 'setup'});
}

/** `b2 list --json` (or the table) with profile `name`; answers what it printed and what it cost. */
async function listWithCost(name: string, json = true) {
  const lists = calls(world.emu, 'b2_list_file_names');
  const downloads = downloadCalls(world.emu);
  const r = await world.b2(['list', ...(json ? ['--json'] : []), '--profile', name]);
  expect({code: r.code, stderr: r.stderr}).toEqual({code: 0, stderr: ''});
  return {r, listCalls: calls(world.emu, 'b2_list_file_names') - lists, downloads: downloadCalls(world.emu) - downloads};
}

beforeAll(async () => {
  world = await E2EWorld.start();
  const key = await world.createKey();
  await world.addProfile('many', {...key, prefix: 'many/', check: false});
  await world.addProfile('ha', {...key, prefix: 'ha/', check: false});
});

afterAll(async () => {
  await world?.close();
});

describe(`${OURS} of our own backups`, () => {
  beforeAll(async () => {
    // One stored by the upload's own code (the catalog, in this process, with the CLI's
    // cache dir, as `b2 upload` stores it); the rest written straight into the emulator in
    // the same layout (listing, not uploading, is what is measured here).
    await world.storeBackup('many', Buffer.from('the one stored as b2 upload does'), {name: 'uploaded'});
    await seedBackups(world.emu, 'many/', OURS - 1);
  });

  test('b2 list --json: all of them from one listing call and no download', async () => {
    const {r, listCalls, downloads} = await listWithCost('many');
    const listed = parseJson<{id: string; name: string; date: string; size: number}[]>(r);
    expect(listed).toHaveLength(OURS);
    expect(new Set(listed.map((b) => b.id)).size).toBe(OURS);
    expect(listed.every((b) => typeof b.name === 'string' && typeof b.size === 'number' && !Number.isNaN(Date.parse(b.date)))).toBe(true);
    expect(listed.map((b) => b.name)).toContain('uploaded');
    // 2 × 10,000 names: at most one b2_list_file_names call per 10,000 names.
    expect(listCalls).toBeLessThanOrEqual(Math.ceil((2 * OURS) / 10_000));
    expect(downloads).toBe(0);
  });

  test('the table costs the same', async () => {
    const {r, listCalls, downloads} = await listWithCost('many', false);
    expect(r.stdout.trimEnd().split('\n')).toHaveLength(OURS + 1);
    expect({listCalls, downloads}).toEqual({listCalls: Math.ceil((2 * OURS) / 10_000), downloads: 0});
  });
});

describe(`${HA} backups made by Home Assistant`, () => {
  beforeAll(async () => {
    const backend = await masterBackend('ha/');
    try {
      await layOutHaBackups(backend, HA, {archiveBytes: 256, concurrency: 8});
    } finally {
      await backend.close();
    }
  }, 60_000);

  test('two runs of b2 list download each metadata file at most once in total', async () => {
    const first = await listWithCost('ha');
    const second = await listWithCost('ha');
    for (const run of [first, second]) {
      const listed = parseJson<{name: string; describedBy: string}[]>(run.r);
      expect(listed).toHaveLength(HA);
      expect(listed.every((b) => b.name === 'Automatic backup 2026.4.1' && b.describedBy === 'metadata-file')).toBe(true);
    }
    expect(first.downloads + second.downloads).toBeLessThanOrEqual(HA);
    expect(second.downloads).toBe(0);
    expect(second.listCalls).toBe(1);
  });
});

test('no run printed an application key', () => {
  world.expectNoSecretInAnyRun();
});
