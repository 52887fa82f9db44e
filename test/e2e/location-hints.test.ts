import {afterAll, beforeAll, describe, expect, test} from '@jest/globals';
import {createHash, randomBytes} from 'node:crypto';
import {writeFile} from 'node:fs/promises';
import {join} from 'node:path';
import {isoDateWithOffset} from '../../src/backups/layout.js';
import {buildMetadataFile} from '../../src/backups/metadata-file.js';
import {CLEANUP_AGE, shellWord} from '../../src/command-hint.js';
import {startEmulator, type FaultRule, type RunningEmulator} from '../../src/emulator/index.js';
import {backupFilesToSeed, seedBackups, seedLargeBackup} from '../helpers/seed-backups.js';
import {api, authorizeRaw} from '../emulator/helpers.js';
import type {CliResult} from '../helpers/run-cli.js';
import {calls, E2EWorld, expectFailure, parseJson} from './helpers.js';

// Fix hints that a user pastes as printed: the real CLI against the emulator, the hint
// taken from its output and run by /bin/sh (E2EWorld.pasted), with nothing of the test's
// added. Each names the location it acts on (--config FILE --profile NAME) and quotes
// what the shell would split or expand.

const PART = 5_000_000; // the smallest part size a profile takes: the archive is copied in parts
const HOUR = 3600e3;
/** `text` as a RegExp matches it. */
const literal = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
/** "once it is 24 hours old (cleanup's default --older-than)", as a RegExp. */
const AGE = literal(CLEANUP_AGE);

let world: E2EWorld;

/** The unfinished large files under `prefix`. */
async function unfinished(prefix: string): Promise<string[]> {
  const auth = await authorizeRaw(world.emu);
  const r = await api(world.emu, auth.authorizationToken, 'b2_list_unfinished_large_files', {bucketId: world.emu.bucketId, namePrefix: prefix});
  return (r.json.files as Array<{fileName: string}>).map((f) => f.fileName);
}

/**
 * Profile `name` on `from` with one backup whose archive is copied in parts, and its move
 * to `to` run with `faults` on: the move's arguments and the failed run.
 */
async function failedMove(name: string, from: string, to: string, faults: FaultRule[], size = 2 * PART + 1): Promise<{move: string[]; failed: CliResult; key: {keyId: string; applicationKey: string}}> {
  const key = await world.createKey();
  await world.addProfile(name, {...key, prefix: from, partSize: '5MB', concurrency: 1});
  await seedLargeBackup(world.emu, from, {name: 'large', size, partSize: PART});
  const move = ['profile', 'update', name, '--prefix', to, '--move-backups'];
  for (const fault of faults) world.emu.faults.add(fault);
  const failed = await world.b2(move);
  world.emu.faults.clear();
  expect(failed.code).not.toBe(0);
  return {move, failed, key};
}

beforeAll(async () => {
  world = await E2EWorld.start();
  // more than one profile and no default: a hint that names none runs on none
  await world.addProfile('elsewhere', {...(await world.createKey()), prefix: 'elsewhere/'});
});

afterAll(async () => {
  world?.expectNoSecretInAnyRun();
  await world?.close();
});

describe('b2 profile update NAME --prefix NEW --move-backups', () => {
  test('a copy that fails and leaves its unfinished file under the new prefix: the hint finishes the move first, then cleans up with the profile, which names the new prefix only then', async () => {
    const {move, failed} = await failedMove('mv', 'old/', 'new/', [
      {call: 'b2_copy_part', count: 1, status: 400, code: 'bad_request', message: 'refused for the test'},
      {call: 'b2_cancel_large_file', count: 1, status: 403, code: 'access_denied', message: 'cancel refused for the test'},
    ], 2 * PART + 1234);
    const [leftover] = await unfinished('new/');
    expect(leftover).toMatch(/^new\/large_.*\.tar$/);
    // run as "cleanup" alone it would act on the default profile; with --profile mv now, under old/
    const hint = new RegExp(
      `an unfinished copy of ${leftover.replaceAll('.', '\\.')} remains \\(cancelling it failed: 403 access_denied\\): ` +
        `finish the move first \\(the same profile update command again: profile "mv" uses the new prefix "new/" in bucket ${world.emu.bucket} only once the move is saved, and a cleanup before then would look under "old/"; .*\\), ` +
        `then run "(backup-b2 b2 cleanup --config ${world.config.replaceAll('.', '\\.')} --profile mv)" to remove it`,
    );
    expect(failed.stderr).toMatch(hint);
    expect((await world.storedProfile('mv'))?.prefix).toBe('old/');

    // the same command again continues that very copy (no second start) and saves the move
    world.emu.resetStats();
    const again = await world.b2(move);
    expect({code: again.code, stderr: again.stderr}).toEqual({code: 0, stderr: ''});
    expect(calls(world.emu, 'b2_start_large_file')).toBe(0);
    expect((await world.storedProfile('mv'))?.prefix).toBe('new/');
    expect(await unfinished('new/')).toEqual([]);
    // the cleanup as printed, pasted: it runs on profile mv, which names new/ now
    const cleanup = await world.pasted(hint.exec(failed.stderr)![1]);
    expect({code: cleanup.code, stderr: cleanup.stderr}).toEqual({code: 0, stderr: ''});
    expect(cleanup.stdout).toMatch(/^Cancelled 0 unfinished uploads and deleted 0 archives without metadata file\.$/m);
  }, 60_000);

  test('a metadata file copy that fails after its archive was copied, whose archive copy cannot be deleted: the line says how to drop it if the move is given up, not the cleanup of a finished move (which would find it part of the backup); the same command run again completes the backup with it', async () => {
    // the archive is copied in parts: the metadata file's is the first b2_copy_file
    const {move, failed} = await failedMove('lone', 'lone-old/', 'lone-new/', [
      {call: 'b2_copy_file', count: 1, status: 400, code: 'bad_request', message: 'refused for the test'},
      {call: 'b2_delete_file_version', count: 1, status: 400, code: 'bad_request', message: 'delete refused for the test'},
    ]);
    expect(failed.stderr).toMatch(new RegExp(
      `without its metadata file it is no backup; to drop it rather than complete the backup: large_\\S+\\.tar remains \\(removing it failed: 400 bad_request\\): ` +
        `add a profile on the new prefix, "backup-b2 b2 profile add PROFILE --bucket ${world.emu.bucket} --prefix lone-new/ --endpoint ${literal(world.emu.url)} --config ${literal(world.config)}" .*, and run "backup-b2 b2 cleanup --config ${literal(world.config)} --profile PROFILE" to remove it once it is 24 hours old`,
    ));
    expect(failed.stderr).not.toContain('finish the move first');
    // the same command again completes the backup with the archive copy that stayed
    world.emu.resetStats();
    const again = await world.b2(move);
    expect({code: again.code, stderr: again.stderr}).toEqual({code: 0, stderr: ''});
    expect(calls(world.emu, 'b2_copy_part')).toBe(0);
    expect(await world.listedIds('lone')).toHaveLength(1);
  }, 60_000);

  test('a prefix change without it: the two commands that move the backups after all run as printed, a prefix with a quote and a "$" included', async () => {
    const old = "it's $HOME/";
    await world.addProfile('side', {...(await world.createKey()), prefix: old});
    await seedBackups(world.emu, old, 2, 100);
    const ids = async () => (await world.listedIds('side')).sort(); // as `b2 list` lists them (read in this process)
    const before = await ids();
    expect(before).toHaveLength(2);
    const changed = await world.b2(['profile', 'update', 'side', '--prefix', 'side-b/']);
    expect(changed.code).toBe(0);
    expect(await ids()).toEqual([]);
    const config = world.config.replaceAll('.', '\\.');
    const warning = new RegExp(
      `^Warning: 2 backups stay under the old prefix "it's \\$HOME/": .*; to move them, put the old prefix back ` +
        `\\("(backup-b2 b2 profile update side --prefix 'it'\\\\''s \\$HOME/' --config ${config})"\\), then run "(backup-b2 b2 profile update side --prefix side-b/ --move-backups --config ${config})"$`,
      'm',
    );
    expect(changed.stderr).toMatch(warning);
    const [, putBack, move] = warning.exec(changed.stderr)!;
    // pasted one after the other, they move the backups to the new prefix after all
    expect(await world.pasted(putBack)).toMatchObject({code: 0, stderr: ''});
    expect(await ids()).toEqual(before);
    expect(await world.pasted(move)).toMatchObject({code: 0, stderr: ''});
    expect((await world.storedProfile('side'))?.prefix).toBe('side-b/');
    expect(await ids()).toEqual(before);
  }, 60_000);

  test('a bucket change with a key restricted to the new bucket: no two-step hint that puts the location back alone, but that the old key must come back (its flags, never a secret)', async () => {
    const two = await world.emu.createBucket('bucket-two-hints');
    await world.addProfile('p5', {...(await world.createKey()), prefix: 'p5/'});
    await seedBackups(world.emu, 'p5/', 1, 100);
    const restricted = await world.createKey({capabilities: ['listBuckets', 'listFiles', 'readFiles', 'writeFiles', 'deleteFiles'], bucketName: two.bucketName});
    const changed = await world.b2(['profile', 'update', 'p5', '--bucket', two.bucketName, '--key-id', restricted.keyId, '--application-key', restricted.applicationKey]);
    expect(changed.code).toBe(0);
    const config = world.config.replaceAll('.', '\\.');
    expect(changed.stderr).toMatch(new RegExp(
      `^Warning: 1 backup stays under "p5/" in bucket ${world.emu.bucket}: .*; the key changed too, and the new one may not read there: to list it again, put the old bucket back together with the old key ` +
        `\\("backup-b2 b2 profile update p5 --bucket ${world.emu.bucket} --config ${config}" with --key-id and --application-key of the old key\\); a move needs one key that reads both locations: .*--move-backups --config ${config}"$`,
      'm',
    ));
    // the old bucket put back without the old key: the profile cannot read it (where the two-step hint led)
    const putBack = await world.b2(['profile', 'update', 'p5', '--bucket', world.emu.bucket]);
    expect(putBack.code).toBe(3);
  }, 60_000);
});

describe('b2 copy ID --to PROFILE', () => {
  test('records that disagree (another tool uploaded over the archive): the verify it names reads that very backup where it is', async () => {
    await world.addProfile('rec', {...(await world.createKey()), prefix: 'rec/'});
    await seedBackups(world.emu, 'rec/', 1, 300);
    const [backup] = await world.withLocation('rec', ({catalog}) => catalog.list()); // as `b2 list` lists it (read in this process)
    // a new version of the archive, of the same size, without this tool's file info: the metadata file keeps the backup's SHA1
    await world.emu.putFiles(world.emu.bucket, [{fileName: `rec/${backup.archiveKey}`, data: randomBytes(backup.size), contentType: 'application/x-tar'}]);
    const refused = await world.b2(['copy', backup.id, '--profile', 'rec', '--to', 'elsewhere']);
    const hint = new RegExp(`one record is wrong \\("(backup-b2 b2 verify ${backup.id} --config ${world.config.replaceAll('.', '\\.')} --profile rec)" reads the backup\\), and nothing was copied`);
    expectFailure(refused, 5, hint, world.secrets);
    const verify = await world.pasted(hint.exec(refused.stderr)![1]);
    expect(verify.code).toBe(5);
    expect(verify.stdout).toMatch(new RegExp(`^FAILED backup ${backup.id} .*: SHA1 [0-9a-f]{40}, expected [0-9a-f]{40}$`, 'm'));
  }, 60_000);
});

describe('hints that change or add a profile name the profiles file given with --config', () => {
  const config = () => world.config.replaceAll('.', '\\.');

  test('a bucket that does not exist: the fix, its "…" filled in and pasted, changes the profile in that file, and the command then works', async () => {
    await world.addProfile('nobucket', {...(await world.createKey()), bucket: 'no-such-bucket-5678', prefix: 'nb/', check: false});
    const failed = await world.b2(['list', '--profile', 'nobucket']);
    const hint = new RegExp(`fix the bucket name with: (backup-b2 b2 profile update nobucket --config ${config()} --bucket …)`);
    expectFailure(failed, 3, hint, world.secrets);
    // without --config the update would look for the profile in the default profiles file, which has none
    const fixed = await world.pasted(hint.exec(failed.stderr)![1].replace('…', world.emu.bucket));
    expect({code: fixed.code, stderr: fixed.stderr}).toEqual({code: 0, stderr: ''});
    expect((await world.storedProfile('nobucket'))?.bucket).toBe(world.emu.bucket);
    expect((await world.b2(['list', '--profile', 'nobucket'])).code).toBe(0);
  }, 60_000);

  test('profile add of a name the file has: the update it names, pasted, finds that profile (a flagless update says there is nothing to update, not that there is no such profile)', async () => {
    await world.addProfile('twice', {...(await world.createKey()), prefix: 'twice/', check: false});
    const again = await world.b2(['profile', 'add', 'twice', '--key-id', 'x', '--application-key', 'y', '--bucket', world.emu.bucket, '--no-check']);
    const hint = new RegExp(`change it with "(backup-b2 b2 profile update twice --config ${config()})"`);
    expectFailure(again, 2, hint, world.secrets);
    const pasted = await world.pasted(hint.exec(again.stderr)![1]);
    expect(pasted.code).toBe(2);
    expect(pasted.stderr).toMatch(/^Error: nothing to update for profile "twice"/);
  }, 60_000);

  test('a profile that is not there, and no default among several: add and default hints name the file too', async () => {
    const missing = await world.b2(['list', '--profile', 'nosuchname']);
    expectFailure(missing, 2, new RegExp(`add it with "backup-b2 b2 profile add nosuchname --config ${config()}"`), world.secrets);
    const ambiguous = await world.b2(['list']);
    expectFailure(ambiguous, 2, new RegExp(`set a default with "backup-b2 b2 profile default NAME --config ${config()}"`), world.secrets);
  }, 60_000);
});

describe('a move to another B2 account or endpoint', () => {
  /** Another B2 account (a second emulator) and a key there, shared by this block's tests. */
  let other: RunningEmulator;
  let far: {keyId: string; applicationKey: string};
  beforeAll(async () => {
    other = await startEmulator({port: 0});
    world.addSecrets(other.applicationKey);
    far = await other.createKey({capabilities: ['listBuckets', 'listFiles', 'readFiles', 'writeFiles', 'deleteFiles']});
    world.addSecrets(far.applicationKey);
  });
  afterAll(async () => {
    await other?.stop();
  });

  test('refused (exit 2, nothing copied or saved), with the way that works, pasted step by step: a profile on the new location, each backup downloaded and uploaded as the same backup (its name, id, date and metadata), then the prefix changed without the move', async () => {
    await world.addProfile('xa', {...(await world.createKey()), prefix: 'xa/'});
    const archive = join(world.dir, 'xa-source.tar');
    await writeFile(archive, randomBytes(2000));
    const stored = await world.storeBackup('xa', {path: archive}, {name: "nightly's 7", metadata: {host: 'pi4'}});
    const update = ['profile', 'update', 'xa', '--prefix', 'far/', '--key-id', far.keyId, '--application-key', far.applicationKey, '--endpoint', other.url, '--bucket', other.bucket];
    const refused = await world.b2([...update, '--move-backups']);
    const config = literal(world.config);
    const line = new RegExp(
      `^Error: ${world.emu.bucket}/xa/ and ${other.bucket}/far/ are on different B2 accounts or endpoints .*; nothing was copied or saved; ` +
        `to move them anyway, add a profile on the new location, "(backup-b2 b2 profile add PROFILE --bucket ${other.bucket} --prefix far/ --endpoint ${literal(other.url)} --config ${config})" \\(.*\\); ` +
        `for each backup, download the backup and upload it there as the same backup: "(backup-b2 b2 download ID -o FILE --config ${config} --profile xa)", then "(backup-b2 b2 upload FILE --name NAME --id ID --date DATE --config ${config} --profile PROFILE)" ` +
        `\\(NAME, ID and DATE: .*"(backup-b2 b2 show ID --json --config ${config} --profile xa)" shows them all; .*\\); then run the same profile update command without --move-backups`,
      'm',
    );
    expectFailure(refused, 2, line, world.secrets);
    expect((await world.storedProfile('xa'))?.prefix).toBe('xa/');
    const [, add, download, upload, show] = line.exec(refused.stderr)!;
    expect(await world.pasted(`${add.replace('PROFILE', 'xa-far')} --key-id ${far.keyId} --application-key ${far.applicationKey}`)).toMatchObject({code: 0});
    const shown = parseJson<{id: string; name: string; date: string; metadata: {extra_metadata: Record<string, string>}}>(await world.pasted(show.replace('ID', stored.id)));
    expect(shown).toMatchObject({name: "nightly's 7", metadata: {extra_metadata: {host: 'pi4'}}});
    expect(await world.pasted(download.replace('ID', stored.id).replace('FILE', 'moving.tar'))).toMatchObject({code: 0});
    const meta = Object.entries(shown.metadata.extra_metadata).map(([k, v]) => ` --meta ${shellWord(`${k}=${v}`)}`).join('');
    const filled = upload.replace('FILE', 'moving.tar').replace('NAME', shellWord(shown.name)).replace('ID', shown.id).replace('DATE', shown.date).replace('PROFILE', 'xa-far');
    const uploaded = await world.pasted(filled + meta);
    expect(uploaded.code).toBe(0);
    expect((await world.b2(update)).code).toBe(0);
    const [there] = await world.withLocation('xa', ({catalog}) => catalog.list());
    // the same backup: its id, date, name and metadata kept (an archive that is not Home Assistant's)
    expect(await world.withLocation('xa', ({catalog}) => catalog.show(there.id))).toMatchObject({id: stored.id, date: stored.date, name: "nightly's 7", sha1: stored.sha1, metadata: {extra_metadata: {host: 'pi4'}}});
  }, 60_000);

  test('a copy there: refused (exit 2, nothing copied) with the download and upload filled in for that backup (id, name, date: quoted for the shell), which, pasted as printed, store the same backup there', async () => {
    await world.addProfile('xc', {...(await world.createKey()), prefix: 'xc/'});
    await world.addProfile('xc-far', {...far, endpoint: other.url, bucket: other.bucket, prefix: 'copied/'});
    const archive = join(world.dir, 'xc-source.tar');
    await writeFile(archive, randomBytes(2000));
    const name = "copy's $HOME 7";
    const stored = await world.storeBackup('xc', {path: archive}, {name, metadata: {host: 'pi4'}});
    const refused = await world.b2(['copy', stored.id, '--profile', 'xc', '--to', 'xc-far']);
    const config = literal(world.config);
    const [file, date] = [literal(shellWord(stored.archiveKey)), literal(shellWord(stored.date))];
    const line = new RegExp(
      `^Error: profile "xc" and profile "xc-far" are on different B2 accounts or endpoints .*; nothing was copied; ` +
        `download the backup and upload it there as the same backup: "(backup-b2 b2 download ${stored.id} -o ${file} --config ${config} --profile xc)", ` +
        `then "(backup-b2 b2 upload ${file} --name ${literal(shellWord(name))} --id ${stored.id} --date ${date} --config ${config} --profile xc-far)" ` +
        `\\(--meta KEY=VALUE for each entry of its extra_metadata that its archive does not carry: "backup-b2 b2 show ${stored.id} --json --config ${config} --profile xc" shows them all; .*\\)$`,
      'm',
    );
    expectFailure(refused, 2, line, world.secrets);
    const [, download, upload] = line.exec(refused.stderr)!;
    expect(await world.pasted(download)).toMatchObject({code: 0});
    expect(await world.pasted(`${upload} --meta host=pi4`)).toMatchObject({code: 0});
    const shown = (profile: string) => world.b2(['show', stored.id, '--json', '--profile', profile]).then((r) => parseJson<{id: string; name: string; date: string; metadata: unknown}>(r));
    const [here, there] = await Promise.all([shown('xc'), shown('xc-far')]);
    expect(there).toMatchObject({id: stored.id, name, date: stored.date});
    expect(there.metadata).toEqual(here.metadata);
  }, 60_000);

  test('a copy there of another tool\'s backup named "-x" dated without an offset: the filled-in download and upload take its file as ./-x_… (not a flag) and its date with an offset (the same instant this tool reads), and run as printed', async () => {
    await world.addProfile('xd', {...(await world.createKey()), prefix: 'xd/'});
    await world.addProfile('xd-far', {...far, endpoint: other.url, bucket: other.bucket, prefix: 'dashed/'});
    const data = randomBytes(2000);
    const [id, date, base] = ['0ther7001', '2026-04-08T04:57:43', '-x_2026-04-08_04.57_43000000'];
    const meta = buildMetadataFile({id, name: '-x', date, size: data.length, sha1: createHash('sha1').update(data).digest('hex'), extra: {host: 'pi4'}, createdBy: 'another tool'});
    await world.emu.putFiles(world.emu.bucket, [
      {fileName: `xd/${base}.tar`, data, contentType: 'application/x-tar'},
      {fileName: `xd/${base}.metadata.json`, data: Buffer.from(JSON.stringify(meta)), contentType: 'application/json'},
    ]);
    const refused = await world.b2(['copy', id, '--profile', 'xd', '--to', 'xd-far']);
    const config = literal(world.config);
    // the time Date.parse reads in it (this machine's local time), as list and retention read it
    const offsetDate = isoDateWithOffset(new Date(Date.parse(date)));
    const line = new RegExp(
      `download the backup and upload it there as the same backup: "(backup-b2 b2 download ${id} -o \\./${base}\\.tar --config ${config} --profile xd)", ` +
        `then "(backup-b2 b2 upload \\./${base}\\.tar --name -x --id ${id} --date ${literal(offsetDate)} --config ${config} --profile xd-far)" `,
    );
    expectFailure(refused, 2, line, world.secrets);
    const [, download, upload] = line.exec(refused.stderr)!;
    expect(await world.pasted(download)).toMatchObject({code: 0});
    expect(await world.pasted(`${upload} --meta host=pi4`)).toMatchObject({code: 0});
    const there = parseJson<{id: string; name: string; date: string; metadata: {extra_metadata: unknown}}>(await world.b2(['show', id, '--json', '--profile', 'xd-far']));
    expect(there).toMatchObject({id, name: '-x', metadata: {extra_metadata: {host: 'pi4'}}});
    expect(Date.parse(there.date)).toBe(Date.parse(date));
  }, 60_000);

  test('a destination with encryption: the profile that re-uploads is told to have it too, or the copies are stored without', async () => {
    await world.addProfile('xe', {...(await world.createKey()), prefix: 'xe/'});
    const update = ['profile', 'update', 'xe', '--prefix', 'far/', '--key-id', far.keyId, '--application-key', far.applicationKey, '--endpoint', other.url, '--bucket', other.bucket, '--encryption', 'SSE-B2'];
    const refused = await world.b2([...update, '--move-backups']);
    expectFailure(refused, 2, /\(it asks for the key ID and key on a terminal; else add --key-id and --application-key\), with --encryption SSE-B2 as profile "xe" has them \(else the copies are stored without\); for each backup, /, world.secrets);
  }, 60_000);
});

describe('what a move says of a location no saved profile names (clock moved on 25 h: last in this file)', () => {
  const config = () => literal(world.config);
  /** A profile-add hint as printed, PROFILE named and the key given (a pipe, not a terminal, asks for nothing). */
  const added = (hint: string, name: string, key: {keyId: string; applicationKey: string}) =>
    world.pasted(`${hint.replace('PROFILE', name)} --key-id ${key.keyId} --application-key ${key.applicationKey}`);
  /** A profile-add hint and a cleanup hint as printed, pasted for profile `name` with the clock 25 h on: the cleanup's run, which succeeded. */
  const addedThenCleaned = async (add: string, cleanup: string, name: string, key: {keyId: string; applicationKey: string}) => {
    expect(await added(add, name, key)).toMatchObject({code: 0});
    world.emu.clock.advance(25 * HOUR);
    const cleaned = await world.pasted(cleanup.replace('PROFILE', name));
    expect({code: cleaned.code, stderr: cleaned.stderr}).toEqual({code: 0, stderr: ''});
    return cleaned;
  };

  test('a move given up after its copy left an unfinished file under the new prefix: the line names a profile on the new prefix, which, pasted, removes it once it is 24 hours old', async () => {
    const {failed, key} = await failedMove('gu', 'gu-old/', 'gu-new/', [
      {call: 'b2_copy_part', count: 1, status: 400, code: 'bad_request', message: 'refused for the test'},
      {call: 'b2_cancel_large_file', count: 1, status: 400, code: 'bad_request', message: 'cancel refused for the test'},
    ]);
    expect(await unfinished('gu-new/')).toHaveLength(1);
    const hint = new RegExp(
      `a move you will not finish leaves it to a profile on the new prefix: "(backup-b2 b2 profile add PROFILE --bucket ${world.emu.bucket} --prefix gu-new/ --endpoint ${literal(world.emu.url)} --config ${config()})" ` +
        `\\(it asks for the key ID and key on a terminal; else add --key-id and --application-key\\), then "(backup-b2 b2 cleanup --config ${config()} --profile PROFILE)"\\), ` +
        `then run "backup-b2 b2 cleanup --config ${config()} --profile gu" to remove it`,
    );
    expect(failed.stderr).toMatch(hint);
    const [, add, cleanup] = hint.exec(failed.stderr)!;
    const cleaned = await addedThenCleaned(add, cleanup, 'gu-new', key);
    expect(cleaned.stdout).toMatch(/^Cancelled 1 unfinished upload and deleted 0 archives without metadata file\.$/m);
    expect(await unfinished('gu-new/')).toEqual([]);
    expect((await world.storedProfile('gu'))?.prefix).toBe('gu-old/');
  }, 60_000);

  test('a finished move that leaves an interrupted upload\'s archive under the old prefix: the line names a profile on the old prefix (the moved profile\'s cleanup now looks under the new one), and that, pasted, removes it once it is 24 hours old', async () => {
    const key = await world.createKey();
    await world.addProfile('st', {...key, prefix: 'st-old/'});
    await seedBackups(world.emu, 'st-old/', 1, 300);
    const [stray] = backupFilesToSeed('st-old/', 1, 301); // its archive only: an upload interrupted before its metadata file
    await world.emu.putFiles(world.emu.bucket, [stray]);
    const move = ['profile', 'update', 'st', '--prefix', 'st-new/', '--move-backups'];
    // before the move, the profile's own cleanup is the one that looks there
    const plan = await world.b2([...move, '--dry-run']);
    expect(plan.stderr).toBe('');
    expect(plan.stdout).toMatch(new RegExp(`; "backup-b2 b2 cleanup --config ${config()} --profile st" run before the prefix changes removes it once it is 24 hours old \\(cleanup's default --older-than\\)\\)$`, 'm'));
    const moved = await world.b2(move);
    expect(moved.code).toBe(0);
    expect((await world.storedProfile('st'))?.prefix).toBe('st-new/');
    const line = new RegExp(
      `^Not moved \\(they stay under "st-old/"\\): ${literal(stray.fileName.slice('st-old/'.length))} \\(an archive without its metadata file: an interrupted upload; ` +
        `profile "st" no longer names "st-old/", so its cleanup does not look there; a profile on it does: "(backup-b2 b2 profile add PROFILE --bucket ${world.emu.bucket} --prefix st-old/ --endpoint ${literal(world.emu.url)} --config ${config()})" ` +
        `\\(it asks for the key ID and key on a terminal; else add --key-id and --application-key\\), then "(backup-b2 b2 cleanup --config ${config()} --profile PROFILE)" removes it ${AGE}\\)$`,
      'm',
    );
    expect(moved.stderr).toMatch(line);
    const [, add, cleanup] = line.exec(moved.stderr)!;
    const cleaned = await addedThenCleaned(add, cleanup, 'st-old', key);
    expect(cleaned.stdout).toMatch(/^Cancelled 0 unfinished uploads and deleted 1 archive without metadata file\.$/m);
    expect(await world.listedIds('st')).toHaveLength(1);
  }, 60_000);
});
