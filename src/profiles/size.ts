/**
 * Byte sizes as people write them in profiles and flags: `100MB`, `100MiB`, `5GB`,
 * `100000000`. B2 documents its limits in decimal units (5 GB = 5,000,000,000 bytes), so
 * KB/MB/GB/TB are powers of 1000 and KiB/MiB/GiB/TiB powers of 1024. Units are
 * case-insensitive ("100mb" is 100MB); a bare number is bytes.
 */
const UNITS: ReadonlyArray<readonly [string, number]> = [
  ['TiB', 1024 ** 4],
  ['TB', 1000 ** 4],
  ['GiB', 1024 ** 3],
  ['GB', 1000 ** 3],
  ['MiB', 1024 ** 2],
  ['MB', 1000 ** 2],
  ['KiB', 1024],
  ['KB', 1000],
  ['B', 1],
];

const UNIT_BY_LOWER = new Map(UNITS.map(([unit, factor]) => [unit.toLowerCase(), factor]));

/** Bytes, or a reason the text is not a size. */
export function parseSize(input: string | number): {bytes: number} | {problem: string} {
  if (typeof input === 'number') {
    return Number.isSafeInteger(input) && input >= 0 ? {bytes: input} : {problem: 'not a whole number of bytes'};
  }
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(input);
  if (!m) return {problem: 'not a size'};
  const factor = m[2] === '' ? 1 : UNIT_BY_LOWER.get(m[2].toLowerCase());
  if (factor === undefined) return {problem: `unknown unit "${m[2]}" (use B, KB, MB, GB, TB, KiB, MiB, GiB or TiB)`};
  const bytes = exactProduct(m[1], factor);
  if (bytes === undefined) return {problem: 'not a whole number of bytes'};
  if (bytes > BigInt(Number.MAX_SAFE_INTEGER)) return {problem: 'too large'};
  return {bytes: Number(bytes)};
}

/** digits × factor computed without floating-point rounding (0.1 × 1000² must be exactly 100000). */
function exactProduct(decimal: string, factor: number): bigint | undefined {
  const [whole, fraction = ''] = decimal.split('.');
  const scaled = BigInt(whole + fraction) * BigInt(factor);
  const divisor = 10n ** BigInt(fraction.length);
  return scaled % divisor === 0n ? scaled / divisor : undefined;
}

/** An exact spelling of a byte count in the largest unit that divides it: parseSize(formatSize(n)) is n. */
export function formatSize(bytes: number): string {
  if (bytes === 0) return '0';
  for (const [unit, factor] of UNITS) {
    if (factor > 1 && bytes % factor === 0) return `${bytes / factor}${unit}`;
  }
  return String(bytes);
}
