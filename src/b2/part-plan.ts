import {constants as bufferConstants} from 'node:buffer';
import {BackupError} from '../errors.js';

/** B2's large-file limits (docs/b2-native-api.md §5, §10). */
export const MAX_PARTS = 10_000;
export const MAX_PART_SIZE = 5_000_000_000;
export const MAX_SINGLE_UPLOAD = 5_000_000_000;
/** B2's largest b2_copy_file ("the resulting file must be less than 5GB"); larger copies go in b2_copy_part parts. */
export const MAX_COPY_FILE = 5_000_000_000;
export const MAX_LARGE_FILE = 10_000_000_000_000;
/**
 * A stream's part is read into one Buffer before it is sent (it cannot be read twice): no
 * larger than Node allows one (buffer.constants.MAX_LENGTH: 4 GiB on Node 20), even where
 * B2 takes parts up to 5 GB (a file's parts are re-read from disk and have no such limit).
 */
export const MAX_STREAM_PART_SIZE = Math.min(MAX_PART_SIZE, bufferConstants.MAX_LENGTH);
/** A stream of unknown size keeps its first part size this long, then grows (see sizeOf). */
const STEADY_PARTS = 5_000;
const GROWTH_BLOCK = 1_000;

export interface PartPlanInput {
  /** Total bytes, when known. */
  size?: number;
  /** Profile's part size; undefined means the server's recommendation. */
  partSize?: number;
  recommendedPartSize: number;
  absoluteMinimumPartSize: number;
}

export interface PartPlan {
  /** Nominal size of part 1 (and of every part of a known-size upload but the last). */
  partSize: number;
  /** Known when the size is. */
  partCount?: number;
  size?: number;
  /** Size of part n (1-based); a known-size upload's last part is the remainder. */
  sizeOf(partNumber: number): number;
}

/**
 * Part size from the profile or the server, never below the server's minimum, grown so
 * a known size fits 10,000 parts. A stream of unknown size keeps its size for the first
 * 5,000 parts (memory stays concurrency × part size for anything smaller than
 * that), then doubles every 1,000 parts up to 5 GB (a Buffer's limit, 4 GiB on Node 20), so
 * it can still reach B2's 10 TB.
 */
export function planParts(input: PartPlanInput): PartPlan {
  const wanted = input.partSize ?? input.recommendedPartSize;
  let partSize = Math.min(MAX_PART_SIZE, Math.max(wanted, input.absoluteMinimumPartSize));
  const {size} = input;
  if (size === undefined) {
    return {partSize, sizeOf: (n) => streamPartSize(partSize, n)};
  }
  if (size > MAX_LARGE_FILE) throw new BackupError('bad_input', `${size} bytes is more than B2's largest file (${MAX_LARGE_FILE} bytes)`);
  if (Math.ceil(size / partSize) > MAX_PARTS) partSize = Math.ceil(size / MAX_PARTS);
  const partCount = Math.max(1, Math.ceil(size / partSize));
  return {
    partSize,
    partCount,
    size,
    sizeOf: (n) => (n < partCount ? partSize : size - partSize * (partCount - 1)),
  };
}

function streamPartSize(base: number, n: number): number {
  if (n > MAX_PARTS) {
    throw new BackupError('bad_input', `the stream is longer than ${MAX_PARTS} parts can hold with a ${base}-byte first part; set a larger partSize in the profile`);
  }
  if (n <= STEADY_PARTS) return base;
  // held in memory as it is read: grown no larger than a Buffer can be
  return Math.min(MAX_STREAM_PART_SIZE, base * 2 ** Math.ceil((n - STEADY_PARTS) / GROWTH_BLOCK));
}
