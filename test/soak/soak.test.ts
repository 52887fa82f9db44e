/**
 * The soak's short seeded variant (scripts/soak.ts; `npm run soak` runs the long one):
 * uploads, downloads, lists, verifies and deletes through the catalog on the B2
 * provider against the emulator, with every fault kind injected; no invariant may break.
 */
import {expect, test} from '@jest/globals';
import {formatSoakReport, runSoak} from '../../scripts/soak.js';

test('a short seeded soak with every fault kind keeps every invariant', async () => {
  // The time bound only keeps a very slow machine from running long; nothing asserts on time.
  const report = await runSoak({seed: 20261130, ops: 60, seconds: 240, concurrency: 3, partSize: 64 * 1024});
  const summary = formatSoakReport(report);
  expect({violations: report.violations, summary}).toEqual({violations: [], summary});
  expect(Object.values(report.operations).reduce((n, v) => n + v, 0)).toBeGreaterThan(0);
  expect(Object.values(report.faults).reduce((n, v) => n + v, 0)).toBeGreaterThan(0);
}, 300_000);
