import {closeSync, fstatSync, openSync} from 'node:fs';
import {constants} from 'node:os';
import {isatty} from 'node:tty';
import {BackupError, isBackupError} from '../errors.js';

/**
 * The signals that ask a command to stop: Ctrl-C (SIGINT), a service manager's stop
 * (SIGTERM), and a closed terminal or dropped ssh session (SIGHUP). Each gets the same
 * clean stop: transfers abort, temp files go, an upload stays resumable.
 */
const STOP_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
type StopSignal = (typeof STOP_SIGNALS)[number];

/** 128 + the signal's number, as a shell reports a process that signal ended: 130, 143, 129. */
export function signalExitCode(signal: StopSignal): number {
  return 128 + constants.signals[signal];
}

/** The stop signal whose exit code `code` is (130: SIGINT), if any. */
export function stopSignalOf(code: number | string | null | undefined): StopSignal | undefined {
  return STOP_SIGNALS.find((sig) => signalExitCode(sig) === Number(code));
}

/** A command stopped by a signal: its one line says what it left, its exit code names the signal. */
export class Interrupted extends BackupError {
  constructor(
    readonly signal: StopSignal,
    message: string,
    cause?: unknown,
  ) {
    super('aborted', message, {cause});
  }

  override get exitCode(): number {
    return signalExitCode(this.signal);
  }
}

/** Said at Ctrl-C by a command whose stop may take a while (a cancel on B2 on the way out). */
export const STOPPING_NOTICE = 'Stopping… (Ctrl-C again to quit at once)';

export interface InterruptOptions {
  /** Called at the first signal, before the work is aborted (e.g. to stop a progress bar), with that signal. */
  onFirst?: (signal: StopSignal) => void;
  /**
   * Where to say STOPPING_NOTICE at the first Ctrl-C, after onFirst: for a person who
   * pressed it and waits. A service manager's SIGTERM or a gone terminal gets the closing line only.
   */
  notice?: (line: string) => void;
  /**
   * The one line an interrupted run ends with: what was interrupted, what it left, how
   * to go on (e.g. "verify interrupted; nothing was changed"). Asked when the run has
   * stopped, so it can tell how far it got, with what the aborted work threw (whose
   * `leftover` may say that a cleanup on the way out failed: added when the line leaves it
   * out). Without it, that error says it.
   */
  interrupted?: (err: unknown) => string;
}

/**
 * Runs `task` with a signal that SIGINT, SIGTERM or SIGHUP aborts, so transfers stop
 * their workers and clean up instead of dying mid-write; what the aborted task throws
 * becomes an Interrupted (exit 128 + the signal's number). A second signal exits at once.
 */
export async function withInterrupt<T>(task: (signal: AbortSignal) => Promise<T>, opts: InterruptOptions = {}): Promise<T> {
  const ctl = new AbortController();
  let received: StopSignal | undefined;
  const handler = (sig: StopSignal) => {
    if (sig === 'SIGHUP') surviveClosedTerminal();
    if (received) process.exit(signalExitCode(sig));
    received = sig;
    opts.onFirst?.(sig);
    if (sig === 'SIGINT') opts.notice?.(STOPPING_NOTICE);
    ctl.abort();
  };
  for (const sig of STOP_SIGNALS) process.on(sig, handler);
  ignoreGoneTerminal(process.stderr); // before SIGHUP arrives: the progress bar may be drawn on a terminal already gone
  try {
    return await task(ctl.signal);
  } catch (err) {
    if (received === undefined || !(isBackupError(err, 'aborted') || (err as Error)?.name === 'AbortError')) throw err;
    throw new Interrupted(received, withLeftover(opts.interrupted?.(err) ?? (err as Error).message, err), err);
  } finally {
    for (const sig of STOP_SIGNALS) process.off(sig, handler);
  }
}

/** A cleanup on the way out that failed (the error's `leftover`) is told, whatever the command's own line says. */
function withLeftover(line: string, err: unknown): string {
  const leftover = isBackupError(err) ? err.leftover : undefined;
  return leftover && !line.includes(leftover) ? `${line}; ${leftover}` : line;
}

/**
 * SIGHUP usually means the terminal is gone. Writes to it then fail (EIO): no failure of
 * the command, which still stops cleanly. And Node 20 aborts at exit (SIGABRT instead of
 * the exit code) when it cannot restore the settings of a terminal that no longer exists
 * (nodejs/node#51519, fixed in later Node): a standard fd whose terminal is gone is
 * pointed at /dev/null just before exit, which Node's restore then leaves alone.
 */
let surviving = false;

function surviveClosedTerminal(): void {
  if (surviving) return;
  surviving = true;
  ignoreGoneTerminal(process.stdout);
  process.once('exit', () => {
    for (const fd of [0, 1, 2]) if (isHungUpTerminal(fd)) pointAtDevNull(fd);
  });
}

const ignoring = new WeakSet<NodeJS.WriteStream>();

/** A failed write to a terminal means it is gone: nobody is left to tell, and it is no failure of the command. */
function ignoreGoneTerminal(stream: NodeJS.WriteStream): void {
  if (!stream.isTTY || ignoring.has(stream)) return;
  ignoring.add(stream);
  stream.on('error', () => undefined);
}

/** A character device that is no longer a terminal (a hung-up one fails the terminal check); /dev/null passes too, harmlessly. */
function isHungUpTerminal(fd: number): boolean {
  try {
    return fstatSync(fd).isCharacterDevice() && !isatty(fd);
  } catch {
    return false;
  }
}

function pointAtDevNull(fd: number): void {
  try {
    closeSync(fd);
    const opened = openSync('/dev/null', 'r+'); // the lowest free fd: this one
    if (opened !== fd) closeSync(opened); // a closed fd is left alone at exit too
  } catch {
    // at worst Node's own restore runs as before
  }
}
