import type {BackupCatalog} from './catalog.js';
import {planRetention, type RetentionPolicy} from './retention.js';
import type {BackupInfo} from './types.js';

export interface PruneDecision {
  backup: BackupInfo;
  keep: boolean;
  /** Why it is kept: the rules ("daily", "within 30d"), or "just uploaded"; empty when it goes. */
  reasons: string[];
}

export interface PrunePlan {
  policy: RetentionPolicy;
  /** Every datable backup, newest first. */
  decisions: PruneDecision[];
  /** Backups whose date cannot be read: never deleted. */
  undated: BackupInfo[];
  /** Files that are not complete backups (foreign files, orphans): never touched, reported. */
  skipped: string[];
}

/** The reason a backup protected by the caller is kept whatever the rules say. */
export const JUST_UPLOADED = 'just uploaded';

/**
 * What a prune by `policy` would do to the backups listed now. `protect` names a backup
 * that is kept regardless (the one an upload just made). Throws bad_input for a policy
 * with no rule, before anything is listed.
 */
export async function planPrune(catalog: BackupCatalog, policy: RetentionPolicy, opts: {protect?: string; signal?: AbortSignal} = {}): Promise<PrunePlan> {
  planRetention([], policy); // a bad policy fails here, before the listing
  const skipped: string[] = [];
  const backups = await catalog.list({signal: opts.signal, onSkipped: (msg) => skipped.push(msg)});
  const plan = planRetention(backups, policy);
  const decisions = plan.decisions.map((d): PruneDecision => {
    if (d.backup.id !== opts.protect || d.keep) return {backup: d.backup, keep: d.keep, reasons: d.reasons};
    return {backup: d.backup, keep: true, reasons: [JUST_UPLOADED]};
  });
  return {policy, decisions, undated: plan.undated, skipped};
}

/** Deletes what the plan deletes, oldest first, each by its exact id; returns the deleted backups. */
export async function executePrune(catalog: BackupCatalog, plan: PrunePlan, opts: {signal?: AbortSignal; onDeleted?: (b: BackupInfo) => void} = {}): Promise<BackupInfo[]> {
  const doomed = plan.decisions.filter((d) => !d.keep).reverse();
  const deleted: BackupInfo[] = [];
  for (const d of doomed) {
    await catalog.delete(d.backup.id, {signal: opts.signal});
    deleted.push(d.backup);
    opts.onDeleted?.(d.backup);
  }
  return deleted;
}
