import {describe, expect, test} from '@jest/globals';
import fc from 'fast-check';
import {formatSize, parseSize} from '../../src/profiles/size.js';

describe('parseSize', () => {
  test.each([
    ['100000000', 100_000_000],
    ['100MB', 100_000_000],
    ['100mb', 100_000_000],
    ['100 MB', 100_000_000],
    ['100MiB', 104_857_600],
    ['5GB', 5_000_000_000],
    ['1.5GB', 1_500_000_000],
    ['0.1MB', 100_000],
    ['2KiB', 2048],
    ['7B', 7],
  ])('%s is %d bytes (MB = 10^6, MiB = 2^20)', (text, bytes) => {
    expect(parseSize(text)).toEqual({bytes});
  });

  test('a YAML number is bytes', () => {
    expect(parseSize(100_000_000)).toEqual({bytes: 100_000_000});
  });

  test.each([
    ['abc', 'not a size'],
    ['-5MB', 'not a size'],
    ['10XB', 'unknown unit "XB" (use B, KB, MB, GB, TB, KiB, MiB, GiB or TiB)'],
    ['0.1MiB', 'not a whole number of bytes'],
    ['1.5', 'not a whole number of bytes'],
    ['99999999999999999999', 'too large'],
    ['9007199254740992B', 'too large'],
  ])('%s is refused: %s', (text, problem) => {
    expect(parseSize(text)).toEqual({problem});
  });

  test('negative and fractional numbers are refused', () => {
    expect(parseSize(-1)).toEqual({problem: 'not a whole number of bytes'});
    expect(parseSize(1.5)).toEqual({problem: 'not a whole number of bytes'});
  });
});

describe('formatSize', () => {
  test.each([
    [100_000_000, '100MB'],
    [104_857_600, '100MiB'],
    [5_000_000_000, '5GB'],
    [5_000_001, '5000001'],
    [0, '0'],
  ])('%d is written %s', (bytes, text) => {
    expect(formatSize(bytes)).toBe(text);
  });

  test('parsing what it writes gives back the same byte count', () => {
    fc.assert(fc.property(fc.maxSafeNat(), (bytes) => expect(parseSize(formatSize(bytes))).toEqual({bytes})));
  });

  test('round trip holds for round multiples of every unit', () => {
    const units = [1000, 1024, 1000 ** 2, 1024 ** 2, 1000 ** 3, 1024 ** 3, 1000 ** 4, 1024 ** 4];
    fc.assert(
      fc.property(fc.integer({min: 1, max: 5000}), fc.constantFrom(...units), (n, unit) => {
        expect(parseSize(formatSize(n * unit))).toEqual({bytes: n * unit});
      }),
    );
  });
});
