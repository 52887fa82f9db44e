import type {BackupCatalog} from './catalog.js';
import {afterStopBound} from '../after-stop.js';
import {failedAfterChange, isBackupError} from '../errors.js';
import {count} from '../plural.js';
import {deleteRefused} from './lock.js';
import {LEGAL_HOLD, lockedText} from './display.js';
import {planRetention, type RetentionPolicy} from './retention.js';
import type {BackupInfo, Deletable} from './types.js';

export interface PruneDecision {
  backup: BackupInfo;
  keep: boolean;
  /** Why it is kept: the rules ("daily", "within 30d"), "just uploaded", or its lock; empty when it goes. */
  reasons: string[];
  /** Kept only because Object Lock protects it (the rules alone would delete it). */
  locked?: boolean;
  /** Dated after now (B2's clock): kept, and not counted by the rules (see planRetention). */
  future?: boolean;
}

export interface PrunePlan {
  policy: RetentionPolicy;
  /** Every datable backup, newest first. */
  decisions: PruneDecision[];
  /** Backups whose date cannot be read: never deleted. */
  undated: BackupInfo[];
  /**
   * Files that are not complete backups (foreign files, orphans, a metadata file this
   * profile cannot read): never touched, reported. Planning without them is safe: one
   * more backup could only take a rule's slot or move keepWithin's anchor later, so
   * leaving one out never makes the rules delete a backup they would otherwise keep.
   */
  skipped: string[];
  /** By backup id, what the listing found to delete: executePrune looks nothing up again. */
  targets: ReadonlyMap<string, Deletable>;
}

/** The reason a backup protected by the caller is kept whatever the rules say. */
export const JUST_UPLOADED = 'just uploaded';

/** The reason a backup under Object Lock is kept whatever the rules say: deleting it would be refused. */
export const lockedReason = (b: BackupInfo): string => (b.legalHold ? LEGAL_HOLD : b.lock ? lockedText(b.lock) : 'locked (B2 refused to delete it: Object Lock)');

/**
 * What a prune by `policy` would do to the backups listed now, and to `adding`, one not
 * stored yet (what an upload's dry run plans). `protect` names a backup that is kept
 * regardless (the one an upload just made, or would make); a backup under Object Lock
 * (its date ahead of `now`, the backend's clock, or a legal hold) is kept too, never tried. Throws
 * bad_input for a policy with no rule, before anything is listed.
 */
export async function planPrune(catalog: BackupCatalog, policy: RetentionPolicy, opts: {protect?: string; adding?: BackupInfo; now?: Date; signal?: AbortSignal} = {}): Promise<PrunePlan> {
  const now = opts.now ?? new Date();
  planRetention([], policy); // a bad policy fails here, before the listing
  const skipped: string[] = [];
  const listed = await catalog.listDeletable({signal: opts.signal, onSkipped: (msg) => skipped.push(msg)});
  // an upload's dry run: the backup it would store counts as the real run's would
  const plan = planRetention([...listed.map((d) => d.info), ...(opts.adding ? [opts.adding] : [])], policy, {now});
  const decisions = plan.decisions.map((d): PruneDecision => {
    if (d.future) return {backup: d.backup, keep: true, reasons: d.reasons, future: true};
    if (d.keep) return {backup: d.backup, keep: d.keep, reasons: d.reasons};
    if (d.backup.id === opts.protect) return {backup: d.backup, keep: true, reasons: [JUST_UPLOADED]};
    if (deleteRefused(d.backup, now)) return {backup: d.backup, keep: true, reasons: [lockedReason(d.backup)], locked: true};
    return {backup: d.backup, keep: false, reasons: []};
  });
  return {policy, decisions, undated: plan.undated, skipped, targets: new Map(listed.map((d) => [d.info.id, d]))};
}

/** What executePrune did: the backups it deleted, and those another command had deleted meanwhile (not this run's doing). */
export interface PruneResult {
  deleted: BackupInfo[];
  alreadyGone: BackupInfo[];
  /**
   * Set once executePrune stopped (interrupted) while deleting this backup and something of
   * it is left, or B2 could not tell what: its delete by the full id finishes it. One found
   * gone by then counts as deleted (its deletes were carried out, their answers unread),
   * and one found whole is not named (nothing of it was deleted).
   */
  underWay?: BackupInfo;
}

/** The backups a plan deletes, oldest first: the order executePrune deletes them in, and every report of what it would delete. */
export function doomedOldestFirst(plan: PrunePlan): BackupInfo[] {
  return plan.decisions.filter((d) => !d.keep).map((d) => d.backup).reverse();
}

/**
 * Deletes what the plan deletes, oldest first, as the plan's listing found each (no lookup
 * per backup: pruning k backups costs k deletes, not k listings). One that B2 refuses
 * because of a lock the listing could not show (a key without readFileRetentions) is kept
 * and reported through onLocked; one that another command (a prune at the same time)
 * deleted since the listing is reported through onAlreadyGone, not as deleted; the prune
 * goes on. `result` is filled as it goes (what a failure or an interruption leaves the
 * caller to report: the backup an interruption may leave half deleted is looked at once
 * on the way out, see PruneResult.underWay); a failure once a backup is deleted says how
 * many were (failedAfterChange: never the exit code of "nothing was changed").
 */
export async function executePrune(
  catalog: BackupCatalog,
  plan: PrunePlan,
  opts: {signal?: AbortSignal; onDeleted?: (b: BackupInfo) => void; onAlreadyGone?: (b: BackupInfo) => void; onLocked?: (b: BackupInfo) => void; result?: PruneResult} = {},
): Promise<PruneResult> {
  const doomed = plan.decisions.filter((d) => !d.keep).reverse();
  const result: PruneResult = opts.result ?? {deleted: [], alreadyGone: []};
  try {
    await deleteEach(catalog, plan, doomed, result, opts);
  } catch (err) {
    if (isBackupError(err, 'aborted')) await lookAtUnderWay(catalog, plan, result, opts);
    const n = result.deleted.length;
    throw n === 0 ? err : failedAfterChange(err, `prune stopped after deleting ${n} of ${count(doomed.length, 'backup')}: run the same command again to finish`);
  }
  return result;
}

/** After an interruption: what is left of the backup whose delete was under way (PruneResult.underWay). */
async function lookAtUnderWay(catalog: BackupCatalog, plan: PrunePlan, result: PruneResult, opts: Parameters<typeof executePrune>[2] = {}): Promise<void> {
  const b = result.underWay;
  const target = b && plan.targets.get(b.id);
  if (!b || !target) return;
  const left = await catalog.leftOf(target, afterStopBound());
  if (left === 'whole' || left === 'gone') delete result.underWay;
  if (left === 'gone') {
    result.deleted.push(b);
    opts.onDeleted?.(b);
  }
}

async function deleteEach(catalog: BackupCatalog, plan: PrunePlan, doomed: PruneDecision[], result: PruneResult, opts: Parameters<typeof executePrune>[2] = {}): Promise<void> {
  for (const d of doomed) {
    result.underWay = d.backup;
    let alreadyGone: boolean;
    try {
      ({alreadyGone} = await catalog.delete(plan.targets.get(d.backup.id) ?? d.backup.id, {signal: opts.signal}));
      delete result.underWay;
    } catch (err) {
      if (!isBackupError(err, 'aborted')) delete result.underWay;
      if (!isBackupError(err, 'locked')) throw err;
      d.keep = true;
      d.locked = true;
      d.reasons = [lockedReason(d.backup)];
      opts.onLocked?.(d.backup);
      continue;
    }
    if (alreadyGone) {
      result.alreadyGone.push(d.backup);
      opts.onAlreadyGone?.(d.backup);
    } else {
      result.deleted.push(d.backup);
      opts.onDeleted?.(d.backup);
    }
  }
}
