import {Worker} from 'node:worker_threads';

/** What the thread reads a file range in, one block at a time (its only buffer for files). */
const FILE_BLOCK_BYTES = 1024 * 1024;

/**
 * The worker's whole program (run with `eval`, so that it needs no file of its own next to
 * the compiled code nor a loader for the TypeScript sources under test). It keeps one
 * SHA1 and answers every message in order: a region of shared memory is hashed, or a
 * range of an open file is read (into one reused block) and hashed, then acknowledged (a
 * failed read answers its error); `digest` answers the SHA1 of everything since the last
 * digest.
 */
const PROGRAM = `
const {parentPort} = require('node:worker_threads');
const {createHash} = require('node:crypto');
const {readSync} = require('node:fs');
let hash = createHash('sha1');
let block;
parentPort.on('message', (m) => {
  if (m.buffer) {
    hash.update(new Uint8Array(m.buffer, m.offset, m.length));
    parentPort.postMessage(null);
  } else if (m.fd !== undefined) {
    try {
      block ??= Buffer.allocUnsafe(${FILE_BLOCK_BYTES});
      for (let at = m.position, end = m.position + m.length; at < end; ) {
        const n = readSync(m.fd, block, 0, Math.min(block.length, end - at), at);
        if (n <= 0) throw Object.assign(new Error('the file ends at ' + at + ', before the bytes to hash'), {code: 'ESHORT'});
        hash.update(block.subarray(0, n));
        at += n;
      }
      parentPort.postMessage(null);
    } catch (err) {
      parentPort.postMessage({error: {message: String(err && err.message), code: err && err.code}});
    }
  } else {
    const digest = hash.digest('hex');
    hash = createHash('sha1');
    parentPort.postMessage(digest);
  }
});
`;

/** Memory a worker can read without a copy: a Buffer over a SharedArrayBuffer. */
export function sharedBuffer(size: number): Buffer {
  return Buffer.from(new SharedArrayBuffer(size));
}

/**
 * A SHA1 computed on its own thread, over bytes the caller has put in shared memory
 * (sharedBuffer): the same bytes can be hashed twice at once on two cores (a large
 * upload's whole-file SHA1 beside its parts' SHA1s) instead of one after the other on
 * the main thread; or over ranges of a file the thread reads itself (a download written
 * out of order, hashed behind its writes). Updates are hashed in the order given; the
 * caller must not change a region until its update has settled.
 */
export class Sha1Thread {
  private readonly worker = new Worker(PROGRAM, {eval: true});
  /** Answers awaited, oldest first (the worker answers in order). */
  private readonly waiting: Array<{resolve: (v: string | null) => void; reject: (e: unknown) => void}> = [];
  private failure?: unknown;
  private closing = false;

  constructor() {
    // Held only while an answer is awaited: an idle thread that a failing caller never
    // closed must not keep the process alive, and a pending one must (nothing else may).
    this.worker.unref();
    this.worker.on('message', (v: string | null | {error: {message: string; code?: string}}) => {
      const waiter = this.waiting.shift();
      if (v !== null && typeof v === 'object') waiter?.reject(Object.assign(new Error(v.error.message), v.error.code ? {code: v.error.code} : {}));
      else waiter?.resolve(v);
      if (this.waiting.length === 0 && !this.closing) this.worker.unref();
    });
    this.worker.on('error', (err) => this.fail(err));
    this.worker.on('exit', (code) => this.fail(new Error(`the hashing thread exited (code ${code})`)));
  }

  /** Hashes `view` (which must lie in a SharedArrayBuffer); settles once it is hashed and may be reused. */
  update(view: Uint8Array): Promise<void> {
    if (!(view.buffer instanceof SharedArrayBuffer)) throw new TypeError('Sha1Thread.update needs a view of a SharedArrayBuffer');
    return this.ask({buffer: view.buffer, offset: view.byteOffset, length: view.byteLength}).then(() => undefined);
  }

  /**
   * Hashes `length` bytes of the open file `fd` from `position`, read by the thread itself:
   * the bytes never pass through the caller's thread. A failed read rejects with an Error
   * carrying the system's code (EIO…), as a read of the caller's own would.
   */
  updateFromFile(fd: number, position: number, length: number): Promise<void> {
    return this.ask({fd, position, length}).then(() => undefined);
  }

  /** The SHA1 (hex) of everything given since the last digest; the next update starts a new one. */
  async digest(): Promise<string> {
    return (await this.ask({})) as string;
  }

  /** Stops the thread; anything still awaited fails. */
  async close(): Promise<void> {
    this.failure ??= new Error('the hashing thread was closed');
    // held until it has stopped: terminate() settles only on the thread's exit, and with an
    // unref'd thread (idle, or its last answer arriving meanwhile) nothing else may keep the
    // process up to see it: it then ended with the caller's await unsettled (exit code 13,
    // e.g. Ctrl-C while a large upload was being hashed)
    this.closing = true;
    this.worker.ref();
    await this.worker.terminate();
  }

  private ask(message: object): Promise<string | null> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      if (this.waiting.length === 0) this.worker.ref();
      this.waiting.push({resolve, reject});
      this.worker.postMessage(message);
    });
  }

  private fail(err: unknown): void {
    this.failure ??= err;
    for (const w of this.waiting.splice(0)) w.reject(this.failure);
  }
}
