import {describe, test, expect, beforeAll, afterAll} from '@jest/globals';
import {randomBytes} from 'node:crypto';
import {readdir, readFile, writeFile} from 'node:fs/promises';
import {join} from 'node:path';
import {api, authorizeRaw} from '../emulator/helpers.js';
import {BACKUP_CAPABILITIES, calls, E2EWorld, expectFailure, parseJson, waitFor} from './helpers.js';

// What a user sees when something is wrong: the documented exit code, one line on stderr
// that says what and how to fix it, no stack trace, no secret, and nothing changed.

const PREFIX = 'home/';
let world: E2EWorld;
let archivePath: string;
let backup: {id: string; archiveKey: string};

/** Every version under the prefix (names, ids, actions): the state a failed command must leave alone. */
async function bucketState(): Promise<string[]> {
  const auth = await authorizeRaw(world.emu);
  const r = await api(world.emu, auth.authorizationToken, 'b2_list_file_versions', {bucketId: world.emu.bucketId, prefix: PREFIX, maxFileCount: 10_000});
  return (r.json.files as {fileName: string; fileId: string; action: string}[]).map((f) => `${f.action} ${f.fileName} ${f.fileId}`);
}

/** Runs `args` with profile `name`, expects the failure, and that the bucket did not change. */
async function failsChangingNothing(name: string, args: string[], code: number, message: RegExp) {
  const before = await bucketState();
  const r = await world.b2([...args, '--profile', name]);
  expectFailure(r, code, message, world.secrets);
  expect(await bucketState()).toEqual(before);
  return r;
}

beforeAll(async () => {
  world = await E2EWorld.start();
  const key = await world.createKey();
  await world.addProfile('home', {...key, prefix: PREFIX, partSize: '5MB'});
  archivePath = join(world.dir, 'archive.tar');
  await writeFile(archivePath, randomBytes(64 * 1024));
  backup = await world.storeBackup('home', {path: archivePath}, {name: 'kept'}); // as `b2 upload` stores it, in this process
});

afterAll(async () => {
  world.emu.faults.clear();
  await world?.close();
});

describe('keys that do not work (exit 3)', () => {
  test('a wrong application key: every command says to put in a working key', async () => {
    const key = await world.createKey();
    const wrong = `${key.applicationKey.slice(0, -4)}${key.applicationKey.endsWith('xxxx') ? 'yyyy' : 'xxxx'}`;
    world.secrets.push(wrong);
    await world.addProfile('wrong', {keyId: key.keyId, applicationKey: wrong, prefix: PREFIX, check: false});
    const fix = /profile wrong\b.*backup-b2 b2 profile update wrong --config \S+ --key-id … --application-key …/;
    await failsChangingNothing('wrong', ['upload', archivePath], 3, fix);
    const json = await failsChangingNothing('wrong', ['list', '--json'], 3, fix);
    expect(json.stdout).toBe('');
  });

  test('an expired key: the message names "b2 profile update NAME --application-key"', async () => {
    const key = await world.createKey({capabilities: BACKUP_CAPABILITIES, validDurationSeconds: 1});
    await world.addProfile('expired', {...key, prefix: PREFIX, check: false});
    world.emu.clock.advance(1000); // the key's one second of life passes, by B2's clock (no sleeping)
    const fix = /profile expired\b.*expired.*b2 profile update expired --config \S+ --key-id … --application-key …/;
    await failsChangingNothing('expired', ['upload', archivePath], 3, fix);
    await failsChangingNothing('expired', ['delete', backup.id, '--yes'], 3, fix);
  });

  test('a revoked (deleted) key: the same message', async () => {
    const key = await world.createKey();
    await world.addProfile('revoked', {...key, prefix: PREFIX, check: false});
    await world.emu.deleteKey(key.keyId);
    const fix = /profile revoked\b.*b2 profile update revoked --config \S+ --key-id … --application-key …/;
    await failsChangingNothing('revoked', ['list'], 3, fix);
    await failsChangingNothing('revoked', ['upload', archivePath], 3, fix);
  });

  test('a key revoked while an upload runs: "stopped working", and the update command', async () => {
    const key = await world.createKey();
    await world.addProfile('revoked-midway', {...key, prefix: PREFIX, partSize: '5MB', check: false});
    world.emu.faults.add({call: 'b2_upload_part', bytesPerSecond: 2_000_000});
    try {
      const parts = calls(world.emu, 'b2_upload_part');
      const run = world.spawn(['upload', '-', '--name', 'midway', '--profile', 'revoked-midway'], {input: randomBytes(12 * 1024 * 1024)});
      await waitFor(() => calls(world.emu, 'b2_upload_part') > parts, 'the first part upload');
      await world.emu.deleteKey(key.keyId);
      world.emu.faults.expireAllTokens();
      const r = await run.done;
      expectFailure({...r, code: r.code ?? -1, stdout: r.stdout.toString()}, 3, /key of profile revoked-midway .*(expired|revoked).*b2 profile update revoked-midway --config \S+ --key-id … --application-key …/, world.secrets);
    } finally {
      world.emu.faults.clear();
    }
  });
});

describe('bucket, capabilities and prefix (exit 3)', () => {
  test('a bucket that does not exist', async () => {
    const key = await world.createKey();
    await world.addProfile('nobucket', {...key, bucket: 'no-such-bucket-1234', prefix: PREFIX, check: false});
    await failsChangingNothing('nobucket', ['upload', archivePath], 3, /bucket no-such-bucket-1234 of profile nobucket does not exist/);
    // the line names the profile and the command that fixes it
    await failsChangingNothing('nobucket', ['list'], 3, /bucket no-such-bucket-1234 of profile nobucket does not exist or this key may not use it; fix the bucket name with: backup-b2 b2 profile update nobucket --config \S+ --bucket …/);
  });

  test('a key without deleteFiles: profile add refuses it, profile check fails it, delete cannot delete', async () => {
    const key = await world.createKey({capabilities: BACKUP_CAPABILITIES.filter((c) => c !== 'deleteFiles')});
    const profiles = await readFile(world.config, 'utf8');
    const refused = await world.b2(world.profileAddArgs('nodelete', {...key, prefix: PREFIX}));
    expectFailure(refused, 3, /profile "nodelete" failed its check \(Key capabilities\); nothing was saved/, world.secrets);
    // nothing was saved, so "b2 profile update" could not fix it: the fix is adding it again
    expect(refused.stderr).toMatch(/^fail\s+Key capabilities\s+the key lacks deleteFiles; fix: .*: backup-b2 b2 profile add nodelete --config \S+ … --key-id … --application-key …$/m);
    expect(refused.stderr).not.toMatch(/profile update/);
    expect(await readFile(world.config, 'utf8')).toBe(profiles);

    await world.addProfile('nodelete', {...key, prefix: PREFIX, check: false});
    const human = await world.b2(['profile', 'check', 'nodelete']);
    expectFailure(human, 3, /profile "nodelete" failed its check \(Key capabilities\)/, world.secrets);
    expect(human.stdout).toMatch(/^fail\s+Key capabilities\s+the key lacks deleteFiles/m);
    expect(human.stdout).toMatch(/^ok\s+Bucket\s/m);
    const json = await world.b2(['profile', 'check', 'nodelete', '--json']);
    expect(json.code).toBe(3);
    const report = parseJson<{ok: boolean; items: {id: string; status: string; fix?: string}[]}>(json);
    expect(report.ok).toBe(false);
    expect(report.items.filter((i) => i.status === 'fail')).toEqual([expect.objectContaining({id: 'capabilities', fix: expect.stringContaining('backup-b2 b2 profile update nodelete --config ')})]);

    await failsChangingNothing('nodelete', ['delete', backup.id, '--yes'], 3, /profile nodelete lacks the deleteFiles capability.*b2 profile update nodelete --config \S+ --key-id … --application-key …$/);
    expect(await world.listedIds('home')).toContain(backup.id);
  });

  test('a key without writeFiles cannot upload', async () => {
    const key = await world.createKey({capabilities: BACKUP_CAPABILITIES.filter((c) => c !== 'writeFiles')});
    await world.addProfile('nowrite', {...key, prefix: PREFIX, check: false});
    await failsChangingNothing('nowrite', ['upload', archivePath], 3, /profile nowrite lacks the writeFiles capability/);
  });

  test('a key restricted to a/ with profile prefix b/: the message quotes the allowed prefix', async () => {
    const key = await world.createKey({capabilities: BACKUP_CAPABILITIES, bucketName: world.emu.bucket, namePrefix: 'a/'});
    await world.addProfile('elsewhere', {...key, prefix: 'b/', check: false});
    const message = /restricted to names starting with "a\/", but the profile prefix is "b\/"/;
    await failsChangingNothing('elsewhere', ['upload', archivePath], 3, message);
    await failsChangingNothing('elsewhere', ['list', '--json'], 3, message);
    expect(world.emu.stats().touchedNames[key.keyId] ?? []).not.toContainEqual(expect.stringMatching(/^b\/.+\.tar$/));
  });
});

describe('bad input (exit 2), refused before anything is sent', () => {
  test('a missing file, bad --meta, a name with a path in it, an id outside the prefix, a bad --older-than', async () => {
    const before = world.emu.stats().calls;
    const cases: Array<[string[], RegExp]> = [
      [['upload', join(world.dir, 'no-such.tar')], /no-such\.tar: no such file; give the path of an archive, or - to read stdin/],
      [['upload', archivePath, '--meta', 'host'], /--meta "host": expected key=value/],
      [['upload', archivePath, '--meta', 'bad key=1'], /invalid metadata key "bad key"/],
      // put in an object unchecked, it would set the prototype and vanish
      [['upload', archivePath, '--meta', '__proto__=x', '--meta', 'host=pi'], /invalid metadata key "__proto__": use 1-64 letters/],
      [['upload', archivePath, '--name', '../escape'], /invalid backup name "\.\.\/escape"/],
      [['download', '../../etc/passwd', '-o', join(world.dir, 'x.tar')], /invalid backup id/],
      [['cleanup', '--older-than', 'soon'], /--older-than/],
    ];
    for (const [args, message] of cases) expectFailure(await world.b2([...args, '--profile', 'home']), 2, message, world.secrets);
    expect(world.emu.stats().calls).toEqual(before); // not even a sign-in
  });
});

describe('backup not found (exit 4)', () => {
  test('download, verify and delete of an unknown id; download leaves no file', async () => {
    const out = join(world.dir, 'nothing.tar');
    await failsChangingNothing('home', ['download', 'deadbeef', '-o', out], 4, /no backup with id deadbeef/);
    expect(await readdir(world.dir)).not.toContainEqual(expect.stringMatching(/^nothing\.tar/));
    await failsChangingNothing('home', ['verify', 'deadbeef', '--json'], 4, /no backup with id deadbeef/);
    await failsChangingNothing('home', ['delete', 'deadbeef', '--yes'], 4, /no backup with id deadbeef/);
  });
});

describe('cap exceeded (exit 6)', () => {
  test('an upload refused with 403 cap_exceeded stops at once: no retry storm, nothing stored', async () => {
    world.emu.faults.add({call: 'uploads', status: 403, code: 'cap_exceeded'});
    try {
      const before = calls(world.emu, 'b2_upload_file') + calls(world.emu, 'b2_upload_part');
      await failsChangingNothing('home', ['upload', archivePath, '--name', 'over the cap'], 6, /cap_exceeded.*Caps & Alerts/);
      expect(calls(world.emu, 'b2_upload_file') + calls(world.emu, 'b2_upload_part') - before).toBeLessThanOrEqual(2);
    } finally {
      world.emu.faults.clear();
    }
  });
});

// Last: it damages the stored backup.
describe('checksum mismatch (exit 5)', () => {
  beforeAll(() => world.emu.corrupt(world.emu.bucket, `${PREFIX}${backup.archiveKey}`));

  test('download removes its partial output', async () => {
    const out = join(world.dir, 'damaged.tar');
    await failsChangingNothing('home', ['download', backup.id, '-o', out], 5, /sha1|checksum|SHA1/);
    expect(await readdir(world.dir)).not.toContainEqual(expect.stringMatching(/damaged\.tar/));
  });

  test('download to stdout exits 5 too, saying that what reached stdout is incomplete', async () => {
    const r = await world.spawn(['download', backup.id, '-o', '-', '--profile', 'home']).done;
    expectFailure({code: r.code ?? -1, stdout: r.stdout.toString('latin1'), stderr: r.stderr}, 5, /SHA1.*; the archive written to standard output is incomplete \(discard it\)$/, world.secrets);
  });

  test('verify fails', async () => {
    await failsChangingNothing('home', ['verify', backup.id], 5, new RegExp(`backup ${backup.id} failed verification`));
  });
});

test('no run printed an application key', () => {
  world.expectNoSecretInAnyRun();
});
