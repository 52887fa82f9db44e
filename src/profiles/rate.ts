import {parseSize} from './size.js';

/**
 * Transfer rates as people write them: `5MB/s`, `500KiB/s`, `40Mbit/s` (rclone and
 * restic users write both bytes and bits). Byte units are parseSize's (MB decimal, MiB
 * binary); bit units (kbit, Mbit, Gbit) are decimal, as network speeds are. `/s` may be
 * left out. A rate below 1 KB/s is refused: it would look like a hang.
 */
export const MIN_RATE = 1000;
export const RATE_EXPECTATION = 'a rate such as 5MB/s, 500KiB/s or 40Mbit/s (at least 1KB/s)';

const BIT_UNITS: Record<string, number> = {bit: 1, kbit: 1e3, mbit: 1e6, gbit: 1e9};

/** Bytes per second, or why the text is not a rate. */
export function parseRate(input: string | number): {bytesPerSecond: number} | {problem: string} {
  const text = String(input).trim().replace(/\s*\/\s*s(ec)?$/i, '');
  const bits = /^(\d+(?:\.\d+)?)\s*([kmg]?bit)s?$/i.exec(text);
  let bytesPerSecond: number;
  if (bits) bytesPerSecond = Math.floor((Number(bits[1]) * BIT_UNITS[bits[2].toLowerCase()]) / 8);
  else {
    const size = parseSize(text);
    if ('problem' in size) return {problem: size.problem === 'not a size' ? 'not a rate' : size.problem};
    bytesPerSecond = size.bytes;
  }
  if (!(bytesPerSecond >= MIN_RATE)) return {problem: 'below 1KB/s'};
  return {bytesPerSecond};
}
