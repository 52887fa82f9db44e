import {describe, test, expect, beforeAll, afterAll} from '@jest/globals';
import {randomBytes} from 'node:crypto';
import {writeFile} from 'node:fs/promises';
import {join} from 'node:path';
import type {B2Backend} from '../../src/b2/index.js';
import type {BackupCatalog} from '../../src/backups/index.js';
import {api, authorizeRaw} from '../emulator/helpers.js';
import {killPoints, requestOf, startCrashLocation, type CrashLocation, type CrashWorld} from '../helpers/crash.js';
import {expectFailure, parseJson, sha1} from './helpers.js';

// SIGKILL a real `b2 delete` at seeded requests: the backup is listed whole or not at
// all at every kill (the archive goes first: what is left is at most the metadata file,
// which listings skip), and the same delete again finishes the job (every version of both
// files gone). Also: two uploads to one profile at once, and the upload checks that
// refuse spoofing names and short streams.

const PREFIX = 'del/';
const SEED = 1130;
const POINTS = 20;

let cw: CrashWorld;
let backend: B2Backend;
let catalog: BackupCatalog;
let foreignSurvived: () => Promise<void>;
const VARIANTS = ['metadata', 'archive', undefined] as const;
/** Requests of one complete delete of each variant (a second version of either file costs one more), learnt first. */
const requestsPerDelete: number[] = [];

const b2 = (args: string[], input?: string) => cw.world.b2([...args, '--profile', 'del'], {input});

/** Every version (uploads, hide markers, unfinished) of the names starting with `base`. */
async function versionsOf(base: string): Promise<string[]> {
  const auth = await authorizeRaw(cw.emu);
  const r = await api(cw.emu, auth.authorizationToken, 'b2_list_file_versions', {bucketId: cw.emu.bucketId, prefix: PREFIX + base, maxFileCount: 1000});
  return (r.json.files as {fileName: string; action: string}[]).map((f) => `${f.action} ${f.fileName}`);
}

/** A backup of ours; `twice` stores a second version of its metadata file or of its archive (a retried put). */
async function makeBackup(name: string, twice?: 'metadata' | 'archive') {
  const up = await catalog.upload(randomBytes(2000), {name});
  const again = twice === 'metadata' ? up.metadataKey : twice === 'archive' ? up.archiveKey : undefined;
  if (again) {
    const {info, stream} = await backend.get(again);
    await backend.put(again, Buffer.concat(await stream.toArray()), {metadata: info.metadata, contentType: info.contentType});
  }
  return up;
}

let location: CrashLocation;
beforeAll(async () => {
  location = await startCrashLocation('del', PREFIX);
  ({cw, backend, catalog, foreignSurvived} = location);
  // the first listing of the location makes a call more than the next ones (it fills the CLI's cache of the location):
  // done by the commands' own code in this process (the same cache), so that no delete counted pays it
  await cw.world.listedIds('del');
  for (const twice of VARIANTS) {
    const up = await makeBackup('calibration', twice);
    const first = await cw.run(['delete', up.id, '--yes', '--profile', 'del'], () => undefined);
    expect(first.result.code).toBe(0);
    requestsPerDelete.push(first.calls.length);
  }
}, 60_000);

afterAll(() => location?.close());

const points = killPoints(SEED, POINTS);
/** What each kill left (CRASH_SUMMARY=1 prints it at the end). */
const outcomes: string[] = [];

describe(`SIGKILL during delete at ${POINTS} request counts drawn with seed ${SEED}`, () => {
  test.each(points)('kill point $i', async (point) => {
    const i = point.i;
    const up = await makeBackup(`del-${i}`, VARIANTS[i % 3]);
    const base = up.archiveKey.replace(/\.tar$/, '');
    const k = requestOf(point, POINTS, requestsPerDelete[i % 3]);
    const killed = await cw.killAt(['delete', up.id, '--yes', '--profile', 'del'], k);
    expect({k, killed: killed.killed, signal: killed.result.signal}).toEqual({k, killed: true, signal: 'SIGKILL'});

    // listed whole (and intact), or not at all
    const listed = (await catalog.list()).filter((b) => b.id === up.id);
    const archiveLeft = (await backend.stat(up.archiveKey)) !== undefined;
    const metadataLeft = (await backend.stat(up.metadataKey)) !== undefined;
    expect({listed: listed.length > 0}).toEqual({listed: archiveLeft && metadataLeft});
    if (listed.length > 0) expect(await catalog.verify(up.id)).toMatchObject({ok: true, sha1: up.sha1});
    outcomes.push(`k=${k}/${requestsPerDelete[i % 3]}: ${listed.length ? 'still listed' : metadataLeft ? 'metadata without archive' : archiveLeft ? 'archive without metadata' : 'gone'}`);

    // the same delete again finishes the job, whatever was left
    const again = await b2(['delete', up.id, '--yes', '--json']);
    if (archiveLeft || metadataLeft) {
      expect(again.code).toBe(0);
      expect(parseJson(again)).toMatchObject({deleted: {id: up.id}, complete: listed.length > 0});
    } else {
      expectFailure(again, 4, new RegExp(`no backup with id ${up.id}`), cw.world.secrets);
    }
    expect(await versionsOf(base)).toEqual([]);
  }, 60_000);

  test('files that are not ours survived every kill and rerun', async () => {
    await foreignSurvived();
    if (process.env.CRASH_SUMMARY) console.log(outcomes.join('\n'));
  });
});

describe('SIGKILL while cleanup decides about an orphan archive it hid', () => {
  /** An archive of ours without its metadata file (an interrupted upload's); the metadata file's bytes and info, to bring it back. */
  async function orphan(name: string) {
    const up = await makeBackup(name);
    const {info, stream} = await backend.get(up.metadataKey);
    const metadataFile = {bytes: Buffer.concat(await stream.toArray()), metadata: info.metadata, contentType: info.contentType};
    await backend.delete(up.metadataKey);
    return {up, base: up.archiveKey.replace(/\.tar$/, ''), metadataFile};
  }
  const cleanup = (extra: string[] = []) => b2(['cleanup', '--older-than', '0s', '--json', ...extra]);
  const deletedIds = (r: Awaited<ReturnType<typeof b2>>) => parseJson<{deleted: Array<{id: string; key: string}>}>(r).deleted.map((d) => d.id);

  /** Runs `b2 cleanup`, SIGKILLed at its first request after its b2_hide_file (that hid the archive). */
  async function killedAfterItsHide() {
    let hid = false;
    const killed = await cw.run(['cleanup', '--older-than', '0s', '--profile', 'del'], (call, _n, kill) => {
      if (hid) return kill();
      hid = call === 'b2_hide_file';
    });
    expect({hid, killed: killed.killed, signal: killed.result.signal}).toEqual({hid: true, killed: true, signal: 'SIGKILL'});
  }

  test('killed after its hide: the archive is left hidden; the next cleanup deletes it (the dry run first says so, changing nothing)', async () => {
    const {up, base} = await orphan('hidden-then-killed');
    await killedAfterItsHide();
    const hidden = [`hide ${PREFIX}${up.archiveKey}`, `upload ${PREFIX}${up.archiveKey}`];
    expect(await versionsOf(base)).toEqual(hidden); // seen by no listing: no later cleanup could find it by listing

    const dry = await cleanup(['--dry-run']);
    expect(dry.code).toBe(0);
    expect(deletedIds(dry)).toContain(up.id);
    expect(await versionsOf(base)).toEqual(hidden);

    const again = await cleanup();
    expect(again.code).toBe(0);
    expect(parseJson<{deleted: Array<{id: string; key: string}>}>(again).deleted).toContainEqual(expect.objectContaining({id: up.id, key: up.archiveKey}));
    expect(await versionsOf(base)).toEqual([]);
    expect(deletedIds(await cleanup())).not.toContain(up.id); // its record went with it
  }, 60_000);

  test('killed after its hide, while the metadata file came meanwhile: the next cleanup unhides the archive and the backup is whole', async () => {
    const {up, base, metadataFile} = await orphan('hidden-then-came');
    await killedAfterItsHide();
    await backend.put(up.metadataKey, metadataFile.bytes, {metadata: metadataFile.metadata, contentType: metadataFile.contentType});
    expect((await catalog.list()).map((b) => b.id)).not.toContain(up.id); // its archive is hidden

    const again = await cleanup();
    expect(again.code).toBe(0);
    expect(deletedIds(again)).not.toContain(up.id);
    // kept as part of a whole backup, not as one --older-than kept (0s here)
    expect(parseJson<{kept: number; whole: unknown[]}>(again)).toMatchObject({kept: 0, whole: [expect.objectContaining({key: up.archiveKey, id: up.id, otherKey: up.metadataKey})]});
    expect((await catalog.list()).map((b) => b.id)).toContain(up.id);
    expect(await catalog.verify(up.id)).toMatchObject({ok: true, sha1: up.sha1});
    expect((await versionsOf(base)).sort()).toEqual([`upload ${PREFIX}${up.metadataKey}`, `upload ${PREFIX}${up.archiveKey}`]);
    await catalog.delete(up.id);
  }, 60_000);
});

describe('two uploads to one profile at once', () => {
  test('different files, and the same file under the same name: every run succeeds and its backup verifies', async () => {
    const files = await Promise.all(['a', 'b'].map(async (n) => {
      const path = join(cw.world.dir, `${n}.tar`);
      const data = randomBytes(5_000_000 + 4000); // two parts: the multi-part path
      await writeFile(path, data);
      return {path, sha1: sha1(data)};
    }));
    const runs = [
      {file: files[0], name: 'first'},
      {file: files[1], name: 'second'},
      {file: files[0], name: 'same'},
      {file: files[0], name: 'same'},
    ];
    const results = await Promise.all(runs.map((r) => b2(['upload', r.file.path, '--name', r.name, '--json'])));
    for (const r of results) expect({code: r.code, stderr: r.stderr}).toEqual({code: 0, stderr: ''});
    const made = results.map((r) => parseJson<{id: string; sha1: string; name: string}>(r));
    expect(made.map((m) => m.sha1)).toEqual(runs.map((r) => r.file.sha1));
    expect(new Set(made.map((m) => m.id)).size).toBe(4);
    for (const m of made) expect(await catalog.verify(m.id)).toMatchObject({ok: true, sha1: m.sha1});
    expect((await catalog.list()).map((b) => b.id).sort()).toEqual(made.map((m) => m.id).sort());
    expect(await catalog.cleanup({olderThanMs: 0, dryRun: true})).toMatchObject({cancelled: [], deleted: []});
    for (const m of made) await catalog.delete(m.id);
  }, 120_000);
});

describe('upload input that would store something false', () => {
  test('a name with a text-direction control: one line naming the character, exit 2, nothing sent', async () => {
    const path = join(cw.world.dir, 'small.tar');
    await writeFile(path, 'small');
    const before = cw.emu.stats().calls;
    const r = await b2(['upload', path, '--name', 'invoice\u202Erat.exe']);
    expectFailure(r, 2, /^Error: invalid backup name "invoice\\u\{202e\}rat\.exe": contains U\+202E, an invisible or text-direction control character/, cw.world.secrets);
    expect(r.stderr).not.toContain('\u202E');
    expect(cw.emu.stats().calls).toEqual(before); // refused before connecting
  });

  test.each([
    ['shorter', 1000],
    ['longer', 3000],
  ])('stdin %s than --expect-size: exit 5, one line, nothing stored or left unfinished', async (_what, length) => {
    const r = await b2(['upload', '-', '--name', 'piped', '--expect-size', '2000'], 'x'.repeat(length));
    expectFailure(r, 5, /^Error: the archive stream failed verification: got .*bytes, expected 2000; its producer may have failed; nothing was stored$/, cw.world.secrets);
    expect((await catalog.list()).filter((b) => b.name === 'piped')).toEqual([]);
    expect(await catalog.cleanup({olderThanMs: 0, dryRun: true})).toMatchObject({cancelled: [], deleted: []});
  });

  test('stdin of exactly --expect-size is a backup; --expect-size with a file is refused (exit 2)', async () => {
    const ok = await b2(['upload', '-', '--name', 'piped', '--expect-size', '2000', '--json'], 'y'.repeat(2000));
    expect(ok.code).toBe(0);
    const made = parseJson<{id: string; size: number}>(ok);
    expect(made.size).toBe(2000);
    await catalog.delete(made.id);
    const bad = await b2(['upload', join(cw.world.dir, 'small.tar'), '--expect-size', '5']);
    expectFailure(bad, 2, /--expect-size is for an upload from stdin/, cw.world.secrets);
  });
});
