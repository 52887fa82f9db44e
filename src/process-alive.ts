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
