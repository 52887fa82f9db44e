import {describe, expect, test} from '@jest/globals';
import {randomBytes} from 'node:crypto';
import {BackupCatalog} from '../../src/backups/index.js';
import {executeMove, planMove} from '../../src/backups/move.js';
import {putHaBackup} from './ha-fixtures.js';
import {catalogWithWarnings, keysOf, sharedEmulator} from './helpers.js';

// A move takes only what `list` calls a backup (one rule, the catalog's): an archive that
// describes itself, or a pair whose metadata file is a backup metadata file (Home
// Assistant's). Another tool's `X.tar` + `X.metadata.json` stays where it is, untouched,
// and is reported. Over HTTP against the emulator.

const shared = sharedEmulator();

const open = (prefix: string) => shared.open(prefix);

describe('a move and files that are not backups', () => {
  test('another tool\'s X.tar + X.metadata.json is neither copied nor deleted, and is reported; our backup and a Home Assistant one move', async () => {
    const from = await open('foreign-src/');
    const to = await open('foreign-dst/');
    const ours = await new BackupCatalog(from).upload(randomBytes(500), {name: 'ours'});
    const ha = await putHaBackup(from, 0);
    await from.put('photos.tar', Buffer.from('othertool'));
    await from.put('photos.metadata.json', Buffer.from(JSON.stringify({tool: 'photo-sync', albums: 3})));

    const {catalog, warnings} = catalogWithWarnings(from);
    expect((await catalog.list()).map((b) => b.id).sort()).toEqual([ours.id, ha.backupId].sort());
    expect(warnings).toEqual([expect.stringMatching(/^skipping photos\.metadata\.json: not a backup metadata file/)]);

    const plan = await planMove(from, to);
    expect(plan.items.map((i) => i.base).sort()).toEqual([ours.archiveKey.replace(/\.tar$/, ''), ha.base].sort());
    expect(plan.staying).toEqual([expect.stringMatching(/^photos\.metadata\.json and photos\.tar \(not a backup: not a backup metadata file/)]);
    const report = await executeMove(from, to, plan);
    expect(report.deleted).toBe(4);
    expect(await keysOf(from)).toEqual(['photos.metadata.json', 'photos.tar']);
    expect((await keysOf(to)).filter((k) => k.startsWith('photos'))).toEqual([]);
    expect((await new BackupCatalog(to).list()).map((b) => b.id).sort()).toEqual([ours.id, ha.backupId].sort());
  });
});
