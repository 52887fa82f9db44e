import {describe, test, expect} from '@jest/globals';
import {randomBytes} from 'node:crypto';
import {Readable} from 'node:stream';
import {gzipSync} from 'node:zlib';
import {BackupCatalog} from '../../src/backups/index.js';
import {isBackupError} from '../../src/errors.js';
import {sha1} from '../b2/helpers.js';
import {buildTar, headerOffset} from '../helpers/tar-builder.js';
import {haBackupAt, haBackupTar, supervisorBackupJson} from './ha-fixtures.js';
import {sharedEmulator} from './helpers.js';

// A tar from stdin whose writer died halfway (`tar -c … | b2 upload -` without pipefail,
// HA's backup streamed) is cut short: the upload fails with checksum_mismatch before any
// metadata file is written, and leaves nothing in the bucket, neither a stored archive
// nor an unfinished large file. Over the real B2 provider and the emulator's HTTP API.

const PART = 10_000;
const world = sharedEmulator({emulator: {minPartSize: 1000}, backend: {partSize: PART, uploadCutoff: PART, concurrency: 1}});
let n = 0;

/** The bytes as stdin delivers a pipe: 4 KiB chunks. */
function piped(data: Buffer): Readable {
  return Readable.from((function* () {
    for (let at = 0; at < data.length; at += 4096) yield data.subarray(at, at + 4096);
  })());
}

/** An upload of `data` from a stream to a fresh prefix: its result or error, and every version left there. */
async function upload(data: Buffer): Promise<{err?: unknown; size?: number; left: string[]}> {
  const prefix = `cut-${++n}/`;
  const catalog = new BackupCatalog(await world.open(prefix));
  const out = await catalog.upload(piped(data), {name: 'piped'}).then((r) => ({size: r.size}), (err: unknown) => ({err}));
  return {...out, left: await world.versions(prefix)};
}

const CUT = /^the tar from stdin ended .+: the program writing it probably failed; nothing was stored\. Check that program \(did it fail\? "set -o pipefail" shows it\) and run the backup again$/;

/** HA's tar (backup.json first, as HA writes it) of about 6 parts, or its backup.json last (read as it streams by). */
const haTar = (backupJsonLast = false) => haBackupTar(supervisorBackupJson(haBackupAt(3)), {innerBytes: 6 * PART, backupJsonLast});

describe('a tar from stdin cut short: checksum_mismatch, nothing stored, nothing left unfinished', () => {
  test.each<[string, boolean, (tar: Buffer) => number, RegExp]>([
    ['inside a member\'s data, past several parts', false, (tar) => headerOffset(tar, './homeassistant.tar.gz') + 512 + 4 * PART + 77, /ended inside member "\.\/homeassistant\.tar\.gz" \(39\.1 KiB of \d+\.\d KiB\)/],
    ['inside a member\'s data, backup.json last', true, (tar) => headerOffset(tar, './homeassistant.tar.gz') + 512 + 4 * PART + 77, /ended inside member "\.\/homeassistant\.tar\.gz"/],
    ['inside a member\'s data, within the first part', false, (tar) => headerOffset(tar, './homeassistant.tar.gz') + 512 + 1024, /ended inside member "\.\/homeassistant\.tar\.gz" \(1\.0 KiB of /],
    ['inside a header', false, (tar) => headerOffset(tar, './homeassistant.tar.gz') + 100, /ended inside a member's header at byte \d+ after member "\.\/backup\.json"/],
    ['inside the header after the last member, backup.json last', true, (tar) => headerOffset(tar, './backup.json') + 300, /ended inside a member's header at byte \d+ after member "\.\/homeassistant\.tar\.gz"/],
    ['right after the last member\'s data, without end blocks', false, (tar) => tar.length - 1024, /ended after member "\.\/homeassistant\.tar\.gz" without its end-of-archive blocks/],
    ['after one of the two end blocks', false, (tar) => tar.length - 512, /without its end-of-archive blocks/],
  ])('cut %s', async (_what, last, cutAt, where) => {
    const tar = haTar(last);
    const r = await upload(tar.subarray(0, cutAt(tar)));
    expect(isBackupError(r.err, 'checksum_mismatch')).toBe(true);
    expect((r.err as Error).message).toMatch(CUT);
    expect((r.err as Error).message).toMatch(where);
    expect(r.left).toEqual([]);
  });

  test('a plain tar (not Home Assistant\'s) cut inside its data is refused the same way', async () => {
    const tar = buildTar([{name: 'etc/hostname', data: Buffer.from('pi\n')}, {name: 'etc/blob', data: randomBytes(3 * PART)}]);
    const r = await upload(tar.subarray(0, 2 * PART));
    expect((r.err as Error).message).toMatch(/^the tar from stdin ended inside member "etc\/blob" /);
    expect(r.left).toEqual([]);
  });

  test('cut a few bytes short of a member\'s end: exact bytes, where both sizes would read the same', async () => {
    const tar = buildTar([{name: 'etc/blob', data: Buffer.alloc(200_000, 7)}]); // 195.3 KiB
    const r = await upload(tar.subarray(0, headerOffset(tar, 'etc/blob') + 512 + 199_990));
    expect((r.err as Error).message).toMatch(/^the tar from stdin ended inside member "etc\/blob" \(199990 bytes of 200000 bytes\): /);
    expect(r.left).toEqual([]);
  });
});

describe('what still goes up from stdin', () => {
  test.each<[string, () => Buffer]>([
    ['a complete HA tar', () => haTar()],
    ['a complete HA tar, backup.json last', () => haTar(true)],
    ['a complete HA tar padded to a 10 KiB record, as tar writes it', () => {
      const tar = haTar();
      return Buffer.concat([tar, Buffer.alloc(10240 - (tar.length % 10240))]);
    }],
    ['a complete HA tar followed by more zeros than a record', () => Buffer.concat([haTar(), Buffer.alloc(3 * PART)])],
    ['a plain tar', () => buildTar([{name: 'a', data: randomBytes(2 * PART)}])],
    ['random bytes', () => randomBytes(3 * PART)],
    ['a gzip stream (of a tar cut short: not looked into)', () => gzipSync(haTar().subarray(0, 2 * PART))],
  ])('%s: stored whole', async (_what, make) => {
    const data = make();
    const prefix = `whole-${++n}/`;
    const backend = await world.open(prefix);
    const up = await new BackupCatalog(backend).upload(piped(data), {name: 'piped'});
    expect({size: up.size, sha1: up.sha1}).toEqual({size: data.length, sha1: sha1(data)});
    expect(await world.versions(prefix)).toEqual([`upload ${up.archiveKey}`, `upload ${up.metadataKey}`].sort());
  });
});
