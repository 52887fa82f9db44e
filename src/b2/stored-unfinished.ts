import type {SupersededUpload} from '../backend.js';
import {failureCode, isBackupError} from '../errors.js';
import {whatCancels} from '../removal-refusal.js';
import type {B2Client} from './client.js';
import {keyRef} from './errors.js';
import {sameFileInfo, lowerKeys} from './file-info-compare.js';
import {unfinishedNamed} from './lister.js';
import type {PartPlan} from './part-plan.js';
import {cleanupCommand} from './remove-version.js';
import {LARGE_FILE_SHA1, SSE_C_KEY_DIGEST, type B2File, type B2Part} from './wire-types.js';

/** An unfinished large file with its stored parts. */
export interface Unfinished {
  file: B2File;
  parts: B2Part[];
}

/**
 * What earlier runs left unfinished under one file name: the upload to continue (with the
 * part layout its parts fit, maybe not the one asked for) and those no run can continue.
 */
export interface StoredUnfinished {
  resumable?: Unfinished & {plan: PartPlan};
  superseded: (Unfinished & {upload: SupersededUpload})[];
}

export interface UnfinishedQuery {
  client: B2Client;
  bucketId: string;
  fileName: string;
  contentType: string;
  fileInfo: Record<string, string>;
  plan: PartPlan;
  /** The layout of this file with another part size (as planned with that part size), undefined when it cannot be used. */
  relayout: (partSize: number) => PartPlan | undefined;
  /**
   * Names of earlier attempts of this upload, known to be its own (this machine's records of
   * them, held locked): this very name (an interrupted run of it left parts), or others, of
   * another content: whatever is unfinished under those that cannot be continued is superseded.
   * An unfinished file of this name found only by its name is of an unknown owner (another
   * machine uploading the same Home Assistant archive or --date computes the same name): it
   * may be continued when it fits, never cancelled.
   */
  replaces?: string[];
  signal?: AbortSignal;
}

/** Whether stored parts all fit this layout (each where its number says, of its size). */
export function partsFit(parts: B2Part[], plan: PartPlan): boolean {
  const count = plan.partCount;
  return count !== undefined && parts.every((p) => p.partNumber <= count && p.contentLength === plan.sizeOf(p.partNumber));
}

/**
 * The unfinished large files of exactly this name, newest first, sorted: the newest one of
 * this content, info and encryption whose parts fit the plan, or else fit the layout of
 * their own part size (a rerun with another part size continues them: they are paid for);
 * and those that cannot be continued: another SSE-C key or encryption (B2 refuses a part
 * sent with another key), another content, parts of a size that cannot lay out this file.
 * An older one that could be continued too is left alone, as before: not this run's to judge.
 * Those that cannot are superseded only when this name is one of `replaces` (this upload's own).
 */
export async function storedUnfinished(q: UnfinishedQuery): Promise<StoredUnfinished> {
  const out: StoredUnfinished = {superseded: []};
  const supersede = (u: Unfinished, why: SupersededUpload['why']) => out.superseded.push({...u, upload: supersededOf(u, why)});
  const ownEarlier = q.replaces?.includes(q.fileName) ?? false;
  for (const u of await withParts(q, q.fileName)) {
    const why = cannotContinue(u.file, q);
    const plan = why ? undefined : partsFit(u.parts, q.plan) ? q.plan : q.relayout(partSizeOf(u.parts));
    if (!why && plan && partsFit(u.parts, plan)) out.resumable ??= {...u, plan};
    else if (ownEarlier) supersede(u, why ?? 'partSize');
  }
  // an earlier attempt under another name: its own info says why (the file changed since, another --id or --date, SSE-C key)
  for (const name of otherNames(q)) for (const u of await withParts(q, name)) supersede(u, cannotContinue(u.file, q) ?? 'info');
  return out;
}

/** The names of earlier attempts of another content (not the upload's own name), each once. */
export function otherNames(q: Pick<UnfinishedQuery, 'fileName' | 'replaces'>): string[] {
  return [...new Set(q.replaces ?? [])].filter((name) => name !== q.fileName);
}

/** The unfinished large files of exactly this name, newest first, with their parts. */
async function withParts(q: Pick<UnfinishedQuery, 'client' | 'bucketId' | 'signal'>, fileName: string): Promise<Unfinished[]> {
  const out: Unfinished[] = [];
  for (const file of await unfinishedNamed(q.client, q.bucketId, fileName, q.signal)) out.push({file, parts: await q.client.listAllParts(file.fileId, q.signal)});
  return out;
}

/** What a line tells of a superseded upload (its key is its file name here; the provider makes it a key). */
function supersededOf({file, parts}: Unfinished, why: SupersededUpload['why']): SupersededUpload {
  return {key: file.fileName, parts: parts.length, bytes: parts.reduce((n, p) => n + p.contentLength, 0), why, partSize: partSizeOf(parts)};
}

/** The part size stored parts were sent with: the largest (all but a last one have it). */
function partSizeOf(parts: B2Part[]): number {
  return Math.max(0, ...parts.map((p) => p.contentLength));
}

/** Why an unfinished file of this name is not this upload's to continue, whatever its parts; undefined when it is. */
function cannotContinue(file: B2File, q: UnfinishedQuery): SupersededUpload['why'] | undefined {
  const stored = lowerKeys(file.fileInfo);
  const asked = lowerKeys(q.fileInfo);
  // parts of an SSE-C file go up with its key only (B2 refuses another): the mode, then the key's digest
  if ((file.serverSideEncryption?.mode === 'SSE-C') !== (asked[SSE_C_KEY_DIGEST] !== undefined)) return 'encryption';
  // one an earlier version of this tool began has no digest: its key may be this one, which nothing can tell
  if (stored[SSE_C_KEY_DIGEST] === undefined && asked[SSE_C_KEY_DIGEST] !== undefined) return 'keyUnrecorded';
  if (stored[SSE_C_KEY_DIGEST] !== asked[SSE_C_KEY_DIGEST]) return 'key';
  if (stored[LARGE_FILE_SHA1] !== asked[LARGE_FILE_SHA1]) return 'content';
  if (file.contentType !== q.contentType || !sameFileInfo(file.fileInfo, q.fileInfo)) return 'info';
  return undefined;
}

/**
 * Cancels the unfinished files a finished upload superseded (their parts stay billed
 * otherwise, and no later run can use them); one whose cancel fails says what removes it.
 * One gone meanwhile (a cleanup) is as good as cancelled.
 */
export async function cancelSuperseded(client: B2Client, superseded: StoredUnfinished['superseded'], signal?: AbortSignal): Promise<SupersededUpload[]> {
  const told: SupersededUpload[] = [];
  for (const {file, upload} of superseded) {
    const refused = await client.cancelLargeFile(file.fileId, file.fileName, signal).then(() => undefined, (e: unknown) => e);
    if (refused === undefined || isBackupError(refused, 'not_found')) told.push(upload);
    else told.push({...upload, remains: `it remains (cancelling it failed: ${failureCode(refused)}): ${whatCancels(refused, cleanupCommand(client), keyRef(client.context))}`});
  }
  return told;
}
