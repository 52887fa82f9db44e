import {isoDateWithOffset} from './layout.js';

/** ISO 8601 with a time, as HA's dt_util.parse_datetime reads it; an offset, as HA writes it. */
const ISO_DATE = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?(?:Z|[+-](\d{2}):(\d{2}))$/;

/**
 * Whether `date` is a backup's date as Home Assistant's metadata files hold it: ISO 8601
 * with a time and an offset, whose fields name a real time, as Python's fromisoformat
 * (which HA's suggested_filename runs) requires: Date.parse takes 2026-02-30 as March 2
 * and 24:00 as the next day, and the files would be named by a date HA refuses.
 */
export function isBackupDate(date: string): boolean {
  const fields = ISO_DATE.exec(date);
  if (!fields) return false;
  const [year, month, day, hour, minute, second, offsetHours, offsetMinutes] = fields.slice(1).map((f) => Number(f ?? 0));
  const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
  const days = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1];
  return year >= 1 && days !== undefined && day >= 1 && day <= days && hour <= 23 && minute <= 59 && second <= 59 && offsetHours <= 23 && offsetMinutes <= 59;
}

/** Two backup dates that name one time (written with other offsets or digits: the same backup's date). */
export function sameInstant(a: string, b: string): boolean {
  return a === b || Date.parse(a) === Date.parse(b);
}

/**
 * `date` as `upload --date` takes it: itself when it is a backup date, else (another
 * tool's date without an offset, or with fields Date.parse rolls over) the instant this
 * tool reads in it (Date.parse, as retention and display do), written with an offset.
 */
export function dateWithOffset(date: string): string {
  return isBackupDate(date) ? date : isoDateWithOffset(new Date(Date.parse(date)));
}
