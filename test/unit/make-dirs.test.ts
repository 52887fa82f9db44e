import {afterAll, beforeAll, describe, expect, test} from '@jest/globals';
import {existsSync} from 'node:fs';
import {mkdir, mkdtemp, rm, stat, symlink, writeFile} from 'node:fs/promises';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {makeDirs} from '../../src/make-dirs.js';

// makeDirs, the `mkdir -p` of the directories users and the environment choose. On Node 20,
// mkdir(…, {recursive: true}) under /proc never settles (it retries ENOENT/EEXIST for ever,
// at full CPU): there the jest timeout is what such code would hit. Tests run as root, so
// "not allowed" comes from /sys (EACCES/EPERM even for root).

let dir: string;

beforeAll(async () => {
  for (const path of ['/proc/self', '/sys']) {
    if (!existsSync(path)) throw new Error(`these tests need Linux's ${path}`);
  }
  dir = await mkdtemp(join(tmpdir(), 'make-dirs-'));
});

afterAll(async () => {
  await rm(dir, {recursive: true, force: true});
});

const codeOf = (p: Promise<unknown>) => p.then(() => 'resolved', (err: NodeJS.ErrnoException) => ({code: err.code, path: err.path}));

describe('makeDirs', () => {
  test('creates every missing level, each with the mode', async () => {
    const top = join(dir, 'new');
    await makeDirs(join(top, 'a', 'b'), {mode: 0o700});
    for (const level of [top, join(top, 'a'), join(top, 'a', 'b')]) {
      const st = await stat(level);
      expect(st.isDirectory()).toBe(true);
      expect(st.mode & 0o777).toBe(0o700);
    }
  });

  test('a directory that exists (or a symlink to one) is fine and left as it is', async () => {
    const existing = join(dir, 'existing');
    await mkdir(existing, {mode: 0o755});
    await symlink(existing, join(dir, 'link'));
    await makeDirs(existing, {mode: 0o700});
    await makeDirs(join(dir, 'link'), {mode: 0o700});
    await makeDirs(join(dir, 'link', 'below'), {mode: 0o700});
    expect((await stat(existing)).mode & 0o777).toBe(0o755);
    expect((await stat(join(existing, 'below'))).isDirectory()).toBe(true);
  });

  test('a file in the way: ENOTDIR naming the file, whether it is the path or above it', async () => {
    const file = join(dir, 'file');
    await writeFile(file, 'not a directory');
    expect(await codeOf(makeDirs(file))).toEqual({code: 'ENOTDIR', path: file});
    expect(await codeOf(makeDirs(join(file, 'a', 'b')))).toEqual({code: 'ENOTDIR', path: file});
  });

  test('under /proc, which takes no new entries: ENOENT naming the first level, at once', async () => {
    expect(await codeOf(makeDirs('/proc/nonexist'))).toEqual({code: 'ENOENT', path: '/proc/nonexist'});
    expect(await codeOf(makeDirs('/proc/nonexist/a/b'))).toEqual({code: 'ENOENT', path: '/proc/nonexist'});
    expect(await codeOf(makeDirs('/proc/self/nonexist'))).toEqual({code: 'ENOENT', path: '/proc/self/nonexist'});
  }, 20_000);

  test('where even root may not write (/sys): the permission error', async () => {
    const r = await codeOf(makeDirs('/sys/nonexist/a'));
    expect(r).toMatchObject({path: '/sys/nonexist'});
    expect(['EACCES', 'EPERM']).toContain((r as {code: string}).code);
  });

  test('many at once on one new tree: each finds the levels the others made', async () => {
    const deep = join(dir, 'race', 'a', 'b', 'c');
    await Promise.all(Array.from({length: 20}, () => makeDirs(deep, {mode: 0o700})));
    expect((await stat(deep)).isDirectory()).toBe(true);
  });
});
