/** A --data-dir emulator keeps keys, buckets, files and unfinished large files across restarts. */
import {afterAll, beforeAll, describe, expect, test} from '@jest/globals';
import {appendFile, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile} from 'node:fs/promises';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {ChildProcess, execFile, spawn} from 'node:child_process';
import {promisify} from 'node:util';
import {fileURLToPath} from 'node:url';
import {RunningEmulator, startEmulator} from '../../src/emulator/index.js';
import {api, authorizeRaw, bytes, raw, sha1, uploadRaw} from './helpers.js';
import {cleanEnv} from '../helpers/host-cli.js';

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'emu-data-'));
});
afterAll(async () => {
  await rm(dir, {recursive: true, force: true});
});

/**
 * `b2 emulator --data-dir sub` as a child process (its file size limit can be set, and it
 * can be killed like a crash); `shellSetup` runs in its shell first (e.g. a ulimit).
 */
async function startEmulatorProcess(sub: string, shellSetup = ''): Promise<{emu: RunningEmulator; child: ChildProcess; exited: Promise<unknown>}> {
  const cli = join(fileURLToPath(import.meta.url), '..', '..', '..', 'bin', 'run.js');
  const child = spawn('/bin/sh', ['-c', `${shellSetup}exec "$0" "$@"`, process.execPath, cli, 'b2', 'emulator', '--port', '0', '--json', '--data-dir', sub],
    {env: {...cleanEnv(), NODE_DISABLE_COMPILE_CACHE: '1'}, stdio: ['ignore', 'pipe', 'inherit']});
  const exited = new Promise((resolve) => child.on('exit', resolve));
  let out = '';
  const started = await new Promise<any>((resolve, reject) => {
    child.stdout!.on('data', (d) => {
      out += d;
      if (out.includes('\n')) resolve(JSON.parse(out.split('\n')[0]));
    });
    child.on('exit', () => reject(new Error(`emulator exited before it started: ${out}`)));
  });
  const emu = {url: started.url ?? started.endpoint, keyId: started.keyId, applicationKey: started.applicationKey} as RunningEmulator;
  return {emu, child, exited};
}

/** Every stored version of a bucket as "<action> <name> <fileId>". */
async function versions(emu: RunningEmulator, token: string, bucketId: string): Promise<string[]> {
  const r = await api(emu, token, 'b2_list_file_versions', {bucketId, maxFileCount: 1000});
  return (r.json.files as Array<{action: string; fileName: string; fileId: string}>).map((f) => `${f.action} ${f.fileName} ${f.fileId}`);
}

async function uploadPart(emu: RunningEmulator, token: string, fileId: string, n: number, data: Buffer): Promise<void> {
  const url = await api(emu, token, 'b2_get_upload_part_url', {fileId});
  const r = await raw(url.json.uploadUrl, {method: 'POST', headers: {Authorization: url.json.authorizationToken, 'X-Bz-Part-Number': String(n), 'X-Bz-Content-Sha1': sha1(data)}, body: data});
  expect(r.status).toBe(200);
}

describe('data dir', () => {
  test('everything survives a restart; the bootstrap credentials and old tokens stay valid', async () => {
    const emu1 = await startEmulator({port: 0, dataDir: dir, minPartSize: 100});
    const token = (await authorizeRaw(emu1)).authorizationToken;
    const key = await emu1.createKey({capabilities: ['listFiles', 'readFiles'], bucketName: emu1.bucket, namePrefix: 'docs/'});
    const other = await emu1.createBucket('data-dir-second');
    await uploadRaw(emu1, token, emu1.bucketId, 'docs/small.txt', Buffer.from('small'), {'X-Bz-Info-note': 'kept'});
    await uploadRaw(emu1, token, emu1.bucketId, 'gone.txt', Buffer.from('gone'));
    await api(emu1, token, 'b2_hide_file', {bucketId: emu1.bucketId, fileName: 'gone.txt'});
    const parts = [bytes(300, 1), bytes(200, 2)];
    const large = (await api(emu1, token, 'b2_start_large_file', {bucketId: emu1.bucketId, fileName: 'docs/large.bin', contentType: 'b2/x-auto', fileInfo: {large_file_sha1: sha1(Buffer.concat(parts))}})).json.fileId;
    for (const [i, p] of parts.entries()) await uploadPart(emu1, token, large, i + 1, p);
    await api(emu1, token, 'b2_finish_large_file', {fileId: large, partSha1Array: parts.map(sha1)});
    const unfinished = (await api(emu1, token, 'b2_start_large_file', {bucketId: emu1.bucketId, fileName: 'docs/resume.bin', contentType: 'b2/x-auto'})).json.fileId;
    await uploadPart(emu1, token, unfinished, 1, parts[0]);
    const versionsBefore = (await api(emu1, token, 'b2_list_file_versions', {bucketId: emu1.bucketId})).json;
    await emu1.stop();

    const emu2 = await startEmulator({port: 0, dataDir: dir, minPartSize: 100});
    try {
      expect({keyId: emu2.keyId, applicationKey: emu2.applicationKey, bucket: emu2.bucket, bucketId: emu2.bucketId}).toEqual({
        keyId: emu1.keyId, applicationKey: emu1.applicationKey, bucket: emu1.bucket, bucketId: emu1.bucketId,
      });
      expect((await api(emu2, token, 'b2_list_file_versions', {bucketId: emu2.bucketId})).json).toEqual(versionsBefore);
      const buckets = (await api(emu2, token, 'b2_list_buckets', {})).json.buckets.map((b: any) => b.bucketId);
      expect(buckets).toContain(other.bucketId);
      const restricted = (await authorizeRaw(emu2, 2, key.keyId, key.applicationKey)).authorizationToken;
      const small = await raw(`${emu2.url}/file/${emu2.bucket}/docs/small.txt`, {headers: {Authorization: restricted}});
      expect(small.text).toBe('small');
      expect(small.headers.get('x-bz-info-note')).toBe('kept');
      const big = await fetch(`${emu2.url}/file/${emu2.bucket}/docs/large.bin`, {headers: {Authorization: token}});
      expect(Buffer.from(await big.arrayBuffer())).toEqual(Buffer.concat(parts));
      expect((await raw(`${emu2.url}/file/${emu2.bucket}/gone.txt`, {headers: {Authorization: token}})).status).toBe(404);
      // The unfinished large file resumes where it stopped.
      const listed = (await api(emu2, token, 'b2_list_parts', {fileId: unfinished})).json.parts;
      expect(listed.map((p: any) => [p.partNumber, p.contentSha1])).toEqual([[1, sha1(parts[0])]]);
      await uploadPart(emu2, token, unfinished, 2, parts[1]);
      const done = await api(emu2, token, 'b2_finish_large_file', {fileId: unfinished, partSha1Array: parts.map(sha1)});
      expect(done.json.contentLength).toBe(500);
    } finally {
      await emu2.stop();
    }
  });

  test('explicit bootstrap values are reused, not duplicated', async () => {
    const sub = join(dir, 'explicit');
    const bootstrap = {keyId: 'emulatorKeyId01', applicationKey: 'emulator-secret-key', bucket: 'explicit-bucket'};
    const a = await startEmulator({port: 0, dataDir: sub, bootstrap});
    await a.stop();
    const b = await startEmulator({port: 0, dataDir: sub, bootstrap});
    try {
      expect(b.bucketId).toBe(a.bucketId);
      const t = (await authorizeRaw(b)).authorizationToken;
      const keys = (await api(b, t, 'b2_list_keys', {})).json.keys.map((k: any) => k.applicationKeyId);
      expect(keys).toEqual(['emulatorKeyId01']);
    } finally {
      await b.stop();
    }
  });

  test('leftovers of a crash (temporary files, unreferenced blobs) are never visible and get cleaned', async () => {
    const sub = join(dir, 'crash');
    const a = await startEmulator({port: 0, dataDir: sub});
    const t = (await authorizeRaw(a)).authorizationToken;
    await uploadRaw(a, t, a.bucketId, 'real.txt', Buffer.from('real'));
    await a.stop();
    await writeFile(join(sub, 'tmp', 'half-written-blob'), 'partial');
    await writeFile(join(sub, 'blobs', 'f'.repeat(32)), 'orphan of an unrecorded upload');
    await writeFile(join(sub, 'state.json.tmp'), '{"half": ');
    const blobsBefore = (await readdir(join(sub, 'blobs'))).length;
    const b = await startEmulator({port: 0, dataDir: sub});
    try {
      expect(await readdir(join(sub, 'tmp'))).toEqual([]);
      expect((await readdir(join(sub, 'blobs'))).length).toBe(blobsBefore - 1);
      const t2 = (await authorizeRaw(b)).authorizationToken;
      const names = (await api(b, t2, 'b2_list_file_versions', {bucketId: b.bucketId})).json.files.map((f: any) => f.fileName);
      expect(names).toEqual(['real.txt']);
    } finally {
      await b.stop();
    }
  });

  test('the journal is compacted into the snapshot as it grows; a torn last journal line is ignored', async () => {
    const sub = join(dir, 'journal');
    const a = await startEmulator({port: 0, dataDir: sub});
    const t = (await authorizeRaw(a)).authorizationToken;
    const url = (await api(a, t, 'b2_get_upload_url', {bucketId: a.bucketId})).json;
    for (let i = 0; i < 700; i++) {
      const body = Buffer.from(String(i));
      const r = await raw(url.uploadUrl, {method: 'POST', headers: {Authorization: url.authorizationToken, 'X-Bz-File-Name': `j/${i}`, 'Content-Type': 'text/plain', 'X-Bz-Content-Sha1': sha1(body)}, body});
      expect(r.status).toBe(200);
    }
    await a.stop();
    const journal = await readFile(join(sub, 'journal.jsonl'), 'utf8');
    expect(journal.split('\n').length).toBeLessThan(1000);
    await appendFile(join(sub, 'journal.jsonl'), '{"t":"file","id":"torn-by-a-cr');
    const b = await startEmulator({port: 0, dataDir: sub});
    try {
      const t2 = (await authorizeRaw(b)).authorizationToken;
      const files = (await api(b, t2, 'b2_list_file_names', {bucketId: b.bucketId, maxFileCount: 10000})).json.files;
      expect(files).toHaveLength(700);
      expect((await raw(`${b.url}/file/${b.bucket}/j/699`, {headers: {Authorization: t2}})).text).toBe('699');
    } finally {
      await b.stop();
    }
  });

  test('a data dir serves one emulator at a time', async () => {
    const sub = join(dir, 'locked');
    const a = await startEmulator({port: 0, dataDir: sub});
    try {
      await expect(startEmulator({port: 0, dataDir: sub})).rejects.toThrow(/already used by an emulator/);
    } finally {
      await a.stop();
    }
    const b = await startEmulator({port: 0, dataDir: sub});
    await b.stop();
  });

  test('ten starts at once in one process, over a crashed owner\'s entry: exactly one holds the data dir (5 rounds)', async () => {
    for (let round = 0; round < 5; round++) {
      const sub = join(dir, `contended-${round}`);
      await mkdir(join(sub, 'locks'), {recursive: true});
      await writeFile(join(sub, 'locks', '2147483646.dead'), '2147483646'); // a crashed owner's entry: every starter may sweep it
      const starts = await Promise.allSettled(Array.from({length: 10}, () => startEmulator({port: 0, dataDir: sub})));
      const won = starts.filter((s): s is PromiseFulfilledResult<RunningEmulator> => s.status === 'fulfilled').map((s) => s.value);
      const lost = starts.filter((s): s is PromiseRejectedResult => s.status === 'rejected').map((s) => String(s.reason));
      try {
        expect({won: won.length, lost}).toMatchObject({won: 1}); // a failure shows why the others lost
        for (const reason of lost) expect(reason).toMatch(/already used by an emulator in this process/);
        expect(await readdir(join(sub, 'locks'))).toEqual([expect.stringMatching(new RegExp(`^${process.pid}\\.`))]);
      } finally {
        for (const e of won) await e.stop();
      }
      expect(await readdir(join(sub, 'locks'))).toEqual([]);
    }
  });

  test('two emulator processes started at once on one data dir: exactly one serves, the other says it is in use', async () => {
    const sub = join(dir, 'two-processes');
    const cli = join(fileURLToPath(import.meta.url), '..', '..', '..', 'bin', 'run.js');
    const start = () => {
      const child = spawn(process.execPath, [cli, 'b2', 'emulator', '--port', '0', '--json', '--data-dir', sub], {env: cleanEnv(), stdio: ['ignore', 'pipe', 'pipe']});
      let out = '';
      let err = '';
      const exit = new Promise<{code: number | null; out: string; err: string}>((resolve) => child.on('exit', (code) => resolve({code, out, err})));
      const served = new Promise<boolean>((resolve) => {
        child.stdout.on('data', (d) => {
          out += d;
          if (out.includes('\n')) resolve(true);
        });
        void exit.then(() => resolve(false));
      });
      child.stderr.on('data', (d) => (err += d));
      return {child, served, exit};
    };
    const both = [start(), start()];
    // Each either serves (and keeps the dir until SIGTERM) or is refused and exits.
    const served = await Promise.all(both.map((p) => p.served));
    for (const p of both) p.child.kill('SIGTERM');
    const exits = await Promise.all(both.map((p) => p.exit));
    expect(served.filter(Boolean)).toHaveLength(1);
    const refused = exits[served.indexOf(false)];
    expect(refused.code).toBe(2);
    expect(refused.err).toMatch(/in use by another emulator/);
    expect(exits[served.indexOf(true)].code).toBe(0);
    expect(await readdir(join(sub, 'locks'))).toEqual([]);
  });

  test('a crashed owner is taken over; release removes only our own entry', async () => {
    const sub = join(dir, 'lock-cases');
    const locks = join(sub, 'locks');
    await mkdir(locks, {recursive: true});
    await writeFile(join(locks, '2147483646.abc'), ''); // a pid no process has: a crashed owner
    const a = await startEmulator({port: 0, dataDir: sub});
    const held = await readdir(locks);
    expect(held).toEqual([expect.stringMatching(new RegExp(`^${process.pid}\\.`))]);
    await writeFile(join(locks, `${process.pid}.someone-else`), ''); // another emulator's entry by the time we stop
    await a.stop();
    expect(await readdir(locks)).toEqual([`${process.pid}.someone-else`]);
    await rm(join(locks, `${process.pid}.someone-else`));
  });

  (process.platform === 'linux' ? test : test.skip)('the entry of a killed emulator whose pid a live process has taken again keeps no one out: a container runs each command under the same pid (Linux: start times)', async () => {
    const sub = join(dir, 'pid-reused');
    const locks = join(sub, 'locks');
    await mkdir(locks, {recursive: true});
    const other = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], {stdio: 'ignore'}); // a live process, no emulator
    try {
      // entries as killed emulators wrote them, "<pid> <start time>", under pids now of live processes that started later
      await writeFile(join(locks, `${process.pid}.0123456789ab`), `${process.pid} 1`);
      await writeFile(join(locks, `${other.pid}.0123456789ab`), `${other.pid} 1`);
      const emu = await startEmulator({port: 0, dataDir: sub});
      expect(await readdir(locks)).toEqual([expect.stringMatching(new RegExp(`^${process.pid}\\.(?!0123456789ab)`))]);
      await emu.stop();
    } finally {
      other.kill();
    }
  });

  test('an upload whose blob cannot be put in place (blobs/ gone) fails, stores nothing and leaves no temp file', async () => {
    const sub = join(dir, 'commit-fails');
    const a = await startEmulator({port: 0, dataDir: sub});
    try {
      const t = (await authorizeRaw(a)).authorizationToken;
      await rm(join(sub, 'blobs'), {recursive: true}); // the rename into blobs/ now fails (ENOENT)
      const up = await uploadRaw(a, t, a.bucketId, 'x.bin', bytes(1000));
      expect(up.status).toBe(500);
      expect(await readdir(join(sub, 'tmp'))).toEqual([]);
      expect((await api(a, t, 'b2_list_file_versions', {bucketId: a.bucketId})).json.files).toEqual([]);
    } finally {
      await a.stop();
    }
  });

  test('a journal append cut short by a full disk answers an error, never 200: every upload answered 200 is there after a crash', async () => {
    const sub = join(dir, 'disk-full');
    // A file size limit stands in for a full disk: the write that crosses it is cut short
    // (as on ENOSPC), the ones after it fail.
    const {emu: emu1, child, exited} = await startEmulatorProcess(sub, 'ulimit -f 64; ');
    const auth = await authorizeRaw(emu1);
    const bucketId = (await api(emu1, auth.authorizationToken, 'b2_list_buckets', {accountId: auth.accountId})).json.buckets[0].bucketId;
    const answered: string[] = [];
    let refused = false;
    for (let i = 0; i < 1000 && !refused; i++) {
      const name = `full/${String(i).padStart(4, '0')}.txt`;
      const r = await uploadRaw(emu1, auth.authorizationToken, bucketId, name, Buffer.from(name)).catch(() => undefined);
      if (r?.status === 200) answered.push(name);
      else refused = true;
    }
    child.kill('SIGKILL');
    await exited;
    expect(refused).toBe(true);
    // A cut append is answered with an error and taken back: no half entry stays to be dropped (or to damage the lines after it).
    expect((await readFile(join(sub, 'journal.jsonl'), 'utf8')).endsWith('\n')).toBe(true);

    const emu2 = await startEmulator({port: 0, dataDir: sub});
    try {
      const token = (await authorizeRaw(emu2)).authorizationToken;
      const listed = (await api(emu2, token, 'b2_list_file_names', {bucketId, prefix: 'full/', maxFileCount: 10000})).json.files.map((f: any) => f.fileName);
      expect(listed).toEqual(answered);
    } finally {
      await emu2.stop();
    }
  });

  test('changes the data dir refuses (uploads, hides, deletes) are not applied: the same files over HTTP before and after a restart', async () => {
    const sub = join(dir, 'append-fails');
    const {emu: emu1, child, exited} = await startEmulatorProcess(sub);
    let stored: string[];
    try {
      const token = (await authorizeRaw(emu1)).authorizationToken;
      const bucketId = (await api(emu1, token, 'b2_list_buckets', {})).json.buckets[0].bucketId;
      expect((await uploadRaw(emu1, token, bucketId, 'kept.txt', Buffer.from('kept'))).status).toBe(200);
      const later = await uploadRaw(emu1, token, bucketId, 'later.txt', Buffer.from('later'));
      expect(later.status).toBe(200);
      const url = (await api(emu1, token, 'b2_get_upload_url', {bucketId})).json; // issuing a token is a change too: before the limit
      const upload = (name: string) => raw(url.uploadUrl, {method: 'POST', headers: {Authorization: url.authorizationToken, 'X-Bz-File-Name': name, 'Content-Type': 'text/plain', 'X-Bz-Content-Sha1': sha1(name)}, body: name});
      const before = await versions(emu1, token, bucketId);
      const blobsBefore = (await readdir(join(sub, 'blobs'))).sort();
      // From here on no file of the emulator may grow past the journal's present size: every append fails (EFBIG), as on a full disk.
      const journalSize = (await stat(join(sub, 'journal.jsonl'))).size;
      await promisify(execFile)('prlimit', ['--pid', String(child.pid), `--fsize=${journalSize}:unlimited`]);

      const refused = await upload('refused.txt');
      expect([refused.status, refused.json.code]).toEqual([503, 'service_unavailable']);
      expect((await api(emu1, token, 'b2_hide_file', {bucketId, fileName: 'kept.txt'})).status).toBe(503);
      expect((await api(emu1, token, 'b2_delete_file_version', {fileId: later.json.fileId, fileName: 'later.txt'})).status).toBe(503);
      expect(await versions(emu1, token, bucketId)).toEqual(before);
      expect((await raw(`${emu1.url}/b2api/v2/b2_download_file_by_id?fileId=${later.json.fileId}`, {headers: {Authorization: token}})).text).toBe('later');
      expect((await readdir(join(sub, 'blobs'))).sort()).toEqual(blobsBefore); // the refused upload's bytes went too

      // With room again the same emulator stores changes: the failed appends left the journal whole.
      await promisify(execFile)('prlimit', ['--pid', String(child.pid), '--fsize=unlimited:unlimited']);
      expect((await upload('after.txt')).status).toBe(200);
      stored = await versions(emu1, token, bucketId);
      expect(stored.map((v) => v.split(' ').slice(0, 2).join(' '))).toEqual(['upload after.txt', 'upload kept.txt', 'upload later.txt']);
    } finally {
      child.kill('SIGKILL');
      await exited;
    }

    const emu2 = await startEmulator({port: 0, dataDir: sub});
    try {
      const token = (await authorizeRaw(emu2)).authorizationToken;
      expect(await versions(emu2, token, emu2.bucketId)).toEqual(stored);
    } finally {
      await emu2.stop();
    }
  });

  test('deleting a version removes its data from disk', async () => {
    const sub = join(dir, 'delete');
    const a = await startEmulator({port: 0, dataDir: sub});
    try {
      const t = (await authorizeRaw(a)).authorizationToken;
      const up = await uploadRaw(a, t, a.bucketId, 'x.bin', bytes(1000));
      expect(await readdir(join(sub, 'blobs'))).toHaveLength(1);
      await api(a, t, 'b2_delete_file_version', {fileId: up.json.fileId, fileName: 'x.bin'});
      expect(await readdir(join(sub, 'blobs'))).toHaveLength(0);
    } finally {
      await a.stop();
    }
  });
});
