/**
 * `b2 download ID -o - | head -c 100`: the reader closing the pipe early is normal use,
 * not a failure. Once stdout reports EPIPE, the command ends quietly with exit 0, like
 * other Unix tools, and nothing is recorded as an error.
 */
let stdoutClosed = false;
let watching = false;

export function watchStdoutClose(stdout: NodeJS.WriteStream = process.stdout): void {
  if (watching) return;
  watching = true;
  // Without a listener an EPIPE on stdout is an uncaught exception (a crash and exit 1).
  stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE') throw err;
    stdoutClosed = true;
  });
}

/** True for the error a write to a closed stdout fails with, or for anything once stdout is closed (its consequence). */
export function isClosedPipe(err: unknown): boolean {
  const e = err as {code?: unknown; cause?: {code?: unknown}} | undefined;
  return stdoutClosed || e?.code === 'EPIPE' || e?.cause?.code === 'EPIPE';
}
