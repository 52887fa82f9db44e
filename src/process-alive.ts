import {readFileSync} from 'node:fs';

/**
 * Whether process `pid` is running: what tells a killed writer's leftovers (a temp file,
 * a lock naming its pid) from a live one's. Only a positive integer names one process:
 * kill(0) and kill(-1) signal groups and always succeed, so a file naming pid 0 or -1
 * would be taken for a live writer's forever.
 */
export function isAlive(pid: number): boolean {
  if (!Number.isSafeInteger(pid) || pid <= 0) return false;
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'; // alive, someone else's
  }
}

/**
 * When process `pid` started, as the kernel counts it (Linux: field 22 `starttime` of
 * /proc/<pid>/stat, clock ticks since boot); undefined where that cannot be read (other
 * systems, a hidden /proc, a process that is gone). A pid is reused once its process
 * has exited; the pair of pid and start time names one process.
 */
export function startTime(pid: number): string | undefined {
  if (process.platform !== 'linux' || !Number.isSafeInteger(pid) || pid <= 0) return undefined;
  try {
    // the command name (field 2) is in parentheses and may itself hold spaces and ')'
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const start = fields[22 - 3]; // fields from the 3rd on
    return start && /^\d+$/.test(start) ? start : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Whether the process that recorded `pid` and `start` (its startTime then) still runs:
 * a live process under that pid that started at another time reuses the pid of one
 * that has exited. Without a recorded start time (an earlier version's record) or where
 * none can be read now, the pid alone answers, as isAlive does.
 */
export function isAliveSince(pid: number, start: string | undefined): boolean {
  if (!isAlive(pid)) return false;
  const now = start === undefined ? undefined : startTime(pid);
  return now === undefined || now === start;
}
