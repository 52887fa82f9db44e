import PQueue from 'p-queue';
import type {Retention, SupersededUpload, TransferProgress} from '../backend.js';
import {afterStopBound} from '../after-stop.js';
import {CLEANUP_AGE} from '../command-hint.js';
import {BackupError, abortError, failureCode, isBackupError, withLeftover} from '../errors.js';
import {count} from '../plural.js';
import {whatCancels} from '../removal-refusal.js';
import {hashPart, localSha1, type PartSource} from './chunkers.js';
import type {B2Client} from './client.js';
import {keyRef, wrapUnknown} from './errors.js';
import {sameFileInfo} from './file-info-compare.js';
import {isUnfinished, unfinishedNamed} from './lister.js';
import {WireMismatch, type Failure} from './failure.js';
import type {PartPlan} from './part-plan.js';
import {SHA1_MISMATCH} from './retry-policy.js';
import {cancelSuperseded, partsFit, type StoredUnfinished} from './stored-unfinished.js';
import {cleanupCommand, mayRemain, refuseStored, removeStoredVersion} from './remove-version.js';
import {timing} from '../timing.js';
import {UploadUrlPool} from './upload-url-pool.js';
import type {B2File, B2Part} from './wire-types.js';

export interface LargeFileUploadOptions {
  client: B2Client;
  bucketId: string;
  fileName: string;
  contentType: string;
  fileInfo: Record<string, string>;
  /** Object Lock retention the finished file gets (set when it starts; a resumed upload keeps the one it started with). */
  retention?: Retention;
  plan: PartPlan;
  parts: Iterable<PartSource> | AsyncIterable<PartSource>;
  /** Look for an unfinished upload of the same name, info and part layout, and finish it. */
  resumable: boolean;
  /**
   * What earlier runs left unfinished under this name, looked up by the caller: the one to
   * continue (instead of a lookup of its own), and those to cancel once the file is stored.
   */
  stored?: StoredUnfinished;
  concurrency: number;
  signal?: AbortSignal;
  onProgress?: (p: TransferProgress) => void;
  /**
   * Runs once every part is confirmed, just before the finish; a throw cancels the large
   * file and becomes the upload's error (a source that changed while it was read).
   */
  beforeFinish?: () => Promise<void>;
}

/**
 * One large-file upload: start (or resume), parts in parallel on a p-queue with one
 * upload URL per worker, finish. A fatal error stops every worker and cancels the
 * large file so nothing billed is left behind; an abort stops them and keeps it, so
 * that running the same upload again resumes it.
 */
export class LargeFileUpload {
  private readonly internal = new AbortController();
  private readonly signal: AbortSignal;
  private failure?: BackupError;
  private loaded = 0;
  private bytes = 0;
  /** Parts confirmed (or found stored): the progress that renews every part's retry budget. */
  private confirmedParts = 0;
  private readonly inFlight = new Map<number, number>();
  private readonly sha1s: string[] = [];
  /** Bytes of parts found stored (by an interrupted run) and kept. */
  reusedBytes = 0;
  /** Earlier runs' unfinished uploads of the name that this one superseded, cancelled once the file was stored. */
  superseded: SupersededUpload[] = [];
  /** b2_finish_large_file was sent: B2 may have finished the file, whatever its answer became. */
  private finishSent = false;
  /** The large file is an unfinished one found stored (started by another run), not one this run started. */
  private resumed = false;

  constructor(private readonly o: LargeFileUploadOptions) {
    if (!Number.isInteger(o.concurrency) || o.concurrency < 1) throw new BackupError('bad_input', `concurrency must be a positive integer, got ${o.concurrency}`);
    this.signal = o.signal ? AbortSignal.any([o.signal, this.internal.signal]) : this.internal.signal;
  }

  /** The finished file. */
  async run(): Promise<B2File> {
    const {client, fileName} = this.o;
    const {fileId, existing} = await this.startOrResume();
    timing(existing.size > 0 ? 'large file resumed' : 'large file started');
    const pool = new UploadUrlPool((signal) => client.getUploadPartUrl(fileId, fileName, signal));
    const stopListening = client.onReauthorized(() => pool.clear());
    const queue = new PQueue({concurrency: this.o.concurrency});
    const parts = this.o.parts;
    const it: PartIterator = Symbol.asyncIterator in parts ? parts[Symbol.asyncIterator]() : parts[Symbol.iterator]();
    try {
      for (;;) {
        // a pipe that stalls must not keep a failed upload waiting for its next part
        const part = await nextUnlessAborted(it, this.signal);
        if (!part) break;
        this.bytes += part.length;
        queue.add(() => this.sendPart(part, existing.get(part.partNumber), pool)).catch((err) => this.fatal(err));
        // hold at most one part beyond the running ones (memory bound for streams)
        await queue.onSizeLessThan(1);
      }
    } catch (err) {
      this.fatal(err);
    } finally {
      if (this.signal.aborted) void Promise.resolve(it.return?.()).catch(() => undefined);
      await queue.onIdle();
      stopListening();
    }
    if (this.o.signal?.aborted) throw await this.stopped(fileId);
    if (this.failure) {
      // B2 stayed busy or unreachable through every retry: the stored parts are kept for a rerun
      if (this.failure.transient && this.o.resumable) throw this.kept(this.failure);
      throw await this.cancelAfter(this.failure, fileId);
    }
    try {
      await this.o.beforeFinish?.();
    } catch (err) {
      throw await this.cancelAfter(err, fileId);
    }
    timing('parts stored');
    const file = await this.finish(fileId);
    timing('large file finished');
    if (file.contentLength !== this.bytes) {
      // not what was sent: it must not stay behind looking like a good file
      const error = new BackupError('checksum_mismatch', `B2 finished ${fileName} with ${file.contentLength} bytes, but ${this.bytes} were sent`);
      throw await refuseStored(client, {...file, fileName: file.fileName ?? fileName}, error, 'it is not what was sent', 'the file was deleted');
    }
    // only now: until this file is stored, an earlier attempt is still the way back (the old key or part size, run again);
    // never the file just finished (a start whose answer was lost may have been found among them)
    const superseded = this.o.stored?.superseded.filter((s) => s.file.fileId !== fileId) ?? [];
    if (superseded.length > 0) this.superseded = await cancelSuperseded(client, superseded, this.o.signal);
    return file;
  }

  /**
   * Stopped by the caller (while parts were sent, or during the finish): the unfinished
   * file is kept for a re-run to resume; one that cannot resume would only cost money, so
   * it is cancelled (for CANCEL_AFTER_STOP_MS at most).
   */
  private async stopped(fileId: string): Promise<BackupError> {
    const aborted = abortError(this.o.signal);
    return this.o.resumable ? aborted : this.cancelAfter(aborted, fileId, {afterStop: true});
  }

  private kept(err: BackupError): BackupError {
    return keptForRerun(err, {fileName: this.o.fileName, parts: this.confirmedParts, what: 'upload'});
  }

  /**
   * A finish whose answer was lost may have finished the file; its retry then fails.
   * The file's own record says which; only a file that is truly unfinished is cancelled.
   */
  private async finish(fileId: string): Promise<B2File> {
    const {client, fileName} = this.o;
    try {
      this.finishSent = true;
      return await client.finishLargeFile(fileId, this.sha1s, fileName, this.o.signal);
    } catch (err) {
      if (this.o.signal?.aborted) throw await this.stopped(fileId);
      const file = await client.getFileInfo(fileId, fileName).catch(() => undefined);
      if (file?.action === 'upload' && file.contentLength === this.bytes) return file;
      // B2 stayed busy or unreachable through every retry: every part is stored, a rerun only finishes
      const failure = this.asBackupError(err);
      if (failure.transient && this.o.resumable) throw this.kept(failure);
      throw await this.cancelAfter(failure, fileId);
    }
  }

  private async cancelAfter(err: unknown, fileId: string, o?: {afterStop?: boolean}): Promise<BackupError> {
    const {client, bucketId, fileName} = this.o;
    return cancelFailed({client, bucketId, fileName, fileId, what: 'upload'}, this.asBackupError(err), {...o, finishSent: this.finishSent, resumed: this.resumed});
  }

  private fatal(err: unknown): void {
    if (this.failure || this.o.signal?.aborted) return;
    this.failure = this.asBackupError(err);
    this.internal.abort(this.failure);
  }

  private asBackupError(err: unknown): BackupError {
    return isBackupError(err) ? err : wrapUnknown(err, `upload of ${this.o.fileName} failed: ${(err as Error)?.message ?? String(err)}`, this.o.client.context.secrets);
  }

  private async startOrResume(): Promise<{fileId: string; existing: Map<number, B2Part>}> {
    const {client, bucketId, fileName, contentType, fileInfo, retention} = this.o;
    if (this.o.resumable) {
      const found = this.o.stored ? this.o.stored.resumable : await findResumable(this.o);
      if (found) {
        this.resumed = true;
        return {fileId: found.file.fileId, existing: new Map(found.parts.map((p) => [p.partNumber, p]))};
      }
    }
    const file = await client.startLargeFile({bucketId, fileName, contentType, fileInfo, retention}, this.o.signal, () => findStartedUnseen(this.o));
    return {fileId: file.fileId, existing: new Map()};
  }

  private async sendPart(part: PartSource, prior: B2Part | undefined, pool: UploadUrlPool): Promise<void> {
    const n = part.partNumber;
    if (prior && prior.contentLength === part.length && (await localSha1(part, this.signal)) === prior.contentSha1) {
      this.sha1s[n - 1] = prior.contentSha1;
      this.reusedBytes += part.length;
      this.partEvent('kept', part);
      this.confirm(n, part.length);
      part.release?.();
      return;
    }
    if (!this.signal.aborted) this.partEvent('start', part); // a part queued before an abort is not sent
    // a signal of its own (follows the upload's without a listener on it): each request and
    // bandwidth wait listens to it, and up to 64 parts doing so on the upload's one signal
    // passed Node's limit of 10 listeners (MaxListenersExceededWarning on stderr)
    const signal = AbortSignal.any([this.signal]);
    try {
      this.sha1s[n - 1] = await this.o.client.upload('b2_upload_part', this.o.fileName, pool, async (url, axios) => {
        this.rollBack(n);
        const {part: res, sha1: sent} = await this.o.client.uploadPartOnce(url, axios, {partNumber: n, data: part.data, sha1: part.sha1, onBytes: (b) => this.progress(n, b)});
        if (res.partNumber !== n || res.contentLength !== part.length || res.contentSha1 !== sent) {
          throw new WireMismatch(`part ${n} of ${this.o.fileName}: B2 stored part ${res.partNumber}, ${res.contentLength} bytes, SHA1 ${res.contentSha1}; sent ${part.length} bytes, SHA1 ${sent}`);
        }
        return sent;
      }, signal, {progress: () => this.confirmedParts, refine: (f) => this.sourceChanged(f, part)});
      this.partEvent('done', part);
      timing(`part ${n} stored`);
      this.confirm(n, part.length);
      part.release?.();
    } finally {
      this.rollBack(n);
    }
  }

  /**
   * B2 refused a file part's SHA1 from the hashing pass: the bytes it got are not the ones
   * hashed. Read again, they either still match (damaged on the way: retry) or not (the
   * file changed under the upload: stop, nothing of it may be stored).
   */
  private async sourceChanged(f: Failure, part: PartSource): Promise<Failure> {
    if (!part.fromDisk || !part.sha1 || f.status !== 400 || !SHA1_MISMATCH.test(f.message)) return f;
    const now = await hashPart(part, this.signal).catch(() => undefined);
    if (now === undefined || now === part.sha1) return f;
    return {...f, error: new BackupError('checksum_mismatch', `the source changed during upload: part ${part.partNumber} of ${this.o.fileName} (bytes ${part.offset}..${part.offset + part.length - 1}) is no longer what was hashed; nothing was stored, upload it again when it is no longer being written`)};
  }

  private partEvent(state: 'start' | 'done' | 'kept', part: PartSource): void {
    this.o.client.event({kind: 'part', direction: 'upload', state, file: this.o.fileName, part: part.partNumber, parts: this.o.plan.partCount, offset: part.offset, bytes: part.length});
  }

  /** Takes back the bytes an attempt sent that B2 did not confirm. */
  private rollBack(partNumber: number): void {
    if (!this.inFlight.has(partNumber)) return;
    this.inFlight.delete(partNumber);
    this.emit();
  }

  private progress(partNumber: number, bytes: number): void {
    this.inFlight.set(partNumber, (this.inFlight.get(partNumber) ?? 0) + bytes);
    this.emit();
  }

  private confirm(partNumber: number, length: number): void {
    this.inFlight.delete(partNumber);
    this.loaded += length;
    this.confirmedParts++;
    this.emit();
  }

  /** loaded: bytes confirmed plus bytes sent and not confirmed yet (inFlight). */
  private emit(): void {
    if (!this.o.onProgress) return;
    let inFlight = 0;
    for (const v of this.inFlight.values()) inFlight += v;
    this.o.onProgress({phase: 'transfer', loaded: this.loaded + inFlight, inFlight, total: this.o.plan.size});
  }
}

type PartIterator = Iterator<PartSource> | AsyncIterator<PartSource>;

/** The next part, or undefined at the end or once the signal aborts (whichever comes first). */
async function nextUnlessAborted(it: PartIterator, signal: AbortSignal): Promise<PartSource | undefined> {
  if (signal.aborted) return undefined;
  const next = Promise.resolve(it.next());
  next.catch(() => undefined); // may settle after we stopped waiting
  let onAbort = () => undefined as void;
  const aborted = new Promise<undefined>((resolve) => {
    onAbort = () => resolve(undefined);
    signal.addEventListener('abort', onAbort, {once: true});
  });
  try {
    const result = await Promise.race([next, aborted]);
    return result && !result.done ? result.value : undefined;
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
}

/**
 * The newest unfinished large file with this name, content type and file info whose parts
 * fit the plan (same size and part size): an interrupted upload or server-side copy of the
 * same object, to continue with the parts it has.
 */
export async function findResumable(o: Pick<LargeFileUploadOptions, 'client' | 'bucketId' | 'fileName' | 'contentType' | 'fileInfo' | 'plan' | 'signal'>): Promise<{file: B2File; parts: B2Part[]} | undefined> {
  for (const file of await sameUnfinished(o)) {
    const parts = await o.client.listAllParts(file.fileId, o.signal);
    if (partsFit(parts, o.plan)) return {file, parts};
  }
  return undefined;
}

/**
 * The unfinished large file that a b2_start_large_file whose answer was lost made: the
 * newest with this name, content type and file info and no parts yet (no one knew its id
 * to send one). An older one that matches so is the same as a new start. Uploads and
 * server-side copies in parts both pass it to startLargeFile.
 */
export async function findStartedUnseen(o: Pick<LargeFileUploadOptions, 'client' | 'bucketId' | 'fileName' | 'contentType' | 'fileInfo' | 'signal'>): Promise<B2File | undefined> {
  for (const file of await sameUnfinished(o)) {
    if ((await o.client.listAllParts(file.fileId, o.signal)).length === 0) return file;
  }
  return undefined;
}

/** Unfinished large files with this name, content type and file info, newest first. */
async function sameUnfinished(o: Pick<LargeFileUploadOptions, 'client' | 'bucketId' | 'fileName' | 'contentType' | 'fileInfo' | 'signal'>): Promise<B2File[]> {
  return (await unfinishedNamed(o.client, o.bucketId, o.fileName, o.signal)).filter((f) => f.contentType === o.contentType && sameFileInfo(f.fileInfo, o.fileInfo));
}

/** The error of an upload or server-side copy whose unfinished large file and its `parts` stored parts were kept for a rerun to continue. */
export function keptForRerun(err: BackupError, large: {fileName: string; parts: number; what: 'upload' | 'copy'}): BackupError {
  const {fileName, parts, what} = large;
  return new BackupError(err.kind, `${err.message}; the unfinished ${what} of ${fileName} (${count(parts, 'part')} stored) was kept to be resumed`, {cause: err.cause, transient: true, resumable: true});
}

/**
 * Cancels the large file `fileId` of a failed upload or server-side copy (its parts are
 * billed) and answers the error to throw, `error`. When the cancel fails too, the error
 * says what is true of the unfinished file: it remains, it is gone (cancelled by a
 * concurrent cleanup, or the cancel's answer was lost: nothing to add), or, when B2
 * cannot be asked, that it may remain; the first and last say how to remove it.
 *
 * `finishSent`: this run sent b2_finish_large_file and did not read its answer (stopped
 * or failed meanwhile), so B2 may have finished the file: the cancel then finds nothing
 * unfinished, and the file's own record (b2_get_file_info, by this very id) tells a file
 * gone from one finished, which is deleted: a whole file that nobody will use (the run
 * failed or was stopped, and would not resume it). What cannot be deleted is told.
 *
 * `resumed`: the unfinished file was found stored, started by another run (perhaps on
 * another machine), which may have continued and finished it too, as this run sent its
 * own finish: a finished file is then not known to be this run's, and is never deleted.
 *
 * All of it is bounded (CANCEL_AFTER_STOP_MS), after a stop as after a failure: a failure
 * has waited out its own retries already (and one on a network gone dead would wait them
 * out again, each attempt the whole request timeout); past the bound, it may remain.
 */
export async function cancelFailed(
  large: {client: B2Client; bucketId: string; fileName: string; fileId: string; what: 'upload' | 'copy'},
  error: BackupError,
  o: {afterStop?: boolean; finishSent?: boolean; resumed?: boolean} = {},
): Promise<BackupError> {
  const {client, bucketId, fileName, fileId} = large;
  const bound = afterStopBound();
  const refused = await client.cancelLargeFile(fileId, fileName, bound).then(
    () => undefined,
    (e: unknown) => (isBackupError(e) ? e : wrapUnknown(e, `cancelling ${fileName} failed`, client.context.secrets)),
  );
  if (!refused) return error;
  // the network that lost the cancel would make a listing wait through every retry again;
  // a cancel given up at the bound is not to be followed by more waiting either, nor is a
  // refused one by a listing that outlasts the bound (B2 busy for it)
  const offline = refused.kind === 'network' || refused.kind === 'timeout' || bound.aborted;
  const remains = offline ? undefined : await isUnfinished(client, bucketId, fileName, fileId, bound).catch(() => undefined);
  const asIt = `as the ${large.what} ${o.afterStop ? 'was stopped' : 'failed'}`;
  if (remains === false) return o.finishSent ? removeFinished(large, error, asIt, {bound, resumed: o.resumed}) : error;
  if (remains === undefined && o.finishSent) return withLeftover(error, mayRemain(client, fileName, `unfinished, or finished: B2 may have finished it ${asIt}`));
  const unfinished = `an unfinished ${large.what} of ${fileName}`;
  // a cleanup cancels only what is old enough (CLEANUP_AGE), and with the key B2 refused the cancel for, not at all
  if (remains) return withLeftover(error, `${unfinished} remains (cancelling it failed: ${failureCode(refused)}): ${whatCancels(refused, cleanupCommand(client), keyRef(client.context))}`);
  return withLeftover(error, `${unfinished} may remain: ${cleanupCommand(client)} to remove it ${CLEANUP_AGE}`);
}

/**
 * The large file `fileId` whose finish this run sent is no longer unfinished: finished by
 * that finish (then deleted), or gone (nothing to add). Its own record says which; when
 * that cannot be read, the error says the file may remain. One this run did not start
 * (`resumed`) may have been finished by the run that did: it stays, and the error says so.
 */
async function removeFinished(large: {client: B2Client; fileName: string; fileId: string; what: 'upload' | 'copy'}, error: BackupError, asIt: string, o: {bound?: AbortSignal; resumed?: boolean}): Promise<BackupError> {
  const {client, fileName, fileId} = large;
  const file = await client.getFileInfo(fileId, fileName, o.bound).catch((e: unknown) => (isBackupError(e, 'not_found') ? null : undefined));
  if (file === undefined) return withLeftover(error, mayRemain(client, fileName, `B2 may have finished it ${asIt}`));
  // this very version, finished under this name; anything else is not this run's to delete
  if (file === null || file.action !== 'upload' || file.fileId !== fileId || file.fileName !== fileName) return error;
  if (o.resumed) return withLeftover(error, `${fileName} remains, whole (file id ${fileId}): B2 finished it ${asIt}, by this run's finish or by that of another run that continued the same unfinished ${large.what}, so it was not deleted (it may be that run's); ${cleanupCommand(client)} to remove it ${CLEANUP_AGE} (a cleanup leaves a file that is part of a backup)`);
  const stays = await removeStoredVersion(client, file, `B2 finished it ${asIt}`, o.bound);
  return stays ? withLeftover(error, stays) : new BackupError(error.kind, `${error.message}; B2 finished ${fileName} ${asIt}: that file was deleted`, {cause: error.cause});
}
