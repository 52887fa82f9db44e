import {Transform, TransformCallback} from 'node:stream';
import {setTimeout as sleep} from 'node:timers/promises';

/**
 * A pass-through that counts bytes, optionally throttles them to `bytesPerSecond` and
 * calls `onCut` (which destroys the socket) once `cutAfterBytes` have gone through, then
 * fails itself.
 * Request bodies and response bodies both flow through one, so faults and byte
 * counters apply the same way in both directions.
 */
export function createShaper(opts: {
  cutAfterBytes?: number;
  bytesPerSecond?: number;
  /** Flip the byte at this stream offset (a body corrupted in flight). */
  corruptAt?: number;
  onBytes: (n: number) => void;
  onCut: () => void;
  onCorrupt?: () => void;
}): Transform {
  let passed = 0;
  const corrupt = (piece: Buffer): Buffer => {
    const at = opts.corruptAt;
    if (at === undefined || at < passed || at >= passed + piece.length) return piece;
    const copy = Buffer.from(piece);
    copy[at - passed] ^= 0xff;
    opts.onCorrupt?.();
    return copy;
  };
  const slice = opts.bytesPerSecond ? Math.max(1024, Math.min(64 * 1024, Math.floor(opts.bytesPerSecond / 10))) : Infinity;
  // A destroyed shaper (its socket closed, the emulator stopped) sends and counts nothing
  // more; its pending throttle sleep is cancelled so no timer outlives the stream.
  const stopped = new AbortController();
  return new Transform({
    transform(chunk: Buffer, _enc, done: TransformCallback) {
      void (async () => {
        for (let at = 0; at < chunk.length; at += slice) {
          if (this.destroyed) return;
          let piece = corrupt(chunk.subarray(at, Math.min(chunk.length, at + slice)));
          if (opts.cutAfterBytes !== undefined && passed + piece.length >= opts.cutAfterBytes) {
            piece = piece.subarray(0, Math.max(0, opts.cutAfterBytes - passed));
            if (piece.length > 0) this.push(piece);
            passed += piece.length;
            opts.onBytes(piece.length);
            // Give the socket a moment to flush what was let through, then cut. The shaper ends
            // with its socket, failing its reader: a request whose body had arrived whole (its
            // 'end' already seen) would otherwise keep its handler, and its temp file, for ever.
            setImmediate(() => {
              opts.onCut();
              this.destroy(new Error(`cut after ${passed} bytes by an injected fault`));
            });
            return;
          }
          passed += piece.length;
          opts.onBytes(piece.length);
          this.push(piece);
          if (opts.bytesPerSecond) await sleep((piece.length / opts.bytesPerSecond) * 1000, undefined, {signal: stopped.signal});
        }
        done();
      })().catch((e: Error) => (stopped.signal.aborted ? undefined : done(e)));
    },
    destroy(err, callback) {
      stopped.abort();
      callback(err);
    },
  });
}
