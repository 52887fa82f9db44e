import {describe, test, expect, beforeAll, afterAll} from '@jest/globals';
import {execFile} from 'node:child_process';
import {createHash, randomBytes} from 'node:crypto';
import {promisify} from 'node:util';
import {mkdtemp, open, rm, truncate, writeFile} from 'node:fs/promises';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {digestFile} from '../../src/hash.js';
import {Sha1Thread, sharedBuffer} from '../../src/sha1-thread.js';

// The hashing pass of a large upload: the whole file's SHA1 and each part's, in one read;
// with `parallel` the whole file is hashed on a second thread. Both ways must give the
// same digests as hashing the bytes directly, with pieces that straddle the reads.

const sha1 = (b: Uint8Array) => createHash('sha1').update(b).digest('hex');
const MiB = 1024 * 1024;

describe('digestFile: whole-file and piece SHA1s in one read', () => {
  let dir: string;
  let path: string;
  let data: Buffer;
  // pieces of 3 MiB + 7 bytes: they start and end inside reads of 1 and 4 MiB
  const piece = 3 * MiB + 7;
  const pieceLength = () => piece;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'digest-'));
    path = join(dir, 'data.bin');
    data = randomBytes(21 * MiB + 12_345);
    await writeFile(path, data);
  });

  afterAll(async () => {
    await rm(dir, {recursive: true, force: true});
  });

  const expected = () => {
    const pieces: string[] = [];
    for (let at = 0; at < data.length; at += piece) pieces.push(sha1(data.subarray(at, at + piece)));
    return {sha1: sha1(data), size: data.length, pieceSha1s: pieces};
  };

  test.each([false, true])('parallel: %s gives the SHA1 of the bytes and of every piece, and counts every byte', async (parallel) => {
    const seen: number[] = [];
    const d = await digestFile(path, {pieceLength, parallel, onBytes: (n) => seen.push(n)});
    expect({sha1: d.sha1, size: d.size, pieceSha1s: d.pieceSha1s}).toEqual(expected());
    expect(seen.at(-1)).toBe(data.length);
    expect(seen.every((n, i) => i === 0 || n > seen[i - 1])).toBe(true);
  });

  test('an abort during a parallel pass stops it with the abort error', async () => {
    const ac = new AbortController();
    const err = await digestFile(path, {pieceLength, parallel: true, signal: ac.signal, onBytes: () => ac.abort()}).then(() => undefined, (e: unknown) => e);
    expect((err as {kind?: string})?.kind).toBe('aborted');
  });

  test('a hashing thread hashes views of shared memory in order and starts a new SHA1 after each digest', async () => {
    const t = new Sha1Thread();
    try {
      const mem = sharedBuffer(1000);
      mem.set(randomBytes(1000));
      const a = Buffer.from(mem.subarray(0, 1000)); // a copy, to compare with
      await Promise.all([t.update(mem.subarray(0, 300)), t.update(mem.subarray(300, 1000))]);
      expect(await t.digest()).toBe(sha1(a));
      await t.update(mem.subarray(10, 20));
      expect(await t.digest()).toBe(sha1(a.subarray(10, 20)));
      expect(() => t.update(Buffer.alloc(4))).toThrow(/SharedArrayBuffer/);
    } finally {
      await t.close();
    }
    await expect(t.digest()).rejects.toThrow(/closed/);
  });
  test('a thread hashes ranges of an open file it reads itself, in order, between shared-memory updates; a failed read rejects with its code', async () => {
    const fh = await open(path, 'r');
    const t = new Sha1Thread();
    try {
      const mem = sharedBuffer(5);
      mem.write('01234');
      await Promise.all([t.updateFromFile(fh.fd, 7, 3 * MiB), t.update(mem), t.updateFromFile(fh.fd, 0, 7)]);
      expect(await t.digest()).toBe(sha1(Buffer.concat([data.subarray(7, 7 + 3 * MiB), Buffer.from('01234'), data.subarray(0, 7)])));
      await expect(t.updateFromFile(fh.fd, data.length - 10, 11)).rejects.toMatchObject({code: 'ESHORT'}); // past the end
      await t.digest(); // a new SHA1 after a failure
      await t.updateFromFile(fh.fd, 1, 2);
      expect(await t.digest()).toBe(sha1(data.subarray(1, 3)));
    } finally {
      await t.close();
      await fh.close();
    }
    const writeOnly = await open(join(dir, 'write-only.bin'), 'w');
    const u = new Sha1Thread();
    try {
      await expect(u.updateFromFile(writeOnly.fd, 0, 1)).rejects.toMatchObject({code: 'EBADF'});
    } finally {
      await u.close();
      await writeOnly.close();
    }
  });
  /**
   * Runs `body` in a real child process, with the compiled `module` as `m`: its stdout.
   * The timeout only bounds a hang (a child that never ends); the children here end at
   * once, or with exit 13 when an await was left unsettled.
   */
  const runCompiled = async (module: string, body: string) => {
    const compiled = new URL(`../../dist/src/${module}`, import.meta.url).href;
    const program = `import(${JSON.stringify(compiled)}).then(async (m) => { ${body} });`;
    return promisify(execFile)(process.execPath, ['-e', program], {timeout: 60_000, killSignal: 'SIGKILL'});
  };
  test('a thread never closed does not keep a process alive, and one awaited keeps it alive until it answers', async () => {
    // A real process with nothing else to do: it must print the digest (the awaited
    // thread held it open) and then exit by itself (the idle thread did not).
    const {stdout} = await runCompiled('sha1-thread.js', `
      const thread = new m.Sha1Thread();
      const mem = m.sharedBuffer(3);
      mem.write('abc');
      await thread.update(mem);
      console.log(await thread.digest());`);
    expect(stdout.trim()).toBe(sha1(Buffer.from('abc')));
  });
  // A process that exits with an await unsettled ends with code 13 and skips what follows
  // (an interrupted upload's "interrupted" line and cleanup): close() must hold it up.
  test('closing a thread while an update is still being hashed settles, and the process goes on to its end', async () => {
    // twenty times: the answer to the second update may come before or after close() began
    const {stdout} = await runCompiled('sha1-thread.js', `
      const mem = m.sharedBuffer(8 * 1024 * 1024);
      let closed = 0;
      for (let i = 0; i < 20; i++) {
        const thread = new m.Sha1Thread();
        const first = thread.update(mem);
        thread.update(mem).catch(() => undefined); // still being hashed when the thread is closed
        await first;
        await thread.close();
        closed++;
      }
      console.log('closed ' + closed);`);
    expect(stdout.trim()).toBe('closed 20');
  });
  test('hashing passes aborted at many points while their thread hashes each settle, and the process goes on to its end', async () => {
    // a sparse 256 MiB file (no disk used) takes ~0.1 s or more to hash: aborts 0..116 ms in land
    // at every point of the pass, many while the thread still hashes a read (the race above)
    const sparse = join(dir, 'sparse.bin');
    await writeFile(sparse, '');
    await truncate(sparse, 256 * MiB);
    const {stdout} = await runCompiled('hash.js', `
      let settled = 0;
      for (let ms = 0; ms < 30; ms++) {
        const controller = new AbortController();
        const timer = setTimeout(() => controller.abort(), 4 * ms);
        await m.digestFile(${JSON.stringify(sparse)}, {pieceLength: () => ${piece}, parallel: true, signal: controller.signal}).then(() => undefined, () => undefined);
        clearTimeout(timer);
        settled++;
      }
      console.log('settled ' + settled);`);
    expect(stdout.trim()).toBe('settled 30');
  });
});
