import type {UnfinishedUpload} from '../backend.js';
import {archiveMarker} from './archive-info.js';
import {ARCHIVE_SUFFIX, baseOf} from './layout.js';

/**
 * Whether an unfinished upload is one of this location's backups' archives, which cleanup
 * cancels (and prune counts as such): a top-level archive name carrying this tool's
 * marker. Another tool's, or one under a deeper prefix (another profile's), is not.
 */
export function isOwnUnfinished(u: Pick<UnfinishedUpload, 'key' | 'metadata'>): boolean {
  return baseOf(u.key, ARCHIVE_SUFFIX) !== undefined && archiveMarker(u) !== undefined;
}
