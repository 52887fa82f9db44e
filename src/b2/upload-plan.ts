import type {PutPlan} from '../backend.js';
import {sha1Of} from '../hash.js';
import {assertStreamFits} from './stream-limits.js';
import {otherNames, storedUnfinished} from './stored-unfinished.js';
import {isLarge, largeInfo, planFor, relayout, type UploadRequest, type UploadTarget} from './upload.js';

/** An upload request as put() would make it (the digest tells which stored parts hold the same bytes). */
export type PlanRequest = Omit<UploadRequest, 'onProgress'>;

/**
 * What uploadObject() would do with this request, without sending anything: the same
 * size rules and part plan, and the same lookup of an interrupted upload to continue
 * (b2_list_unfinished_large_files, b2_list_parts: reads only). A stream is not read.
 */
export async function planUpload(t: UploadTarget, r: PlanRequest): Promise<PutPlan> {
  const src = r.source;
  const {concurrency} = t.settings;
  if (src.kind === 'stream') {
    // read one part ahead: a stream that ends within it is one request, else parts (never resumable)
    const {partSize} = planFor(t, undefined);
    assertStreamFits(planFor(t, src.size), concurrency); // refused as uploadObject refuses it
    if (src.size !== undefined && src.size <= partSize) return single(src.size);
    const parts = src.size === undefined ? undefined : Math.ceil(src.size / partSize);
    // unknown length: the calls of the shortest case (one request)
    return {kind: 'stream', size: src.size, partSize, parts, concurrency, calls: parts === undefined ? single(undefined).calls : largeCalls(parts, concurrency, {start: true})};
  }
  const planned = planFor(t, src.size);
  const small = !isLarge(src.size, planned, t.settings);
  // as uploadObject(): one request, unless earlier attempts of this upload left parts of a file
  if (small && !(src.kind === 'file' && r.replaces?.length)) return single(src.size);
  const sha1 = r.digest?.sha1 ?? r.sha1 ?? (src.kind === 'buffer' ? sha1Of(src.buffer) : undefined);
  const fileInfo = {...r.metadata, ...largeInfo(t, src, sha1)};
  // as uploadObject() looks: a file's interrupted upload of another part size is continued with it, what none can continue is cancelled
  const isFile = src.kind === 'file';
  const stored = sha1 ? await storedUnfinished({client: t.client, bucketId: t.bucketId, fileName: r.fileName, contentType: r.contentType, fileInfo, plan: planned, relayout: (partSize) => (isFile ? relayout(t, src.size, partSize) : undefined), replaces: r.replaces, signal: r.signal}) : undefined;
  const found = stored?.resumable;
  const plan = found?.plan ?? planned;
  const parts = plan.partCount as number;
  const superseded = isFile ? (stored?.superseded ?? []) : [];
  const supersedes = superseded.length ? {supersedes: superseded.map((s) => s.upload)} : {};
  const cancels: Record<string, number> = superseded.length ? {b2_list_parts: superseded.length, b2_cancel_large_file: superseded.length} : {};
  const lookups = {b2_list_unfinished_large_files: 1 + otherNames(r).length};
  if (small && !found) return {...single(src.size), ...supersedes, calls: {...lookups, ...single(src.size).calls, ...cancels}};
  const base: PutPlan = {kind: 'parts', size: src.size, partSize: plan.partSize, parts, concurrency, calls: {}, ...supersedes};
  if (!found) return {...base, calls: {...lookups, ...largeCalls(parts, concurrency, {start: true}), ...cancels}};
  // a stored part is kept when it holds this part's bytes (its SHA1, when the hashing pass knows it: of this layout only)
  const pieceSha1s = r.digest?.partSize === plan.partSize ? r.digest.pieceSha1s : undefined;
  const kept = found.parts.filter((p) => p.contentLength === plan.sizeOf(p.partNumber) && (pieceSha1s === undefined || pieceSha1s[p.partNumber - 1] === p.contentSha1));
  const toSend = parts - kept.length;
  return {
    ...base,
    resume: {started: new Date(found.file.uploadTimestamp), partsStored: found.parts.length, partsKept: kept.length, bytesKept: kept.reduce((n, p) => n + p.contentLength, 0), ...(plan === planned ? {} : {partSizeAsked: planned.partSize})},
    calls: {...lookups, ...largeCalls(toSend, concurrency, {start: false}), ...cancels, b2_list_parts: Math.max(1, Math.ceil(found.parts.length / 1000)) + superseded.length},
  };
}

function single(size: number | undefined): PutPlan {
  return {kind: 'single', size, calls: {b2_get_upload_url: 1, b2_upload_file: 1}};
}

/** The part uploads of a large file: one upload URL per worker, each part, the finish. */
function largeCalls(toSend: number, concurrency: number, o: {start: boolean}): Record<string, number> {
  return {
    ...(o.start ? {b2_start_large_file: 1} : {}),
    ...(toSend > 0 ? {b2_get_upload_part_url: Math.min(concurrency, toSend), b2_upload_part: toSend} : {}),
    b2_finish_large_file: 1,
  };
}
