import {describe, test, expect, beforeAll, afterAll} from '@jest/globals';
import {randomBytes} from 'node:crypto';
import {readFile, writeFile} from 'node:fs/promises';
import {join} from 'node:path';
import {E2EWorld, expectFailure, parseJson, sha1} from './helpers.js';

// What `download` says it checked is what it checked: "sha1 … verified" only when a SHA1
// was on record; for an archive streamed up without one (Home Assistant's large files)
// only the size could be compared, and it says so in the words of `verify`.

const PREFIX = 'home/';
let world: E2EWorld;

beforeAll(async () => {
  world = await E2EWorld.start();
  const key = await world.createKey();
  await world.addProfile('home', {...key, prefix: PREFIX, partSize: '5MB'});
});

afterAll(async () => {
  await world?.close();
});

describe('download reports what it compared', () => {
  test('an archive with no SHA1 on record: size checked, "no checksum was recorded", never "verified"', async () => {
    const data = randomBytes(300_000);
    const base = 'Automatic_backup_2026.4.1_2026-04-08_04.57_43001930';
    const meta = {metadata_version: '1', backup_id: 'ha0c0ffe', backup_metadata: {addons: [], backup_id: 'ha0c0ffe', date: '2026-04-08T04:57:43.001930+02:00', database_included: true, extra_metadata: {}, folders: [], homeassistant_included: true, homeassistant_version: '2026.4.1', name: 'Automatic backup 2026.4.1', protected: false, size: data.length}};
    // as HA's integration streams it up: a large file whose SHA1 nobody recorded
    await world.emu.putFiles(world.emu.bucket, [
      {fileName: `${PREFIX}${base}.tar`, data, contentType: 'application/x-tar', partSize: 100_000},
      {fileName: `${PREFIX}${base}.metadata.json`, data: Buffer.from(JSON.stringify(meta)), contentType: 'application/json', fileInfo: {metadata_only: 'true'}},
    ]);
    const verify = await world.b2(['verify', 'ha0c0ffe', '--profile', 'home']);
    expect(verify.stdout).toMatch(/no checksum was recorded/); // the premise: nothing to compare the SHA1 with

    const r = await world.b2(['download', 'ha0c0ffe', '-o', 'ha.tar', '--profile', 'home']);
    expect(r.code).toBe(0);
    expect(sha1(await readFile(join(world.dir, 'ha.tar')))).toBe(sha1(data));
    expect(r.stderr).not.toMatch(/verified/);
    expect(r.stderr).toMatch(new RegExp(`^Downloaded backup .* to ha\\.tar \\(293 KiB, size checked; no checksum was recorded for this archive, its SHA1 is ${sha1(data)}\\)$`, 'm'));
  });

  test('an archive with its SHA1 on record: "sha1 … verified"', async () => {
    const data = randomBytes(1000);
    await writeFile(join(world.dir, 'ours.tar'), data);
    const up = parseJson<{id: string}>(await world.b2(['upload', join(world.dir, 'ours.tar'), '--name', 'ours', '--json', '--profile', 'home']));
    const r = await world.b2(['download', up.id, '-o', 'ours-back.tar', '--profile', 'home']);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(new RegExp(`^Downloaded backup "ours" to ours-back\\.tar \\(1000 B, sha1 ${sha1(data)} verified\\)$`, 'm'));
  });
});

describe('an archive of ours whose SHA1 is on record only in its metadata file, which cannot be read', () => {
  // streamed up in parts, its SHA1 was known only at the end: the metadata file is its one record
  let data: Buffer;
  let up: {id: string; metadataKey: string};
  beforeAll(async () => {
    data = randomBytes(6 * 1024 * 1024);
    up = parseJson(await world.spawn(['upload', '-', '--name', 'streamed', '--json', '--profile', 'home'], {input: data}).done.then((r) => ({...r, code: r.code ?? -1, stdout: r.stdout.toString()})));
    await world.emu.putFiles(world.emu.bucket, [{fileName: `${PREFIX}${up.metadataKey}`, data: Buffer.from('{"metadata_version": "1"}'), contentType: 'application/json'}]);
  });

  test('verify fails (exit 5): a checksum was recorded and could not be compared, so the archive is not "OK"', async () => {
    const r = await world.b2(['verify', up.id, '--profile', 'home']);
    expectFailure(r, 5, new RegExp(`^Error: backup ${up.id} cannot be verified: its SHA1 was recorded in its metadata file, which cannot be read`), world.secrets);
    expect(r.stdout).toMatch(new RegExp(`^FAILED backup ${up.id} \\(streamed\\), 6\\.0 MiB: its SHA1 was recorded in its metadata file, which cannot be read; its SHA1 is ${sha1(data)}$`, 'm'));
    expect(r.stdout).not.toMatch(/no checksum was recorded/);
  });

  test('download writes it, saying that the record could not be read, not that there was none', async () => {
    const r = await world.b2(['download', up.id, '-o', 'streamed.tar', '--profile', 'home']);
    expect(r.code).toBe(0);
    expect(sha1(await readFile(join(world.dir, 'streamed.tar')))).toBe(sha1(data));
    expect(r.stderr).not.toMatch(/no checksum was recorded|verified/);
    expect(r.stderr).toMatch(new RegExp(`^Downloaded backup "streamed" to streamed\\.tar \\(6\\.0 MiB, size checked; its SHA1 was recorded in its metadata file, which cannot be read; its SHA1 is ${sha1(data)}\\)$`, 'm'));
  });
});

test('no run printed an application key', () => {
  world.expectNoSecretInAnyRun();
});
