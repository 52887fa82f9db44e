import {afterAll, beforeAll, describe, expect, test} from '@jest/globals';
import {randomBytes} from 'node:crypto';
import {readFile} from 'node:fs/promises';
import {join} from 'node:path';
import {Readable} from 'node:stream';
import type {TransferEvent} from '../../src/b2/index.js';
import {readAll} from '../../src/body.js';
import {BackupCatalog} from '../../src/backups/index.js';
import type {BackupInfo} from '../../src/backups/index.js';
import {planPrune} from '../../src/backups/prune.js';
import {catalogWithWarnings, sharedEmulator, tempDir} from './helpers.js';

// Mixed SSE-C and plain backups under one prefix (an SSE-C key rotated, or a profile
// that dropped its key or switched to SSE-C), read over HTTP from the emulator by a
// catalog with no metadata cache (a fresh machine): a metadata file this profile's key
// cannot read is skipped with a warning that names it and says why, and every other
// backup is listed, pruned and found as before. A backup that could not be read is never
// deleted by a prune. An SSE-C profile sends its key only to SSE-C files: the emulator
// refuses it on any other (refuseKeyOnPlainFiles, as S3 servers do; B2 documents the key
// for SSE-C files alone).

const PART = 4096;
const shared = sharedEmulator({emulator: {minPartSize: 1000, recommendedPartSize: PART, refuseKeyOnPlainFiles: true}, backend: {partSize: PART, uploadCutoff: PART}});
const KEY_A = randomBytes(32).toString('base64');

const open = (prefix: string, key?: string) => shared.open(prefix, key ? {encryption: {mode: 'SSE-C', key}} : {});

describe('a metadata file encrypted with another SSE-C key', () => {
  test('a streamed SSE-C backup (its SHA1 only in its metadata file): the plain backups are listed, the other one is shown from its archive, with a warning naming the file', async () => {
    const ssec = await open('mix1/', KEY_A);
    const piped = await new BackupCatalog(ssec).upload(Readable.from([randomBytes(3 * PART)]), {name: 'piped-ssec'});
    const plain = await open('mix1/');
    const made = await new BackupCatalog(plain).upload(randomBytes(2000), {name: 'plain'});
    const {catalog, warnings} = catalogWithWarnings(plain);
    const listed = await catalog.list();
    expect(listed.map((b) => b.id).sort()).toEqual([piped.id, made.id].sort());
    expect(listed.find((b) => b.id === piped.id)?.sha1).toBeUndefined();
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain(piped.metadataKey);
    expect(warnings[0]).toMatch(/encrypted with SSE-C/);
  });

  test('a Home Assistant style backup (described only by its metadata file): skipped with a warning, the rest listed; prune plans over the rest and never plans to delete it', async () => {
    const ssec = await open('mix2/', KEY_A);
    const base = 'Automatic_backup_2026.4.1_2026-04-08_04.57_43001930';
    const id = 'ha5ec0de';
    const meta = {metadata_version: '1', backup_id: id, backup_metadata: {addons: [], backup_id: id, date: '2026-04-08T04:57:43.001930+02:00', database_included: true, extra_metadata: {}, folders: [], homeassistant_included: true, homeassistant_version: '2026.4.1', name: 'Automatic backup 2026.4.1', protected: false, size: 100}};
    await ssec.put(`${base}.tar`, randomBytes(100));
    await ssec.put(`${base}.metadata.json`, Buffer.from(JSON.stringify(meta)), {metadata: {metadata_only: 'true'}});
    const plain = await open('mix2/');
    const older = await new BackupCatalog(plain, {now: () => new Date('2026-01-01T00:00:00Z')}).upload(randomBytes(2000), {name: 'older'});
    const newer = await new BackupCatalog(plain, {now: () => new Date('2026-02-01T00:00:00Z')}).upload(randomBytes(2000), {name: 'newer'});

    const {catalog, warnings} = catalogWithWarnings(plain);
    expect((await catalog.list()).map((b) => b.id).sort()).toEqual([older.id, newer.id].sort());
    expect(warnings).toEqual([expect.stringMatching(new RegExp(`^skipping ${base}\\.metadata\\.json: .*encrypted with SSE-C`))]);

    const plan = await planPrune(new BackupCatalog(plain), {keepLast: 1});
    expect(plan.decisions.map((d) => [d.backup.id, d.keep])).toEqual([[newer.id, true], [older.id, false]]);
    expect(plan.targets.has(id)).toBe(false);
    expect(plan.skipped).toEqual([expect.stringContaining(`${base}.metadata.json`)]);
  });
});

describe('an SSE-C profile over backups stored without SSE-C (made before it switched, or by another tool)', () => {
  const KEY_B = randomBytes(32).toString('base64');
  const RANGE = 1000;
  /** Parallel ranges for every download (a first range is never fast enough to take the rest as one stream). */
  const ranged = {concurrency: 3, downloadRangeSize: RANGE, fastStreamRate: Number.MAX_SAFE_INTEGER, busyStreamRate: Number.MAX_SAFE_INTEGER};
  const retries = (events: TransferEvent[]) => events.filter((e) => e.kind === 'retry');
  const downloads = () => ({byName: shared.emu.stats().calls.b2_download_file_by_name ?? 0, byId: shared.emu.stats().calls.b2_download_file_by_id ?? 0});
  let dir: string;
  let cleanup: () => Promise<void>;
  let n = 0;
  const outPath = () => join(dir, `restored-${++n}.tar`);

  /** On `prefix`: a backup by a profile without SSE-C, then the same location with an SSE-C key (ranged downloads, events recorded) and a backup of its own. */
  async function switchedLocation(prefix: string) {
    const plainData = randomBytes(3 * PART + 17); // in parts, downloaded in 13 ranges
    const plain = await new BackupCatalog(await open(prefix)).upload(plainData, {name: 'before the switch'});
    const events: TransferEvent[] = [];
    const ssec = await shared.open(prefix, {encryption: {mode: 'SSE-C', key: KEY_B}, ...ranged, onEvent: (e) => events.push(e)});
    const ownData = randomBytes(2 * PART + 5);
    const own = await new BackupCatalog(ssec).upload(ownData, {name: 'after the switch'});
    return {ssec, events, backups: [{backup: plain, data: plainData}, {backup: own, data: ownData}]};
  }

  beforeAll(async () => {
    ({dir, cleanup} = await tempDir());
  });
  afterAll(async () => {
    await cleanup?.();
  });

  test('it lists, downloads (to a file and as a stream) and verifies the plain backup and its own SSE-C one, without a retry', async () => {
    const {ssec, events, backups} = await switchedLocation('switch1/');
    const catalog = new BackupCatalog(ssec);
    expect((await catalog.list()).map((b) => b.id).sort()).toEqual(backups.map((b) => b.backup.id).sort());
    for (const {backup, data} of backups) {
      const path = outPath();
      await catalog.downloadToFile(backup.id, path);
      expect((await readFile(path)).equals(data)).toBe(true);
      expect((await readAll((await catalog.download(backup.id)).stream)).equals(data)).toBe(true);
      expect((await catalog.verify(backup.id)).ok).toBe(true);
    }
    expect(retries(events)).toEqual([]);
  });

  test('a backup as the listing found it: each request of its download goes with or without the key as the listing said, no extra one', async () => {
    const {ssec, backups} = await switchedLocation('switch2/');
    const catalog = new BackupCatalog(ssec);
    for (const {backup, data} of backups) {
      const info: BackupInfo = await catalog.locate(backup.id);
      const ranges = Math.ceil(data.length / RANGE);
      shared.emu.resetStats();
      await catalog.downloadToFile(info, outPath());
      // the archive by the id listed (every range), and its metadata file once by name (compared with the archive, then cached)
      expect(downloads()).toEqual({byName: 1, byId: ranges});
      shared.emu.resetStats();
      expect((await readAll((await catalog.download(info)).stream)).equals(data)).toBe(true);
      expect(downloads()).toEqual({byName: 0, byId: ranges});
      expect(shared.emu.stats().errors).toEqual({});
    }
  });

  test('a read with nothing on record (stat, get by name): without the key, and once more with it only for an SSE-C file, told to nobody', async () => {
    const {ssec, events, backups} = await switchedLocation('switch3/');
    const [plain, own] = backups;
    shared.emu.resetStats();
    expect(await ssec.stat(plain.backup.archiveKey)).toMatchObject({size: plain.data.length});
    expect(downloads()).toEqual({byName: 1, byId: 0});
    shared.emu.resetStats();
    const stat = await ssec.stat(own.backup.archiveKey);
    expect(stat).toMatchObject({size: own.data.length, encryptedWithCustomerKey: true});
    expect(downloads()).toEqual({byName: 2, byId: 0});
    for (const {backup, data} of backups) {
      shared.emu.resetStats();
      expect((await readAll((await ssec.get(backup.archiveKey)).stream)).equals(data)).toBe(true);
      const extra = backup === own.backup ? 1 : 0;
      expect(downloads()).toEqual({byName: 1 + extra, byId: Math.ceil(data.length / RANGE) - 1});
    }
    // what stat said saves the extra request
    shared.emu.resetStats();
    expect((await readAll((await ssec.get(own.backup.archiveKey, {encryptedWithCustomerKey: stat?.encryptedWithCustomerKey})).stream)).equals(own.data)).toBe(true);
    expect(downloads().byName).toBe(1);
    expect(retries(events)).toEqual([]);
  });

  test('a range cut off resumes with the headers its download began with, for the plain backup and the SSE-C one', async () => {
    const {ssec, backups} = await switchedLocation('switch4/');
    const catalog = new BackupCatalog(ssec);
    for (const {backup, data} of backups) {
      for (const restore of [(id: string) => catalog.downloadToFile(id, outPath()).then((r) => readFile(r.path)), (id: string) => catalog.download(id).then((r) => readAll(r.stream))]) {
        shared.emu.resetStats();
        shared.emu.faults.add({call: 'b2_download_file_by_id', count: 1, cutResponseAfterBytes: 100});
        expect((await restore(backup.id)).equals(data)).toBe(true);
        expect(shared.emu.stats().faults.cut_response).toBe(1);
      }
    }
  });
});
