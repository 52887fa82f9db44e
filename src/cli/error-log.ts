import {mkdir, readFile} from 'node:fs/promises';
import {dirname, join} from 'node:path';
import {writeFileAtomic} from '../atomic-file.js';

/** How many recent failures `b2 diagnostics` can report. */
const KEEP = 20;

export interface LoggedError {
  time: string;
  command: string;
  kind: string;
  exitCode: number;
  /** The one-line message the user saw (messages never carry secrets). */
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

/** Best effort: a failure to record a failure must never hide the failure itself. */
export async function recordError(cacheDir: string, entry: LoggedError): Promise<void> {
  try {
    const path = errorLogPath(cacheDir);
    await mkdir(dirname(path), {recursive: true});
    const entries = [...(await readErrorLog(cacheDir)), entry].slice(-KEEP);
    await writeFileAtomic(path, JSON.stringify(entries, null, 1) + '\n', {mode: 0o600});
  } catch {
    // ignored on purpose
  }
}
