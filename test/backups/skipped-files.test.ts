import {describe, test, expect, beforeEach} from '@jest/globals';
import {MemoryBackend} from '../../src/memory-backend.js';
import {BackupCatalog} from '../../src/backups/index.js';
import {CountingBackend} from './backend-wrappers.js';
import {putHaBackup} from './ha-fixtures.js';
import {catalogWithWarnings} from './helpers.js';

const json = (v: unknown) => Buffer.from(JSON.stringify(v));

/** Files that are not (complete) backups are skipped with one warning each, never a crash. */
describe('foreign, malformed and orphaned files', () => {
  let backend: MemoryBackend;
  let good: {backupId: string};
  let ours: {id: string};

  beforeEach(async () => {
    backend = new MemoryBackend();
    good = await putHaBackup(backend, 0);
    ours = await new BackupCatalog(backend).upload(Buffer.from('ours'), {name: 'ours'});
  });

  async function listWithJunk(junk: Record<string, Buffer>): Promise<{ids: string[]; warnings: string[]}> {
    for (const [key, body] of Object.entries(junk)) await backend.put(key, body);
    const {catalog, warnings} = catalogWithWarnings(backend);
    const ids = (await catalog.list()).map((b) => b.id);
    return {ids, warnings};
  }

  const cases: [string, Record<string, Buffer>, RegExp][] = [
    ['not JSON', {'broken.tar': Buffer.from('x'), 'broken.metadata.json': Buffer.from('{"metadata_version": "1", ')}, /broken\.metadata\.json: not a backup metadata file \(not JSON/],
    ['JSON but not an object', {'arr.tar': Buffer.from('x'), 'arr.metadata.json': json([1, 2])}, /arr\.metadata\.json: not a backup metadata file/],
    ['another tool\'s .metadata.json', {'photo.tar': Buffer.from('x'), 'photo.metadata.json': json({camera: 'X100', iso: 200})}, /photo\.metadata\.json: not a backup metadata file \(metadata_version/],
    ['missing backup_metadata', {'half.tar': Buffer.from('x'), 'half.metadata.json': json({metadata_version: '1', backup_id: 'abcd1234'})}, /half\.metadata\.json: .*backup_metadata/],
    ['a date that is not a date', {'d.tar': Buffer.from('x'), 'd.metadata.json': json({metadata_version: '1', backup_id: 'abcd1234', backup_metadata: {name: 'n', date: 'yesterday'}})}, /d\.metadata\.json: .*backup_metadata\.date/],
    ['a backup id that could address a file', {'e.tar': Buffer.from('x'), 'e.metadata.json': json({metadata_version: '1', backup_id: '../../etc', backup_metadata: {name: 'n', date: '2026-01-01T00:00:00+00:00'}})}, /e\.metadata\.json: .*backup_id/],
    ['ids that disagree', {'f.tar': Buffer.from('x'), 'f.metadata.json': json({metadata_version: '1', backup_id: 'abcd1234', backup_metadata: {backup_id: 'ffff0000', name: 'n', date: '2026-01-01T00:00:00+00:00'}})}, /f\.metadata\.json: .*disagrees/],
    ['invalid UTF-8', {'u.tar': Buffer.from('x'), 'u.metadata.json': Buffer.from([0x7b, 0xff, 0xfe, 0x7d])}, /u\.metadata\.json: not a backup metadata file/],
    ['orphaned metadata', {'lonely.metadata.json': json({metadata_version: '1', backup_id: 'abcd1234', backup_metadata: {name: 'n', date: '2026-01-01T00:00:00+00:00'}})}, /lonely\.metadata\.json: it has no archive lonely\.tar/],
    ['an orphaned archive', {'interrupted.tar': Buffer.from('x')}, /interrupted\.tar: it has no metadata file interrupted\.metadata\.json/],
  ];

  test.each(cases)('%s', async (_what, junk, warning) => {
    const {ids, warnings} = await listWithJunk(junk);
    expect(ids.sort()).toEqual([good.backupId, ours.id].sort());
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(warning);
  });

  test('unrelated files and files in sub-folders are ignored silently', async () => {
    const {ids, warnings} = await listWithJunk({'README.txt': Buffer.from('hi'), 'sub/x.tar': Buffer.from('x'), 'sub/x.metadata.json': Buffer.from('{}'), '.metadata.json': Buffer.from('{}')});
    expect(ids).toHaveLength(2);
    expect(warnings).toEqual([]);
  });

  test('a huge .metadata.json is skipped without downloading it', async () => {
    await backend.put('big.tar', Buffer.from('x'));
    await backend.put('big.metadata.json', Buffer.alloc(2 * 1024 * 1024, 0x20));
    const counting = new CountingBackend(backend);
    const {catalog, warnings} = catalogWithWarnings(counting);
    expect(await catalog.list()).toHaveLength(2);
    expect(counting.getsByKey.has('big.metadata.json')).toBe(false);
    expect(warnings.join()).toMatch(/big\.metadata\.json: .*too large/);
  });

  test('two backups claiming the same id: the newer is listed, the other warned about', async () => {
    const copy = await putHaBackup(backend, 5);
    const text = copy.metadataJson.replaceAll(copy.backupId, good.backupId);
    await backend.put(copy.metadataKey, Buffer.from(text), {metadata: {metadata_only: 'true'}});
    const {catalog, warnings} = catalogWithWarnings(backend);
    const listed = await catalog.list();
    expect(listed.filter((b) => b.id === good.backupId).map((b) => b.archiveKey)).toEqual([copy.archiveKey]);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain(`backup id ${good.backupId} is also used`);
  });

  test('malformed files are not re-downloaded by the next listing of the same catalog', async () => {
    await backend.put('broken.tar', Buffer.from('x'));
    await backend.put('broken.metadata.json', Buffer.from('nope'));
    const counting = new CountingBackend(backend);
    const {catalog, warnings} = catalogWithWarnings(counting);
    await catalog.list();
    await catalog.list();
    expect(counting.getsByKey.get('broken.metadata.json')).toBe(1);
    expect(warnings).toHaveLength(2); // still reported each time
  });

  test('show, verify and delete report skipped files only when the id is not found', async () => {
    await backend.put('interrupted.tar', Buffer.from('x'));
    const {catalog, warnings} = catalogWithWarnings(backend);
    await catalog.show(ours.id);
    await catalog.verify(good.backupId);
    expect(warnings).toEqual([]);
    await expect(catalog.show('0badc0de')).rejects.toThrow('no backup with id 0badc0de');
    expect(warnings).toEqual([expect.stringContaining('skipping interrupted.tar')]);
  });
});
