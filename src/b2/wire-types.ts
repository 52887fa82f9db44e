/**
 * B2 native-API JSON shapes (v2 responses; v3 authorize), as the client reads them.
 * Kept apart from logic so the wire contract is visible in one place.
 */

export interface B2Allowed {
  bucketId: string | null;
  bucketName: string | null;
  capabilities: string[];
  namePrefix: string | null;
}

/** v2 answers flat; v3 nests the storage fields under apiInfo.storageApi. */
export interface B2AuthorizeV2 {
  accountId: string;
  authorizationToken: string;
  apiUrl: string;
  downloadUrl: string;
  recommendedPartSize: number;
  absoluteMinimumPartSize: number;
  allowed: B2Allowed;
  applicationKeyExpirationTimestamp?: number | null;
}

export interface B2AuthorizeV3 {
  accountId: string;
  authorizationToken: string;
  applicationKeyExpirationTimestamp?: number | null;
  apiInfo: {
    storageApi: {
      apiUrl: string;
      downloadUrl: string;
      recommendedPartSize: number;
      absoluteMinimumPartSize: number;
      bucketId: string | null;
      bucketName: string | null;
      capabilities: string[];
      namePrefix: string | null;
    };
  };
}

/** A setting B2 shows only to a key with the matching read capability. */
export interface B2Guarded<T> {
  isClientAuthorizedToRead: boolean;
  value?: T | null;
}

export interface B2Retention {
  mode: 'governance' | 'compliance' | null;
  period?: {duration: number; unit: 'days' | 'years'} | null;
}

export interface B2Bucket {
  bucketId: string;
  bucketName: string;
  /** allPrivate, allPublic (anyone may download by name), or restricted/snapshot/shared. */
  bucketType?: string;
  defaultServerSideEncryption?: B2Guarded<{mode: string | null; algorithm?: string}>;
  fileLockConfiguration?: B2Guarded<{isFileLockEnabled: boolean; defaultRetention: B2Retention}>;
}

export interface B2UploadUrl {
  uploadUrl: string;
  authorizationToken: string;
}

/** 'copy' only in b2_copy_file's answer: the copied version then lists as 'upload'. */
export type B2FileAction = 'upload' | 'start' | 'hide' | 'folder' | 'copy';

export interface B2File {
  fileId: string;
  fileName: string;
  action: B2FileAction;
  contentLength: number;
  contentSha1: string | null;
  contentType: string | null;
  fileInfo: Record<string, string>;
  uploadTimestamp: number;
  /** How the data is encrypted at rest (a copy of SSE-C data needs its key). */
  serverSideEncryption?: {mode: string | null; algorithm?: string};
  /** Object Lock: readable with readFileRetentions (otherwise isClientAuthorizedToRead is false). */
  fileRetention?: B2Guarded<B2FileRetention>;
  /** Object Lock: readable with readFileLegalHolds. */
  legalHold?: B2Guarded<'on' | 'off'>;
}

export interface B2FileRetention {
  mode: 'governance' | 'compliance' | null;
  retainUntilTimestamp: number | null;
}

export interface B2Part {
  fileId: string;
  partNumber: number;
  contentLength: number;
  contentSha1: string;
}

export interface B2ListFileNames {
  files: B2File[];
  nextFileName: string | null;
}

export interface B2ListFileVersions {
  files: B2File[];
  nextFileName: string | null;
  nextFileId: string | null;
}

export interface B2ListParts {
  parts: B2Part[];
  nextPartNumber: number | null;
}

export interface B2ListUnfinished {
  files: B2File[];
  nextFileId: string | null;
}

export interface B2ErrorBody {
  status: number;
  code: string;
  message: string;
}

/** fileInfo keys the provider writes for itself (not user metadata). */
export const LARGE_FILE_SHA1 = 'large_file_sha1';
/**
 * A large file's info naming the SSE-C key its parts go up with: its digest (readScopeOf,
 * one-way, neither the key nor any part of it). B2's listings name no key, and a part sent
 * with another key is refused: a rerun continues only an upload begun with its own key.
 */
export const SSE_C_KEY_DIGEST = 'sse_c_key_digest';
export const SRC_LAST_MODIFIED = 'src_last_modified_millis';
/** In a server-side copy made in parts: the id of the source version its parts were copied from (see server-copy.ts). */
export const COPY_SOURCE = 'copy_source_file_id';
export const RESERVED_INFO_KEYS: readonly string[] = [LARGE_FILE_SHA1, SRC_LAST_MODIFIED, COPY_SOURCE, SSE_C_KEY_DIGEST];
/** B2 keeps at most 10 fileInfo entries (X-Bz-Info-* headers) per file. */
export const MAX_FILE_INFO_KEYS = 10;

/** A SHA1 as B2 reports it: 40 hex, "none" for large files, or "unverified:<hex>". */
export function plainSha1(value: string | null | undefined): string | undefined {
  if (!value) return undefined;
  const hex = value.startsWith('unverified:') ? value.slice('unverified:'.length) : value;
  return /^[0-9a-f]{40}$/i.test(hex) ? hex.toLowerCase() : undefined;
}
