import PQueue from 'p-queue';
import type {Retention} from '../backend.js';
import {BackupError, abortError, isBackupError} from '../errors.js';
import type {Encryption} from '../profiles/types.js';
import type {B2Client} from './client.js';
import {findResumable} from './large-file-upload.js';
import {MAX_COPY_FILE, planParts} from './part-plan.js';
import {LARGE_FILE_SHA1, plainSha1, type B2File, type B2Part} from './wire-types.js';

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
}

/**
 * A server-side copy (no byte passes through this process), checked before it is
 * answered: the stored size must be the source's, and the SHA1 B2 reports for the copy
 * (contentSha1, or large_file_sha1 of a large file) the one expected. A copy that fails
 * the check is deleted. Up to `copyCutoff` one b2_copy_file (content type and file info
 * kept); above, a large file of b2_copy_part parts that resumes: an unfinished copy of
 * the same name and info (an interrupted run's) is continued with the parts it has.
 */
export async function serverCopy(t: CopyTarget, src: CopySource, signal?: AbortSignal): Promise<{file: B2File; sha1?: string}> {
  const size = src.file.contentLength;
  const expected = src.sha1 ?? plainSha1(src.file.contentSha1) ?? plainSha1(src.file.fileInfo?.[LARGE_FILE_SHA1]);
  const file = size <= Math.min(t.copyCutoff, MAX_COPY_FILE)
    ? await t.client.copyFile({sourceFileId: src.file.fileId, fileName: t.fileName, destinationBucketId: t.bucketId, sourceKey: src.key, retention: src.retention}, signal)
    : await copyLarge(t, src, size, expected, signal);
  const got = plainSha1(file.contentSha1) ?? plainSha1(file.fileInfo?.[LARGE_FILE_SHA1]);
  const problem = file.contentLength !== size ? `${file.contentLength} bytes instead of ${size}` : expected && got !== expected ? `SHA1 ${got ?? 'unknown'} instead of ${expected}` : undefined;
  if (problem) {
    const removed = await t.client.deleteFileVersion(file.fileId, file.fileName).then(() => true, () => false);
    throw new BackupError('checksum_mismatch', `the server-side copy ${t.fileName} has ${problem}; ${removed ? 'it was deleted' : `delete it by hand (file id ${file.fileId})`}, and the source was left as it was`);
  }
  return {file, sha1: got ?? expected};
}

async function copyLarge(t: CopyTarget, src: CopySource, size: number, expected: string | undefined, signal?: AbortSignal): Promise<B2File> {
  const {client, fileName} = t;
  const auth = client.auth;
  const plan = planParts({size, partSize: t.partSize, recommendedPartSize: auth.recommendedPartSize, absoluteMinimumPartSize: auth.absoluteMinimumPartSize});
  const contentType = src.file.contentType ?? 'application/octet-stream';
  // a large file has no contentSha1: the whole file's goes in its info, as an upload records it
  const fileInfo = {...src.file.fileInfo, ...(expected ? {[LARGE_FILE_SHA1]: expected} : {})};
  const resumed = await findResumable({client, bucketId: t.bucketId, fileName, contentType, fileInfo, plan, signal});
  const largeFileId = resumed?.file.fileId ?? (await client.startLargeFile({bucketId: t.bucketId, fileName, contentType, fileInfo, retention: src.retention}, signal)).fileId;
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
      if (part.partNumber !== partNumber || part.contentLength !== length) throw new BackupError('checksum_mismatch', `B2 copied part ${part.partNumber} of ${fileName} with ${part.contentLength} bytes; asked for part ${partNumber}, ${length} bytes`);
      sha1s[partNumber - 1] = part.contentSha1;
    }).catch((err: unknown) => {
      failure ??= err;
      internal.abort();
    });
  }
  await queue.onIdle();
  if (signal?.aborted) throw abortError(signal); // kept: the same copy again continues it
  if (failure) {
    await client.cancelLargeFile(largeFileId, fileName).catch(() => undefined);
    throw failure;
  }
  try {
    return await client.finishLargeFile(largeFileId, sha1s, fileName, signal);
  } catch (err) {
    if (signal?.aborted || isBackupError(err, 'aborted')) throw err;
    // a finish whose answer was lost may have finished the file
    const file = await client.getFileInfo(largeFileId, fileName).catch(() => undefined);
    if (file?.action === 'upload' && file.contentLength === size) return file;
    throw err;
  }
}
