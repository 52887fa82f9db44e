import {describe, test, expect, beforeAll, afterAll} from '@jest/globals';
import {MemoryBackend} from '../../src/memory-backend.js';
import {BackupCatalog} from '../../src/backups/index.js';
import {CountingBackend} from './backend-wrappers.js';
import {layOutHaBackups} from './ha-fixtures.js';
import {catalogWithWarnings, tempDir} from './helpers.js';

/** What listing costs, counted at the backend boundary (the lead reruns these over B2 + emulator counters). */
describe('listing cost', () => {
  test('listing 5,000 of our own backups is one listing pass and no downloads', async () => {
    const memory = new MemoryBackend();
    const writer = new BackupCatalog(memory);
    for (let i = 0; i < 5000; i++) await writer.upload(Buffer.from(`backup ${i}`), {name: `nightly ${i}`});

    const counting = new CountingBackend(memory);
    const {catalog, warnings} = catalogWithWarnings(counting);
    const listed = await catalog.list();
    expect(listed).toHaveLength(5000);
    expect(new Set(listed.map((b) => b.id)).size).toBe(5000);
    expect(listed.every((b) => b.describedBy === 'archive' && typeof b.sha1 === 'string')).toBe(true);
    expect(counting.counts).toEqual({list: 1, get: 0, put: 0, stat: 0, delete: 0});
    expect(warnings).toEqual([]);
  }, 120_000);

  describe('200 backups made by Home Assistant', () => {
    let memory: MemoryBackend;
    let cacheDir: string;
    let cleanup: () => Promise<void>;

    beforeAll(async () => {
      memory = new MemoryBackend();
      await layOutHaBackups(memory, 200);
      ({dir: cacheDir, cleanup} = await tempDir());
    });
    afterAll(() => cleanup());

    test('listing twice downloads each metadata file at most once, at most `concurrency` at a time', async () => {
      const counting = new ParallelismProbe(memory);
      const {catalog, warnings} = catalogWithWarnings(counting, {cacheDir, concurrency: 3});
      const first = await catalog.list();
      const second = await catalog.list();
      expect(first).toHaveLength(200);
      expect(second).toEqual(first);
      expect(counting.counts.list).toBe(2);
      expect(counting.counts.get).toBe(200);
      expect([...counting.getsByKey.values()].every((n) => n === 1)).toBe(true);
      expect([...counting.getsByKey.keys()].every((k) => k.endsWith('.metadata.json'))).toBe(true);
      expect(counting.maxInFlight).toBeLessThanOrEqual(3);
      expect(counting.maxInFlight).toBeGreaterThan(1);
      expect(warnings).toEqual([]);
    });

    test('a new catalog (the next command) over the same cache directory downloads nothing', async () => {
      const counting = new CountingBackend(memory);
      const {catalog} = catalogWithWarnings(counting, {cacheDir});
      expect(await catalog.list()).toHaveLength(200);
      expect(counting.counts).toMatchObject({list: 1, get: 0});
      const any = (await catalog.list())[17];
      expect((await catalog.show(any.id)).metadata?.homeassistant_version).toBe('2026.4.1');
      expect(counting.counts.get).toBe(0);
    });
  });
});

/** Counts like CountingBackend and records how many gets were in flight at once. */
class ParallelismProbe extends CountingBackend {
  private inFlight = 0;
  maxInFlight = 0;
  override async get(...args: Parameters<CountingBackend['get']>) {
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    try {
      await new Promise((r) => setTimeout(r, 2)); // let the queue fill up
      return await super.get(...args);
    } finally {
      this.inFlight--;
    }
  }
}
