import {afterAll, beforeAll, describe, expect, test} from '@jest/globals';
import {mkdtemp, readFile, rm, writeFile} from 'node:fs/promises';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {checkReport, type CheckReport} from '../../src/backend.js';
import {isBackupError} from '../../src/errors.js';
import {saveChecked} from '../../src/profiles/save-checked.js';
import {ProfileStore} from '../../src/profiles/store.js';
import type {ResolvedProfile} from '../../src/profiles/types.js';

// add/update save only what passes the connection check. The check itself is the B2
// provider's (tested with it); here a report is handed in to test what saving does with it.

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'save-checked-'));
});
afterAll(async () => {
  await rm(dir, {recursive: true, force: true});
});

const EXISTING = 'profiles:\n  home:\n    keyId: k\n    applicationKey: env:HOME_KEY\n    bucket: home-backups\n';

async function storeWithOffice(): Promise<{store: ProfileStore; path: string}> {
  const path = join(dir, `${Math.random().toString(36).slice(2)}.yaml`);
  await writeFile(path, EXISTING, {mode: 0o600});
  const store = await ProfileStore.load(path, {env: {HOME_KEY: 'h', OFFICE_KEY: 'office-secret'}});
  store.add('office', {keyId: 'office-key-id', applicationKey: 'env:OFFICE_KEY', bucket: 'office-backups'});
  return {store, path};
}

describe('saveChecked', () => {
  test('a failed check prints each failed item with its fix and saves nothing', async () => {
    const {store, path} = await storeWithOffice();
    const warned: string[] = [];
    const checked: ResolvedProfile[] = [];
    const report = checkReport([
      {id: 'credentials', title: 'credentials', status: 'ok', message: 'key accepted'},
      {id: 'capabilities', title: 'capabilities', status: 'fail', message: 'the key lacks deleteFiles', fix: 'create a key with deleteFiles'},
    ]);
    const err = await saveChecked(store, 'office', {
      check: async (p): Promise<CheckReport> => (checked.push(p), report),
      warn: (l) => warned.push(l),
    }).catch((e: unknown) => e);
    expect(checked[0]).toMatchObject({name: 'office', keyId: 'office-key-id', applicationKey: 'office-secret', bucket: 'office-backups'});
    expect(isBackupError(err, 'missing_capabilities')).toBe(true);
    expect((err as Error).message).toBe('profile "office" failed its check (capabilities); nothing was saved: fix it, or pass --no-check to save anyway');
    expect(warned).toEqual(['fail  capabilities  the key lacks deleteFiles; fix: create a key with deleteFiles']);
    expect(await readFile(path, 'utf8')).toBe(EXISTING);
  });

  test('warnings are shown and the profile is saved', async () => {
    const {store, path} = await storeWithOffice();
    const warned: string[] = [];
    const report = checkReport([{id: 'foreign_files', title: 'prefix', status: 'warn', message: 'the prefix holds other files', fix: 'use a prefix of its own'}]);
    await saveChecked(store, 'office', {check: async () => report, warn: (l) => warned.push(l)});
    expect(warned).toEqual(['warn  prefix  the prefix holds other files; fix: use a prefix of its own']);
    expect(await readFile(path, 'utf8')).toContain('  office:\n    keyId: office-key-id\n');
  });

  test('the key checked is the one being saved, even when B2_APPLICATION_KEY_ID/KEY override keys at run time', async () => {
    const path = join(dir, 'env-override.yaml');
    const env = {B2_APPLICATION_KEY_ID: 'env-key-id', B2_APPLICATION_KEY: 'env-secret', OFFICE_KEY: 'office-secret'};
    const store = await ProfileStore.load(path, {env});
    store.add('office', {keyId: 'office-key-id', applicationKey: 'env:OFFICE_KEY', bucket: 'office-backups'});
    const checked: ResolvedProfile[] = [];
    await saveChecked(store, 'office', {check: async (p) => (checked.push(p), checkReport([])), warn: () => {}});
    expect(checked).toEqual([expect.objectContaining({keyId: 'office-key-id', applicationKey: 'office-secret'})]);
    expect(store.resolve('office')).toMatchObject({keyId: 'env-key-id', applicationKey: 'env-secret'}); // run time still honours the override
  });

    test('without a check (--no-check) the secret is not even resolved', async () => {
    const path = join(dir, 'nocheck.yaml');
    const store = await ProfileStore.load(path, {env: {}});
    store.add('office', {keyId: 'k', applicationKey: 'env:UNSET_KEY', bucket: 'office-backups'});
    await saveChecked(store, 'office', {warn: () => {}});
    expect(await readFile(path, 'utf8')).toContain('applicationKey: env:UNSET_KEY');
  });
});
