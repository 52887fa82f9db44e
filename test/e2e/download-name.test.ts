import {afterAll, beforeAll, describe, expect, test} from '@jest/globals';
import {randomBytes} from 'node:crypto';
import {readFile, readdir, writeFile} from 'node:fs/promises';
import {join} from 'node:path';
import {E2EWorld, expectFailure, parseJson, sha1} from './helpers.js';

// `download ID` without -o writes the archive's name in the bucket. A backup name may be
// 255 bytes and the stored name adds the date: such a name is shortened to fit a file name
// (with room for the temp file written first), keeping its start, the id and the date.
// A path given with -o that is too long is one line, exit 2.

/** What ext4, XFS, btrfs, APFS take as one file name. */
const NAME_MAX = 255;
let world: E2EWorld;
let data: Buffer;

beforeAll(async () => {
  world = await E2EWorld.start();
  const key = await world.createKey();
  await world.addProfile('home', {...key, prefix: 'home/'});
  data = randomBytes(20_000);
  await writeFile(join(world.dir, 'a.tar'), data);
});

afterAll(async () => {
  await world?.close();
});

/** Uploads a.tar as `name`; the backup's id and archive key. */
async function upload(name: string): Promise<{id: string; archiveKey: string}> {
  const r = await world.b2(['upload', 'a.tar', '--name', name, '--profile', 'home', '--json']);
  expect(r.code).toBe(0);
  return parseJson(r);
}

/** `download ID` without -o: the name of the file it wrote (it prints it), checked to hold the archive. */
async function download(id: string): Promise<string> {
  const r = await world.b2(['download', id, '--profile', 'home']);
  expect(r.code).toBe(0);
  const file = r.stdout.trim();
  expect(sha1(await readFile(join(world.dir, file)))).toBe(sha1(data));
  return file;
}

describe('download without -o', () => {
  test('a name of 250 characters (280 stored): written under a shortened name with its start, the id and the date', async () => {
    const name = 'L'.repeat(250);
    const b = await upload(name);
    expect(b.archiveKey.length).toBeGreaterThan(NAME_MAX); // the premise: the stored name is no file name
    const file = await download(b.id);
    const date = /_\d{4}-\d{2}-\d{2}_\d{2}\.\d{2}_\d{8}\.tar$/.exec(b.archiveKey)![0];
    expect(file).toMatch(new RegExp(`^L{100,}_${b.id}${date.replace(/\./g, '\\.')}$`));
    expect(Buffer.byteLength(file)).toBeLessThanOrEqual(NAME_MAX - 20); // room for the temp file beside it
    expect(await readdir(world.dir)).toContain(file);
  });

  test('a name of 127 two-byte characters: shortened at a character, never inside one', async () => {
    const b = await upload('é'.repeat(127));
    const file = await download(b.id);
    expect(file).toMatch(new RegExp(`^é{50,}_${b.id}_`));
    expect(Buffer.from(file, 'utf8').toString('utf8')).toBe(file);
    expect(Buffer.byteLength(file)).toBeLessThanOrEqual(NAME_MAX);
  });

  test('a short name is the archive\'s name in the bucket, as before', async () => {
    const b = await upload('Nightly');
    expect(await download(b.id)).toBe(b.archiveKey.replace(/^home\//, ''));
  });
});

test('-o with a name too long for the file system (with its temp file): one line, exit 2, no file left', async () => {
  const b = await upload('short');
  const before = await readdir(world.dir);
  for (const length of [240, 300]) {
    const r = await world.b2(['download', b.id, '-o', 'M'.repeat(length), '--profile', 'home']);
    expectFailure(r, 2, new RegExp(`^Error: cannot write "M{20,}…" \\(${length} characters\\): the name is too long for a file name here .*; give a shorter one with -o FILE$`), world.secrets);
  }
  expect(await readdir(world.dir)).toEqual(before);
});
