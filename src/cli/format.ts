/** Sizes for people reading a terminal: decimal units, as B2 bills and documents them. */
export function humanBytes(bytes: number): string {
  if (bytes < 1000) return `${bytes} B`;
  const units = ['kB', 'MB', 'GB', 'TB', 'PB'];
  let value = bytes;
  let i = -1;
  do {
    value /= 1000;
    i++;
  } while (value >= 1000 && i < units.length - 1);
  return `${value.toFixed(value < 10 ? 2 : value < 100 ? 1 : 0)} ${units[i]}`;
}

/** Durations like 24h, 30m, 7d, 90s (for --older-than). */
export function parseDuration(text: string): {ms: number} | {problem: string} {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d|w)\s*$/i.exec(text);
  if (!m) return {problem: `"${text}" is not a duration; expected a number and a unit, e.g. 90s, 30m, 24h, 7d or 2w`};
  const unit = {s: 1e3, m: 60e3, h: 3600e3, d: 86400e3, w: 7 * 86400e3}[m[2].toLowerCase() as 's' | 'm' | 'h' | 'd' | 'w'];
  return {ms: Math.round(Number(m[1]) * unit)};
}
