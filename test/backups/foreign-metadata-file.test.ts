import {expect, test} from '@jest/globals';
import {randomBytes} from 'node:crypto';
import {catalogWithWarnings, sharedEmulator} from './helpers.js';

// A backup made here whose metadata file was replaced by another backup's (another tool,
// or a user copying files between names). The listing takes the archive's word (no
// download); show reads the metadata file and must not present the other backup's
// contents (its add-ons, extra metadata, maker, SHA1) as this one's. Over HTTP against the emulator.

const shared = sharedEmulator();

test("show does not describe a backup by another backup's metadata file, and says so once", async () => {
  const backend = await shared.open('foreign-meta/');
  const {catalog, warnings} = catalogWithWarnings(backend);
  const good = await catalog.upload(randomBytes(700), {name: 'good', metadata: {host: 'pi4'}});
  const broken = await catalog.upload(randomBytes(900), {name: 'broken'});
  const goodText = Buffer.concat(await (await backend.get(good.metadataKey)).stream.toArray());
  await backend.put(broken.metadataKey, goodText);

  const shown = await catalog.show(broken.id);
  expect(shown).toMatchObject({id: broken.id, name: 'broken', sha1: broken.sha1});
  expect(shown.metadata).toBeUndefined(); // not good's: its extra metadata (host=pi4) is no part of this backup
  expect(warnings).toEqual([`${broken.metadataKey} is not this backup's metadata file (it names backup ${good.id}); showing what the archive records`]);
});
