import {afterStopBound} from '../after-stop.js';
import {BackupError, isBackupError} from '../errors.js';
import {whatRemoves} from '../removal-refusal.js';
import type {B2Client} from './client.js';
import {listVersions} from './lister.js';
import {deleteVersions, fileIds, mayRemain, removeStoredVersions, them} from './remove-version.js';
import {COPY_SOURCE, LARGE_FILE_SHA1, plainSha1, type B2File} from './wire-types.js';

/**
 * A b2_upload_file or b2_copy_file (`call`) whose answer was lost may have been carried
 * out, and its retry then stored the object again: an older version of the same name,
 * bytes and file info stays behind, billed and never listed (a listing shows the newest).
 * Deletes such versions of `kept`'s name, keeping `kept`. Only versions that prove to hold
 * the very same bytes and info go, so nothing is lost whoever made them. `kept` is stored
 * either way: bounded by CANCEL_AFTER_STOP_MS as well as `signal` (a clean-up, not the
 * store), and what stays of them, or could not be looked for, is answered as a line to
 * warn (undefined: nothing stays). No cleanup removes them (they are older versions of a
 * stored file), so the line names the B2 web console.
 */
export async function deleteLostDuplicates(client: B2Client, bucketId: string, call: keyof typeof LEFT_BY, kept: B2File, signal?: AbortSignal): Promise<string | undefined> {
  const bound = signal ? AbortSignal.any([signal, afterStopBound()]) : afterStopBound();
  const words = LEFT_BY[call];
  const duplicates: B2File[] = [];
  try {
    for await (const version of listVersions(client, bucketId, kept.fileName, bound)) if (sameStoredObject(version, kept)) duplicates.push(version);
  } catch {
    const why = signal?.aborted ? ' (the command was stopped)' : '';
    return `${kept.fileName} may keep older ${words.many} of it B2 ${words.made} as answers were lost, billed beside the one kept (file id ${kept.fileId}): they could not be looked for${why}; the B2 web console lists its versions, to delete them there`;
  }
  const {givenUp, refused} = await deleteVersions(client, duplicates, bound);
  /** The versions `files` as the line names them, and what B2 keeps of them beside `kept`. */
  const what = (files: B2File[]) => `${files.length === 1 ? `an older ${words.one.slice('the '.length)}` : `${files.length} older ${words.many}`} of it B2 ${words.made} as answers were lost, billed beside the one kept (file id ${kept.fileId}; ${fileIds(files)})`;
  // no command removes them (whatRemoves without one): the web console
  const lines = refused.map(({code, refusal, files}) => `${kept.fileName} keeps ${what(files)}: deleting ${them(files)} failed (${code}); ${whatRemoves(refusal, undefined, them(files))}`);
  // given up at the bound, or when the user stopped the command: B2 need not have been busy then
  if (givenUp.length > 0) lines.push(`${kept.fileName} may keep ${what(givenUp)}: deleting ${them(givenUp)} was ${signal?.aborted ? 'stopped with the command' : 'given up (B2 busy or unreachable)'}; ${whatRemoves({}, undefined, them(givenUp))} if still there`);
  return lines.length > 0 ? lines.join('; ') : undefined;
}

/** What a b2_upload_file or b2_copy_file stores: the name, size, content type and file info, and the SHA1 when known. */
export interface LostVersion {
  fileName: string;
  contentLength: number;
  sha1?: string;
  contentType: string;
  fileInfo: Record<string, string>;
}

/** How an error names the versions lost answers left: a b2_copy_file's copies, a b2_upload_file's uploads. */
const LEFT_BY = {
  copy: {one: 'the copy', many: 'copies', made: 'made'},
  upload: {one: 'the version', many: 'versions', made: 'stored'},
} as const;

/**
 * A b2_copy_file or b2_upload_file that failed after answers were lost (every retry's
 * connection cut once B2 had stored the object): each lost answer may have left a
 * version, billed, which the same command run again would take for its own and keep
 * beside the one it stores. Deletes the versions of `like.fileName` that hold exactly
 * what the call would have stored (`like`: its size, SHA1 or pinned source, content type
 * and info; uploaded since `since`, by B2's clock). Answers what became of them for the
 * error: `deleted`, or what remains (or may) and what removes it (removeStoredVersions),
 * the error's leftover; undefined when there were none. Bounded as a cleanup on the way out is (CANCEL_AFTER_STOP_MS):
 * the failure has waited out B2's backoff already.
 */
export async function deleteLostVersions(client: B2Client, bucketId: string, call: keyof typeof LEFT_BY, like: LostVersion, since: number): Promise<LostVersionsOutcome | undefined> {
  const words = LEFT_BY[call];
  const bound = afterStopBound();
  const found = await findStoredLike(client, bucketId, like, since, bound).catch(() => undefined);
  if (!found) return {leftover: mayRemain(client, like.fileName, `the ${words.many} of it B2 may have ${words.made}, whose answers were lost, could not be looked for`)};
  if (found.length === 0) return undefined;
  const stays = await removeStoredVersions(client, found, `B2 ${words.made} it as answers were lost`, bound);
  if (stays) return {leftover: stays};
  return {deleted: `${found.length === 1 ? words.one : `the ${found.length} ${words.many}`} of it B2 ${words.made} whose answers were lost ${found.length === 1 ? 'was' : 'were'} deleted again`};
}

/** What deleteLostVersions made of the versions lost answers left: deleted (`deleted` says so), or what stays (`leftover`). */
export type LostVersionsOutcome = {deleted: string} | {leftover: string};

/** The versions of `like.fileName` uploaded since `since` (B2's clock) that hold exactly what `like` stores. */
export async function findStoredLike(client: B2Client, bucketId: string, like: LostVersion, since: number, signal?: AbortSignal): Promise<B2File[]> {
  const found: B2File[] = [];
  for await (const version of listVersions(client, bucketId, like.fileName, signal)) if (version.uploadTimestamp >= since && isStoredLike(version, like)) found.push(version);
  return found;
}

/**
 * The failure of a store call whose answers may have been lost (`lost`): unless it was
 * aborted, `deleteLost` deletes what those answers stored (deleteLostVersions), and the
 * error thrown says what became of them. Else `err` as it was.
 */
export async function failAfterLostAnswers(err: unknown, lost: {seen: () => boolean}, signal: AbortSignal | undefined, deleteLost: () => Promise<LostVersionsOutcome | undefined>): Promise<never> {
  if (!lost.seen() || signal?.aborted || isBackupError(err, 'aborted') || !isBackupError(err)) throw err;
  const removed = await deleteLost();
  if (!removed) throw err;
  // what stays is the error's leftover too, which an interrupted command's own line repeats
  const leftover = 'leftover' in removed ? {leftover: removed.leftover} : {};
  throw new BackupError(err.kind, `${err.message}; ${'leftover' in removed ? removed.leftover : removed.deleted}`, {cause: err.cause, transient: err.transient, resumable: err.resumable, ...leftover});
}

/** Another stored version with the same bytes (a known SHA1, or a large file's recorded one), type and info, no newer than `kept`. */
function sameStoredObject(version: B2File, kept: B2File): boolean {
  const sha1 = plainSha1(kept.contentSha1) ?? plainSha1(kept.fileInfo[LARGE_FILE_SHA1]);
  return (
    version.fileId !== kept.fileId &&
    version.action === 'upload' &&
    sha1 !== undefined &&
    version.contentLength === kept.contentLength &&
    version.contentSha1 === kept.contentSha1 &&
    version.contentType === kept.contentType &&
    version.uploadTimestamp <= kept.uploadTimestamp &&
    sameInfo(version.fileInfo, kept.fileInfo)
  );
}

/**
 * A stored version holding what `like` stores: its size, type and info, and its bytes,
 * proven by their SHA1 or, where none is known, by the source version a copy names in
 * its info (COPY_SOURCE: a file id names bytes that never change).
 */
function isStoredLike(version: B2File, like: LostVersion): boolean {
  const bytes = like.sha1 ? plainSha1(version.contentSha1) === like.sha1 : like.fileInfo[COPY_SOURCE] !== undefined;
  return version.action === 'upload' && bytes && version.contentLength === like.contentLength && version.contentType === like.contentType && sameInfo(version.fileInfo, like.fileInfo);
}

function sameInfo(a: Record<string, string>, b: Record<string, string>): boolean {
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((k) => Object.hasOwn(b, k) && a[k] === b[k]);
}
