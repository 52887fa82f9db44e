import {describe, test, expect, beforeAll, afterAll} from '@jest/globals';
import {randomBytes} from 'node:crypto';
import {writeFile} from 'node:fs/promises';
import {join} from 'node:path';
import {calls, E2EWorld} from './helpers.js';

// A bandwidth-limited multi-part upload with many parts in flight: every part waits on
// the one token bucket at once, each wait abortable by the command's one signal. Node
// warns (MaxListenersExceededWarning) when more than 10 listeners pile up on a signal;
// that warning would break the one-line stderr promise and land in cron logs.

let world: E2EWorld;
const MB = 1_000_000;

beforeAll(async () => {
  world = await E2EWorld.start();
  const key = await world.createKey();
  // 12 parts of the smallest size B2 takes (5 MB), all in flight at once: more than 10
  // listeners if each part (its request, its bandwidth waits) listened to one signal
  await writeFile(join(world.dir, 'many-parts.tar'), randomBytes(56 * MB));
  await world.addProfile('home', {...key, prefix: 'home/', partSize: '5MB'});
});

afterAll(async () => {
  await world?.close();
});

describe('upload --limit-upload with --concurrency 16', () => {
  test('prints no MaxListenersExceededWarning (or any other warning) on stderr', async () => {
    world.emu.resetStats();
    const r = await world.b2(['upload', join(world.dir, 'many-parts.tar'), '--profile', 'home', '--name', 'limited', '--limit-upload', '40MB/s', '--concurrency', '16']);
    expect({code: r.code, stderr: r.stderr}).toEqual({code: 0, stderr: expect.any(String)});
    expect(calls(world.emu, 'b2_upload_part')).toBe(12);
    expect(r.stderr).not.toMatch(/MaxListenersExceeded|Warning/);
  });
});
