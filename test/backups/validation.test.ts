import {describe, test, expect} from '@jest/globals';
import {isBackupError} from '../../src/errors.js';
import {MemoryBackend} from '../../src/memory-backend.js';
import {BackupCatalog} from '../../src/backups/index.js';
import {keysOf, rejection} from './helpers.js';

describe('ids, names and user metadata are validated before anything is touched', () => {
  const badIds = ['', '../x', '..', '/etc/passwd', 'a/b', 'a\\b', 'abc\u0000', 'ab\ncd', '.hidden', 'x'.repeat(65), 'ünï'];

  test.each(badIds)('id %j is bad_input for show, download, verify and delete', async (id) => {
    const backend = new MemoryBackend();
    const catalog = new BackupCatalog(backend);
    for (const op of [() => catalog.show(id), () => catalog.download(id), () => catalog.verify(id), () => catalog.delete(id), () => catalog.downloadToFile(id, '/tmp/never-written')]) {
      const err = await rejection(op());
      expect(isBackupError(err, 'bad_input')).toBe(true);
      expect((err as Error).message).toMatch(/^invalid backup id/);
    }
  });

  const badNames = ['', '   ', '../../escape', 'a/b', 'back\\slash', 'tab\there', 'bell\u0007', 'del\u007f', '..', 'x'.repeat(256)];
  // text-direction controls and invisible characters make a listing show another name
  const spoofingNames = ['invoice\u202Erat.exe', 'a\u202Ab', 'x\u2066y\u2069', 'left\u200Fmark', 'zero\u200Bwidth', '\uFEFFbom', 'soft\u00ADhyphen', 'line\u2028sep', 'word\u2060joiner', 'arabic\u061Cmark'];

  test.each(badNames)('name %j is refused and nothing is uploaded', async (name) => {
    const backend = new MemoryBackend();
    const err = await rejection(new BackupCatalog(backend).upload(Buffer.from('data'), {name}));
    expect(isBackupError(err, 'bad_input')).toBe(true);
    expect((err as Error).message).toMatch(/^invalid backup name/);
    expect(await keysOf(backend)).toEqual([]);
  });

  test.each(spoofingNames)('name %j is refused with the character named and escaped, not printed', async (name) => {
    const backend = new MemoryBackend();
    const err = await rejection(new BackupCatalog(backend).upload(Buffer.from('data'), {name}));
    expect(isBackupError(err, 'bad_input')).toBe(true);
    const message = (err as Error).message;
    expect(message).toMatch(/^invalid backup name ".*\\u\{[0-9a-f]+\}.*": contains U\+[0-9A-F]{4}, an invisible or text-direction control character/);
    expect(message).not.toMatch(/[\u00AD\u061C\u200B-\u200F\u2028-\u202E\u2060-\u2069\uFEFF]/);
    expect(await keysOf(backend)).toEqual([]);
  });

  test('emoji sequences with joiners and tags, and scripts that need joiners, are fine', async () => {
    const catalog = new BackupCatalog(new MemoryBackend());
    for (const name of ['family 👨\u200D👩\u200D👧', 'flag 🏴\u{E0067}\u{E0062}\u{E0065}\u{E006E}\u{E0067}\u{E007F}', 'می\u200Cخواهم', 'עברית', 'العربية']) {
      expect((await catalog.upload(Buffer.from('x'), {name})).name).toBe(name);
    }
  });

  test('ordinary names, including unicode and dots, are fine', async () => {
    const backend = new MemoryBackend();
    const catalog = new BackupCatalog(backend);
    for (const name of ['Nightly', 'Home Assistant 2026.4.1', 'Sicherung März', 'v1..v2', 'a:b*c?']) {
      const info = await catalog.upload(Buffer.from('x'), {name});
      expect(info.name).toBe(name);
      expect(info.archiveKey).not.toMatch(/[/\\:*?]/);
    }
  });

  test.each([
    [{'bad key': 'v'}, /invalid metadata key/],
    [{'': 'v'}, /invalid metadata key/],
    [{ok: 'line\nbreak'}, /invalid value for metadata key ok/],
    // keys Home Assistant reads with a meaning and a type of its own
    [{with_automatic_settings: 'false'}, /^metadata key with_automatic_settings is Home Assistant's own: /],
    [{instance_id: 'x'}, /^metadata key instance_id is Home Assistant's own: it tells the backups/],
    [{'supervisor.backup_request_date': '2020-01-01T00:00:00+00:00'}, /^metadata key supervisor\.backup_request_date is Home Assistant's own: the Supervisor's keys/],
    [{ok: 'x'.repeat(1025)}, /invalid value for metadata key ok/],
  ])('user metadata %j is refused', async (metadata, message) => {
    const backend = new MemoryBackend();
    const err = await rejection(new BackupCatalog(backend).upload(Buffer.from('x'), {metadata}));
    expect(isBackupError(err, 'bad_input')).toBe(true);
    expect((err as Error).message).toMatch(message);
    expect(await keysOf(backend)).toEqual([]);
  });
});
