/**
 * One error type for everything a user can see. `kind` drives the exit code and lets
 * callers branch without parsing messages; `message` is one line that says what is
 * wrong, where, and how to fix it. Messages never contain secrets.
 */
export type ErrorKind =
  | 'bad_input'
  | 'config'
  | 'invalid_credentials'
  | 'key_expired'
  | 'bucket_unavailable'
  | 'missing_capabilities'
  | 'prefix_not_allowed'
  | 'public_bucket'
  | 'encryption_key'
  | 'locked'
  | 'no_object_lock'
  | 'cap_exceeded'
  | 'not_found'
  | 'already_exists'
  | 'checksum_mismatch'
  | 'network'
  | 'timeout'
  | 'aborted'
  | 'failure';

/** Documented in README.md ("Exit codes"); keep the two in step. */
export const EXIT_CODES: Record<ErrorKind, number> = {
  failure: 1,
  network: 1,
  timeout: 1,
  bad_input: 2,
  config: 2,
  already_exists: 2,
  invalid_credentials: 3,
  key_expired: 3,
  bucket_unavailable: 3,
  missing_capabilities: 3,
  prefix_not_allowed: 3,
  public_bucket: 3,
  encryption_key: 3,
  locked: 3,
  no_object_lock: 3,
  not_found: 4,
  checksum_mismatch: 5,
  cap_exceeded: 6,
  aborted: 130,
};

export interface BackupErrorOptions {
  cause?: unknown;
  /** The failure may pass (the service was busy or unreachable after every retry): trying again later can work. */
  transient?: boolean;
  /**
   * Running the same operation again continues where this one stopped (an unfinished
   * upload and its stored parts were kept). A CLI says "run the same command again".
   */
  resumable?: boolean;
  /**
   * What the failed operation left behind that costs or is in the way, as a clause that
   * says how to remove it ("an unfinished upload of NAME remains …: run … to remove it").
   * Also at the end of the message; an interrupted command's own line repeats it.
   */
  leftover?: string;
}

export class BackupError extends Error {
  readonly kind: ErrorKind;
  override readonly cause?: unknown;
  readonly transient: boolean;
  readonly resumable: boolean;
  readonly leftover?: string;

  constructor(kind: ErrorKind, message: string, opts: BackupErrorOptions = {}) {
    super(message);
    this.name = 'BackupError';
    this.kind = kind;
    this.cause = opts.cause;
    this.transient = opts.transient ?? false;
    this.resumable = opts.resumable ?? false;
    if (opts.leftover !== undefined) this.leftover = opts.leftover;
  }

  get exitCode(): number {
    return EXIT_CODES[this.kind];
  }
}

export function isBackupError(err: unknown, kind?: ErrorKind): err is BackupError {
  return err instanceof BackupError && (kind === undefined || err.kind === kind);
}

/** The AbortError a cancelled operation rejects with. */
export function abortError(signal?: AbortSignal): BackupError {
  const reason = signal?.reason;
  if (reason instanceof BackupError) return reason;
  return new BackupError('aborted', 'the operation was aborted', {cause: reason});
}

export function throwIfAborted(signal?: AbortSignal): void {
  if (signal?.aborted) throw abortError(signal);
}

/** "403 access_denied" (the status and code of what a service answered, when its cause has them), or the error's kind. */
export function failureCode(err: unknown): string {
  const cause = (isBackupError(err) ? err.cause : undefined) as {status?: unknown; code?: unknown} | undefined;
  const code = typeof cause?.code === 'string' ? cause.code : isBackupError(err) ? err.kind : 'failure';
  return `${typeof cause?.status === 'number' ? cause.status : ''} ${code}`.trim();
}

/** The leftover of `error` as the options of an error that wraps it and tells its message (BackupErrorOptions.leftover). */
export function leftoverOf(error: BackupError): Pick<BackupErrorOptions, 'leftover'> {
  return error.leftover === undefined ? {} : {leftover: error.leftover};
}

/** `error` without the leftover it told at the end of its message (one the caller tells anew, having removed what it could). */
export function withoutLeftover(error: BackupError): BackupError {
  const told = error.leftover === undefined ? undefined : `; ${error.leftover}`;
  if (told === undefined || !error.message.endsWith(told)) return error;
  return new BackupError(error.kind, error.message.slice(0, -told.length), {cause: error.cause, transient: error.transient, resumable: error.resumable});
}

/** `error` with `leftover` told at the end of its message (the leftover: what stays and how to remove it). */
export function withLeftover(error: BackupError, leftover: string): BackupError {
  return new BackupError(error.kind, `${error.message}; ${leftover}`, {cause: error.cause, leftover});
}

/**
 * `err`, a failure after the command had changed something (`done`: what, and how to go
 * on, as a clause added to its message): never with an exit code that says nothing was
 * changed (2, bad input: then 1), its transient mark and leftover kept, resumable (`done`
 * says how to go on). An
 * interruption (its own message says what it left) and an error that is no BackupError
 * (exit 1 already) are answered as they are.
 */
export function failedAfterChange(err: unknown, done: string): unknown {
  if (!isBackupError(err) || err.kind === 'aborted') return err;
  const kind = kindAfterChange(err.kind);
  const told = err.leftover === undefined ? undefined : `; ${err.leftover}`;
  const message = told !== undefined && err.message.endsWith(told) ? `${err.message.slice(0, -told.length)}; ${done}${told}` : `${err.message}; ${done}`;
  return new BackupError(kind, message, {cause: err.cause ?? err, transient: err.transient, resumable: true, ...leftoverOf(err)});
}

/** The kind of a failure of `kind` after something was changed: never one whose exit code says nothing was (bad input's 2: a failure's 1). */
export function kindAfterChange(kind: ErrorKind): ErrorKind {
  return EXIT_CODES[kind] === EXIT_CODES.bad_input ? 'failure' : kind;
}
