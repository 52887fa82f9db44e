export {BackupCatalog, emptyCleanupReport, keysToDelete} from './catalog.js';
export type {BackupInfo, CatalogOptions, CleanupReport, Deletable, DeleteOutcome, DeletePreview, DownloadedFile, DownloadResult, TransferOptions, UploadMeta, UploadPlan, UploadResult, VerifyResult} from './types.js';
export type {BackupMetadata, MetadataFile} from './metadata-file.js';
export {METADATA_VERSION, buildMetadataFile, parseMetadataFile} from './metadata-file.js';
export {ARCHIVE_SUFFIX, METADATA_SUFFIX, suggestedBaseName} from './layout.js';
export {assertBackupId, assertBackupName, backupIdProblem, backupNameProblem} from './validate.js';
export {PENDING_UPLOAD_LIFETIME_MS} from './pending-uploads.js';
