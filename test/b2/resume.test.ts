import {describe, test, expect, beforeAll, afterAll} from '@jest/globals';
import {execFile, spawn} from 'node:child_process';
import {symlink, writeFile} from 'node:fs/promises';
import {join, resolve} from 'node:path';
import {promisify} from 'node:util';
import {readAll} from '../../src/body.js';
import type {B2Backend} from '../../src/b2/index.js';
import {isBackupError} from '../../src/errors.js';
import type {RunningEmulator} from '../../src/emulator/index.js';
import {libraryClient} from '../emulator/helpers.js';
import {confirmed, openBackend, type PartsFixture, sha1, startPartsFixture, unfinishedCount} from './helpers.js';

const PART = 64 * 1024;
const PARTS = 24;
const SIZE = PARTS * PART - 999;
const repo = resolve('.');


/** Parts the server holds for the one unfinished large file under the prefix. */
async function serverParts(emu: RunningEmulator, backend: B2Backend): Promise<number> {
  const unfinished = [];
  for await (const u of backend.listUnfinished()) unfinished.push(u);
  expect(unfinished.length).toBe(1);
  const b2 = await libraryClient(emu);
  const res = await b2.listParts({fileId: unfinished[0].fileId, startPartNumber: 1, maxPartCount: 1000});
  return res.data.parts.length;
}

/**
 * A part whose bytes had all arrived may still be stored after its client went away (as
 * on B2): count once the server has settled the requests that were in flight.
 */
async function settledParts(emu: RunningEmulator, backend: B2Backend): Promise<number> {
  let parts = -1;
  for (let same = 0; same < 3; ) {
    await new Promise((r) => setTimeout(r, 200));
    const now = await serverParts(emu, backend);
    same = now === parts ? same + 1 : 0;
    parts = now;
  }
  return parts;
}

describe('resuming an unfinished large file', () => {
  let emu: RunningEmulator;
  let dir: string;
  let path: string;
  let data: Buffer;

  let fixture: PartsFixture;
  beforeAll(async () => {
    fixture = await startPartsFixture({tag: 'resume', part: PART, size: SIZE, fileName: 'big.bin'});
    ({emu, dir, path, data} = fixture);
  });
  afterAll(() => fixture?.stop());

  async function resumeAndVerify(key: string, partsOnServer: number) {
    const backend = await openBackend(emu, {uploadCutoff: 100_000, partSize: PART, concurrency: 2});
    emu.faults.clear();
    emu.resetStats();
    const info = await backend.put(key, {path});
    const stats = emu.stats();
    expect(stats.calls.b2_start_large_file ?? 0).toBe(0);
    expect(stats.calls.b2_list_parts).toBe(1);
    expect(stats.calls.b2_upload_part).toBe(PARTS - partsOnServer);
    expect(stats.calls.b2_finish_large_file).toBe(1);
    expect(info.sha1).toBe(sha1(data));
    expect(sha1(await readAll((await backend.get(key)).stream))).toBe(sha1(data));
    expect(await unfinishedCount(backend)).toBe(0);
  }

  test('after an abort in the same process, a re-run uploads only the missing parts', async () => {
    const backend = await openBackend(emu, {uploadCutoff: 100_000, partSize: PART, concurrency: 2});
    emu.faults.add({call: 'b2_upload_part', latencyMs: 20});
    const ctl = new AbortController();
    const err = await backend.put('resume/aborted.bin', {path}, {signal: ctl.signal, onProgress: (p) => confirmed(p) >= 6 * PART && ctl.abort()}).catch((e) => e);
    expect(isBackupError(err, 'aborted')).toBe(true);
    const parts = await settledParts(emu, backend);
    expect(parts).toBeGreaterThanOrEqual(6);
    expect(parts).toBeLessThan(PARTS);
    await resumeAndVerify('resume/aborted.bin', parts);
  });

  test('a changed file is not resumed onto the old parts, which (named an earlier attempt of this put) are cancelled once it is stored (no run could use them)', async () => {
    const backend = await openBackend(emu, {uploadCutoff: 100_000, partSize: PART, concurrency: 2});
    emu.faults.add({call: 'b2_upload_part', latencyMs: 20});
    const ctl = new AbortController();
    await backend.put('resume/changed.bin', {path}, {signal: ctl.signal, onProgress: (p) => confirmed(p) >= 4 * PART && ctl.abort()}).catch(() => undefined);
    emu.faults.clear();
    const other = Buffer.from(data);
    other[0] ^= 0xff;
    const otherPath = join(dir, 'other.bin');
    await writeFile(otherPath, other);
    emu.resetStats();
    // the caller (the catalog, from its record of the interrupted run) says the name's unfinished upload is its own
    const info = await backend.put('resume/changed.bin', {path: otherPath}, {replaces: ['resume/changed.bin']});
    expect(info.sha1).toBe(sha1(other));
    expect(emu.stats().calls.b2_start_large_file).toBe(1);
    expect(emu.stats().calls.b2_upload_part).toBe(PARTS);
    expect(info.superseded).toEqual([{key: 'resume/changed.bin', parts: expect.any(Number), bytes: expect.any(Number), why: 'content', partSize: PART}]);
    expect(emu.stats().calls.b2_cancel_large_file).toBe(1);
    expect(await unfinishedCount(backend)).toBe(0);
  });

  test('after the uploading process is killed with SIGKILL, a second run uploads only the missing parts', async () => {
    // The child runs the provider compiled from src/ (ts-jest compiles tests only).
    const out = join(dir, 'child');
    await writeFile(join(dir, 'tsconfig.json'), JSON.stringify({
      extends: join(repo, 'tsconfig.json'),
      compilerOptions: {outDir: out, rootDir: repo, noEmitOnError: false, declaration: false, sourceMap: false},
      files: [join(repo, 'src/b2/index.ts'), join(repo, 'src/b2/backblaze-b2.d.ts')],
      include: [],
    }));
    await promisify(execFile)(join(repo, 'node_modules/.bin/tsc'), ['-p', join(dir, 'tsconfig.json')]).catch((e) => {
      // JS is emitted regardless; only errors in the provider itself matter here
      if (String(e.stdout).includes('src/b2/')) throw e;
    });
    await writeFile(join(out, 'package.json'), '{"type": "module"}');
    await symlink(join(repo, 'node_modules'), join(out, 'node_modules'));
    const script = join(out, 'upload.mjs');
    await writeFile(script, `
      import {B2Backend} from './src/b2/index.js';
      const [url, keyId, applicationKey, bucket, path, partSize] = process.argv.slice(2);
      const b = await B2Backend.open({keyId, applicationKey, bucket, prefix: 'backups/', endpoint: url, partSize: Number(partSize), uploadCutoff: 100000, concurrency: 2});
      await b.put('resume/killed.bin', {path}, {onProgress: (p) => p.phase === 'transfer' && process.stdout.write('loaded ' + (p.loaded - p.inFlight) + '\\n')});
      process.stdout.write('done\\n');
    `);
    emu.faults.add({call: 'b2_upload_part', latencyMs: 40});
    const child = spawn(process.execPath, [script, emu.url, emu.keyId, emu.applicationKey, emu.bucket, path, String(PART)], {stdio: ['ignore', 'pipe', 'inherit']});
    const killed = await new Promise<boolean>((done) => {
      let buffered = '';
      child.stdout.on('data', (chunk: Buffer) => {
        buffered += chunk.toString();
        const loaded = Math.max(0, ...[...buffered.matchAll(/loaded (\d+)/g)].map((m) => Number(m[1])));
        if (loaded >= 8 * PART && child.exitCode === null && !child.killed) child.kill('SIGKILL');
      });
      child.on('exit', (_code, signal) => done(signal === 'SIGKILL'));
    });
    expect(killed).toBe(true);
    const probe = await openBackend(emu);
    const parts = await settledParts(emu, probe);
    expect(parts).toBeGreaterThanOrEqual(8);
    expect(parts).toBeLessThan(PARTS);
    await resumeAndVerify('resume/killed.bin', parts);
  }, 120_000);
});
