import {describe, test, expect, beforeAll, afterAll} from '@jest/globals';
import {randomBytes} from 'node:crypto';
import {authorizeRaw} from '../emulator/helpers.js';
import type {CliResult} from '../helpers/run-cli.js';
import {headerOffset} from '../helpers/tar-builder.js';
import {haBackupAt, haBackupTar, supervisorBackupJson} from '../backups/ha-fixtures.js';
import {E2EWorld, expectFailure, parseJson, sha1, storedVersions} from './helpers.js';

// `ha-backup | backup-b2 b2 upload -` where the writer died halfway: the built CLI in a
// child process, the tar on its stdin, the emulator over HTTP. A tar cut short is no
// backup: exit 5, one line saying where it ended, and nothing left in the bucket (no
// archive, no metadata file, no unfinished large file); a whole one still goes up.

const PREFIX = 'cut/';
const PART = '5MB';
let world: E2EWorld;
let master: string;

/** HA's tar with an inner archive of 12 MB: three parts of 5 MB. */
const TAR = haBackupTar(supervisorBackupJson(haBackupAt(5)), {innerBytes: 12_000_000});
const INNER_HEADER = headerOffset(TAR, './homeassistant.tar.gz');

async function uploadStdin(input: Buffer): Promise<CliResult> {
  const {done} = world.spawn(['upload', '-', '--json', '--part-size', PART, '--profile', 'home'], {input});
  const r = await done;
  return {code: r.code ?? -1, stdout: r.stdout.toString('utf8'), stderr: r.stderr};
}

beforeAll(async () => {
  world = await E2EWorld.start();
  master = (await authorizeRaw(world.emu)).authorizationToken;
  const key = await world.createKey();
  await world.addProfile('home', {...key, prefix: PREFIX});
}, 60_000);

afterAll(async () => {
  await world?.close();
});

const CUT = (where: string) => new RegExp(`^Error: the tar from stdin ended ${where}: the program writing it probably failed; nothing was stored\\. Check that program \\(did it fail\\? "set -o pipefail" shows it\\) and run the backup again$`);

describe('b2 upload - of a Home Assistant tar cut short', () => {
  test.each<[string, number, string]>([
    ['inside its inner archive, two parts in (a large file started)', INNER_HEADER + 512 + 10_500_000, 'inside member "\\./homeassistant\\.tar\\.gz" \\(10\\.0 MiB of 11\\.\\d MiB\\)'],
    ['inside the inner archive\'s header', INNER_HEADER + 200, 'inside a member\'s header at byte \\d+ after member "\\./backup\\.json"'],
    ['after its last member, without the end-of-archive blocks', TAR.length - 1024, 'after member "\\./homeassistant\\.tar\\.gz" without its end-of-archive blocks'],
  ])('%s: exit 5, one line, nothing left in the bucket', async (_what, length, where) => {
    const r = await uploadStdin(TAR.subarray(0, length));
    expectFailure(r, 5, CUT(where), world.secrets);
    expect(r.stdout).toBe('');
    expect(await storedVersions(world.emu, master, PREFIX)).toEqual([]);
  }, 60_000);

  test('the whole tar, and the whole tar with tar\'s record padding after it: stored as a backup', async () => {
    for (const input of [TAR, Buffer.concat([TAR, Buffer.alloc(10240 - (TAR.length % 10240))])]) {
      const r = await uploadStdin(input);
      expect({code: r.code, stderr: r.stderr}).toEqual({code: 0, stderr: ''});
      expect(parseJson<{id: string; size: number; sha1: string}>(r)).toMatchObject({id: haBackupAt(5).backupId, size: input.length, sha1: sha1(input)});
      expect(await world.b2(['delete', haBackupAt(5).backupId, '--yes', '--profile', 'home'])).toMatchObject({code: 0});
    }
  }, 60_000);

  test('a stream that is no tar still goes up as it is', async () => {
    const data = randomBytes(1_000_000);
    const r = await uploadStdin(data);
    expect({code: r.code, stderr: r.stderr}).toEqual({code: 0, stderr: ''});
    expect(parseJson<{size: number; sha1: string}>(r)).toMatchObject({size: data.length, sha1: sha1(data)});
  }, 60_000);
});
