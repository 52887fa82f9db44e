import {describe, test, expect, beforeAll, afterAll} from '@jest/globals';
import {randomBytes} from 'node:crypto';
import type {B2Backend} from '../../src/b2/index.js';
import {BackupCatalog} from '../../src/backups/index.js';
import {resolveBackupRef} from '../../src/backups/resolve-id.js';
import {isBackupError} from '../../src/errors.js';
import {openBackend} from '../b2/helpers.js';
import {haBackupMetadata, pythonJsonDumps} from '../backups/ha-fixtures.js';
import {E2EWorld, expectFailure, parseJson, sha1} from './helpers.js';

// Every command that takes a backup id also takes a unique prefix of one and `latest`,
// resolved in one place (src/backups/resolve-id.ts). The backups are laid out the way
// Home Assistant writes them, so that their ids can be chosen to share prefixes.

const PREFIX = 'refs/';
let world: E2EWorld;
let backend: B2Backend;
const archives: Record<string, Buffer> = {};
const home = (args: string[]) => world.b2([...args, '--profile', 'home']);

/** HA-style backup with a chosen id, made on day `day` of April 2026. */
async function putBackup(id: string, day: number): Promise<void> {
  const date = `2026-04-${String(day).padStart(2, '0')}T03:00:00.000000+00:00`;
  const base = `Nightly_2026-04-${String(day).padStart(2, '0')}_03.00_${id}`;
  const archive = randomBytes(3000);
  archives[id] = archive;
  const meta = {...haBackupMetadata({name: 'Nightly', date, backupId: id}, archive.length), size: archive.length};
  await backend.put(`${base}.tar`, archive, {contentType: 'application/x-tar', metadata: {}});
  await backend.put(`${base}.metadata.json`, Buffer.from(pythonJsonDumps({metadata_version: '1', backup_id: id, backup_metadata: meta})), {contentType: 'application/json', metadata: {metadata_only: 'true'}});
}

beforeAll(async () => {
  world = await E2EWorld.start();
  const key = await world.createKey();
  await world.addProfile('home', {...key, prefix: PREFIX});
  backend = await openBackend(world.emu, {prefix: PREFIX});
  await putBackup('abc11111', 1);
  await putBackup('abc22222', 2);
  await putBackup('abd33333', 3);
  await putBackup('latest', 2); // another tool's (or a planted) backup whose id is the keyword
  await putBackup('f0000004', 4); // the newest
});

afterAll(async () => {
  await backend?.close();
  await world?.close();
});

describe('backup references', () => {
  test.each([
    ['abd', 'abd33333'],
    ['abc2', 'abc22222'],
    ['latest', 'f0000004'],
    ['abc11111', 'abc11111'],
    ['lates', 'latest'], // the keyword always means the newest: a backup whose id is the word is reached by a prefix
  ])('show %s names backup %s', async (ref, id) => {
    expect(parseJson<{id: string}>(await home(['show', ref, '--json'])).id).toBe(id);
  });

  test('an ambiguous prefix exits 2 and lists every candidate, newest first', async () => {
    const r = await home(['show', 'ab']);
    expectFailure(r, 2, /backup id prefix ab is ambiguous: it matches abd33333 .*, abc22222 .*, abc11111 \("Nightly", 2026-04-01 03:00:00 \+00:00\); give more of the id$/, world.secrets);
    expect(r.stderr).not.toContain('f0000004');
  });

  test.each([
    [['verify', 'abc']],
    [['download', 'abc', '-o', 'x.tar']],
    [['delete', 'abc', '--yes']],
  ])('%j: an ambiguous prefix exits 2 naming the candidates', async (args) => {
    expectFailure(await home(args), 2, /ambiguous: .*abc22222.*abc11111/, world.secrets);
  });

  test('no match exits 4, naming the profile, bucket and prefix it looked in and the command that lists the ids', async () => {
    expectFailure(await home(['show', 'e']), 4, new RegExp(`no backup with id e in profile "home" \\(bucket ${world.emu.bucket}, prefix "${PREFIX}"\\); run "backup-b2 b2 list --config \\S+ --profile home" to see their ids$`), world.secrets);
  });

  test('verify and download take a prefix and latest', async () => {
    const v = parseJson<{ok: boolean; id: string}>(await home(['verify', 'abd3', '--json']));
    expect(v).toMatchObject({ok: true, id: 'abd33333'});
    const d = world.spawn(['download', 'latest', '-o', '-', '--profile', 'home']);
    const done = await d.done;
    expect(done.code).toBe(0);
    expect(sha1(done.stdout)).toBe(sha1(archives.f0000004));
  });

  test('delete latest is the newest backup, never the one whose id is the word', async () => {
    const r = await home(['delete', 'latest', '--dry-run']);
    expect(r.code).toBe(0);
    expect(r.stdout + r.stderr).toContain('f0000004');
    expect(r.stdout + r.stderr).not.toContain('_latest.tar');
  });

  test('delete takes a prefix: exactly that backup goes', async () => {
    const r = await home(['delete', 'abc1', '--yes', '--json']);
    expect(r.code).toBe(0);
    expect(parseJson<{deleted: {id: string}}>(r).deleted.id).toBe('abc11111');
    const left = (await new BackupCatalog(backend).list()).map((b) => b.id); // what is left, read in this process
    expect(left.sort()).toEqual(['abc22222', 'abd33333', 'f0000004', 'latest']);
    // now "abc" is unique
    expect(parseJson<{id: string}>(await home(['show', 'abc', '--json'])).id).toBe('abc22222');
  });
});

describe('resolveBackupRef', () => {
  const b = (id: string) => ({info: {id, name: 'n', date: '2026-04-01T00:00:00+00:00'}});
  test('an exact id wins over a longer id it prefixes; "latest" is always the newest, even beside a backup with that id', () => {
    expect(resolveBackupRef([b('abc1'), b('abc'), b('abcd')], 'abc').info.id).toBe('abc');
    expect(resolveBackupRef([b('newest'), b('latest')], 'latest').info.id).toBe('newest');
    expect(resolveBackupRef([b('newest'), b('latest')], 'lates').info.id).toBe('latest');
    expect(resolveBackupRef([b('newest'), b('older')], 'latest').info.id).toBe('newest');
  });

  test('latest in an empty location is not found; many candidates are listed up to ten', () => {
    const none = (() => {
      try {
        resolveBackupRef([], 'latest');
      } catch (err) {
        return err;
      }
    })();
    expect(isBackupError(none, 'not_found')).toBe(true);
    const many = Array.from({length: 12}, (_, i) => b(`aa${String(i).padStart(2, '0')}`));
    expect(() => resolveBackupRef(many, 'aa')).toThrow(/aa00 .*aa09 \("n", 2026-04-01 00:00:00 \+00:00\) and 2 more; give more of the id$/);
  });
});
