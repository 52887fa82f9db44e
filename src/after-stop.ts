/**
 * How long a cleanup on the way out (the cancel of an unfinished upload or copy) may retry
 * once the user stopped the work (Ctrl-C): they want the command to end, not wait out B2's
 * backoff (up to two minutes, or a long Retry-After); past it, the line says what may
 * remain and how to remove it. The cancel of a large file after a failure gets the same
 * bound: the failure waited out its own retries already, and on a network gone dead the
 * cancel would wait them out again, each attempt the whole request timeout.
 */
export const CANCEL_AFTER_STOP_MS = 15_000;

/** The signal that bounds such a cleanup, from now. */
export function afterStopBound(): AbortSignal {
  return AbortSignal.timeout(CANCEL_AFTER_STOP_MS);
}
