import type {Readable} from 'node:stream';
import {writeInBatches} from '../batched-writes.js';

/**
 * `stream` onto stdout in large batches (one writev each, corked) instead of a write per
 * network chunk; one batch in flight while the next fills. Stdout is left open (a failed
 * download must still be able to report). A failed write (EPIPE: the reader left)
 * destroys the stream, which releases its connections.
 */
export async function writeToStdout(stream: Readable, stdout: NodeJS.WriteStream = process.stdout): Promise<void> {
  try {
    await writeInBatches(stream, (bufs) => writeBatch(stdout, bufs));
  } catch (err) {
    stream.destroy();
    throw err;
  }
}

function writeBatch(out: NodeJS.WriteStream, bufs: Buffer[]): Promise<void> {
  return new Promise((resolve, reject) => {
    out.cork();
    for (let i = 0; i < bufs.length - 1; i++) out.write(bufs[i]);
    out.write(bufs[bufs.length - 1], (err) => (err ? reject(err) : resolve()));
    out.uncork();
  });
}
