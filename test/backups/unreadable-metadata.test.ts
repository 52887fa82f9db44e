import {describe, expect, test} from '@jest/globals';
import {randomBytes} from 'node:crypto';
import {Readable} from 'node:stream';
import {BackupCatalog} from '../../src/backups/index.js';
import {planPrune} from '../../src/backups/prune.js';
import {catalogWithWarnings, sharedEmulator} from './helpers.js';

// Mixed SSE-C and plain backups under one prefix (an SSE-C key rotated, or a profile
// that dropped its key), read over HTTP from the emulator by a catalog with no metadata
// cache (a fresh machine): a metadata file this profile's key cannot read is skipped with
// a warning that names it and says why, and every other backup is listed, pruned and
// found as before. A backup that could not be read is never deleted by a prune.

const PART = 4096;
const shared = sharedEmulator({emulator: {minPartSize: 1000, recommendedPartSize: PART}, backend: {partSize: PART, uploadCutoff: PART}});
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
