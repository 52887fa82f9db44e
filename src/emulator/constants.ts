/**
 * Limits and tables from Backblaze's B2 native-API documentation (see
 * docs/b2-native-api.md). The emulator owns its own copy on purpose: it is the other
 * side of the wire and must not share code with the client.
 */

export const API_VERSIONS = [1, 2, 3, 4] as const;

export const DEFAULT_MIN_PART_SIZE = 5_000_000;
export const DEFAULT_RECOMMENDED_PART_SIZE = 100_000_000;
export const MAX_UPLOAD_SIZE = 5_000_000_000;
export const MAX_PART_SIZE = 5_000_000_000;
export const MAX_PART_NUMBER = 10_000;
export const MAX_FILE_NAME_BYTES = 1024;
export const MAX_INFO_ENTRIES = 10;
export const MAX_INFO_KEY_BYTES = 50;
/** File name plus every X-Bz-Info header must fit in this many bytes. */
export const MAX_NAME_AND_INFO_BYTES = 7000;
/** The same limit for a file stored with server-side encryption or in an Object Lock bucket. */
export const MAX_NAME_AND_INFO_BYTES_SSE_OR_LOCK = 2048;
export const MAX_LIST_FILE_COUNT = 10_000;
export const DEFAULT_LIST_FILE_COUNT = 100;
export const MAX_UNFINISHED_LIST_COUNT = 100;
export const MAX_PART_LIST_COUNT = 1000;
export const MAX_KEY_LIST_COUNT = 10_000;
export const MAX_BUCKETS = 100;
/** Account authorization tokens are good for at most 24 hours. */
export const TOKEN_LIFETIME_MS = 24 * 60 * 60 * 1000;
export const MAX_KEY_DURATION_SECONDS = 1000 * 24 * 60 * 60;
/** How long a request's headers may take, or its body may stall, before 408 request_timeout. */
export const DEFAULT_STALL_TIMEOUT_MS = 60_000;
/** JSON request bodies are small; anything larger is a client bug or an attack. */
export const MAX_JSON_BODY_BYTES = 4 * 1024 * 1024;

export const ALL_CAPABILITIES = [
  'listKeys', 'writeKeys', 'deleteKeys',
  'listBuckets', 'listAllBucketNames', 'readBuckets', 'writeBuckets', 'deleteBuckets',
  'readBucketEncryption', 'writeBucketEncryption',
  'readBucketRetentions', 'writeBucketRetentions',
  'readFileRetentions', 'writeFileRetentions',
  'readFileLegalHolds', 'writeFileLegalHolds',
  'readBucketReplications', 'writeBucketReplications',
  'bypassGovernance',
  'listFiles', 'readFiles', 'shareFiles', 'writeFiles', 'deleteFiles',
] as const;

/** Backblaze's billing classes, as its price list by API call has them: A is free (uploads, most writes), B downloads, C listings. */
export type TransactionClass = 'A' | 'B' | 'C';

export const TRANSACTION_CLASS: Record<string, TransactionClass> = {
  b2_cancel_large_file: 'A',
  b2_delete_bucket: 'A',
  b2_delete_file_version: 'A',
  b2_delete_key: 'A',
  b2_finish_large_file: 'A',
  b2_get_upload_part_url: 'A',
  b2_get_upload_url: 'A',
  b2_hide_file: 'A',
  b2_start_large_file: 'A',
  b2_upload_file: 'A',
  b2_update_file_legal_hold: 'A',
  b2_update_file_retention: 'A',
  b2_upload_part: 'A',
  b2_download_file_by_id: 'B',
  b2_download_file_by_name: 'B',
  b2_get_file_info: 'B',
  b2_authorize_account: 'C',
  b2_copy_file: 'C',
  b2_copy_part: 'C',
  b2_create_bucket: 'C',
  b2_create_key: 'C',
  b2_get_download_authorization: 'C',
  b2_list_buckets: 'C',
  b2_list_file_names: 'C',
  b2_list_file_versions: 'C',
  b2_list_keys: 'C',
  b2_list_parts: 'C',
  b2_list_unfinished_large_files: 'C',
  b2_update_bucket: 'C',
};

/** Content types the server picks for `b2/x-auto`, by extension. */
export const AUTO_CONTENT_TYPES: Record<string, string> = {
  txt: 'text/plain', json: 'application/json', html: 'text/html', htm: 'text/html', css: 'text/css',
  js: 'application/javascript', xml: 'application/xml', csv: 'text/csv', md: 'text/markdown',
  png: 'image/png', jpg: 'image/jpeg', jpeg: 'image/jpeg', gif: 'image/gif', svg: 'image/svg+xml', webp: 'image/webp',
  pdf: 'application/pdf', zip: 'application/zip', gz: 'application/gzip', tgz: 'application/gzip',
  tar: 'application/x-tar', bz2: 'application/x-bzip2', xz: 'application/x-xz', '7z': 'application/x-7z-compressed',
  mp3: 'audio/mpeg', mp4: 'video/mp4', wav: 'audio/wav',
};
export const DEFAULT_CONTENT_TYPE = 'application/octet-stream';
export const HIDE_MARKER_CONTENT_TYPE = 'application/x-bz-hide-marker';
