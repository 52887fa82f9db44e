import {describe, test, expect, beforeAll, afterAll} from '@jest/globals';
import {createHash, randomBytes} from 'node:crypto';
import {open} from 'node:fs/promises';
import {join} from 'node:path';
import {DEFAULT_UPLOAD_CUTOFF} from '../../src/b2/options.js';
import {api, authorizeRaw} from '../emulator/helpers.js';
import {calls, E2EWorld, expectNoSecrets, parseJson, waitFor} from './helpers.js';

// Ctrl-C in the middle of a multi-part upload, then the same command again: it resumes,
// sending only the parts that are not stored yet, and the backup verifies.

const PREFIX = 'home/';
const PART = 5_000_000;
// A file goes up in parts only above the provider's upload cutoff (200 MB), whatever the
// profile's part size; so the smallest file that exercises resume is just above it.
const SIZE = DEFAULT_UPLOAD_CUTOFF + PART;
const TOTAL_PARTS = Math.ceil(SIZE / PART);

let world: E2EWorld;
let key: {keyId: string; applicationKey: string};
let archive: string;
let archiveSha1: string;

async function unfinishedUploads(): Promise<{fileId: string; fileName: string; parts: number}[]> {
  const auth = await authorizeRaw(world.emu);
  const r = await api(world.emu, auth.authorizationToken, 'b2_list_unfinished_large_files', {bucketId: world.emu.bucketId, namePrefix: PREFIX});
  const out = [];
  for (const f of r.json.files as {fileId: string; fileName: string}[]) {
    const parts = await api(world.emu, auth.authorizationToken, 'b2_list_parts', {fileId: f.fileId, maxPartCount: 1000});
    out.push({fileId: f.fileId, fileName: f.fileName, parts: parts.json.parts.length});
  }
  return out;
}

/** Writes SIZE random bytes part by part (never the whole archive in memory); answers its SHA1. */
async function writeArchive(path: string): Promise<string> {
  const hash = createHash('sha1');
  const file = await open(path, 'w');
  try {
    for (let left = SIZE; left > 0; left -= PART) {
      const chunk = randomBytes(Math.min(PART, left));
      hash.update(chunk);
      await file.write(chunk);
    }
  } finally {
    await file.close();
  }
  return hash.digest('hex');
}

beforeAll(async () => {
  world = await E2EWorld.start();
  key = await world.createKey();
  await world.addProfile('home', {...key, prefix: PREFIX, partSize: '5MB', concurrency: 2});
  archive = join(world.dir, 'big.tar');
  archiveSha1 = await writeArchive(archive);
});

afterAll(async () => {
  world?.emu.faults.clear();
  await world?.close();
});

describe('an interrupted upload', () => {
  test('Ctrl-C exits 130 saying to run the same command again; the rerun resumes and the backup verifies', async () => {
    const command = ['upload', archive, '--name', 'nightly', '--json', '--profile', 'home'];
    // Slow parts down so that the interrupt lands mid-upload.
    world.emu.faults.add({call: 'b2_upload_part', bytesPerSecond: 2 * PART});
    const first = world.spawn(command);
    // With 2 parts in flight, a 4th part upload starts only after 2 have been stored.
    await waitFor(() => calls(world.emu, 'b2_upload_part') >= 4, 'two parts to be stored', 120_000);
    first.child.kill('SIGINT');
    const stopped = await first.done;
    expect({code: stopped.code, stdout: stopped.stdout.toString()}).toEqual({code: 130, stdout: ''});
    expect(stopped.stderr).toMatch(/^Error: upload interrupted; run the same command again to resume it[^\n]*\n$/m);
    expect(stopped.stderr).not.toMatch(/^\s+at\s/m);
    expectNoSecrets(stopped, world.secrets);

    const unfinished = await unfinishedUploads();
    expect(unfinished).toHaveLength(1);
    expect(unfinished[0].fileName).toMatch(/^home\/nightly_.*\.tar$/);
    const stored = unfinished[0].parts;
    expect(stored).toBeGreaterThanOrEqual(2);
    expect(stored).toBeLessThan(TOTAL_PARTS);

    world.emu.faults.clear();
    const partsBefore = calls(world.emu, 'b2_upload_part');
    const second = await world.b2(command);
    expect(second.code).toBe(0);
    const result = parseJson<{id: string; sha1: string; size: number; resumed: boolean}>(second);
    expect(result).toMatchObject({resumed: true, size: SIZE, sha1: archiveSha1});
    const sent = calls(world.emu, 'b2_upload_part') - partsBefore;
    expect(sent).toBeLessThan(TOTAL_PARTS);
    // Every missing part was sent; the 2 in flight at Ctrl-C may have landed after we counted.
    expect(sent).toBeGreaterThanOrEqual(TOTAL_PARTS - stored - 2);
    expect(await unfinishedUploads()).toEqual([]);
    expectNoSecrets(second, world.secrets);

    const verified = await world.b2(['verify', result.id, '--json', '--profile', 'home']);
    expect(verified.code).toBe(0);
    expect(parseJson(verified)).toMatchObject({ok: true, size: SIZE, sha1: archiveSha1, expectedSha1: archiveSha1});
  }, 170_000);

  test('the profile\'s key touched only names under its prefix, interrupted parts included', () => {
    const touched = world.emu.stats().touchedNames[key.keyId] ?? [];
    expect(touched).toContainEqual(expect.stringMatching(/^home\/nightly_.*\.tar$/));
    expect(touched.filter((n) => !n.startsWith(PREFIX))).toEqual([]);
  });
});

test('no run printed an application key', () => {
  world.expectNoSecretInAnyRun();
});
