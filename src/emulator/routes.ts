import * as account from './handlers/account.js';
import * as buckets from './handlers/buckets.js';
import * as copy from './handlers/copy.js';
import * as files from './handlers/files.js';
import {Handler} from './handlers/handler.js';
import * as large from './handlers/large-files.js';
import * as listing from './handlers/listing.js';

/** Every JSON API call the emulator answers on /b2api/vN/<name>, GET (query) or POST (JSON). */
export const JSON_CALLS: Record<string, Handler> = {
  b2_authorize_account: account.authorizeAccount,
  b2_create_key: account.createKey,
  b2_list_keys: account.listKeys,
  b2_delete_key: account.deleteKey,
  b2_get_download_authorization: account.getDownloadAuthorization,
  b2_create_bucket: buckets.createBucket,
  b2_delete_bucket: buckets.deleteBucket,
  b2_list_buckets: buckets.listBuckets,
  b2_update_bucket: buckets.updateBucket,
  b2_get_upload_url: buckets.getUploadUrl,
  b2_start_large_file: large.startLargeFile,
  b2_get_upload_part_url: large.getUploadPartUrl,
  b2_finish_large_file: large.finishLargeFile,
  b2_cancel_large_file: large.cancelLargeFile,
  b2_list_parts: large.listParts,
  b2_list_unfinished_large_files: large.listUnfinishedLargeFiles,
  b2_list_file_names: listing.listFileNames,
  b2_list_file_versions: listing.listFileVersions,
  b2_get_file_info: files.getFileInfo,
  b2_hide_file: files.hideFile,
  b2_delete_file_version: files.deleteFileVersion,
  b2_update_file_retention: files.updateFileRetention,
  b2_update_file_legal_hold: files.updateFileLegalHold,
  b2_copy_file: copy.copyFile,
  b2_copy_part: copy.copyPart,
};
