import type {BodySource} from '../body.js';
import {BackupError, abortError} from '../errors.js';
import {StreamPeek} from '../stream-peek.js';

/**
 * A backup is never empty: even an empty tar is 1 KiB of end-of-archive blocks. A 0-byte
 * archive is what a producer that failed before writing anything leaves (`true | … upload -`,
 * a file being created): stored, it would be a backup that restores nothing, and a retention
 * prune that counts it would delete a real one for it. So it is bad input, refused before
 * anything is uploaded.
 */
export function emptyArchiveError(src: {kind: BodySource['kind']; path?: string}): BackupError {
  const why = 'a backup is never empty, so nothing was stored';
  switch (src.kind) {
    case 'file':
      return new BackupError('bad_input', `${src.path} is empty (0 bytes): ${why}; give the path of the archive itself (was it still being written?)`);
    case 'stream':
      return new BackupError('bad_input', `the archive stream is empty (0 bytes): ${why}; check the program writing the archive into it (did it fail? "set -o pipefail" shows it)`);
    case 'buffer':
      return new BackupError('bad_input', `the archive is empty (0 bytes): ${why}; pass the archive's bytes`);
  }
}

/** Refuses a source known to be empty (a file, a buffer, a stream declared as 0 bytes); reads nothing. */
export function assertNotEmpty(src: BodySource): void {
  if (src.size === 0) throw emptyArchiveError(src.kind === 'file' ? src : {kind: src.kind});
}

/**
 * The source, refused when empty. A stream is looked at up to its first byte, which stays in
 * it (StreamPeek): the refusal comes before the upload starts. Waiting for that byte ends
 * with `signal` (a pipe whose producer never writes).
 */
export async function nonEmptySource(src: BodySource, signal?: AbortSignal): Promise<BodySource> {
  assertNotEmpty(src);
  if (src.kind !== 'stream') return src;
  const peek = new StreamPeek(src.stream, 1);
  const onAbort = () => src.stream.destroy(abortError(signal));
  signal?.addEventListener('abort', onAbort, {once: true});
  let first: Buffer;
  try {
    first = await peek.readAt(0, 1);
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
  if (signal?.aborted) throw abortError(signal);
  const stream = peek.release();
  // a stream that failed before its first byte is not empty: its failure is the upload's to report
  if (first.length === 0 && !src.stream.errored) throw emptyArchiveError(src);
  return {...src, stream};
}
