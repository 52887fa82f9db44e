import {describe, test, expect, beforeEach, afterEach} from '@jest/globals';
import {mkdir, readdir, writeFile} from 'node:fs/promises';
import {join} from 'node:path';
import {MemoryBackend} from '../../src/memory-backend.js';
import {CountingBackend} from './backend-wrappers.js';
import {layOutHaBackups} from './ha-fixtures.js';
import {catalogWithWarnings, tempDir} from './helpers.js';

describe('the on-disk metadata cache', () => {
  let memory: MemoryBackend;
  let dir: string;
  /** Where a backend without a read scope (no SSE-C key) keeps its entries. */
  const plain = () => join(dir, 'metadata-cache', 'plain');
  let cleanup: () => Promise<void>;

  beforeEach(async () => {
    memory = new MemoryBackend();
    await layOutHaBackups(memory, 5);
    ({dir, cleanup} = await tempDir());
  });
  afterEach(() => cleanup());

  test('a damaged cache entry is a miss: the file is downloaded again and the entry rewritten', async () => {
    await catalogWithWarnings(memory, {cacheDir: dir}).catalog.list();
    const files = await readdir(plain());
    expect(files).toHaveLength(5);
    await writeFile(join(plain(), files[0]), '{"v":1,"id":"mem-1","key":"x"');
    await writeFile(join(plain(), files[1]), JSON.stringify({v: 1, id: 'someone-else', key: 'k', size: 1, text: '{}'}));

    const counting = new CountingBackend(memory);
    const {catalog, warnings} = catalogWithWarnings(counting, {cacheDir: dir});
    expect(await catalog.list()).toHaveLength(5);
    expect(counting.counts.get).toBe(2);
    expect(warnings).toEqual([]);

    const again = new CountingBackend(memory);
    expect(await catalogWithWarnings(again, {cacheDir: dir}).catalog.list()).toHaveLength(5);
    expect(again.counts.get).toBe(0);
  });

  test('an unusable cache directory costs downloads and a warning, never the listing', async () => {
    const notADir = join(dir, 'file');
    await writeFile(notADir, 'x');
    const {catalog, warnings} = catalogWithWarnings(memory, {cacheDir: notADir});
    expect(await catalog.list()).toHaveLength(5);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/cannot write the metadata cache in .*file\/metadata-cache\/plain: (ENOTDIR|EEXIST)/);
  });

  test('deleting a backup drops its cache entry', async () => {
    const {catalog} = catalogWithWarnings(memory, {cacheDir: dir});
    const [first] = await catalog.list();
    await catalog.delete(first.id);
    expect(await readdir(plain())).toHaveLength(4);
  });

  test('the shared directory of earlier versions (SSE-C files\' text among any reader\'s) is removed on first use', async () => {
    const legacy = join(dir, 'metadata');
    await mkdir(legacy);
    await writeFile(join(legacy, 'a.json'), JSON.stringify({v: 1, id: 'mem-1', key: 'k', size: 1, text: '{}'}));
    await catalogWithWarnings(memory, {cacheDir: dir}).catalog.list();
    expect((await readdir(dir)).sort()).toEqual(['metadata-cache']);
  });

  test('a backend with a read scope (an SSE-C key) neither reads nor fills the scope of readers without it', async () => {
    await catalogWithWarnings(memory, {cacheDir: dir}).catalog.list();
    const scoped = new CountingBackend(memory);
    Object.assign(scoped, {readScope: 'sse-c-0123'});
    expect(await catalogWithWarnings(scoped, {cacheDir: dir}).catalog.list()).toHaveLength(5);
    expect(scoped.counts.get).toBe(5);
    expect(await readdir(join(dir, 'metadata-cache', 'sse-c-0123'))).toHaveLength(5);
    expect(await readdir(plain())).toHaveLength(5);
  });
});
