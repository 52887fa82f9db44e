/**
 * What the provider tells an observer while it works, for a verbose display: parts of a
 * transfer starting and ending, failed attempts it retries, and re-authorizations. Plain
 * data; the CLI decides how (and whether) to show it. Reasons are scrubbed of secrets.
 */
export type TransferEvent =
  | {
      kind: 'part';
      direction: 'upload' | 'download';
      /** start: being sent/fetched; done: confirmed; kept: found stored by an interrupted run and reused. */
      state: 'start' | 'done' | 'kept';
      /** The B2 file name. */
      file: string;
      /** Upload part number (1-based); a download range is named by its bytes instead. */
      part?: number;
      /** Parts of the upload, when known (not for a stream of unknown size). */
      parts?: number;
      /** First byte of the part or range. */
      offset?: number;
      bytes: number;
    }
  | {
      kind: 'retry';
      /** The B2 call that failed, e.g. b2_upload_part. */
      call: string;
      /** The file name involved, if any. */
      name?: string;
      /** The attempt that failed (1-based). */
      attempt: number;
      /** Why: status and B2's code and message, or the network error. */
      reason: string;
      /** How long it waits before the next attempt. */
      waitMs: number;
    }
  | {kind: 'reauth'; reason: string};

export type TransferEventListener = (event: TransferEvent) => void;

/** A listener that cannot break a transfer: what it throws is dropped. */
export function safeListener(listener?: TransferEventListener): (event: TransferEvent) => void {
  if (!listener) return () => undefined;
  return (event) => {
    try {
      listener(event);
    } catch {
      // a display problem must not fail the upload it describes
    }
  };
}
