import {readFile} from 'node:fs/promises';
import {dirname, join} from 'node:path';
import {removeStaleTempFiles, writeFileAtomic} from '../atomic-file.js';
import {withFileLock} from '../file-lock.js';
import {makeDirs} from '../make-dirs.js';
import {scrub} from '../redact.js';
import {withoutGivenKeys} from './argument-keys.js';
import {secretArgs} from './secret-args.js';

/** How many recent failures `b2 diagnostics` can report. */
const KEEP = 20;
/** Longest message kept: the log is for bug reports, not for values people pasted. */
const MAX_MESSAGE = 500;

export interface LoggedError {
  time: string;
  command: string;
  kind: string;
  exitCode: number;
  /** The one-line message the user saw (messages never carry secrets or argument values). */
  message: string;
}

export const errorLogPath = (cacheDir: string) => join(cacheDir, 'recent-errors.json');

export async function readErrorLog(cacheDir: string): Promise<LoggedError[]> {
  try {
    const parsed = JSON.parse(await readFile(errorLogPath(cacheDir), 'utf8'));
    return Array.isArray(parsed) ? parsed : [];
  } catch {
    return [];
  }
}

/**
 * Best effort: a failure to record a failure must never hide the failure itself.
 * Concurrent commands append under a lock, so none loses another's entry. As a
 * backstop, key values from the command line and the environment are scrubbed, and
 * any key-shaped piece of the command's arguments is not shown (withoutGivenKeys).
 */
export async function recordError(cacheDir: string, entry: LoggedError, argv: readonly string[] = []): Promise<void> {
  try {
    const path = errorLogPath(cacheDir);
    await makeDirs(dirname(path), {mode: 0o700});
    const message = withoutGivenKeys(scrub(entry.message, [...secretArgs(argv), process.env.B2_APPLICATION_KEY]), argv);
    const logged = {...entry, message: message.length > MAX_MESSAGE ? `${message.slice(0, MAX_MESSAGE)}…` : message};
    await withFileLock(path, async () => {
      await removeStaleTempFiles(path); // a command killed while it wrote the log left its temp file
      const entries = [...(await readErrorLog(cacheDir)), logged].slice(-KEEP);
      await writeFileAtomic(path, JSON.stringify(entries, null, 1) + '\n', {mode: 0o600});
    });
  } catch {
    // ignored on purpose
  }
}
