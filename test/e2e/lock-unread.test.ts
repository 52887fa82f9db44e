import {afterAll, beforeAll, expect, test} from '@jest/globals';
import {randomBytes} from 'node:crypto';
import {writeFile} from 'node:fs/promises';
import {stringify} from 'yaml';
import {B2Backend} from '../../src/b2/index.js';
import {BackupCatalog} from '../../src/backups/index.js';
import {api, authorizeRaw} from '../emulator/helpers.js';
import {BACKUP_CAPABILITIES, E2EWorld, expectFailure} from './helpers.js';

// `b2 lock` and `b2 delete` with a key that may set retentions (and bypass governance) but
// not read them, like a bypass key kept off the machine (README step 2) may be: it cannot
// see the backup's current lock, so only B2 can tell a shortening from an extension. What
// the user asked for (--bypass-governance) must reach B2, and a refusal must neither blame
// a shortening the user did not ask for nor send them back to a flag they already gave.

const DAY = 24 * 60 * 60 * 1000;
const BUCKET = 'lock-unread-1';
let world: E2EWorld;
let bucketId: string;

/** A backup laid out with the master key, locked as given. */
async function backup(name: string, mode: 'governance' | 'compliance', days: number): Promise<{id: string}> {
  const backend = await B2Backend.open({keyId: world.emu.keyId, applicationKey: world.emu.applicationKey, bucket: BUCKET, prefix: 'u/', endpoint: world.emu.url});
  try {
    return await new BackupCatalog(backend).upload(randomBytes(1000), {name, retention: {mode, retainUntil: new Date(backend.now().getTime() + days * DAY)}});
  } finally {
    await backend.close();
  }
}

/** Each file's retention under u/ whose name starts with `name`, read with the master key. */
async function retentions(name: string): Promise<Array<{mode: string; retainUntilTimestamp: number}>> {
  const auth = await authorizeRaw(world.emu);
  const r = await api(world.emu, auth.authorizationToken, 'b2_list_file_versions', {bucketId, prefix: `u/${name}_`, maxFileCount: 100});
  return (r.json.files as Array<{fileRetention: {value: {mode: string; retainUntilTimestamp: number}}}>).map((f) => f.fileRetention.value);
}

beforeAll(async () => {
  world = await E2EWorld.start();
  const auth = await authorizeRaw(world.emu);
  const made = await api(world.emu, auth.authorizationToken, 'b2_create_bucket', {accountId: auth.accountId, bucketName: BUCKET, bucketType: 'allPrivate', fileLockEnabled: true});
  bucketId = made.json.bucketId as string;
  const unread = await world.createKey({capabilities: [...BACKUP_CAPABILITIES, 'writeFileRetentions', 'bypassGovernance']});
  await writeFile(world.config, stringify({profiles: {unread: {...unread, bucket: BUCKET, prefix: 'u/', endpoint: world.emu.url}}}), {mode: 0o600});
});

afterAll(async () => {
  await world?.close();
});

test('--bypass-governance shortens a governance lock the key cannot read (the bypass reaches B2)', async () => {
  const {id} = await backup('gov', 'governance', 30);
  const r = await world.b2(['lock', id, '--days', '2', '--bypass-governance', '--profile', 'unread']);
  expect({code: r.code, stderr: r.stderr}).toMatchObject({code: 0});
  const held = await retentions('gov');
  expect(held).toHaveLength(2);
  for (const h of held) {
    expect(h.mode).toBe('governance');
    expect(Math.abs(h.retainUntilTimestamp - (world.emu.clock.now() + 2 * DAY))).toBeLessThan(60_000);
  }
});

test('without --bypass-governance B2 still refuses to shorten it, and nothing changes', async () => {
  const {id} = await backup('keep', 'governance', 30);
  const before = await retentions('keep');
  expectFailure(await world.b2(['lock', id, '--days', '2', '--profile', 'unread']), 3, /B2 refused to change the retention/, world.secrets);
  expect(await retentions('keep')).toEqual(before);
});

test('extending a compliance lock it cannot read: the refusal says why (the mode was not known) and how (--mode compliance), which then extends it', async () => {
  const {id} = await backup('comp', 'compliance', 30);
  const before = await retentions('comp');
  const refused = await world.b2(['lock', id, '--days', '60', '--profile', 'unread']);
  expectFailure(refused, 3, /\. The key of profile unread lacks readFileRetentions, so the backup's lock was not read first: this asked for governance until .*; to extend a compliance lock, pass --mode compliance/, world.secrets);
  expect(await retentions('comp')).toEqual(before);
  const extended = await world.b2(['lock', id, '--days', '60', '--mode', 'compliance', '--profile', 'unread']);
  expect({code: extended.code, stderr: extended.stderr}).toMatchObject({code: 0});
  for (const h of await retentions('comp')) expect(h).toEqual({mode: 'compliance', retainUntilTimestamp: expect.any(Number)});
  for (const h of await retentions('comp')) expect(h.retainUntilTimestamp).toBeGreaterThan(world.emu.clock.now() + 59 * DAY);
});

test('b2 delete --bypass-governance of a compliance lock it cannot read: the refusal does not send the user back to --bypass-governance', async () => {
  const {id} = await backup('nodelete', 'compliance', 30);
  const r = await world.b2(['delete', id, '--yes', '--bypass-governance', '--profile', 'unread']);
  expectFailure(r, 3, /locked in compliance mode until .*--bypass-governance did not lift it: a compliance lock \(until its date\) or a legal hold \(until it is removed\) holds for every key; nothing was deleted$/, world.secrets);
  expect(r.stderr).not.toMatch(/deletes it now/);
  expect(await retentions('nodelete')).toHaveLength(2);
});
