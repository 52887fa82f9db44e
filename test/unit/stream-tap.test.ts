import {describe, expect, test} from '@jest/globals';
import {createHash, randomBytes} from 'node:crypto';
import {pipeline, Readable} from 'node:stream';
import {readHaArchive} from '../../src/backups/ha-archive.js';
import {StreamTap} from '../../src/stream-tap.js';
import {findTarMember} from '../../src/tar-reader.js';
import {coreBackupJson, haBackupAt, haBackupTar} from '../backups/ha-fixtures.js';
import {buildTar} from '../helpers/tar-builder.js';

// A tar read as it streams by (stdin uploads of Home Assistant archives whose backup.json
// comes last): the consumer gets every byte once, in order, and the reader finds a member
// after 20 MB of another one while the tap holds no more than a request and a chunk.

const CHUNK = 64 * 1024;

/** The buffer as a stream of CHUNK-sized chunks, as stdin delivers a pipe. */
function chunked(data: Buffer): Readable {
  return Readable.from((function* () {
    for (let at = 0; at < data.length; at += CHUNK) yield data.subarray(at, at + CHUNK);
  })());
}

/** Reads a stream to its end on the next turns (a consumer that takes its time), hashing it. */
async function consume(stream: Readable, onChunk: () => void = () => undefined): Promise<{sha1: string; bytes: number}> {
  const hash = createHash('sha1');
  let bytes = 0;
  for await (const chunk of stream) {
    hash.update(chunk as Buffer);
    bytes += (chunk as Buffer).length;
    onChunk();
    await new Promise((resolve) => setImmediate(resolve));
  }
  return {sha1: hash.digest('hex'), bytes};
}

const sha1 = (b: Buffer) => createHash('sha1').update(b).digest('hex');

describe('StreamTap', () => {
  test('a member after 20 MB of another is found as the bytes pass; every byte reaches the consumer; the tap holds at most a request and a chunk', async () => {
    const json = Buffer.from('{"slug": "late"}');
    const tar = buildTar([{name: './homeassistant.tar.gz', data: randomBytes(20 * 1024 * 1024)}, {name: './backup.json', data: json}]);
    const tap = new StreamTap();
    const out = pipeline(chunked(tar), tap, () => undefined);
    const found = (async () => {
      const entry = await findTarMember(tap.readAt, ['./backup.json']);
      return entry && (await tap.readAt(entry.dataOffset, entry.size));
    })().finally(() => tap.readerDone());
    let most = 0;
    const got = await consume(out, () => (most = Math.max(most, tap.holding)));
    expect(got).toEqual({sha1: sha1(tar), bytes: tar.length});
    expect((await found)?.toString()).toBe(json.toString());
    expect(most).toBeLessThanOrEqual(2 * CHUNK);
  });

  test('a stream that ends inside a member: the reader gets a short read, the consumer every byte', async () => {
    const tar = buildTar([{name: 'a', data: randomBytes(300_000)}]).subarray(0, 100_000);
    const tap = new StreamTap();
    const out = pipeline(chunked(tar), tap, () => undefined);
    const read = tap.readAt(600, 200_000).finally(() => tap.readerDone());
    expect(await consume(out)).toEqual({sha1: sha1(tar), bytes: tar.length});
    expect((await read).length).toBe(100_000 - 600);
  });
});

describe('readHaArchive from a stream', () => {
  test('backup.json last: described once the stream has been read through, every byte kept', async () => {
    const at = haBackupAt(4);
    const tar = haBackupTar(coreBackupJson(at), {backupJsonLast: true, innerBytes: 2_000_000});
    const warnings: string[] = [];
    const {src, backup, later} = await readHaArchive({kind: 'stream', stream: chunked(tar)}, (w) => warnings.push(w));
    expect(backup).toBeUndefined();
    if (src.kind !== 'stream') throw new Error('not a stream');
    expect(await consume(src.stream)).toEqual({sha1: sha1(tar), bytes: tar.length});
    expect(await later).toMatchObject({backup_id: at.backupId, name: at.name, date: at.date, homeassistant_included: true});
    expect(warnings).toEqual([]);
  });

  test('a tar without backup.json: later says nothing; not a tar: no later at all', async () => {
    const tar = buildTar([{name: 'x.txt', data: Buffer.from('x')}]);
    const plain = await readHaArchive({kind: 'stream', stream: chunked(tar)}, () => undefined);
    if (plain.src.kind !== 'stream') throw new Error('not a stream');
    expect((await consume(plain.src.stream)).bytes).toBe(tar.length);
    expect(await plain.later).toBeUndefined();
    const text = Buffer.from('not a tar at all '.repeat(100));
    const none = await readHaArchive({kind: 'stream', stream: chunked(text)}, () => undefined);
    expect(none.later).toBeUndefined();
    if (none.src.kind !== 'stream') throw new Error('not a stream');
    expect((await consume(none.src.stream)).sha1).toBe(sha1(text));
  });
});
