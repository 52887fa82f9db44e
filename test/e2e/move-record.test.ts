import {afterAll, beforeAll, describe, expect, test} from '@jest/globals';
import {copyFile} from 'node:fs/promises';
import {dirname, join} from 'node:path';
import {seedBackups} from '../helpers/seed-backups.js';
import {api, authorizeRaw} from '../emulator/helpers.js';
import {CrashWorld} from '../helpers/crash.js';
import {calls, expectFailure} from './helpers.js';

// A move records where it goes before its first copy and forgets it once the profile is
// saved: a move SIGKILLed in its delete phase (at an exact request, by the emulator's hook)
// has left backups under the new prefix that the profile does not list. Until the same
// move is finished, list / show / profile show warn with the command that finishes it, and
// a move anywhere else is refused (exit 2, nothing changed). And a location change without
// --move-backups (bucket as prefix) says what stays behind, with a hint that puts back
// every part that changed. Real CLI processes against the emulator over HTTP.

const OTHER = 'record-other-1';
let cw: CrashWorld;

beforeAll(async () => {
  cw = await CrashWorld.start();
  const auth = await authorizeRaw(cw.emu);
  await api(cw.emu, auth.authorizationToken, 'b2_create_bucket', {accountId: auth.accountId, bucketName: OTHER, bucketType: 'allPrivate'});
});

afterAll(async () => {
  cw?.world.expectNoSecretInAnyRun();
  await cw?.close();
});

const b2 = (args: string[]) => cw.world.b2(args);

describe('a move killed while it deletes the originals', () => {
  let ids: string[] = [];
  let finishLine = '';

  beforeAll(async () => {
    await cw.world.addProfile('p1', {...(await cw.world.createKey()), prefix: 'p1/'});
    await seedBackups(cw.emu, 'p1/', 4);
    ids = (await cw.world.listedIds('p1')).sort();
    // the third delete (metadata file, archive, then the next backup's metadata file): one backup is only under p1d/
    let deletes = 0;
    const killed = await cw.run(['profile', 'update', 'p1', '--prefix', 'p1d/', '--move-backups'], (call, _n, kill) => (call === 'b2_delete_file_version' && ++deletes === 3 ? kill() : undefined));
    expect(killed.killed).toBe(true);
    expect((await cw.world.storedProfile('p1'))?.prefix).toBe('p1/');
    expect((await cw.world.listedIds('p1')).length).toBeLessThan(ids.length);
    finishLine = `backup-b2 b2 profile update p1 --prefix p1d/ --move-backups --config ${cw.world.config}`;
  }, 60_000);

  const warning = () => `Warning: an interrupted move of profile "p1" to "p1d/" may have left backups there, where the profile does not look until the move is finished: run "${finishLine}" to finish it\n`;

  test('list, show and profile show warn with the command that finishes it', async () => {
    const listed = await b2(['list', '--profile', 'p1', '--json']);
    expect(listed.code).toBe(0);
    expect(listed.stderr).toContain(warning());
    const [shown] = await cw.world.listedIds('p1');
    const show = await b2(['show', shown!, '--profile', 'p1']);
    expect({code: show.code, stderr: show.stderr}).toEqual({code: 0, stderr: warning()});
    const profile = await b2(['profile', 'show', 'p1']);
    expect({code: profile.code, stderr: profile.stderr}).toEqual({code: 0, stderr: warning()});
  }, 60_000);

  test('a profile of the same name in another profiles file is another profile: no warning, and its move is not refused', async () => {
    // the same name, even at the same location: the record is of the move of the first file's p1
    const other = join(dirname(cw.world.config), 'other.yaml');
    await copyFile(cw.world.config, other);
    // (the archives whose metadata file the killed move deleted are warned about, as to any profile on p1/)
    const listed = await cw.world.pasted(`backup-b2 b2 list --profile p1 --config ${other}`);
    expect(listed.code).toBe(0);
    expect(listed.stderr).not.toMatch(/interrupted move/);
    const dry = await cw.world.pasted(`backup-b2 b2 profile update p1 --prefix p1e/ --move-backups --dry-run --config ${other}`);
    expect(dry.code).toBe(0);
    expect(dry.stderr).not.toMatch(/interrupted move/);
    expect(dry.stdout).toMatch(/^Would move \d+ backups? from "p1\/" to "p1e\/"/);
    // and the first file's p1 still has its warning
    expect((await b2(['list', '--profile', 'p1'])).stderr).toContain(warning());
  }, 60_000);

  test('a move to another prefix, or its dry run, is refused (exit 2) and changes nothing', async () => {
    cw.emu.resetStats();
    const refusal = new RegExp(`^Error: An interrupted move of profile "p1" to "p1d/" may have left backups there, .*: run "${finishLine.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}" to finish it, before moving them anywhere else; nothing was (planned|moved) and the profile is unchanged$`);
    const dry = await b2(['profile', 'update', 'p1', '--prefix', 'p1e/', '--move-backups', '--dry-run']);
    expectFailure(dry, 2, refusal, cw.world.secrets);
    expect(dry.stdout).toBe('');
    const real = await b2(['profile', 'update', 'p1', '--prefix', 'p1e/', '--move-backups']);
    expectFailure(real, 2, refusal, cw.world.secrets);
    expect(real.stderr).toMatch(/nothing was moved/);
    expect((await cw.world.storedProfile('p1'))?.prefix).toBe('p1/');
    expect(calls(cw.emu, 'b2_copy_file') + calls(cw.emu, 'b2_delete_file_version')).toBe(0);
  }, 60_000);

  test('the command the warning names finishes it: every backup under p1d/, and the warnings end', async () => {
    const dry = await b2(['profile', 'update', 'p1', '--prefix', 'p1d/', '--move-backups', '--dry-run']);
    expect({code: dry.code, stderr: dry.stderr}).toEqual({code: 0, stderr: warning()});
    const finished = await cw.world.pasted(finishLine);
    expect({code: finished.code, stderr: finished.stderr}).toEqual({code: 0, stderr: ''});
    expect((await cw.world.storedProfile('p1'))?.prefix).toBe('p1d/');
    expect((await cw.world.listedIds('p1')).sort()).toEqual(ids);
    const listed = await b2(['list', '--profile', 'p1']);
    expect({code: listed.code, stderr: listed.stderr}).toEqual({code: 0, stderr: ''});
    // and a move elsewhere is a move again
    const next = await b2(['profile', 'update', 'p1', '--prefix', 'p1e/', '--move-backups']);
    expect({code: next.code, stderr: next.stderr}).toEqual({code: 0, stderr: ''});
    expect((await cw.world.listedIds('p1')).sort()).toEqual(ids);
  }, 60_000);
});

describe('a move that fails before anything is copied', () => {
  test('leaves no record: no warning, and a move elsewhere is not refused', async () => {
    await cw.world.addProfile('p5', {...(await cw.world.createKey()), prefix: 'p5/'});
    await seedBackups(cw.emu, 'p5/', 2, 30);
    cw.emu.faults.add({call: 'b2_copy_file', count: 100, status: 400});
    let failed;
    try {
      failed = await b2(['profile', 'update', 'p5', '--prefix', 'p5b/', '--move-backups']);
    } finally {
      cw.emu.faults.clear();
    }
    expect(failed.code).toBe(2);
    expect(failed.stderr).toMatch(/nothing was copied|before deleting any original/);
    expect((await cw.world.storedProfile('p5'))?.prefix).toBe('p5/');
    const listed = await b2(['list', '--profile', 'p5']);
    expect({code: listed.code, stderr: listed.stderr}).toEqual({code: 0, stderr: ''});
    const elsewhere = await b2(['profile', 'update', 'p5', '--prefix', 'p5c/', '--move-backups']);
    expect({code: elsewhere.code, stderr: elsewhere.stderr}).toEqual({code: 0, stderr: ''});
    expect((await cw.world.listedIds('p5')).length).toBe(2);
  }, 60_000);
});

describe('a new location without --move-backups', () => {
  test('another bucket and prefix: the warning says so, and its two commands move the backups after all', async () => {
    await cw.world.addProfile('p3', {...(await cw.world.createKey()), prefix: 'p3/'});
    await seedBackups(cw.emu, 'p3/', 2, 10);
    const ids = (await cw.world.listedIds('p3')).sort();
    const changed = await b2(['profile', 'update', 'p3', '--bucket', OTHER, '--prefix', 'p3b/']);
    expect(changed.code).toBe(0);
    const config = cw.world.config.replaceAll('.', '\\.');
    const warning = new RegExp(
      `^Warning: 2 backups stay under "p3/" in bucket ${cw.emu.bucket}: changing the bucket and prefix does not move them, and profile "p3" no longer lists them; ` +
        `to move them, put the old bucket and prefix back \\("(backup-b2 b2 profile update p3 --bucket ${cw.emu.bucket} --prefix p3/ --config ${config})"\\), ` +
        `then run "(backup-b2 b2 profile update p3 --bucket ${OTHER} --prefix p3b/ --move-backups --config ${config})"$`,
      'm',
    );
    expect(changed.stderr).toMatch(warning);
    const [, putBack, move] = warning.exec(changed.stderr)!;
    expect(await cw.world.pasted(putBack!)).toMatchObject({code: 0, stderr: ''});
    expect((await cw.world.listedIds('p3')).sort()).toEqual(ids);
    expect(await cw.world.pasted(move!)).toMatchObject({code: 0, stderr: ''});
    expect(await cw.world.storedProfile('p3')).toMatchObject({bucket: OTHER, prefix: 'p3b/'});
    expect((await cw.world.listedIds('p3')).sort()).toEqual(ids);
  }, 60_000);

  test('another bucket alone: warned too, the hint puts back only the bucket', async () => {
    await cw.world.addProfile('p4', {...(await cw.world.createKey()), prefix: 'p4/'});
    await seedBackups(cw.emu, 'p4/', 1, 20);
    const changed = await b2(['profile', 'update', 'p4', '--bucket', OTHER]);
    expect(changed.code).toBe(0);
    expect(changed.stderr).toContain(
      `Warning: 1 backup stays under "p4/" in bucket ${cw.emu.bucket}: changing the bucket does not move it, and profile "p4" no longer lists it; ` +
        `to move it, put the old bucket back ("backup-b2 b2 profile update p4 --bucket ${cw.emu.bucket} --config ${cw.world.config}"), then run "backup-b2 b2 profile update p4 --bucket ${OTHER} --prefix p4/ --move-backups --config ${cw.world.config}"`,
    );
  }, 60_000);
});
