/**
 * backup-plugin-b2's public face for hosts and library users: the generic backend
 * contract, the b2 target and its provider, the backup catalog, and the error type.
 * The emulator has its own entry point: `backup-plugin-b2/emulator`.
 */
export * from './backend.js';
export {BackupError, EXIT_CODES, isBackupError, type ErrorKind} from './errors.js';
export {MemoryBackend} from './memory-backend.js';
export {b2TargetRegistration, resolveTargetProfile, type TargetContext, type TargetProfile} from './target.js';
export {connectB2, checkB2} from './connect.js';
export {B2Backend, type B2BackendInput, type B2BackendOptions, type KeyInfo, type UnfinishedUpload} from './b2/index.js';
export {BackupCatalog, type BackupInfo, type CatalogOptions, type UploadMeta, type UploadResult, type VerifyResult} from './backups/index.js';
export {type ResolvedProfile, DEFAULT_ENDPOINT, EMBEDDED_ENDPOINT} from './profiles/types.js';
