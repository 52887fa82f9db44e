import type {TransferEvent, TransferEventListener} from '../b2/index.js';
import {humanSize} from '../backups/display.js';
import {escapeInvisible} from '../backups/validate.js';

/**
 * `-v`: one line per part started and finished, per retry (why, and how long it waits)
 * and per re-authorization. `write` must clear the progress line first (logToStderr
 * does), so that these lines never collide with the bar; the bar redraws on its next update.
 */
export function verboseListener(write: (line: string) => void): TransferEventListener {
  return (event) => write(describeEvent(event));
}

export function describeEvent(e: TransferEvent): string {
  if (e.kind === 'reauth') return `Re-authorizing: B2 refused the account token (${escapeInvisible(e.reason)}); signing in again`;
  if (e.kind === 'retry') {
    const wait = e.waitMs > 0 ? `retrying in ${seconds(e.waitMs)}` : 'retrying at once';
    return `Retry: ${e.call}${e.name === undefined ? '' : ` for ${escapeInvisible(JSON.stringify(e.name))}`} attempt ${e.attempt} failed (${escapeInvisible(e.reason)}); ${wait}`;
  }
  const what = e.direction === 'upload'
    ? `Part ${e.part}${e.parts === undefined ? '' : ` of ${e.parts}`}`
    : `Range ${e.offset ?? 0}-${(e.offset ?? 0) + e.bytes - 1}`;
  const state = e.state === 'start' ? (e.direction === 'upload' ? 'uploading' : 'downloading') : e.state === 'done' ? 'done' : 'already stored by an interrupted run, kept';
  return `${what} (${humanSize(e.bytes)}): ${state}`;
}

function seconds(ms: number): string {
  return ms < 10_000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms / 1000)} s`;
}
