import {throwIfAborted} from '../errors.js';
import type {B2Client} from './client.js';
import type {B2File} from './wire-types.js';

/** B2's largest page: one call (one round trip, same class C cost as ten of 1000) per 10,000 names. */
export const LIST_PAGE_SIZE = 10_000;

/** Current files whose names start with `prefix`, in B2's order (UTF-8 bytes), one page at a time. */
export async function* listFiles(client: B2Client, bucketId: string, prefix: string, signal?: AbortSignal, pageSize = LIST_PAGE_SIZE): AsyncGenerator<B2File> {
  let startFileName: string | undefined;
  do {
    throwIfAborted(signal);
    const page = await client.listFileNames({bucketId, prefix, startFileName, maxFileCount: pageSize}, signal);
    for (const file of page.files) {
      throwIfAborted(signal);
      if (file.action === 'upload' && file.fileName.startsWith(prefix)) yield file;
    }
    startFileName = page.nextFileName ?? undefined;
  } while (startFileName !== undefined);
}

/** Every version of exactly `fileName` (uploads, hide markers, unfinished large files). */
export async function* listVersions(client: B2Client, bucketId: string, fileName: string, signal?: AbortSignal): AsyncGenerator<B2File> {
  let startFileName: string | undefined = fileName;
  let startFileId: string | undefined;
  while (startFileName === fileName) {
    throwIfAborted(signal);
    const page = await client.listFileVersions({bucketId, prefix: fileName, startFileName, startFileId, maxFileCount: 1000}, signal);
    for (const file of page.files) if (file.fileName === fileName) yield file;
    startFileName = page.nextFileName ?? undefined;
    startFileId = page.nextFileId ?? undefined;
  }
}

/** Unfinished large files whose names start with `prefix` (pages of 100, B2's limit). */
export async function* listUnfinished(client: B2Client, bucketId: string, prefix: string, signal?: AbortSignal): AsyncGenerator<B2File> {
  let startFileId: string | undefined;
  do {
    throwIfAborted(signal);
    const page = await client.listUnfinishedLargeFiles({bucketId, namePrefix: prefix, startFileId, maxFileCount: 100}, signal);
    for (const file of page.files) if (file.fileName.startsWith(prefix)) yield file;
    startFileId = page.nextFileId ?? undefined;
  } while (startFileId !== undefined);
}

/** The unfinished large files of exactly `fileName` (not those it is a prefix of), newest first. */
export async function unfinishedNamed(client: B2Client, bucketId: string, fileName: string, signal?: AbortSignal): Promise<B2File[]> {
  const found: B2File[] = [];
  for await (const f of listUnfinished(client, bucketId, fileName, signal)) if (f.fileName === fileName) found.push(f);
  return found.sort((a, b) => b.uploadTimestamp - a.uploadTimestamp);
}

/**
 * Whether `fileId` is still an unfinished large file named `fileName`. A listing by name,
 * not b2_get_file_info: B2 answers that with an error for an unfinished large file as
 * for one that no longer exists, so it cannot tell the two apart.
 */
export async function isUnfinished(client: B2Client, bucketId: string, fileName: string, fileId: string, signal?: AbortSignal): Promise<boolean> {
  for await (const f of listUnfinished(client, bucketId, fileName, signal)) if (f.fileId === fileId && f.fileName === fileName) return true;
  return false;
}
