import {afterAll, beforeAll, describe, expect, test} from '@jest/globals';
import {randomBytes} from 'node:crypto';
import {writeFile} from 'node:fs/promises';
import {join} from 'node:path';
import {Readable} from 'node:stream';
import type {B2Backend} from '../../src/b2/index.js';
import type {RunningEmulator} from '../../src/emulator/index.js';
import {BackupCatalog} from '../../src/backups/index.js';
import {executePrune, planPrune} from '../../src/backups/prune.js';
import {LEGAL_HOLD} from '../../src/backups/display.js';
import {lockedRefusal} from '../../src/cli/object-lock.js';
import {BackupError, isBackupError} from '../../src/errors.js';
import {api, authorizeRaw} from '../emulator/helpers.js';
import {emulator, openBackend} from '../b2/helpers.js';
import {DelegatingBackend} from './backend-wrappers.js';
import {catalogWithWarnings, keysOf, rejection, tempDir} from './helpers.js';
import {coreBackupJson, haBackupAt, haBackupTar} from './ha-fixtures.js';

// Object Lock as the catalog meets it, over HTTP against the emulator with a bucket that
// has Object Lock: a legal hold keeps a backup like a retention does; a delete or prune
// refused by a lock on either file removes nothing (the backup stays listed whole).

const DAY = 24 * 60 * 60 * 1000;
const BUCKET = 'lock-catalog-1';
let emu: RunningEmulator;
let master: string;
let bucketId: string;
let backend: B2Backend;
let prefixes = 0;

/** A backend on a prefix of its own in the Object Lock bucket (the emulator's all-capabilities key). */
async function freshBackend(): Promise<B2Backend> {
  return openBackend(emu, {bucket: BUCKET, prefix: `t${++prefixes}/`});
}

/** The raw file (id, name, retention, legal hold) of `key` under the backend's prefix, as the master key lists it. */
async function rawFile(b: B2Backend, key: string): Promise<{fileId: string; fileName: string; fileRetention: {value: {mode: string | null} | null}; legalHold: {value: string | null}}> {
  const name = `${b.prefix}${key}`;
  const files = (await api(emu, master, 'b2_list_file_names', {bucketId, prefix: name})).json.files as Array<{fileName: string}>;
  const found = files.find((f) => f.fileName === name);
  if (!found) throw new Error(`no file ${name}`);
  return found as never;
}

async function holdOn(b: B2Backend, key: string): Promise<void> {
  const f = await rawFile(b, key);
  const r = await api(emu, master, 'b2_update_file_legal_hold', {fileId: f.fileId, fileName: f.fileName, legalHold: 'on'});
  expect(r.status).toBe(200);
}

beforeAll(async () => {
  emu = await emulator();
  const auth = await authorizeRaw(emu);
  master = auth.authorizationToken;
  const made = await api(emu, master, 'b2_create_bucket', {accountId: auth.accountId, bucketName: BUCKET, bucketType: 'allPrivate', fileLockEnabled: true});
  expect(made.status).toBe(200);
  bucketId = made.json.bucketId;
  backend = await freshBackend();
});

afterAll(async () => {
  await backend?.close();
  await emu?.stop();
});

describe('legal holds and locks on one file of a backup', () => {
  test('a legal hold on the archive: prune (dry run and real) keeps it as held, delete refuses, and the backup stays listed whole', async () => {
    const b = await freshBackend();
    const catalog = new BackupCatalog(b);
    const old = await catalog.upload(randomBytes(2000), {name: 'OLD'});
    const kept = await catalog.upload(randomBytes(2000), {name: 'NEW'});
    await holdOn(b, old.archiveKey);

    const listed = await catalog.list();
    expect(listed.find((x) => x.id === old.id)?.legalHold).toBe(true);
    const plan = await planPrune(catalog, {keepLast: 1}, {now: b.now()});
    const decision = plan.decisions.find((d) => d.backup.id === old.id);
    expect(decision).toMatchObject({keep: true, locked: true, reasons: [LEGAL_HOLD]});

    expect(await executePrune(catalog, plan)).toEqual({deleted: [], alreadyGone: []});
    const refused = await rejection(catalog.delete(old.id));
    expect(isBackupError(refused, 'locked')).toBe(true);
    expect((await catalog.list()).map((x) => x.id).sort()).toEqual([old.id, kept.id].sort());
    expect(await keysOf(b)).toEqual(expect.arrayContaining([old.archiveKey, old.metadataKey]));
    await b.close();
  });

  test('a legal hold on the metadata file alone, or a retention on the archive alone: delete removes neither file', async () => {
    const b = await freshBackend();
    const {catalog} = catalogWithWarnings(b);
    const held = await catalog.upload(randomBytes(1000), {name: 'HELD'});
    const retained = await catalog.upload(randomBytes(1000), {name: 'RETAINED'});
    await holdOn(b, held.metadataKey);
    const archive = await b.stat(retained.archiveKey);
    await b.setRetention(retained.archiveKey, archive!.id!, {mode: 'governance', retainUntil: new Date(b.now().getTime() + DAY)});

    for (const id of [held.id, retained.id]) {
      const err = await rejection(catalog.delete(id));
      expect(isBackupError(err, 'locked')).toBe(true);
    }
    expect((await catalog.list()).map((x) => x.id).sort()).toEqual([held.id, retained.id].sort());
    expect((await keysOf(b)).sort()).toEqual([held.archiveKey, held.metadataKey, retained.archiveKey, retained.metadataKey].sort());
    await b.close();
  });

  test('files locked apart (governance on the archive, an earlier compliance on the metadata file): a delete with the bypass removes neither file', async () => {
    const b = await freshBackend();
    const {catalog} = catalogWithWarnings(b);
    const up = await catalog.upload(randomBytes(1000), {name: 'APART'});
    const [archive, metadataFile] = [await b.stat(up.archiveKey), await b.stat(up.metadataKey)];
    await b.setRetention(up.metadataKey, metadataFile!.id!, {mode: 'compliance', retainUntil: new Date(b.now().getTime() + DAY)});
    await b.setRetention(up.archiveKey, archive!.id!, {mode: 'governance', retainUntil: new Date(b.now().getTime() + 2 * DAY)});

    const err = await rejection(catalog.delete(up.id, {bypassGovernance: true}));
    expect(isBackupError(err, 'locked')).toBe(true);
    expect((err as Error).message).toMatch(/in compliance mode until .*, which no bypass lifts: B2 refuses to delete it; nothing was deleted$/);
    const listed = await catalog.list();
    expect(listed.map((x) => x.id)).toEqual([up.id]);
    expect((await keysOf(b)).sort()).toEqual([up.archiveKey, up.metadataKey].sort());
    // `b2 delete --bypass-governance` says why the bypass cannot help
    expect(lockedRefusal(listed[0], err as BackupError, true).message).toMatch(/is locked \(governance\) until .*, and one of its files is locked \(compliance\) until .*: nobody can delete it before then, not even with --bypass-governance; nothing was deleted$/);
    await b.close();
  });
});

/** `b`, except that before its put() of a metadata file `before` runs (e.g. aborts the upload, or adds a fault to the emulator). */
function beforeMetadataPut(b: B2Backend, before: () => void): B2Backend {
  return new Proxy(b, {
    get(target, prop) {
      if (prop === 'put') {
        return (key: string, ...rest: Parameters<B2Backend['put']> extends [string, ...infer R] ? R : never) => {
          if (key.endsWith('.metadata.json')) before();
          return target.put(key, ...rest);
        };
      }
      const v = Reflect.get(target, prop, target) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
}

test('a lock the key cannot see on the metadata file alone: prune and delete fail saying the archive was deleted, never "kept: locked"', async () => {
  const b = await freshBackend();
  const writer = new BackupCatalog(b);
  const up = await writer.upload(randomBytes(800), {name: 'HIDDEN'});
  await writer.upload(randomBytes(800), {name: 'NEWER'});
  const metadataFile = await b.stat(up.metadataKey);
  await b.setRetention(up.metadataKey, metadataFile!.id!, {mode: 'governance', retainUntil: new Date(b.now().getTime() + DAY)});
  const blind = await emu.createKey({capabilities: ['listBuckets', 'listFiles', 'readFiles', 'writeFiles', 'deleteFiles']});
  const nb = await openBackend(emu, {...blind, bucket: BUCKET, prefix: b.prefix});
  try {
    const catalog = new BackupCatalog(nb);
    const plan = await planPrune(catalog, {keepLast: 1}, {now: nb.now()});
    expect(plan.decisions.find((d) => d.backup.id === up.id)?.keep).toBe(false);
    const onLocked: string[] = [];
    const err = await rejection(executePrune(catalog, plan, {onLocked: (x) => onLocked.push(x.id)}));
    expect(onLocked).toEqual([]);
    expect(isBackupError(err, 'failure')).toBe(true);
    const escape = (t: string) => t.replace(/[.()]/g, '\\$&');
    expect((err as Error).message).toMatch(new RegExp(`^${escape(up.archiveKey)} was deleted, but B2 refused to delete ${escape(up.metadataKey)} \\(.*\\); backup ${up.id} is no longer listed, and the same "backup-b2 b2 delete ${up.id}" removes the rest once that lock ends$`));
  } finally {
    await nb.close();
    await b.close();
  }
});

describe('an interrupted locked upload, run again', () => {
  test('without the lock asked again: the metadata file is locked until the archive\'s date (dry run says so), so delete removes nothing', async () => {
    const b = await freshBackend();
    const {dir: cacheDir, cleanup} = await tempDir();
    try {
      const data = randomBytes(3000);
      const ac = new AbortController();
      const retainUntil = new Date(b.now().getTime() + DAY);
      const first = new BackupCatalog(beforeMetadataPut(b, () => ac.abort()), {cacheDir});
      const aborted = await rejection(first.upload(data, {name: 'ASYM', retention: {mode: 'governance', retainUntil}, signal: ac.signal}));
      expect(isBackupError(aborted, 'aborted')).toBe(true);

      const catalog = new BackupCatalog(b, {cacheDir});
      const planned = await catalog.planUpload(data, {name: 'ASYM'});
      expect(planned).toMatchObject({resumes: {stored: 'archive'}, lock: {mode: 'governance', until: retainUntil.toISOString()}});
      const up = await catalog.upload(data, {name: 'ASYM'});
      expect(up).toMatchObject({resumed: true, lock: {mode: 'governance', until: retainUntil.toISOString()}});
      for (const key of [up.archiveKey, up.metadataKey]) expect((await rawFile(b, key)).fileRetention.value).toMatchObject({mode: 'governance', retainUntilTimestamp: retainUntil.getTime()});

      expect(isBackupError(await rejection(catalog.delete(up.id)), 'locked')).toBe(true);
      expect((await catalog.list()).map((x) => x.id)).toEqual([up.id]);
    } finally {
      await cleanup();
      await b.close();
    }
  });

  test('run again asking for a lock the stored archive lacks, and B2 refuses to lock it: no locked metadata file is left without its archive', async () => {
    const b = await freshBackend();
    const {dir: cacheDir, cleanup} = await tempDir();
    try {
      const data = randomBytes(3000);
      const ac = new AbortController();
      await rejection(new BackupCatalog(beforeMetadataPut(b, () => ac.abort()), {cacheDir}).upload(data, {name: 'LATE', signal: ac.signal}));

      emu.faults.add({call: 'b2_update_file_retention', status: 403, code: 'access_denied', count: 1});
      const retention = {mode: 'governance' as const, retainUntil: new Date(b.now().getTime() + DAY)};
      const err = await rejection(new BackupCatalog(b, {cacheDir}).upload(data, {name: 'LATE', retention}));
      expect(err).toBeInstanceOf(BackupError);
      // the archive is not locked, so its metadata file (which would be) never goes up: no locked stray without its archive
      expect((await keysOf(b)).filter((k) => k.endsWith('.metadata.json'))).toEqual([]);

      const up = await new BackupCatalog(b, {cacheDir}).upload(data, {name: 'LATE', retention});
      for (const key of [up.archiveKey, up.metadataKey]) expect((await rawFile(b, key)).fileRetention.value).toMatchObject({mode: 'governance'});
      expect((await keysOf(b)).sort()).toEqual([up.archiveKey, up.metadataKey].sort());
    } finally {
      emu.faults.clear();
      await cleanup();
      await b.close();
    }
  });
});

describe('archives Object Lock keeps when an upload fails', () => {
  test('the metadata upload fails: the warning says to run the same upload again, and that run completes the backup with the locked archive', async () => {
    const b = await freshBackend();
    const {dir: cacheDir, cleanup} = await tempDir();
    try {
      const data = randomBytes(3000);
      const retention = {mode: 'governance' as const, retainUntil: new Date(b.now().getTime() + DAY)};
      const failing = catalogWithWarnings(beforeMetadataPut(b, () => emu.faults.add({call: 'b2_upload_file', status: 400, code: 'bad_request', count: 1})), {cacheDir});
      await rejection(failing.catalog.upload(data, {name: 'BIG', retention}));
      expect(failing.warnings).toEqual([expect.stringMatching(/stays stored: Object Lock keeps it until .*; run the same upload again to complete the backup$/)]);
      const [orphan] = await keysOf(b);

      const up = await new BackupCatalog(b, {cacheDir}).upload(data, {name: 'BIG', retention});
      expect(up).toMatchObject({archiveKey: orphan, resumed: true, lock: {mode: 'governance'}});
      expect((await keysOf(b)).sort()).toEqual([up.archiveKey, up.metadataKey].sort());
    } finally {
      emu.faults.clear();
      await cleanup();
      await b.close();
    }
  });

  test('run again asking for compliance (shorter than the first run\'s governance): both files get compliance until the later date, never governance', async () => {
    const b = await freshBackend();
    const {dir: cacheDir, cleanup} = await tempDir();
    try {
      const data = randomBytes(3000);
      const governance = {mode: 'governance' as const, retainUntil: new Date(b.now().getTime() + 60 * DAY)};
      const compliance = {mode: 'compliance' as const, retainUntil: new Date(b.now().getTime() + 30 * DAY)};
      const failing = catalogWithWarnings(beforeMetadataPut(b, () => emu.faults.add({call: 'b2_upload_file', status: 400, code: 'bad_request', count: 1})), {cacheDir});
      await rejection(failing.catalog.upload(data, {name: 'FIRM', retention: governance}));

      const catalog = new BackupCatalog(b, {cacheDir});
      const planned = await catalog.planUpload(data, {name: 'FIRM', retention: compliance});
      expect(planned).toMatchObject({resumes: {stored: 'archive'}, lock: {mode: 'compliance', until: governance.retainUntil.toISOString()}});
      const up = await catalog.upload(data, {name: 'FIRM', retention: compliance});
      expect(up).toMatchObject({resumed: true, lock: {mode: 'compliance', until: governance.retainUntil.toISOString()}});
      for (const key of [up.archiveKey, up.metadataKey]) expect((await rawFile(b, key)).fileRetention.value).toEqual({mode: 'compliance', retainUntilTimestamp: governance.retainUntil.getTime()});
    } finally {
      emu.faults.clear();
      await cleanup();
      await b.close();
    }
  });

  test('cleanup keeps a locked or held orphan, says until when (dry run alike), and goes on to delete the ones after it', async () => {
    const b = await freshBackend();
    const catalog = new BackupCatalog(b);
    const orphans = [];
    for (const name of ['A_locked', 'B_held', 'C_free']) {
      const up = await catalog.upload(randomBytes(500), {name});
      await b.delete(up.metadataKey);
      orphans.push(up);
    }
    const [locked, held, free] = orphans;
    const until = new Date(b.now().getTime() + DAY);
    await b.setRetention(locked.archiveKey, (await b.stat(locked.archiveKey))!.id!, {mode: 'governance', retainUntil: until});
    await holdOn(b, held.archiveKey);

    const expected = {
      deleted: [expect.objectContaining({key: free.archiveKey})],
      locked: [
        expect.objectContaining({key: locked.archiveKey, id: locked.id, lock: {mode: 'governance', until: until.toISOString()}}),
        expect.objectContaining({key: held.archiveKey, id: held.id, legalHold: true}),
      ],
    };
    expect(await catalog.cleanup({olderThanMs: 0, dryRun: true})).toMatchObject(expected);
    expect(await catalog.cleanup({olderThanMs: 0})).toMatchObject(expected);
    expect((await keysOf(b)).sort()).toEqual([locked.archiveKey, held.archiveKey].sort());
    await b.close();
  });
});

test('the listing\'s line about a locked or held orphan archive names no remover that B2 would refuse, and says that running the interrupted command again finishes it', async () => {
  const b = await freshBackend();
  const seed = new BackupCatalog(b);
  const [locked, held, compliance, free] = await Promise.all(['L_gov', 'L_held', 'L_comp', 'L_free'].map(async (name) => {
    const up = await seed.upload(randomBytes(500), {name});
    await b.delete(up.metadataKey);
    return up;
  }));
  const until = new Date(b.now().getTime() + DAY);
  await b.setRetention(locked.archiveKey, (await b.stat(locked.archiveKey))!.id!, {mode: 'governance', retainUntil: until});
  await b.setRetention(compliance.archiveKey, (await b.stat(compliance.archiveKey))!.id!, {mode: 'compliance', retainUntil: until});
  await holdOn(b, held.archiveKey);
  const {catalog, warnings} = catalogWithWarnings(b, {cli: 'backup-b2 b2', locationFlags: '--profile lk'});
  await catalog.list();
  const about = (id: string) => warnings.find((w) => w.includes(`backup ${id} has no metadata file`)) ?? '';
  const again = 'if an interrupted upload or copy left it, running that command again finishes the backup';
  expect(about(locked.id)).toContain(`it is locked (governance) until ${until.toISOString()}, so neither "backup-b2 b2 delete ${locked.id} --profile lk" nor "backup-b2 b2 cleanup --profile lk" removes it before then (or "backup-b2 b2 delete ${locked.id} --bypass-governance --profile lk", with a key that may bypass governance); ${again}`);
  expect(about(compliance.id)).toContain(`it is locked (compliance) until ${until.toISOString()}, so neither`);
  expect(about(compliance.id)).not.toContain('bypass');
  expect(about(held.id)).toContain(`it is under a legal hold, so neither "backup-b2 b2 delete ${held.id} --profile lk"`);
  expect(about(free.id)).toContain(`"backup-b2 b2 delete ${free.id} --profile lk" removes it, and so does "backup-b2 b2 cleanup --profile lk"`);
  for (const id of [locked.id, held.id, compliance.id]) expect(about(id)).not.toContain('removes it, and so does');
  await b.close();
});

test('a locked orphan archive whose lock the key cannot see: cleanup hides it, B2 refuses the delete, it is unhidden and reported locked', async () => {
  const b = await freshBackend();
  const up = await new BackupCatalog(b).upload(randomBytes(500), {name: 'BLIND_LOCKED'});
  await b.delete(up.metadataKey);
  await b.setRetention(up.archiveKey, (await b.stat(up.archiveKey))!.id!, {mode: 'governance', retainUntil: new Date(b.now().getTime() + DAY)});
  const blind = await emu.createKey({capabilities: ['listBuckets', 'listFiles', 'readFiles', 'writeFiles', 'deleteFiles']});
  const nb = await openBackend(emu, {...blind, bucket: BUCKET, prefix: b.prefix});
  try {
    const report = await new BackupCatalog(nb).cleanup({olderThanMs: 0});
    expect(report).toMatchObject({deleted: [], locked: [expect.objectContaining({key: up.archiveKey, id: up.id})]});
    expect(await b.planDelete(up.archiveKey)).toMatchObject({versions: 1, uploads: 1, hidden: false});
  } finally {
    await nb.close();
    await b.close();
  }
});

describe('a Home Assistant archive uploaded again under a lock', () => {
  test('a stored, unlocked backup gets the lock asked for (both files), as a fresh upload would have', async () => {
    const b = await freshBackend();
    const catalog = new BackupCatalog(b);
    const tar = haBackupTar(coreBackupJson(haBackupAt(3)), {innerBytes: 2000});
    const first = await catalog.upload(tar);
    expect(first.lock).toBeUndefined();
    const retainUntil = new Date(b.now().getTime() + 5 * DAY);
    const planned = await catalog.planUpload(tar, {retention: {mode: 'governance', retainUntil}});
    expect(planned).toMatchObject({resumes: {stored: 'backup'}, lock: {mode: 'governance', until: retainUntil.toISOString()}});

    const again = await catalog.upload(tar, {retention: {mode: 'governance', retainUntil}});
    expect(again).toMatchObject({id: first.id, existing: true, lock: {mode: 'governance', until: retainUntil.toISOString()}});
    for (const key of [first.archiveKey, first.metadataKey]) expect((await rawFile(b, key)).fileRetention.value).toMatchObject({mode: 'governance', retainUntilTimestamp: retainUntil.getTime()});
    await b.close();
  });

  test('from stdin with backup.json last: the locked duplicate is named as no backup (not "run the same upload again"), and the stored one is locked', async () => {
    const b = await freshBackend();
    const tar = haBackupTar(coreBackupJson(haBackupAt(4)), {backupJsonLast: true, innerBytes: 2000});
    const retainUntil = new Date(b.now().getTime() + DAY);
    const first = await new BackupCatalog(b).upload(Readable.from([tar]));
    const {catalog, warnings} = catalogWithWarnings(b);
    const again = await catalog.upload(Readable.from([tar]), {retention: {mode: 'governance', retainUntil}});
    expect(again).toMatchObject({id: first.id, existing: true, lock: {mode: 'governance', until: retainUntil.toISOString()}});
    expect(warnings).toEqual([expect.stringMatching(new RegExp(`stays stored: Object Lock keeps it until .*; it is a second copy of backup ${first.id} \\(stored as ${first.archiveKey.replace(/\./g, '\\.')}\\), not a backup; "backup-b2 b2 cleanup" removes it once the lock ends$`))]);
    await b.close();
  });
});

describe('a Home Assistant upload that asked for a lock, interrupted after its archive, run again once the archive was stored under another --name', () => {
  test('answers that backup with at least the lock the first run asked for', async () => {
    const b = await freshBackend();
    const {dir, cleanup} = await tempDir();
    try {
      const cacheDir = join(dir, 'cache');
      const path = join(dir, 'ha.tar');
      const at = haBackupAt(11);
      await writeFile(path, haBackupTar(coreBackupJson(at)));
      const retainUntil = new Date(emu.clock.now() + 30 * DAY);
      // the first run stops once its archive is stored (its metadata file never goes up)
      const stopsAtMetadata = new (class extends DelegatingBackend {
        override async put(...args: Parameters<B2Backend['put']>) {
          if (args[0].endsWith('.metadata.json')) throw new BackupError('aborted', 'the operation was aborted');
          return super.put(...args);
        }
      })(b);
      await rejection(new BackupCatalog(stopsAtMetadata, {cacheDir}).upload({path}, {name: 'nightly', retention: {mode: 'governance', retainUntil}}));
      const other = await new BackupCatalog(b, {cacheDir}).upload({path}, {name: 'other'});
      expect(other.lock).toBeUndefined();
      const again = await new BackupCatalog(b, {cacheDir}).upload({path}, {name: 'nightly'});
      expect(again).toMatchObject({id: at.backupId, existing: true, archiveKey: other.archiveKey, lock: {mode: 'governance', until: retainUntil.toISOString()}});
      expect((await rawFile(b, other.archiveKey)).fileRetention.value?.mode).toBe('governance');
    } finally {
      await cleanup();
      await b.close();
    }
  });
});
