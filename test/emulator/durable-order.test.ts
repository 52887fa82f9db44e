/**
 * The order in which a data-dir emulator makes things durable. A power cut cannot be
 * staged here, so the real file system is watched instead (every call passes through):
 * each fsync, rename, journal write and unlink is recorded, and the order is what a power
 * cut at any point must find consistent.
 */
import {afterAll, beforeAll, describe, expect, jest, test} from '@jest/globals';
import * as fs from 'node:fs/promises';
import {tmpdir} from 'node:os';
import {join} from 'node:path';

const log: string[] = [];
jest.unstable_mockModule('node:fs/promises', () => {
  const open = async (path: string, flags?: string, mode?: number) => {
    const handle = await fs.open(path, flags, mode);
    const {sync, write} = handle;
    handle.sync = async () => {
      await sync.call(handle);
      log.push(`sync ${path}`);
    };
    handle.write = (async (...args: Parameters<typeof write>) => {
      const written = await (write as (...a: unknown[]) => Promise<unknown>).apply(handle, args);
      log.push(`write ${path}`);
      return written;
    }) as typeof write;
    return handle;
  };
  const rename = async (from: string, to: string) => {
    await fs.rename(from, to);
    log.push(`rename ${from} ${to}`);
  };
  const unlink = async (path: string) => {
    await fs.unlink(path);
    log.push(`unlink ${path}`);
  };
  return {...fs, default: {...fs, open, rename, unlink}, open, rename, unlink};
});
// after the mock: the emulator (and the helpers, which name it) load the watched fs
const {startEmulator} = await import('../../src/emulator/index.js');
const {api, authorizeRaw, raw, sha1, uploadRaw} = await import('./helpers.js');

let dir: string;
let emu: Awaited<ReturnType<typeof startEmulator>>;
/** The log of the first start, before any call. */
let startLog: string[];

beforeAll(async () => {
  dir = await fs.mkdtemp(join(tmpdir(), 'emu-order-'));
  emu = await startEmulator({port: 0, dataDir: dir});
  startLog = [...log];
});
afterAll(async () => {
  await emu.stop();
  await fs.rm(dir, {recursive: true, force: true});
});

/** What `run` did to the file system. */
async function recorded(run: () => Promise<unknown>): Promise<string[]> {
  const from = log.length;
  await run();
  return log.slice(from);
}

/** The recorded lines that are among `steps`, in the order they happened. */
function stepsIn(lines: string[], steps: string[]): string[] {
  return lines.filter((line) => steps.includes(line));
}

describe('data dir durability order', () => {
  test('an upload: blob fsynced, renamed into blobs/, blobs/ fsynced, and only then the journal entry that names it', async () => {
    const token = (await authorizeRaw(emu)).authorizationToken;
    const blobs = join(dir, 'blobs');
    const before = new Set(await fs.readdir(blobs));
    const url = (await api(emu, token, 'b2_get_upload_url', {bucketId: emu.bucketId})).json; // its token is journalled too: not in the record
    const upload = () => raw(url.uploadUrl, {method: 'POST', headers: {Authorization: url.authorizationToken, 'X-Bz-File-Name': 'a.txt', 'Content-Type': 'text/plain', 'X-Bz-Content-Sha1': sha1('a')}, body: 'a'});
    const lines = await recorded(async () => expect((await upload()).status).toBe(200));
    const ref = (await fs.readdir(blobs)).find((r) => !before.has(r))!;
    const tmpBlob = join(dir, 'tmp', ref);
    const journal = join(dir, 'journal.jsonl');
    const order = [`sync ${tmpBlob}`, `rename ${tmpBlob} ${join(blobs, ref)}`, `sync ${blobs}`, `write ${journal}`, `sync ${journal}`];
    expect(stepsIn(lines, order)).toEqual(order);
  });

  test('a deletion: the journal entry first, then the blob goes (a cut between leaves an orphan blob, cleaned at the next start)', async () => {
    const token = (await authorizeRaw(emu)).authorizationToken;
    const up = await uploadRaw(emu, token, emu.bucketId, 'b.txt', Buffer.from('b'));
    const ref = (await fs.readFile(join(dir, 'journal.jsonl'), 'utf8')).match(new RegExp(`"fileId":"${up.json.fileId}".*?"ref":"([0-9a-f]+)"`))![1];
    const journal = join(dir, 'journal.jsonl');
    const order = [`write ${journal}`, `sync ${journal}`, `unlink ${join(dir, 'blobs', ref)}`];
    expect(stepsIn(await recorded(() => api(emu, token, 'b2_delete_file_version', {fileId: up.json.fileId, fileName: 'b.txt'})), order)).toEqual(order);
  });

  test('a first start: blobs/ made durable; the snapshot fsynced, renamed, its directory fsynced, before the journal is emptied and its name made durable', () => {
    const state = join(dir, 'state.json');
    const journal = join(dir, 'journal.jsonl');
    const order = [`sync ${dir}`, `sync ${state}.tmp`, `rename ${state}.tmp ${state}`, `sync ${dir}`, `sync ${journal}`, `sync ${dir}`];
    expect(stepsIn(startLog, order).slice(0, order.length)).toEqual(order);
  });
});
