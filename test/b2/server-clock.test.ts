/**
 * The provider's idea of B2's time (backend.now(), from the Date header of its sign-in,
 * which names whole seconds): exact when the clocks agree within that second, so that a
 * cleanup with --older-than 0s sees what B2 dated a moment ago as old enough; never
 * ahead of B2's clock when they differ (the emulator's clock moved two days on).
 */
import {afterAll, beforeAll, expect, test} from '@jest/globals';
import type {RunningEmulator} from '../../src/emulator/index.js';
import {emulator, openBackend} from './helpers.js';

const DAY = 24 * 60 * 60 * 1000;
let emu: RunningEmulator;

beforeAll(async () => {
  emu = await emulator();
});
afterAll(async () => {
  await emu.stop();
});

test('clocks that agree: backend.now() is this machine\'s time, to the ms', async () => {
  const backend = await openBackend(emu);
  try {
    const before = Date.now();
    const now = backend.now().getTime();
    const after = Date.now();
    expect(now).toBeGreaterThanOrEqual(before);
    expect(now).toBeLessThanOrEqual(after);
  } finally {
    await backend.close();
  }
});

test('B2\'s clock two days on: backend.now() follows it, within the Date header\'s second and never ahead', async () => {
  emu.clock.advance(2 * DAY);
  const emuBefore = emu.clock.now();
  const backend = await openBackend(emu);
  try {
    const now = backend.now().getTime();
    expect(now).toBeGreaterThanOrEqual(Math.floor(emuBefore / 1000) * 1000);
    expect(now).toBeLessThanOrEqual(emu.clock.now());
  } finally {
    await backend.close();
  }
});
