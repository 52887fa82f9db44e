import {afterStopBound} from '../after-stop.js';
import {BackupError, withLeftover} from '../errors.js';
import type {B2Client} from './client.js';
import {findStoredLike, type LostVersion} from './lost-duplicates.js';
import {mayRemain, removeStoredVersions} from './remove-version.js';

/**
 * What a store call (b2_finish_large_file, b2_upload_file) that the run sent left when the
 * run stopped or failed before it read the answer: B2 may have carried it out, leaving a
 * whole file that nobody asked for (from stdin, an archive no run can complete). Such a
 * file, once found, goes (remove-version.ts says what is true when it cannot).
 */

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
  const stays = await removeStoredVersions(client, found, how, bound);
  if (stays) return withLeftover(error, stays);
  // B2 had the whole body: it may still be storing it after this looked (its answer never came)
  if (found.length === 0) return withLeftover(error, mayRemain(client, like.fileName, 'B2 had all of it when the upload was stopped and may store it after this looked'));
  return new BackupError(error.kind, `${error.message}; B2 stored ${like.fileName} as the upload was stopped: that file was deleted`, {cause: error.cause});
}
