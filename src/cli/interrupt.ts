/**
 * Runs `task` with a signal that Ctrl-C (SIGINT) or SIGTERM aborts, so transfers stop
 * their workers and clean up instead of dying mid-write. A second Ctrl-C exits at once.
 */
export async function withInterrupt<T>(task: (signal: AbortSignal) => Promise<T>, onFirst?: () => void): Promise<T> {
  const ctl = new AbortController();
  const handler = (sig: NodeJS.Signals) => {
    if (ctl.signal.aborted) process.exit(sig === 'SIGINT' ? 130 : 143);
    onFirst?.();
    ctl.abort();
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  try {
    return await task(ctl.signal);
  } finally {
    process.off('SIGINT', handler);
    process.off('SIGTERM', handler);
  }
}
