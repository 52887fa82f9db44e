import {afterStopBound} from '../after-stop.js';
import {CLEANUP_AGE, commandHint} from '../command-hint.js';
import {BackupError, failureCode, isBackupError, withLeftover} from '../errors.js';
import {anotherKeyRemoves, onceCapAllows, removalBlocker} from '../removal-refusal.js';
import type {B2Client} from './client.js';
import {profileRef, wrapUnknown} from './errors.js';
import {findStoredLike, type LostVersion} from './lost-duplicates.js';
import {retentionOf} from './retention.js';
import type {B2File} from './wire-types.js';

/**
 * What a store call (b2_finish_large_file, b2_upload_file) that the run sent left when the
 * run stopped or failed before it read the answer: B2 may have carried it out, leaving a
 * whole file that nobody asked for (from stdin, an archive no run can complete). Such a
 * file, once found, goes; these say what is true when it cannot.
 */

/**
 * `run "… cleanup --profile NAME"`: the cleanup of the profile the file is under (a copy's
 * is the --to profile), or the context's own way when that cleanup would look elsewhere
 * (cleanupFix: a move's destination). "to remove it" follows.
 */
export function cleanupCommand(client: B2Client): string {
  return client.context.cleanupFix ?? `run "${commandHint(client.context.cli, 'cleanup', client.context.locationFlags)}"`;
}

/**
 * Deletes `file`, a version this run stored that must not stay (matched by its file id and
 * name, never by name alone): undefined once it is gone (deleted, or already gone), else
 * why it stays and what removes it, as the leftover to tell the user: a cleanup (once it
 * may), but not with a key B2 refused the delete for. `signal` bounds it (CANCEL_AFTER_STOP_MS).
 */
export async function removeStoredVersion(client: B2Client, file: B2File, how: string, signal?: AbortSignal): Promise<string | undefined> {
  const refused = await client.deleteFileVersion(file.fileId, file.fileName, signal).then(
    () => undefined,
    (e: unknown) => (isBackupError(e) ? e : wrapUnknown(e, `deleting ${file.fileName} failed`, client.context.secrets)),
  );
  if (!refused || isBackupError(refused, 'not_found')) return undefined;
  // given up at the bound: B2 may have deleted it, its answer still on the way
  if (isBackupError(refused, 'aborted') && signal?.aborted) return mayRemain(client, file.fileName, `${how}, and deleting it was given up: B2 busy or unreachable`);
  return `${file.fileName} remains, whole (file id ${file.fileId}): ${how}, and deleting it failed (${failureCode(refused)}); ${whatRemoves(client, file, refused)}`;
}

/** What removes `file`, which B2 refused to delete (`refused`): when, and with what. */
function whatRemoves(client: B2Client, file: B2File, refused: unknown): string {
  const retention = retentionOf(file);
  const until = retention && retention.retainUntil.getTime() > client.serverNow().getTime() ? retention.retainUntil.toISOString() : undefined;
  const blocker = removalBlocker(refused);
  const cleanup = cleanupCommand(client);
  if (blocker === 'key') {
    // a cleanup with the same key is refused the same
    const key = `the key of ${profileRef(client.context)} may not delete it, nor can a cleanup with that key`;
    return until ? `Object Lock keeps it until ${until}, and ${key}; then ${anotherKeyRemoves(cleanup)}` : `${key}: ${anotherKeyRemoves(cleanup, CLEANUP_AGE)}`;
  }
  if (until || blocker === 'lock') return `Object Lock keeps it until ${until ?? 'its retention date'}; then ${cleanup} to remove it`;
  if (blocker === 'cap') return onceCapAllows(`${cleanup} to remove it`, CLEANUP_AGE);
  return `${cleanup} to remove it ${CLEANUP_AGE}`;
}

/** The leftover when B2 cannot be asked whether a store call this run sent was carried out. */
export function mayRemain(client: B2Client, fileName: string, how: string): string {
  return `${fileName} may remain (${how}): ${cleanupCommand(client)} to remove it ${CLEANUP_AGE}`;
}

/**
 * A b2_upload_file of a stream (which no run can resume) that a stop cut off once its whole
 * body was sent, or after an answer was lost: B2 may have stored it. The versions of that
 * name stored since the upload began with exactly its bytes (SHA1), size, content type and
 * info (which name this upload's backup) are what it stored (no other run writes this
 * name; its answer, with the file id, never came): each is deleted. Bounded as a cleanup
 * after a stop is (CANCEL_AFTER_STOP_MS). Answers the error to throw.
 */
export async function removeStoppedUpload(client: B2Client, bucketId: string, like: LostVersion, since: number, error: BackupError): Promise<BackupError> {
  const bound = afterStopBound();
  const how = 'B2 stored it as the upload was stopped';
  const found = await findStoredLike(client, bucketId, like, since, bound).catch(() => undefined);
  if (!found) return withLeftover(error, mayRemain(client, like.fileName, 'B2 may have stored it as the upload was stopped'));
  const stays: string[] = [];
  for (const version of found) {
    const left = await removeStoredVersion(client, version, how, bound);
    if (left) stays.push(left);
  }
  if (stays.length > 0) return withLeftover(error, stays.join('; '));
  // B2 had the whole body: it may still be storing it after this looked (its answer never came)
  if (found.length === 0) return withLeftover(error, mayRemain(client, like.fileName, 'B2 had all of it when the upload was stopped and may store it after this looked'));
  return new BackupError(error.kind, `${error.message}; B2 stored ${like.fileName} as the upload was stopped: that file was deleted`, {cause: error.cause});
}
