import PQueue from 'p-queue';
import type {Retention} from '../backend.js';
import {BackupError, abortError, isBackupError} from '../errors.js';
import type {Encryption} from '../profiles/types.js';
import type {B2Client} from './client.js';
import {wrapUnknown} from './errors.js';
import {lostAnswerWatch} from './failure.js';
import {assertCopyRecordsAgree} from './copy-records.js';
import {cancelFailed, findResumable, findStartedUnseen, keptForRerun} from './large-file-upload.js';
import {deleteLostDuplicates, deleteLostVersions, failAfterLostAnswers} from './lost-duplicates.js';
import {MAX_COPY_FILE, planParts} from './part-plan.js';
import {refuseStored} from './remove-version.js';
import {COPY_SOURCE, LARGE_FILE_SHA1, MAX_FILE_INFO_KEYS, plainSha1, type B2File, type B2Part} from './wire-types.js';

/** Where a copy goes: the destination's client (it makes every call), bucket and name, and how to split a large one. */
export interface CopyTarget {
  client: B2Client;
  bucketId: string;
  fileName: string;
  /** Largest source copied with one b2_copy_file; larger ones go as parts (tests make it small). */
  copyCutoff: number;
  /** Part size of a large copy; undefined: the server's recommendation. */
  partSize?: number;
  concurrency: number;
  /** Refuses the copy's file info where the destination's limit does not take it (before any call that writes). */
  assertInfoFits: (info: Record<string, string>) => Promise<void>;
}

export interface CopySource {
  /** The source version as b2_get_file_info describes it now. */
  file: B2File;
  /** The source's SSE-C key, when the source is SSE-C. */
  key?: Encryption;
  /** Lowercase hex SHA1 the copy must have, when the caller knows it (a backup's record). */
  sha1?: string;
  /** Object Lock for the copy (B2 copies no retention by itself; the bucket's default applies otherwise). */
  retention?: Retention;
  /** The command that reads the backup at the source, which a refusal of the records names (assertCopyRecordsAgree). */
  verify: string;
}

/**
 * A server-side copy (no byte passes through this process), checked before it is
 * answered; a copy that fails a check is deleted, and the source is never touched.
 *
 * First the records: the SHA1 the caller expects (the backup's record) and the one B2
 * keeps for the source (contentSha1, or a large file's large_file_sha1) must agree when
 * both exist; records that disagree are refused before anything is copied.
 *
 * Up to `copyCutoff`: one b2_copy_file (content type and file info kept). B2 computes
 * the SHA1 of the bytes it stored, so the copy's size and SHA1 are checked against the
 * expected ones: a real check. When no SHA1 is expected (none on record for the source),
 * the copy's file info also names the source version (COPY_SOURCE, see pinnedInfo), as a
 * large copy's does: the record that proves, on a later run, what the copy is of.
 *
 * Above: a large file of b2_copy_part parts (copyLarge). B2 computes no SHA1 of a large
 * file, only of each part, and keeps no SHA1 of a finished file's parts or of a byte
 * range (b2_list_parts lists only unfinished files), so nothing independent is there to
 * compare a large copy's whole SHA1 with: only reading the copy back (the download a
 * server-side copy exists to avoid) could check it. A large copy is therefore checked
 * by construction: every part is B2's copy of the byte range asked for, of this very
 * source version, with the part number and size asked for, and b2_finish_large_file
 * binds the file to those parts' SHA1s; its large_file_sha1 is the expected SHA1 carried
 * over (the record), not a checked value. An interrupted copy, or one that B2 stayed busy
 * or unreachable for through every retry, keeps its unfinished file, and is continued
 * only from an unfinished copy of the same source version (its id is in the file info,
 * COPY_SOURCE), whose parts were made the same way; a copy that failed otherwise, or one
 * with no room in its file info for that id (which no run would continue), is cancelled.
 */
export async function serverCopy(t: CopyTarget, src: CopySource, signal?: AbortSignal): Promise<{file: B2File; sha1?: string; leftover?: string}> {
  const size = src.file.contentLength;
  const recorded = plainSha1(src.file.contentSha1) ?? plainSha1(src.file.fileInfo?.[LARGE_FILE_SHA1]);
  assertCopyRecordsAgree(src.file.fileName, recorded, src.sha1, src.verify);
  const expected = src.sha1 ?? recorded;
  if (size > Math.min(t.copyCutoff, MAX_COPY_FILE)) {
    const file = await copyLarge(t, src, size, expected, signal);
    await refuseCopy(t, file, file.contentLength !== size ? `${file.contentLength} bytes instead of ${size}` : undefined);
    return {file, sha1: expected};
  }
  // B2 computes the copy's SHA1, but a source with none on record cannot be compared with
  // it: the copy names the version it was made from instead (file info kept otherwise)
  const pin = recorded ? undefined : pinnedInfo(src);
  const replace = pin && {contentType: src.file.contentType ?? 'application/octet-stream', fileInfo: pin};
  await t.assertInfoFits(replace?.fileInfo ?? src.file.fileInfo ?? {});
  const lost = lostAnswerWatch();
  // a second of slack: B2 stamps to the millisecond, our idea of its clock is the Date header's
  const since = t.client.serverNow().getTime() - 1000;
  const file = await t.client.copyFile({sourceFileId: src.file.fileId, fileName: t.fileName, destinationBucketId: t.bucketId, sourceKey: src.key, retention: src.retention, replace}, signal, {refine: lost.refine}).catch(async (err: unknown) =>
    // the copies the lost answers made would stay billed, and a run again would keep them beside its own
    failAfterLostAnswers(err, lost, signal, async () => {
      const like = {fileName: t.fileName, contentLength: size, sha1: expected, contentType: replace?.contentType ?? src.file.contentType ?? 'application/octet-stream', fileInfo: replace?.fileInfo ?? src.file.fileInfo ?? {}};
      return deleteLostVersions(t.client, t.bucketId, 'copy', like, since);
    }),
  );
  const got = plainSha1(file.contentSha1);
  await refuseCopy(t, file, file.contentLength !== size ? `${file.contentLength} bytes instead of ${size}` : expected && got !== expected ? `SHA1 ${got ?? 'unknown'} instead of ${expected}` : undefined);
  const leftover = lost.seen() ? await deleteLostDuplicates(t.client, t.bucketId, 'copy', file, signal) : undefined;
  return {file, sha1: got ?? expected, ...(leftover ? {leftover} : {})};
}

/** Deletes a copy that failed its check (`problem`) and throws; nothing when there is no problem. */
async function refuseCopy(t: CopyTarget, file: B2File, problem: string | undefined): Promise<void> {
  if (!problem) return;
  const error = new BackupError('checksum_mismatch', `the server-side copy ${t.fileName} has ${problem} (its source was left as it was)`);
  throw await refuseStored(t.client, file, error, 'it is not a true copy', 'the copy was deleted');
}

/**
 * The source's file info plus the source version's id (COPY_SOURCE): a finished copy
 * carrying it is known, by the name of the immutable version B2 copied, to hold that
 * version's bytes (ObjectInfo.copiedFrom), which proves a copy of an archive whose SHA1
 * nobody recorded. Undefined when B2's 10 entries leave no room for it.
 */
function pinnedInfo(src: Pick<CopySource, 'file'>): Record<string, string> | undefined {
  const info = withoutPin(src.file.fileInfo ?? {});
  return Object.keys(info).length < MAX_FILE_INFO_KEYS ? {...info, [COPY_SOURCE]: src.file.fileId} : undefined;
}

/** A copy of a copy: its own source is the file copied, not that file's source. */
function withoutPin(info: Record<string, string>): Record<string, string> {
  const {[COPY_SOURCE]: _source, ...rest} = info;
  return rest;
}

async function copyLarge(t: CopyTarget, src: CopySource, size: number, expected: string | undefined, signal?: AbortSignal): Promise<B2File> {
  const {client, fileName} = t;
  const auth = client.auth;
  const plan = planParts({size, partSize: t.partSize, recommendedPartSize: auth.recommendedPartSize, absoluteMinimumPartSize: auth.absoluteMinimumPartSize});
  const contentType = src.file.contentType ?? 'application/octet-stream';
  // a large file has no contentSha1: the whole file's goes in its info, as an upload records it
  const info: Record<string, string> = {...src.file.fileInfo, ...(expected ? {[LARGE_FILE_SHA1]: expected} : {})};
  // The source version's id pins an unfinished copy to it: B2 keeps no SHA1 of a source
  // range, so a part found in an unfinished file is known to be this source's bytes only
  // because this source's copy made it. With no room left in the file info (B2 keeps 10
  // entries), nothing pins it, and no unfinished copy is continued.
  const pinned = pinnedInfo({file: {...src.file, fileInfo: info}});
  const fileInfo = pinned ?? withoutPin(info);
  await t.assertInfoFits(fileInfo);
  const resumed = pinned ? await findResumable({client, bucketId: t.bucketId, fileName, contentType, fileInfo, plan, signal}) : undefined;
  // a start whose answer was lost made a file: continue with it rather than leave it unfinished beside a second one
  const start = {bucketId: t.bucketId, fileName, contentType, fileInfo};
  const largeFileId = resumed?.file.fileId ?? (await client.startLargeFile({...start, retention: src.retention}, signal, () => findStartedUnseen({...start, client, signal}))).fileId;
  const sha1s: string[] = [];
  for (const p of resumed?.parts ?? []) sha1s[p.partNumber - 1] = p.contentSha1;
  const queue = new PQueue({concurrency: t.concurrency});
  const internal = new AbortController();
  const stop = signal ? AbortSignal.any([signal, internal.signal]) : internal.signal;
  let failure: unknown;
  for (let n = 1; n <= plan.partCount!; n++) {
    if (sha1s[n - 1]) continue;
    const partNumber = n;
    const start = (n - 1) * plan.partSize;
    const length = plan.sizeOf(n);
    void queue.add(async () => {
      if (stop.aborted) return;
      const part: B2Part = await client.copyPart({sourceFileId: src.file.fileId, largeFileId, partNumber, range: {start, end: start + length - 1}, sourceKey: src.key}, fileName, stop);
      if (part.partNumber !== partNumber || part.contentLength !== length || !plainSha1(part.contentSha1)) throw new BackupError('checksum_mismatch', `B2 copied part ${part.partNumber} of ${fileName} with ${part.contentLength} bytes (SHA1 ${part.contentSha1}); asked for part ${partNumber}, ${length} bytes`);
      sha1s[partNumber - 1] = part.contentSha1;
    }).catch((err: unknown) => {
      failure ??= err;
      internal.abort();
    });
  }
  await queue.onIdle();
  const large = {client, bucketId: t.bucketId, fileName, fileId: largeFileId, what: 'copy' as const};
  /** b2_finish_large_file was sent: B2 may have finished the copy, whatever its answer became. */
  let finishSent = false;
  // Stopped by the caller: kept for the same copy run again to continue; an unpinned one no
  // run would continue, and its parts are billed: cancelled, as an interrupted upload that
  // cannot resume is (retried for CANCEL_AFTER_STOP_MS at most; a second Ctrl-C quits at once)
  const stopped = async (): Promise<BackupError> => {
    const aborted = abortError(signal);
    if (pinned) return aborted;
    const error = await cancelFailed(large, aborted, {afterStop: true, finishSent, resumed: resumed !== undefined});
    return error.leftover ? error : new BackupError(aborted.kind, `${error.message}; no unfinished copy of ${fileName} was left (none could be resumed: its file info has no room to name the source version)`, {cause: aborted.cause});
  };
  if (signal?.aborted) throw await stopped();
  // B2 stayed busy or unreachable through every retry: the parts copied are kept for the
  // same copy run again to continue (pinned to this source), as an upload keeps its own
  const failed = async (err: unknown) => {
    const error = isBackupError(err) ? err : wrapUnknown(err, `server-side copy of ${fileName} failed: ${(err as Error)?.message ?? String(err)}`, client.context.secrets);
    if (error.transient && pinned) return keptForRerun(error, {fileName, parts: sha1s.filter(Boolean).length, what: 'copy'});
    return cancelFailed(large, error, {finishSent, resumed: resumed !== undefined});
  };
  if (failure) throw await failed(failure);
  try {
    finishSent = true;
    return await client.finishLargeFile(largeFileId, sha1s, fileName, signal);
  } catch (err) {
    if (signal?.aborted) throw await stopped();
    if (isBackupError(err, 'aborted')) throw err;
    // a finish whose answer was lost may have finished the file
    const file = await client.getFileInfo(largeFileId, fileName).catch(() => undefined);
    if (file?.action === 'upload' && file.contentLength === size) return file;
    throw await failed(err);
  }
}
