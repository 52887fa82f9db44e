import createDebug from 'debug';

const debug = createDebug('backup-b2:timing');
let exitHooked = false;

/**
 * DEBUG=backup-b2:timing: one stderr line per phase of a command (its start, profile
 * loaded, connected, backup found, work done, closed, exit; an upload's hashing pass,
 * large-file start, parts, finish and metadata file) with the wall and CPU milliseconds
 * since the process started: where a command's time goes (bench/run.mjs reports them).
 * Off, a call costs one property read.
 */
export function timing(phase: string): void {
  if (!debug.enabled) return;
  if (!exitHooked) {
    exitHooked = true;
    process.once('exit', () => timing('exit'));
  }
  const cpu = process.cpuUsage();
  debug(`${phase}: ${performance.now().toFixed(1)} ms since start, ${((cpu.user + cpu.system) / 1000).toFixed(1)} ms CPU`);
}
