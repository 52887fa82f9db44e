import {describe, test, expect, beforeAll, afterAll} from '@jest/globals';
import {randomBytes} from 'node:crypto';
import {readAll} from '../../src/body.js';
import {isBackupError} from '../../src/errors.js';
import type {B2Backend} from '../../src/b2/index.js';
import type {RunningEmulator} from '../../src/emulator/index.js';
import {BackupCatalog} from '../../src/backups/index.js';
import {emulator, openBackend} from '../b2/helpers.js';
import {layOutHaBackups} from './ha-fixtures.js';
import {catalogWithWarnings, rejection, tempDir} from './helpers.js';

const OURS = 300;
const HA = 60;

/** The catalog over the real B2 provider and the emulator's HTTP API, costs read from its counters. */
describe('BackupCatalog over B2 (emulator)', () => {
  let emu: RunningEmulator;
  let backend: B2Backend;
  let cacheDir: string;
  let cleanup: () => Promise<void>;
  const ourIds: string[] = [];

  beforeAll(async () => {
    emu = await emulator();
    backend = await openBackend(emu, {prefix: 'ha-backups/'});
    ({dir: cacheDir, cleanup} = await tempDir());
    const writer = new BackupCatalog(backend, {concurrency: 8});
    for (let i = 0; i < OURS; i++) ourIds.push((await writer.upload(Buffer.from(`archive ${i}`), {name: `nightly ${i}`})).id);
    await layOutHaBackups(backend, HA, {concurrency: 8});
  }, 120_000);

  afterAll(async () => {
    await backend?.close();
    await emu?.stop();
    await cleanup?.();
  });

  const listCalls = () => emu.stats().calls.b2_list_file_names ?? 0;
  const downloads = () => Object.entries(emu.stats().calls).filter(([k]) => k.startsWith('b2_download')).reduce((n, [, v]) => n + v, 0);

  test(`listing ${OURS} of ours and ${HA} of HA's: one listing call, one download per HA metadata file, none the second time or in the next process`, async () => {
    emu.resetStats();
    const {catalog, warnings} = catalogWithWarnings(backend, {cacheDir});
    const first = await catalog.list();
    expect(first).toHaveLength(OURS + HA);
    expect(listCalls()).toBe(1);
    expect(downloads()).toBe(HA);
    expect(warnings).toEqual([]);

    emu.resetStats();
    expect(await catalog.list()).toEqual(first);
    expect(await catalogWithWarnings(backend, {cacheDir}).catalog.list()).toEqual(first);
    expect(listCalls()).toBe(2);
    expect(downloads()).toBe(0);
  });

  test('our backups need no download to list: names, dates, sizes and SHA1 come from file info', async () => {
    emu.resetStats();
    const listed = await new BackupCatalog(backend).list();
    const ours = listed.filter((b) => b.describedBy === 'archive');
    expect(ours.map((b) => b.id).sort()).toEqual([...ourIds].sort());
    expect(ours.every((b) => /^[0-9a-f]{40}$/.test(b.sha1 ?? ''))).toBe(true);
    expect(downloads()).toBe(HA); // the HA ones only, with no cache
  });

  test('round trip over the wire: upload, show, download, verify, delete; a corrupted archive fails verification', async () => {
    const data = randomBytes(300_000);
    const catalog = new BackupCatalog(backend, {cacheDir});
    const up = await catalog.upload(data, {name: 'wire test', metadata: {via: 'b2'}});
    expect((await catalog.show(up.id)).metadata?.extra_metadata).toEqual({via: 'b2'});
    expect((await readAll((await catalog.download(up.id)).stream)).equals(data)).toBe(true);
    expect(await catalog.verify(up.id)).toMatchObject({ok: true, size: data.length});

    await emu.corrupt(emu.bucket, `ha-backups/${up.archiveKey}`);
    expect(await catalog.verify(up.id)).toMatchObject({ok: false, expectedSha1: up.sha1});
    const err = await rejection(catalog.download(up.id).then(({stream}) => readAll(stream)));
    expect(isBackupError(err, 'checksum_mismatch')).toBe(true);

    await catalog.delete(up.id);
    expect(isBackupError(await rejection(catalog.show(up.id)), 'not_found')).toBe(true);
  });
});
