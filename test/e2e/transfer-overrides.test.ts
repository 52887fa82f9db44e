import {describe, test, expect, beforeAll, afterAll} from '@jest/globals';
import {randomBytes} from 'node:crypto';
import {writeFile} from 'node:fs/promises';
import {join} from 'node:path';
import {seedLargeBackup} from '../helpers/seed-backups.js';
import {calls, E2EWorld, expectFailure, parseJson} from './helpers.js';

// Per-run overrides of the profile's transfer settings: --concurrency and --part-size on
// upload, --concurrency on download, checked exactly like the profile fields.

let world: E2EWorld;
const archive = () => join(world.dir, 'twelve.tar');
const MB = 1_000_000;

beforeAll(async () => {
  world = await E2EWorld.start();
  const key = await world.createKey();
  await writeFile(archive(), randomBytes(12 * MB));
  // 5 MB parts, one at a time: 12 MB is 3 parts fetched on 1 part URL
  await world.addProfile('home', {...key, prefix: 'home/', partSize: '5MB', concurrency: 1});
});

afterAll(async () => {
  await world?.close();
});

async function upload(extra: string[]): Promise<{id: string}> {
  world.emu.resetStats();
  const r = await world.b2(['upload', archive(), '--profile', 'home', '--json', ...extra]);
  expect({code: r.code, stderr: r.stderr}).toMatchObject({code: 0});
  return parseJson<{id: string}>(r);
}

describe('upload', () => {
  test('the profile\'s settings apply without flags: 3 parts of 5 MB on one part URL', async () => {
    await upload([]);
    expect(calls(world.emu, 'b2_upload_part')).toBe(3);
    expect(calls(world.emu, 'b2_get_upload_part_url')).toBe(1);
  });

  test('--part-size 6MB makes 2 parts', async () => {
    await upload(['--part-size', '6MB']);
    expect(calls(world.emu, 'b2_upload_part')).toBe(2);
  });

  test('--concurrency 3 sends parts in parallel (one part URL each)', async () => {
    await upload(['--concurrency', '3']);
    expect(calls(world.emu, 'b2_upload_part')).toBe(3);
    expect(calls(world.emu, 'b2_get_upload_part_url')).toBeGreaterThan(1);
  });

  test.each([
    [['--concurrency', '0'], /^Error: --concurrency: expected an integer 1\.\.64, got 0/],
    [['--concurrency', 'four'], /^Error: --concurrency: expected an integer 1\.\.64, got "four"/],
    [['--part-size', '1MB'], /^Error: --part-size: expected a size from 5MB to 5GB.*got "1MB" \(B2 parts must be at least 5MB\)/],
    [['--part-size', '6GB'], /^Error: --part-size: .*got "6GB" \(B2 parts must be at most 5GB\)/],
    [['--limit-upload', 'fast'], /^Error: --limit-upload: expected a rate such as 5MB\/s, 500KiB\/s or 40Mbit\/s \(at least 1KB\/s\), got "fast" \(not a rate\)/],
    [['--limit-upload', '10B/s'], /^Error: --limit-upload: .*got "10B\/s" \(below 1KB\/s\)/],
  ])('%j is refused before connecting, exit 2, like the same value in the profile', async (flags, message) => {
    world.emu.resetStats();
    const r = await world.b2(['upload', archive(), '--profile', 'home', ...flags]);
    expectFailure(r, 2, message, world.secrets);
    expect(world.emu.stats().calls).toEqual({});
  });
});

describe('download', () => {
  /** A backup of 12 MB in 5 MB parts, as `b2 upload` stores the archive with this profile, written straight into the emulator: the subject is the download. */
  const stored = () => seedLargeBackup(world.emu, 'home/', {name: 'twelve', size: 12 * MB, partSize: 5 * MB});

  test('--concurrency is accepted and validated the same way', async () => {
    const {id} = await stored();
    const ok = await world.b2(['download', id, '--profile', 'home', '-o', join(world.dir, 'out.tar'), '--concurrency', '2']);
    expect({code: ok.code, stderr: ok.stderr}).toMatchObject({code: 0});
    const bad = await world.b2(['download', id, '--profile', 'home', '-o', join(world.dir, 'out2.tar'), '--concurrency', '65']);
    expectFailure(bad, 2, /^Error: --concurrency: expected an integer 1\.\.64, got 65/, world.secrets);
  });

  test('--limit-download is accepted on download and verify, and validated like bandwidth.download', async () => {
    const {id} = await stored();
    const ok = await world.b2(['verify', id, '--profile', 'home', '--limit-download', '100MB/s']);
    expect({code: ok.code, stderr: ok.stderr}).toMatchObject({code: 0});
    const bad = await world.b2(['download', id, '--profile', 'home', '--limit-download', '5 parsecs']);
    expectFailure(bad, 2, /^Error: --limit-download: expected a rate .*got "5 parsecs"/, world.secrets);
  });
});
