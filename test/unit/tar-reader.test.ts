import {describe, test, expect} from '@jest/globals';
import {execFileSync} from 'node:child_process';
import {mkdir, mkdtemp, readFile, rm, writeFile} from 'node:fs/promises';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {TarFormatError, findTarMember, tarEntries, tarWalk, type ReadAt, type TarEnding, type TarEntry} from '../../src/tar-reader.js';
import {buildTar, header, withChecksum} from '../helpers/tar-builder.js';

/** A ReadAt over a buffer that records the largest single read and the bytes read in all. */
function recording(data: Buffer): {read: ReadAt; largest: () => number; total: () => number} {
  let largest = 0;
  let total = 0;
  return {
    read: async (pos, len) => {
      largest = Math.max(largest, len);
      const out = data.subarray(pos, pos + len);
      total += out.length;
      return out;
    },
    largest: () => largest,
    total: () => total,
  };
}

async function entries(data: Buffer): Promise<TarEntry[]> {
  const out: TarEntry[] = [];
  for await (const e of tarEntries(recording(data).read)) out.push(e);
  return out;
}

const json = Buffer.from('{"slug": "abcd1234"}');
const big = Buffer.alloc(300_000, 7);

describe('tar member headers', () => {
  test('ustar: names, sizes and data offsets of every member; data is skipped, not read', async () => {
    const tar = buildTar([{name: './backup.json', data: json}, {name: './homeassistant.tar.gz', data: big}, {name: './share.tar', data: Buffer.alloc(0)}]);
    const rec = recording(tar);
    const found: TarEntry[] = [];
    for await (const e of tarEntries(rec.read)) found.push(e);
    expect(found).toEqual([
      {name: './backup.json', type: '0', size: json.length, dataOffset: 512},
      {name: './homeassistant.tar.gz', type: '0', size: big.length, dataOffset: 1536},
      {name: './share.tar', type: '0', size: 0, dataOffset: 1536 + 300_032 + 512},
    ]);
    expect(rec.total()).toBe(4 * 512); // three headers and the end block: no member data
  });

  test('a member after a large one is found by seeking: only headers are read', async () => {
    const tar = buildTar([{name: './homeassistant.tar.gz', data: big}, {name: 'backup.json', data: json}]);
    const rec = recording(tar);
    const e = await findTarMember(rec.read, ['./backup.json', 'backup.json']);
    expect(e).toMatchObject({name: 'backup.json', size: json.length});
    expect(tar.subarray(e!.dataOffset, e!.dataOffset + e!.size).equals(json)).toBe(true);
    expect(rec.total()).toBe(2 * 512);
  });

  test('firstOnly looks at the first member alone', async () => {
    const tar = buildTar([{name: 'a', data: json}, {name: './backup.json', data: json}]);
    const rec = recording(tar);
    expect(await findTarMember(rec.read, ['./backup.json'], {firstOnly: true})).toBeUndefined();
    expect(rec.total()).toBe(512);
  });

  test('PAX path and size override the header; GNU long names and ustar prefixes make long paths', async () => {
    const long = `${'d'.repeat(120)}/${'f'.repeat(60)}.json`;
    const tar = buildTar([
      {name: 'short-name', data: json, pax: {path: './backup.json', mtime: '1775624263.001930'}},
      {name: long, data: json, gnuLongName: true},
      {name: long, data: json},
      {name: 'dir', data: Buffer.alloc(0), type: '5'},
    ]);
    const found = await entries(tar);
    expect(found.map((e) => [e.name, e.type, e.size])).toEqual([
      ['./backup.json', '0', json.length],
      [long, '0', json.length],
      [long, '0', json.length],
      ['dir', '5', 0],
    ]);
    // a PAX size (for members over 8 GiB) wins over the header's
    const paxSized = buildTar([{name: 'x', data: json, pax: {size: String(json.length)}, sizeField: '00000000000\0'}]);
    expect((await entries(paxSized))[0].size).toBe(json.length);
  });

  test('GNU base-256 sizes are read', async () => {
    const field = Buffer.alloc(12);
    field[0] = 0x80;
    field.writeUIntBE(json.length, 6, 6);
    const tar = buildTar([{name: 'x', data: json, sizeField: field}]);
    expect((await entries(tar))[0].size).toBe(json.length);
  });

  const haveTar = (() => {
    try {
      execFileSync('tar', ['--version'], {stdio: 'ignore'});
      return true;
    } catch {
      return false;
    }
  })();

  (haveTar ? test : test.skip)('archives written by GNU tar in ustar, gnu and pax formats read the same', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tar-reader-'));
    try {
      const deep = 'n'.repeat(90); // the path of the file inside is past 100 bytes: prefix, long name or PAX path
      await mkdir(join(dir, 'src', deep), {recursive: true});
      await writeFile(join(dir, 'src', 'backup.json'), json);
      await writeFile(join(dir, 'src', deep, 'é-long-file-name-that-goes-past-one-hundred-bytes.bin'), big);
      for (const format of ['ustar', 'gnu', 'pax']) {
        const out = join(dir, `${format}.tar`);
        execFileSync('tar', [`--format=${format}`, '-cf', out, '-C', join(dir, 'src'), '--sort=name', '.']);
        const names = (await entries(await readFile(out))).map((e) => e.name);
        expect({format, names}).toEqual({format, names: ['./', './backup.json', `./${deep}/`, `./${deep}/é-long-file-name-that-goes-past-one-hundred-bytes.bin`]});
      }
    } finally {
      await rm(dir, {recursive: true, force: true});
    }
  });
});

describe('hostile tar input: never a hang, a crash or an unbounded allocation', () => {
  const good = buildTar([{name: './backup.json', data: json}]);
  const mutate = (f: (b: Buffer) => void, rechecksum = true) => {
    const b = Buffer.from(good);
    f(b);
    if (rechecksum) withChecksum(b.subarray(0, 512));
    return b;
  };
  const sizeField = (text: string) => mutate((b) => b.write(text.padEnd(12, '\0').slice(0, 12), 124, 12, 'latin1'));
  const paxOf = (body: string, declared = Buffer.byteLength(body)) =>
    Buffer.concat([header({name: 'PaxHeaders/x', size: declared, type: 'x'}), Buffer.from(body), Buffer.alloc((512 - (Buffer.byteLength(body) % 512)) % 512), good]);
  const base256 = (first: number) => {
    const f = Buffer.alloc(12, 0xff);
    f[0] = first;
    return mutate((b) => f.copy(b, 124));
  };

  const refused = {error: 'TarFormatError'};
  const cases: Array<[string, Buffer, {error: string} | {found: string; size: number}]> = [
    ['truncated header', good.subarray(0, 300), refused],
    ['bad checksum', mutate((b) => (b[0] ^= 1), false), refused],
    ['checksum not octal', mutate((b) => b.write('9999999\0', 148, 'latin1'), false), refused],
    ['size not octal (NaN)', sizeField('0000000x123'), refused],
    ['negative octal size', sizeField('-0000000001'), refused],
    ['negative base-256 size', base256(0xff), refused],
    ['base-256 size past 2^53', base256(0x80), refused],
    // found with its claimed size: the caller bounds what it reads (ha-archive: 1 MiB)
    ['largest octal size (8 GiB) on a short input', sizeField('77777777777'), {found: './backup.json', size: 8 * 1024 ** 3 - 1}],
    ['PAX header claiming 8 GiB', Buffer.concat([header({name: 'PaxHeaders/x', size: 0, type: 'x', sizeField: '100000000000'}), good]), refused],
    ['PAX record claiming a giant length', paxOf('99999999 path=./backup.json\n'), refused],
    ['PAX record length not a number', paxOf('x0 path=./backup.json\n'), refused],
    ['PAX record without newline', paxOf('22 path=./backup.json!'), refused],
    ['PAX size that is not a number', paxOf('12 size=NaN\n'), refused],
    ['PAX size past 2^53', paxOf('26 size=99999999999999999\n'), refused],
    ['PAX header cut short by the end of input', paxOf('22 path=./backup.json\n', 4000).subarray(0, 800), refused],
    ['GNU long name claiming 1 GiB', Buffer.concat([header({name: '././@LongLink', size: 1 << 30, type: 'L', gnu: true}), good]), refused],
    ['a thousand PAX headers in a row', Buffer.concat(Array.from({length: 1000}, () => paxOf('6 a=b\n').subarray(0, 1024))), refused],
    ['a well-formed PAX record, for contrast', paxOf('22 path=./backup.json\n'), {found: './backup.json', size: json.length}],
  ];

  test.each(cases)('%s', async (_what, data, expected) => {
    const rec = recording(data);
    const result = await findTarMember(rec.read, ['./backup.json']).then(
      (e) => (e ? {found: e.name, size: e.size} : {found: 'nothing'}),
      (err: unknown) => ({error: err instanceof TarFormatError ? 'TarFormatError' : String(err)}),
    );
    expect(result).toEqual(expected);
    expect(rec.largest()).toBeLessThanOrEqual(64 * 1024); // never asked for more than the extended-header limit
    expect(rec.total()).toBeLessThanOrEqual(data.length);
  });

  test('more members than the limit: stops there, having read only their headers', async () => {
    const many = buildTar(Array.from({length: 50}, (_, i) => ({name: `f${i}`, data: Buffer.alloc(10)})));
    const rec = recording(many);
    await expect(findTarMember(rec.read, ['./backup.json'], {maxEntries: 20})).rejects.toThrow(TarFormatError);
    expect(rec.total()).toBe(21 * 512);
  });
});

describe('walking a tar to its end: complete, or where it was cut', () => {
  const data = Buffer.alloc(5000, 1);
  /** backup.json (1 block of data), a 5000-byte member (10 blocks, the last partly padding), end blocks. */
  const tar = buildTar([{name: './backup.json', data: json}, {name: './homeassistant.tar.gz', data}]);
  const secondHeader = 1024;
  const dataStart = secondHeader + 512;
  const dataEnd = dataStart + data.length;
  const endBlocks = dataStart + 10 * 512;

  /** The members walked and how the archive ended, for the input `input`. */
  async function walk(input: Buffer): Promise<{names: string[]; ending: TarEnding; read: number}> {
    const rec = recording(input);
    const it = tarWalk(rec.read, {}, () => input.length);
    const names: string[] = [];
    for (let step = await it.next(); ; step = await it.next()) {
      if (step.done) return {names, ending: step.value, read: rec.total()};
      names.push(step.value.name);
    }
  }

  test('a complete tar, with or without padding after its end blocks: complete, nothing after them read', async () => {
    expect(tar.length).toBe(endBlocks + 1024); // ends exactly after its two zero blocks (valid without record padding)
    const padded = Buffer.concat([tar, Buffer.alloc(10240 - tar.length)]); // tar pads to a 10 KiB record
    for (const input of [tar, padded, Buffer.concat([tar, Buffer.from('trailing bytes a reader never sees')])]) {
      const w = await walk(input);
      expect(w).toEqual({names: ['./backup.json', './homeassistant.tar.gz'], ending: {complete: true}, read: 4 * 512});
    }
  });

  test.each<[string, number, TarEnding]>([
    ['inside a member\'s data', dataStart + 1234, {complete: false, inside: 'data', member: './homeassistant.tar.gz', size: data.length, present: 1234}],
    ['right at the start of its data', dataStart, {complete: false, inside: 'data', member: './homeassistant.tar.gz', size: data.length, present: 0}],
    ['one byte short of its data', dataEnd - 1, {complete: false, inside: 'data', member: './homeassistant.tar.gz', size: data.length, present: data.length - 1}],
    ['inside a header', secondHeader + 100, {complete: false, inside: 'header', at: secondHeader, after: './backup.json'}],
    ['on the boundary before a header', secondHeader, {complete: false, inside: 'end', at: secondHeader, after: './backup.json'}],
    ['inside the padding after the last member\'s data', dataEnd + 1, {complete: false, inside: 'end', at: endBlocks, after: './homeassistant.tar.gz'}],
    ['after the last member, without end blocks', endBlocks, {complete: false, inside: 'end', at: endBlocks, after: './homeassistant.tar.gz'}],
    ['inside the first end block', endBlocks + 100, {complete: false, inside: 'end', at: endBlocks, after: './homeassistant.tar.gz'}],
    ['after one end block', endBlocks + 512, {complete: false, inside: 'end', at: endBlocks, after: './homeassistant.tar.gz'}],
    ['inside the second end block', endBlocks + 1000, {complete: false, inside: 'end', at: endBlocks, after: './homeassistant.tar.gz'}],
    ['before anything', 0, {complete: false, inside: 'end', at: 0}],
  ])('cut %s', async (_what, length, ending) => {
    expect((await walk(tar.subarray(0, length))).ending).toEqual(ending);
  });

  test('cut inside extended headers, or between them and their member: inside a header', async () => {
    const withPax = buildTar([{name: 'a', data: json}, {name: 'b', data: json, pax: {path: './b', mtime: '1775624263.001930'}}]);
    const paxHeader = 1024;
    for (const length of [paxHeader + 100, paxHeader + 600, paxHeader + 1024, paxHeader + 1300]) {
      expect({length, ending: (await walk(withPax.subarray(0, length))).ending}).toEqual({length, ending: {complete: false, inside: 'header', at: expect.any(Number), after: 'a'}});
    }
  });

  test('members without data (directories, links) are never cut inside their data', async () => {
    const dirs = buildTar([{name: 'd/', data: Buffer.alloc(0), type: '5'}, {name: 'l', data: Buffer.alloc(0), type: '2'}], {end: false});
    expect(await walk(dirs)).toMatchObject({names: ['d/', 'l'], ending: {complete: false, inside: 'end', at: 1024, after: 'l'}});
  });

  test('a damaged header on the way is a TarFormatError, not a cut', async () => {
    const damaged = Buffer.from(tar);
    damaged[secondHeader] ^= 1;
    await expect(walk(damaged)).rejects.toThrow(TarFormatError);
  });
});
