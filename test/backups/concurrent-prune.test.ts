import {expect, test} from '@jest/globals';
import {randomBytes} from 'node:crypto';
import {BackupCatalog} from '../../src/backups/index.js';
import {executePrune, planPrune} from '../../src/backups/prune.js';
import {sharedEmulator} from './helpers.js';

// Two prunes (two uploads with retention rules, or `b2 prune` and an upload) at once:
// both list the same backups and plan the same deletes. Only the one whose delete removed
// a backup may report it deleted; the other finds it already gone and says so.

const shared = sharedEmulator();
let n = 0;

/** Two catalogs on one fresh prefix, as two commands on two connections, with three old backups and a new one. */
async function twoCommandsOnOneLocation() {
  const prefix = `both${++n}/`;
  const [first, second] = [new BackupCatalog(await shared.open(prefix)), new BackupCatalog(await shared.open(prefix))];
  const old: string[] = [];
  for (let i = 0; i < 3; i++) old.push((await first.upload(randomBytes(1000), {name: `old ${i}`}, )).id);
  const newest = await new BackupCatalog(await shared.open(prefix), {now: () => new Date(Date.now() + 3600e3)}).upload(randomBytes(1000), {name: 'new'});
  return {prefix, first, second, old, newest};
}

test('the second of two prunes planned from the same listing reports the backups as already gone, not as deleted', async () => {
  const {prefix, first, second, old, newest} = await twoCommandsOnOneLocation();
  const [plan1, plan2] = [await planPrune(first, {keepLast: 1}), await planPrune(second, {keepLast: 1})];
  const gone: string[] = [];
  const one = await executePrune(first, plan1);
  const two = await executePrune(second, plan2, {onDeleted: () => expect('onDeleted').toBe('not called'), onAlreadyGone: (b) => gone.push(b.id)});
  expect(one.deleted.map((b) => b.id).sort()).toEqual([...old].sort());
  expect(one.alreadyGone).toEqual([]);
  expect({deleted: two.deleted, alreadyGone: two.alreadyGone.map((b) => b.id).sort()}).toEqual({deleted: [], alreadyGone: [...old].sort()});
  expect(gone.sort()).toEqual([...old].sort());
  expect((await first.list()).map((b) => b.id)).toEqual([newest.id]);
  expect(await shared.versions(prefix)).toHaveLength(2);
});

test('a delete of a backup another command deleted since it was found says it was already gone', async () => {
  const {first, second, old} = await twoCommandsOnOneLocation();
  const target = await second.deletable(old[0]);
  expect(await first.delete(old[0])).toMatchObject({info: {id: old[0]}, alreadyGone: false});
  expect(await second.delete(target)).toMatchObject({info: {id: old[0]}, alreadyGone: true});
});
