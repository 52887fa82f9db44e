import {BackupError, isBackupError} from '../errors.js';
import {unwritable} from '../io-errors.js';

/**
 * What a failed write to stdout means.
 *
 * `b2 download ID -o - | head -c 100`: the reader closing the pipe early is normal use,
 * not a failure. Once stdout reports EPIPE, the command ends quietly with exit 0, like
 * other Unix tools, and nothing is recorded as an error.
 *
 * Any other failure (`> /dev/full`, a full disk, EIO) is the command's failure: one line,
 * "cannot write to standard output: …", exit 1 (bytes already written cannot be taken
 * back, so "nothing was changed", exit 2, would be false), and whatever else fails after
 * it (a download whose output is gone) is its consequence.
 */
let stdoutClosed = false;
let stdoutFailure: BackupError | undefined;
let watching = false;

/**
 * Listens for stdout's errors instead of oclif's listener, which rethrows every error but
 * EPIPE (an uncaught exception: a stack trace and exit 1). `report` is told of a failure
 * once, when it happens: a command that printed its last line has already returned.
 */
export function watchStdoutClose(stdout: NodeJS.WriteStream = process.stdout, report: (failure: BackupError) => void = () => undefined): void {
  if (watching) return;
  watching = true;
  for (const listener of stdout.listeners('error')) stdout.off('error', listener as (err: Error) => void);
  stdout.on('error', (err: NodeJS.ErrnoException) => {
    const firstFailure = err.code !== 'EPIPE' && stdoutFailure === undefined;
    const failure = stdoutFailed(err);
    if (firstFailure) report(failure as BackupError);
  });
}

/**
 * Records a failed write to stdout, whoever made it (stdout's own stream, or a download
 * writing its descriptor directly): EPIPE marks stdout closed, anything else is the
 * command's failure (the first one counts). Returns what to throw.
 */
export function stdoutFailed(err: NodeJS.ErrnoException): NodeJS.ErrnoException | BackupError {
  if (err.code === 'EPIPE') {
    stdoutClosed = true;
    return err;
  }
  stdoutFailure ??= stdoutWriteFailure(err);
  return stdoutFailure;
}

/** True for the error a write to a closed stdout fails with, or for anything once stdout is closed (its consequence). */
export function isClosedPipe(err: unknown): boolean {
  const e = err as {code?: unknown; cause?: {code?: unknown}} | undefined;
  return stdoutClosed || e?.code === 'EPIPE' || e?.cause?.code === 'EPIPE';
}

/** The failure to report once stdout failed (whatever `err` is, it followed from that), else `err`. */
export function orStdoutFailure(err: unknown): unknown {
  return stdoutFailure ?? err;
}

function stdoutWriteFailure(err: NodeJS.ErrnoException): BackupError {
  const failure = unwritable(err, 'write to standard output', 'failure');
  return isBackupError(failure) ? failure : new BackupError('failure', `cannot write to standard output: ${err.code ?? err.message}`, {cause: err});
}
