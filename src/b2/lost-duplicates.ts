import type {B2Client} from './client.js';
import {listVersions} from './lister.js';
import {COPY_SOURCE, LARGE_FILE_SHA1, plainSha1, type B2File} from './wire-types.js';

/**
 * A b2_upload_file or b2_copy_file whose answer was lost may have been carried out, and
 * its retry then stored the object again: an older version of the same name, bytes and
 * file info stays behind, billed and never listed (a listing shows the newest). Deletes
 * such versions of `kept`'s name, keeping `kept`; a version Object Lock keeps stays until
 * its retention ends. Only versions that prove to hold the very same bytes and info go,
 * so nothing is lost whoever made them. Best effort: `kept` is stored either way.
 * Answers how many versions were deleted.
 */
export async function deleteLostDuplicates(client: B2Client, bucketId: string, kept: B2File, signal?: AbortSignal): Promise<number> {
  const duplicates: B2File[] = [];
  try {
    for await (const version of listVersions(client, bucketId, kept.fileName, signal)) if (sameStoredObject(version, kept)) duplicates.push(version);
  } catch {
    return 0;
  }
  let deleted = 0;
  for (const duplicate of duplicates) {
    deleted += await client.deleteFileVersion(duplicate.fileId, duplicate.fileName, signal).then(() => 1, () => 0);
  }
  return deleted;
}

/** What a b2_copy_file stores: the copy's name, size, content type and file info, and its SHA1 when known. */
export interface LostCopy {
  fileName: string;
  contentLength: number;
  sha1?: string;
  contentType: string;
  fileInfo: Record<string, string>;
}

/**
 * A b2_copy_file that failed after answers were lost (every retry's connection cut once
 * B2 had made the copy): each lost answer may have left a copy, billed, which the same
 * command run again would take for its own and keep beside the one it uses. Deletes the
 * versions of `like.fileName` that hold exactly what the copy would have stored (`like`:
 * its size, SHA1 or pinned source, content type and info; uploaded since `since`, by
 * B2's clock). Answers what became of them for the error: deleted, or kept (Object
 * Lock, or another failure) with their ids; undefined when there were none. Best effort.
 */
export async function deleteLostCopies(client: B2Client, bucketId: string, like: LostCopy, since: number, signal?: AbortSignal): Promise<string | undefined> {
  const copies: B2File[] = [];
  try {
    for await (const version of listVersions(client, bucketId, like.fileName, signal)) if (version.uploadTimestamp >= since && isCopyLike(version, like)) copies.push(version);
  } catch {
    return `the copies of it B2 may have made, whose answers were lost, could not be looked for: list the versions of ${like.fileName} and delete them`;
  }
  const kept: string[] = [];
  for (const copy of copies) await client.deleteFileVersion(copy.fileId, copy.fileName, signal).catch(() => kept.push(copy.fileId));
  if (copies.length === 0) return undefined;
  const made = `${copies.length === 1 ? 'the copy' : `the ${copies.length} copies`} of it B2 made whose answers were lost`;
  return kept.length === 0 ? `${made} ${copies.length === 1 ? 'was' : 'were'} deleted again` : `of ${made}, ${kept.length} could not be deleted (file id ${kept.join(', ')}): delete ${kept.length === 1 ? 'it' : 'them'} by hand`;
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
 * A stored version holding what a copy like `like` stores: its size, type and info, and
 * its bytes, proven by their SHA1 or, where none is known, by the source version the
 * copy names in its info (COPY_SOURCE: a file id names bytes that never change).
 */
function isCopyLike(version: B2File, like: LostCopy): boolean {
  const bytes = like.sha1 ? plainSha1(version.contentSha1) === like.sha1 : like.fileInfo[COPY_SOURCE] !== undefined;
  return version.action === 'upload' && bytes && version.contentLength === like.contentLength && version.contentType === like.contentType && sameInfo(version.fileInfo, like.fileInfo);
}

function sameInfo(a: Record<string, string>, b: Record<string, string>): boolean {
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((k) => Object.hasOwn(b, k) && a[k] === b[k]);
}
