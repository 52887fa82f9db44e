import {describe, test, expect} from '@jest/globals';
import {createHash, randomBytes} from 'node:crypto';
import {availableParallelism} from 'node:os';
import {FILE_HASH_THREAD_MIN_CORES, OFF_THREAD_SHA1_FROM, OFF_THREAD_SHA1_MIN_CORES, OffThreadSha1, fileHashThreadPays, sha1Sink} from '../../src/sha1-sink.js';

// A download's SHA1 on a second thread: the same digest as hashing inline, whatever the
// sizes of the pieces, in the order the calls were made.

const sha1 = (data: Buffer) => createHash('sha1').update(data).digest('hex');

describe('OffThreadSha1', () => {
  test('pieces of any size (across its 2 MiB slabs) give the SHA1 of the whole; a reused buffer is safe once update settled', async () => {
    const data = randomBytes(5 * 1024 * 1024 + 777);
    const sink = new OffThreadSha1();
    const scratch = Buffer.alloc(3 * 1024 * 1024);
    const sizes = [1, 65_536, 3 * 1024 * 1024, 100, 1024 * 1024, 4096];
    let at = 0;
    for (let i = 0; at < data.length; i++) {
      const n = Math.min(sizes[i % sizes.length], data.length - at);
      data.copy(scratch, 0, at, at + n);
      await sink.update(scratch.subarray(0, n));
      scratch.fill(0xee, 0, n); // the caller reuses its buffer at once
      at += n;
    }
    expect(await sink.digest()).toBe(sha1(data));
  });

  test('calls not awaited one by one are hashed in the order they were made', async () => {
    const data = randomBytes(3 * 1024 * 1024);
    const sink = new OffThreadSha1();
    const pieces = [data.subarray(0, 10), data.subarray(10, 2_000_000), data.subarray(2_000_000)];
    await Promise.all(pieces.map((p) => sink.update(p)));
    expect(await sink.digest()).toBe(sha1(data));
  });

  test('nothing given: the SHA1 of no bytes', async () => {
    expect(await new OffThreadSha1().digest()).toBe(sha1(Buffer.alloc(0)));
  });
});

test('sha1Sink: a thread only from OFF_THREAD_SHA1_FROM bytes, with OFF_THREAD_SHA1_MIN_CORES cores or more, and only where the caller allows one', async () => {
  const threaded = sha1Sink(OFF_THREAD_SHA1_FROM, true, OFF_THREAD_SHA1_MIN_CORES);
  expect(threaded).toBeInstanceOf(OffThreadSha1);
  threaded.close();
  expect(sha1Sink(OFF_THREAD_SHA1_FROM, false, OFF_THREAD_SHA1_MIN_CORES)).not.toBeInstanceOf(OffThreadSha1);
  expect(sha1Sink(OFF_THREAD_SHA1_FROM, true, OFF_THREAD_SHA1_MIN_CORES - 1)).not.toBeInstanceOf(OffThreadSha1); // 2 cores: inline
  const small = sha1Sink(OFF_THREAD_SHA1_FROM - 1, true, OFF_THREAD_SHA1_MIN_CORES);
  expect(small).not.toBeInstanceOf(OffThreadSha1);
  await small.update(Buffer.from('abc'));
  expect(await small.digest()).toBe(sha1(Buffer.from('abc')));
});

test('sha1Sink counts this machine\'s cores by default', () => {
  const sink = sha1Sink(OFF_THREAD_SHA1_FROM);
  expect(sink instanceof OffThreadSha1).toBe(availableParallelism() >= OFF_THREAD_SHA1_MIN_CORES);
  sink.close();
});

test('fileHashThreadPays: a download to a file is hashed by a thread from OFF_THREAD_SHA1_FROM bytes, on two cores or more', () => {
  expect(FILE_HASH_THREAD_MIN_CORES).toBe(2);
  expect(fileHashThreadPays(OFF_THREAD_SHA1_FROM, 2)).toBe(true);
  expect(fileHashThreadPays(OFF_THREAD_SHA1_FROM, 1)).toBe(false);
  expect(fileHashThreadPays(OFF_THREAD_SHA1_FROM - 1, 8)).toBe(false);
});
