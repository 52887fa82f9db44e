import {describe, test, expect, afterAll} from '@jest/globals';
import {describeBackendConformance} from '../conformance/backend-conformance.js';
import type {RunningEmulator} from '../../src/emulator/index.js';
import {emulator, openBackend} from './helpers.js';

const emulators: RunningEmulator[] = [];

async function setup(emuOpts: Parameters<typeof emulator>[0], backendOpts: Parameters<typeof openBackend>[1]) {
  const emu = await emulator(emuOpts);
  emulators.push(emu);
  const backend = await openBackend(emu, backendOpts);
  const prefix = 'backups/'; // openBackend's
  const seed = (keys: string[], body: Buffer) => emu.putFiles(emu.bucket, keys.map((key) => ({fileName: prefix + key, data: body})));
  return {backend, teardown: async () => undefined, seed};
}

// Default settings: 200 MB cutoff, so the suite's bodies go up in one request each.
describeBackendConformance('B2 over the emulator (defaults)', () => setup({}, {}), {hides: true});

// Tiny parts and cutoff: every multi-MB body becomes a large file of many parts.
describeBackendConformance('B2 over the emulator (64 KiB parts, 100 KB cutoff)', () => setup({minPartSize: 64 * 1024, recommendedPartSize: 64 * 1024}, {uploadCutoff: 100_000, concurrency: 3}), {largeSize: 1024 * 1024 + 17, hides: true});

describe('prefix confinement across both suites', () => {
  afterAll(async () => {
    for (const emu of emulators) await emu.stop();
  });

  test('no key touched a name outside the prefix', () => {
    expect(emulators.length).toBe(2);
    for (const emu of emulators) {
      const touched = Object.values(emu.stats().touchedNames).flat();
      expect(touched.length).toBeGreaterThan(0);
      expect(touched.filter((n) => !n.startsWith('backups/'))).toEqual([]);
    }
  });
});
