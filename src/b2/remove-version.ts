import {afterStopBound} from '../after-stop.js';
import {commandHint} from '../command-hint.js';
import {BackupError, failureCode, isBackupError, withLeftover} from '../errors.js';
import {byCleanup, removalBlocker, whatRemoves, type Refusal} from '../removal-refusal.js';
import type {B2Client} from './client.js';
import {keyRef, wrapUnknown} from './errors.js';
import {retentionOf} from './retention.js';
import type {B2File} from './wire-types.js';

/**
 * A version this run stored that must not stay (B2 stored it as a run was stopped, as an
 * answer was lost, or not as it was sent): deleted by its file id, and when that cannot be
 * done, a line that says what is true of it and what removes it.
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
  return removeStoredVersions(client, [file], how, signal);
}

/**
 * removeStoredVersion for versions of one name (`files`): what stays of them is told once
 * for all that stay for the same reason, not once per version.
 */
export async function removeStoredVersions(client: B2Client, files: B2File[], how: string, signal?: AbortSignal): Promise<string | undefined> {
  const {givenUp, refused} = await deleteVersions(client, files, signal);
  const by = byCleanup(cleanupCommand(client));
  const lines = refused.map(({code, refusal, files: stay}) => `${stay[0].fileName} remains, whole (${fileIds(stay)}): ${how}, and deleting ${them(stay)} failed (${code}); ${whatRemoves(refusal, by)}`);
  if (givenUp.length > 0) lines.push(mayRemain(client, givenUp[0].fileName, `${how}, and deleting ${them(givenUp)} was given up: B2 busy or unreachable`));
  return lines.length > 0 ? lines.join('; ') : undefined;
}

/** "it" for one version, "them" for several. */
export function them(files: B2File[]): string {
  return files.length === 1 ? 'it' : 'them';
}

/**
 * What became of versions deleted one by one (deleteVersion): those given up at the bound
 * (`signal`), and those B2 refused, grouped by what a line says of them (B2's answer and
 * the refusal: one line for the same reason, not one per version).
 */
export async function deleteVersions(client: B2Client, files: B2File[], signal?: AbortSignal): Promise<{givenUp: B2File[]; refused: Array<{code: string; refusal: Refusal; files: B2File[]}>}> {
  const givenUp: B2File[] = [];
  const refused = new Map<string, {code: string; refusal: Refusal; files: B2File[]}>();
  for (const file of files) {
    const outcome = await deleteVersion(client, file, signal);
    if (outcome === 'given up') givenUp.push(file);
    else if (outcome) {
      const code = failureCode(outcome);
      const refusal = refusalOf(client, file, outcome);
      const group = JSON.stringify([code, refusal]);
      refused.set(group, {code, refusal, files: [...(refused.get(group)?.files ?? []), file]});
    }
  }
  return {givenUp, refused: [...refused.values()]};
}

/** Deletes `file`: undefined once it is gone, 'given up' at the bound (B2 may have deleted it, its answer still on the way), else B2's refusal. */
export async function deleteVersion(client: B2Client, file: B2File, signal?: AbortSignal): Promise<BackupError | 'given up' | undefined> {
  const refused = await client.deleteFileVersion(file.fileId, file.fileName, signal).then(
    () => undefined,
    (e: unknown) => (isBackupError(e) ? e : wrapUnknown(e, `deleting ${file.fileName} failed`, client.context.secrets)),
  );
  if (!refused || isBackupError(refused, 'not_found')) return undefined;
  return isBackupError(refused, 'aborted') && signal?.aborted ? 'given up' : refused;
}

export function fileIds(files: B2File[]): string {
  return files.length === 1 ? `file id ${files[0].fileId}` : `${files.length} versions, file ids ${files.map((f) => f.fileId).join(', ')}`;
}

/** What stands in the way of deleting `file`, which B2 refused (`refused`): the refusal, Object Lock's end (by B2's clock), this profile's key. */
function refusalOf(client: B2Client, file: B2File, refused: unknown): Refusal {
  const retention = retentionOf(file);
  const until = retention && retention.retainUntil.getTime() > client.serverNow().getTime() ? retention.retainUntil.toISOString() : undefined;
  const blocker = removalBlocker(refused);
  return {...(blocker ? {blocker} : {}), ...(until ? {until} : {}), key: keyRef(client.context)};
}

/** The leftover when B2 cannot be asked whether a store call this run sent was carried out. */
export function mayRemain(client: B2Client, fileName: string, how: string): string {
  return `${fileName} may remain (${how}): ${whatRemoves({}, byCleanup(cleanupCommand(client)))}`;
}

/**
 * Fails with `error` once `file`, a version this run stored that failed a check (`how`: why
 * it must not stay), is deleted: within CANCEL_AFTER_STOP_MS (the check's failure ends the
 * command, which is not to wait out B2's backoff again). The error then adds `deleted`, or
 * what remains and what removes it (removeStoredVersion), as its leftover.
 */
export async function refuseStored(client: B2Client, file: B2File, error: BackupError, how: string, deleted: string): Promise<BackupError> {
  const stays = await removeStoredVersion(client, file, how, afterStopBound());
  return stays ? withLeftover(error, stays) : new BackupError(error.kind, `${error.message}; ${deleted}`, {cause: error.cause});
}
