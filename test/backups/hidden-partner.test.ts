import {expect, test} from '@jest/globals';
import {randomBytes} from 'node:crypto';
import {BackupCatalog} from '../../src/backups/index.js';
import {BackupError} from '../../src/errors.js';
import {sha1} from '../b2/helpers.js';
import {api} from '../emulator/helpers.js';
import {catalogWithWarnings, sharedEmulator} from './helpers.js';

// One of a backup's two files hidden (b2_hide_file: the B2 web console, `rclone delete`
// without --b2-hard-delete, a lifecycle rule), not deleted: B2 keeps its versions, and
// unhiding it makes the backup whole again. The other file is then that backup's only
// copy of its half: cleanup keeps it (and says why), and a delete of the backup by its
// id removes the hidden file's versions too, instead of leaving them stored and billed.

const shared = sharedEmulator();
let n = 0;

/** A backup made here in a fresh prefix, with one of its files then hidden. */
async function withHidden(which: 'archive' | 'metadata file') {
  const prefix = `hid${++n}/`;
  const backend = await shared.open(prefix);
  const data = randomBytes(20_000);
  const catalog = new BackupCatalog(backend);
  const up = await catalog.upload(data, {name: `half ${n}`});
  const hiddenKey = which === 'archive' ? up.archiveKey : up.metadataKey;
  const hide = await api(shared.emu, shared.master, 'b2_hide_file', {bucketId: shared.emu.bucketId, fileName: prefix + hiddenKey});
  expect(hide.status).toBe(200);
  const keptKey = which === 'archive' ? up.metadataKey : up.archiveKey;
  return {prefix, backend, catalog, up, data, hiddenKey, keptKey, hideMarkerId: hide.json.fileId as string};
}

test.each(['metadata file', 'archive'] as const)('cleanup keeps a file whose other file (the %s) is hidden, and says so; unhiding it brings the backup back whole', async (which) => {
  const h = await withHidden(which);
  const before = await shared.versions(h.prefix);
  expect(await h.catalog.list()).toEqual([]); // half a backup is listed as none
  const dry = await h.catalog.cleanup({olderThanMs: 0, dryRun: true});
  const report = await h.catalog.cleanup({olderThanMs: 0});
  for (const r of [dry, report]) {
    expect({deleted: r.deleted, strays: r.strays}).toEqual({deleted: [], strays: []});
    expect(r.hidden).toEqual([expect.objectContaining({key: h.keptKey, id: h.up.id, hiddenKey: h.hiddenKey})]);
  }
  expect(await shared.versions(h.prefix)).toEqual(before);
  // unhide: delete the hide marker
  expect((await api(shared.emu, shared.master, 'b2_delete_file_version', {fileName: h.prefix + h.hiddenKey, fileId: h.hideMarkerId})).status).toBe(200);
  const [back] = await h.catalog.list();
  expect(back.id).toBe(h.up.id);
  expect(await h.catalog.verify(h.up.id)).toMatchObject({ok: true, sha1: sha1(h.data)});
});

test.each(['metadata file', 'archive'] as const)('list\'s warning about the file left (its %s hidden) says cleanup keeps it in that case, and that unhiding restores the backup', async (which) => {
  const h = await withHidden(which);
  const {catalog, warnings} = catalogWithWarnings(h.backend);
  expect(await catalog.list()).toEqual([]);
  expect(warnings).toHaveLength(1);
  expect(warnings[0]).toContain(`skipping ${h.keptKey}: `);
  expect(warnings[0]).toContain(`"backup-b2 b2 cleanup"`);
  expect(warnings[0]).toContain(`unless the ${which} is hidden (unhiding it restores the backup)`);
  expect(warnings[0]).not.toContain('\n');
});

test.each(['metadata file', 'archive'] as const)('delete by id of a backup whose %s is hidden removes that file\'s versions too, and the preview says so', async (which) => {
  const h = await withHidden(which);
  const preview = await h.catalog.previewDelete(h.up.id);
  expect(preview).toMatchObject({complete: false, partnerHidden: true});
  // the hidden name first (see the next test), each with its stored upload
  expect(preview.remove.map((r) => ({key: r.key, uploads: r.uploads, hidden: r.hidden}))).toEqual([
    {key: h.hiddenKey, uploads: 1, hidden: true},
    {key: h.keptKey, uploads: 1, hidden: false},
  ]);
  await h.catalog.delete(h.up.id);
  expect(await shared.versions(h.prefix)).toEqual([]);
});

test.each(['metadata file', 'archive'] as const)('a delete of such a backup (its %s hidden) cut off between its two names is finished by the same delete: the visible file goes last', async (which) => {
  const h = await withHidden(which);
  let deletes = 0;
  // the second name's delete fails once (the network, Ctrl-C): the first is gone by then
  const flaky = new Proxy(h.backend, {
    get(target, prop, receiver) {
      if (prop === 'delete') return (key: string, opts?: object) => (++deletes === 2 ? Promise.reject(new BackupError('network', `cut off deleting ${key}`)) : target.delete(key, opts));
      const value = Reflect.get(target, prop, receiver) as unknown;
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  const catalog = new BackupCatalog(flaky);
  await expect(catalog.delete(h.up.id)).rejects.toThrow(/cut off deleting/);
  expect(await shared.versions(h.prefix)).toEqual([`upload ${h.keptKey}`]); // the visible file still names the backup
  await catalog.delete(h.up.id);
  expect(await shared.versions(h.prefix)).toEqual([]);
});

test('a file whose other file is truly gone (no version left) is still cleaned up', async () => {
  const h = await withHidden('metadata file');
  // the hidden file deleted for good: every version of it, hide marker included
  const r = await api(shared.emu, shared.master, 'b2_list_file_versions', {bucketId: shared.emu.bucketId, prefix: h.prefix + h.hiddenKey, maxFileCount: 10});
  for (const f of r.json.files as Array<{fileName: string; fileId: string}>) await api(shared.emu, shared.master, 'b2_delete_file_version', {fileName: f.fileName, fileId: f.fileId});
  const report = await h.catalog.cleanup({olderThanMs: 0});
  expect({deleted: report.deleted.map((d) => d.key), hidden: report.hidden}).toEqual({deleted: [h.keptKey], hidden: []});
  expect(await shared.versions(h.prefix)).toEqual([]);
});
