import {afterAll, beforeAll, describe, expect, test} from '@jest/globals';
import {randomBytes} from 'node:crypto';
import {writeFile} from 'node:fs/promises';
import {join} from 'node:path';
import {api, authorizeRaw} from '../emulator/helpers.js';
import {FaultAt} from '../helpers/fault-at.js';
import {calls, E2EWorld, expectFailure, parseJson, until} from './helpers.js';

// A stop (SIGTERM, Ctrl-C) that lands just as B2 carries out the call that stores the file
// (b2_finish_large_file, or the b2_upload_file of a small one): B2 stored it, the CLI never
// read the answer. The emulator carries such a call out and holds its answer
// (answerLatencyMs) until the CLI leaves; the test signals once it sees the file stored.
// An upload from stdin cannot resume: what B2 stored of it goes, and the line says so, or
// says truthfully what remains and how to remove it. A copy's finished archive copy is
// what the same copy run again completes.

const PART = 5_000_000;
/** The stop-or-store call's answer, held until the CLI leaves. */
const HELD = {count: 1, answerLatencyMs: 600_000};
/** A key without deleteFiles: B2 refuses every delete. */
const DELETE_REFUSED = {call: 'b2_delete_file_version', status: 401, code: 'unauthorized', message: 'not allowed to delete'};
const NOTHING_STORED = /^Error: upload interrupted; nothing was stored \(an upload from stdin cannot resume: run it again to upload from the start\)$/;

let world: E2EWorld;
const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const faultAt = new FaultAt();

interface Version {
  fileId: string;
  fileName: string;
  action: string;
}

/** Every version (uploads, unfinished large files) whose name starts with `prefix`. */
async function versions(prefix: string): Promise<Version[]> {
  const auth = await authorizeRaw(world.emu);
  return (await api(world.emu, auth.authorizationToken, 'b2_list_file_versions', {bucketId: world.emu.bucketId, prefix, maxFileCount: 1000})).json.files;
}

/**
 * Runs `args` with the answer of the `nth` (default: first) `call` held once B2 carried it
 * out, sends SIGTERM once a finished version under `prefix` exists, and answers how the run ended.
 */
async function stopOnceStored(args: string[], call: string, prefix: string, input?: Buffer, nth = 1): Promise<{code: number; stdout: string; stderr: string}> {
  faultAt.arm(world.emu, call, nth, {call, ...HELD});
  const run = world.spawn(args, {input});
  await until(async () => ((await versions(prefix)).some((v) => v.action === 'upload') ? true : undefined), `B2 to store a file under ${prefix}`);
  run.child.kill('SIGTERM');
  const done = await run.done;
  faultAt.clear(world.emu);
  return {code: done.code ?? -1, stdout: done.stdout.toString(), stderr: done.stderr};
}

beforeAll(async () => {
  world = await E2EWorld.start({onRequest: faultAt.onRequest});
  const key = await world.createKey();
  // parts of 5 MB: a 10 MB archive is a large file (and a large copy: copies up to the part size go whole)
  await world.addProfile('stdin', {...key, prefix: 'stdin/', partSize: '5MB', concurrency: 1});
  await world.addProfile('home', {...key, prefix: 'home/', partSize: '5MB'});
  await world.addProfile('offsite', {...key, prefix: 'offsite/', partSize: '5MB'});
});

afterAll(async () => {
  world?.emu.faults.clear();
  await world?.close();
});

describe('an upload from stdin stopped as B2 stores it', () => {
  test('a large one, stopped as B2 finishes it: the finished archive is deleted, so "nothing was stored" is true', async () => {
    const r = await stopOnceStored(['upload', '-', '--name', 'finished', '--profile', 'stdin'], 'b2_finish_large_file', 'stdin/finished_', randomBytes(2 * PART + 1000));
    expectFailure(r, 143, NOTHING_STORED, world.secrets);
    expect(await versions('stdin/finished_')).toEqual([]);
  });

  // the profile's key may not delete it, so neither may a cleanup with that key
  test('a large one whose finished archive the key may not delete: the line says it remains, whole, and what can remove it', async () => {
    world.emu.faults.add(DELETE_REFUSED);
    const r = await stopOnceStored(['upload', '-', '--name', 'undeleted', '--profile', 'stdin'], 'b2_finish_large_file', 'stdin/undeleted_', randomBytes(2 * PART + 1000));
    const [left] = await versions('stdin/undeleted_');
    expect(left).toMatchObject({action: 'upload', fileName: expect.stringMatching(/^stdin\/undeleted_\S+\.tar$/)});
    const line = new RegExp(`^Error: upload interrupted; ${escape(left.fileName)} remains, whole \\(file id ${left.fileId}\\): B2 finished it as the upload was stopped, and deleting it failed \\(401 unauthorized\\); the key of profile stdin may not delete it, nor can a cleanup with that key: delete it in the B2 web console, or run "backup-b2 b2 cleanup --config \\S+ --profile stdin" with a key that has deleteFiles once it is 24 hours old \\(cleanup's default --older-than\\)$`);
    expectFailure(r, 143, line, world.secrets);
    const auth = await authorizeRaw(world.emu);
    await api(world.emu, auth.authorizationToken, 'b2_delete_file_version', {fileId: left.fileId, fileName: left.fileName});
  });

  test('a small one (one b2_upload_file), stopped as B2 stores it: the stored archive is deleted, so "nothing was stored" is true', async () => {
    const r = await stopOnceStored(['upload', '-', '--name', 'small', '--profile', 'stdin'], 'b2_upload_file', 'stdin/small_', randomBytes(1000));
    expectFailure(r, 143, NOTHING_STORED, world.secrets);
    expect(await versions('stdin/small_')).toEqual([]);
  });

  test('stopped once its whole body was sent but before B2 stored it: B2 may still store it after the CLI looked, so the line says it may remain, not "nothing was stored"', async () => {
    // held BEFORE it is carried out: B2 has the body, has not stored it yet, and the CLI leaves
    faultAt.arm(world.emu, 'b2_upload_file', 1, {call: 'b2_upload_file', count: 1, latencyMs: 600_000});
    const asked = calls(world.emu, 'b2_upload_file');
    const run = world.spawn(['upload', '-', '--name', 'pending', '--profile', 'stdin'], {input: randomBytes(1000)});
    await until(async () => (calls(world.emu, 'b2_upload_file') > asked ? true : undefined), 'the archive\'s b2_upload_file');
    run.child.kill('SIGTERM');
    const done = await run.done;
    faultAt.clear(world.emu);
    expectFailure({code: done.code ?? -1, stdout: done.stdout.toString(), stderr: done.stderr}, 143, /^Error: upload interrupted; stdin\/pending_\S+\.tar may remain \(B2 had all of it when the upload was stopped and may store it after this looked\): run "backup-b2 b2 cleanup --config \S+ --profile stdin" to remove it once it is 24 hours old \(cleanup's default --older-than\)$/, world.secrets);
  });

  // the archive is stored; the run's second b2_upload_file is its metadata file's
  test('stopped as B2 stores its metadata file: the archive and that metadata file are both deleted, so "nothing was stored" is true', async () => {
    const r = await stopOnceStored(['upload', '-', '--name', 'described', '--profile', 'stdin'], 'b2_upload_file', 'stdin/described_', randomBytes(1000), 2);
    expectFailure(r, 143, NOTHING_STORED, world.secrets);
    expect(await versions('stdin/described_')).toEqual([]);
  });

  test('stopped as B2 stores its metadata file, and B2 refuses the key the delete of that file only: the archive goes, the line says the metadata file remains and what can remove it', async () => {
    world.emu.faults.add({...DELETE_REFUSED, count: 1}); // the metadata file goes first
    const r = await stopOnceStored(['upload', '-', '--name', 'half', '--profile', 'stdin'], 'b2_upload_file', 'stdin/half_', randomBytes(1000), 2);
    const left = await versions('stdin/half_');
    expect(left.map((v) => v.fileName)).toEqual([expect.stringMatching(/^stdin\/half_\S+\.metadata\.json$/)]);
    const line = new RegExp(`^Error: upload interrupted; ${escape(left[0].fileName.slice('stdin/'.length))} remains \\(removing it failed: 401 unauthorized\\): the key of profile stdin may not delete it, nor can a cleanup with that key: delete it in the B2 web console, or run "backup-b2 b2 cleanup --config \\S+ --profile stdin" with a key that has deleteFiles once it is 24 hours old \\(cleanup's default --older-than\\)$`);
    expectFailure(r, 143, line, world.secrets);
    const auth = await authorizeRaw(world.emu);
    await api(world.emu, auth.authorizationToken, 'b2_delete_file_version', {fileId: left[0].fileId, fileName: left[0].fileName});
  });

  // the key may not delete them, so neither may a delete with that key
  test('stopped as B2 stores its metadata file, and B2 will not delete either file: the line says the backup may be whole and names its delete (cleanup never removes a whole backup)', async () => {
    world.emu.faults.add(DELETE_REFUSED);
    const r = await stopOnceStored(['upload', '-', '--name', 'stuck', '--profile', 'stdin'], 'b2_upload_file', 'stdin/stuck_', randomBytes(1000), 2);
    const left = await versions('stdin/stuck_');
    expect(left.map((v) => v.fileName).sort()).toEqual([expect.stringMatching(/^stdin\/stuck_\S+\.metadata\.json$/), expect.stringMatching(/^stdin\/stuck_\S+\.tar$/)]);
    // the catalog names its files by key (under the profile's prefix), as its other lines do
    const refused = (name: string) => `${escape(name.slice('stdin/'.length))}: removing it failed: 401 unauthorized`;
    const [archive, metadataFile] = [left.find((v) => v.fileName.endsWith('.tar'))!, left.find((v) => v.fileName.endsWith('.json'))!];
    const line = new RegExp(`^Error: upload interrupted; backup ([0-9a-f]+) may be stored whole \\(its metadata file was sent as the upload was stopped; ${refused(metadataFile.fileName)}; ${refused(archive.fileName)}\\): the key of profile stdin may not delete it, nor can a delete with that key: delete it in the B2 web console, or run "backup-b2 b2 delete \\1 --yes --config \\S+ --profile stdin" with a key that has deleteFiles$`);
    expectFailure(r, 143, line, world.secrets);
    // it is a whole backup: list shows it, under the id the line names
    const id = line.exec(r.stderr.trim())![1];
    expect(parseJson<{id: string}[]>(await world.b2(['list', '--json', '--profile', 'stdin'])).map((b) => b.id)).toContain(id);
    const auth = await authorizeRaw(world.emu);
    for (const v of left) await api(world.emu, auth.authorizationToken, 'b2_delete_file_version', {fileId: v.fileId, fileName: v.fileName});
  });
});

test('a copy in parts stopped as B2 finishes its archive copy: "run the same command again" is true, and that run copies only the metadata file', async () => {
  await writeFile(join(world.dir, 'big.tar'), randomBytes(2 * PART + 1000));
  const up = await world.b2(['upload', join(world.dir, 'big.tar'), '--name', 'big', '--json', '--profile', 'home']);
  expect(up.code).toBe(0);
  const {id} = parseJson<{id: string}>(up);
  const copy = ['copy', id, '--to', 'offsite', '--profile', 'home'];
  const r = await stopOnceStored(copy, 'b2_finish_large_file', 'offsite/big_');
  expectFailure(r, 143, /^Error: copy interrupted; run the same command again to finish it \(it copies only what is missing\)$/, world.secrets);
  const parts = calls(world.emu, 'b2_copy_part');
  const again = await world.b2([...copy, '--json']);
  expect(again.code).toBe(0);
  expect(parseJson(again)).toMatchObject({to: 'offsite', copied: {id}, copiedFiles: [expect.stringMatching(/\.metadata\.json$/)]});
  expect(calls(world.emu, 'b2_copy_part')).toBe(parts);
});

test('no run printed an application key', () => {
  world.expectNoSecretInAnyRun();
});
