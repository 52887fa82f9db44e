import {BackupError, isBackupError, type ErrorKind} from './errors.js';

/**
 * What an operating system's "cannot write here" errors mean to a user, and what to do:
 * a path the user gave (an -o file, a profiles file) or the stdout they redirected is the
 * problem, not this program, so it is said in one line, naming the place, instead of an
 * "unexpected error".
 */
const PROBLEMS: Record<string, {problem: string; fix: string}> = {
  EACCES: {problem: 'permission denied', fix: 'choose a place you may write to, or change its permissions'},
  EPERM: {problem: 'operation not permitted', fix: 'choose a place you may write to, or change its permissions'},
  EROFS: {problem: 'read-only file system', fix: 'choose a place on a writable file system'},
  ENOENT: {problem: 'no such file or directory, or its directory takes no new files', fix: 'choose a path in a directory that exists and takes files'},
  EISDIR: {problem: 'it is a directory', fix: 'give a file path'},
  ENOTDIR: {problem: 'a part of the path is not a directory', fix: 'give a path whose directories exist'},
  ENOSPC: {problem: 'no space left on device', fix: 'free some space or choose another place'},
  EDQUOT: {problem: 'disk quota exceeded', fix: 'free some space or choose another place'},
  EFBIG: {problem: 'file too large for its file system', fix: 'choose a place on another file system'},
  EIO: {problem: 'input/output error', fix: 'check the device, or choose another place'},
  EBADF: {problem: 'bad file descriptor', fix: 'check the redirection'},
};

/** A system error's problem as a message says it, "<problem> (<CODE>)": the table's words, else the code alone. */
export function ioProblem(err: unknown): string {
  const e = err as NodeJS.ErrnoException | undefined;
  const code = typeof e?.code === 'string' ? e.code : undefined;
  if (code === undefined) return e instanceof Error ? e.message : String(err);
  return Object.hasOwn(PROBLEMS, code) ? `${PROBLEMS[code].problem} (${code})` : code;
}

/**
 * `err` as one line, "cannot <what>: <problem> (<CODE>); <fix>", when it is one of the
 * errors above; anything else (a BackupError included) is returned as it is. `kind` is
 * bad_input (exit 2, nothing was changed) unless bytes may already have reached a place
 * that cannot be rolled back (stdout, a device): then failure (exit 1).
 */
export function unwritable(err: unknown, what: string, kind: ErrorKind = 'bad_input', fix?: string): unknown {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  const known = !isBackupError(err) && typeof code === 'string' && Object.hasOwn(PROBLEMS, code) ? PROBLEMS[code] : undefined;
  if (!known) return err;
  return new BackupError(kind, `cannot ${what}: ${ioProblem(err)}; ${fix ?? known.fix}`, {cause: err});
}

/**
 * A failure of the caller's own file (a write to, or a read back from, the handle it gave
 * a backend for a download), carried through the backend untouched: the caller knows the
 * path and says it in one line (unwritable), where the backend would make it an
 * unexpected error of its own.
 */
export class LocalFileError extends Error {
  constructor(readonly original: unknown) {
    super(original instanceof Error ? original.message : String(original));
  }
}

/** `op`, whose failure is one of the caller's file (see LocalFileError). */
export function onLocalFile<T>(op: Promise<T>): Promise<T> {
  return op.catch((err: unknown) => {
    throw new LocalFileError(err);
  });
}
