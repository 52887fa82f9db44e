import type {B2Client} from './client.js';
import {listVersions} from './lister.js';
import {LARGE_FILE_SHA1, plainSha1, type B2File} from './wire-types.js';

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

function sameInfo(a: Record<string, string>, b: Record<string, string>): boolean {
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((k) => Object.hasOwn(b, k) && a[k] === b[k]);
}
