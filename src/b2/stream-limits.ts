import {totalmem} from 'node:os';
import {BackupError} from '../errors.js';
import {formatSize} from '../profiles/size.js';
import {MAX_STREAM_PART_SIZE, type PartPlan} from './part-plan.js';

const FIX_PART = 'lower the part size (partSize, --part-size)';

/**
 * Refuses, before anything is read or sent, an upload from a stream that cannot work: a
 * part no Buffer can hold, or the parts in flight (`concurrency` of them at most, see
 * PartBuffers; fewer when the declared size has fewer) needing more memory than this
 * machine (or its cgroup) has.
 */
export function assertStreamFits(plan: PartPlan, concurrency: number, memory = machineMemory()): void {
  const partSize = plan.sizeOf(1); // the largest part until a stream of unknown size grows its parts
  if (partSize > MAX_STREAM_PART_SIZE) {
    throw new BackupError('bad_input', `the part size of ${formatSize(partSize)} is too large for an upload from a stream: its parts are held in memory, at most ${MAX_STREAM_PART_SIZE} bytes (${formatSize(MAX_STREAM_PART_SIZE)}) each; ${FIX_PART} to ${formatSize(MAX_STREAM_PART_SIZE)} or less, or upload from a file`);
  }
  const held = Math.min(concurrency, plan.partCount ?? concurrency);
  if (held * partSize > memory) {
    throw new BackupError('bad_input', `an upload from a stream holds up to concurrency × part size in memory (${held} × ${formatSize(partSize)} = ${gigabytes(held * partSize)}), more than this machine's ${gigabytes(memory)}; ${FIX_PART} or the concurrency (--concurrency), or upload from a file`);
  }
}

/** The memory this process can have: the machine's, or its cgroup's limit when lower. */
function machineMemory(): number {
  const limit = process.constrainedMemory?.();
  return limit ? Math.min(limit, totalmem()) : totalmem();
}

function gigabytes(bytes: number): string {
  return `${(bytes / 1e9).toFixed(1)} GB`;
}
