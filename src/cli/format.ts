import {shownValue} from '../redact.js';

/** Durations like 24h, 30m, 7d, 90s (for --older-than). */
export function parseDuration(text: string): {ms: number} | {problem: string} {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d|w)\s*$/i.exec(text);
  if (!m) return {problem: `${shownValue(text)} is not a duration; expected a number and a unit, e.g. 90s, 30m, 24h, 7d or 2w`};
  const unit = {s: 1e3, m: 60e3, h: 3600e3, d: 86400e3, w: 7 * 86400e3}[m[2].toLowerCase() as 's' | 'm' | 'h' | 'd' | 'w'];
  return {ms: Math.round(Number(m[1]) * unit)};
}
