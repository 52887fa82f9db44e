import {describe, test, expect} from '@jest/globals';
import {createHash, randomBytes} from 'node:crypto';
import {PassThrough, Readable} from 'node:stream';
import {readAll} from '../../src/body.js';
import {StreamPeek} from '../../src/stream-peek.js';

const sha1 = (b: Buffer) => createHash('sha1').update(b).digest('hex');

/** A stream that delivers `data` in `size`-byte chunks, one per tick, as a pipe does. */
function trickle(data: Buffer, size: number): Readable {
  const out = new PassThrough();
  let pos = 0;
  const next = () => {
    if (pos >= data.length) return out.end();
    out.write(data.subarray(pos, (pos += size)));
    setImmediate(next);
  };
  setImmediate(next);
  return out;
}

describe('StreamPeek: looking at a stream\'s start loses no byte', () => {
  test.each([
    ['many small chunks', 3 * 1024 * 1024, 1000],
    ['chunks larger than what is peeked', 300_000, 65_536],
    ['a stream shorter than the peek', 700, 100],
    ['an empty stream', 0, 1],
  ])('%s', async (_what, length, chunk) => {
    const data = randomBytes(length);
    const peek = new StreamPeek(trickle(data, chunk), 64 * 1024);
    const head = await peek.readAt(0, 512);
    expect(head.equals(data.subarray(0, 512))).toBe(true);
    const later = await peek.readAt(10_000, 2_000);
    expect(later.equals(data.subarray(10_000, 12_000))).toBe(true);
    const all = await readAll(peek.release());
    expect(all.length).toBe(length);
    expect(sha1(all)).toBe(sha1(data));
  });

  test('never holds much past its limit: reading beyond answers as if the input ended', async () => {
    const data = randomBytes(1024 * 1024);
    const peek = new StreamPeek(trickle(data, 4096), 16 * 1024);
    expect((await peek.readAt(0, 100_000)).length).toBe(16 * 1024);
    expect((await peek.readAt(20_000, 10)).length).toBe(0);
    expect(sha1(await readAll(peek.release()))).toBe(sha1(data));
  });

  test('a source that fails while peeked passes the failure on after the bytes it gave', async () => {
    const src = new PassThrough();
    src.write(Buffer.from('abc'));
    setImmediate(() => src.destroy(new Error('producer died')));
    const peek = new StreamPeek(src, 1024);
    expect((await peek.readAt(0, 512)).toString()).toBe('abc');
    const out = peek.release();
    const got: Buffer[] = [];
    await expect((async () => {
      for await (const c of out) got.push(c as Buffer);
    })()).rejects.toThrow('producer died');
    expect(Buffer.concat(got).toString()).toBe('abc');
  });
});
