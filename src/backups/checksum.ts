import {createHash} from 'node:crypto';
import {Transform, type TransformCallback} from 'node:stream';
import {BackupError} from '../errors.js';
import {SHA1_HEX} from '../hash.js';

export interface Expected {
  size: number;
  /** Unknown for archives whose writer recorded no checksum (large files uploaded by HA). */
  sha1?: string;
}

/**
 * Passes bytes through while counting and hashing them. With `expect`, the stream fails
 * with `checksum_mismatch` at its end instead of finishing when size or SHA1 differ, so a
 * consumer can never mistake a bad copy for a complete one.
 */
export class HashingStream extends Transform {
  private readonly hash = createHash('sha1');
  private bytes = 0;
  private digest?: string;
  private ended = false;

  constructor(
    /**
     * `hint` ends the mismatch message (what it means, what to do). `trustSha1`: the
     * source checks `expect.sha1` itself and fails on a mismatch (B2's downloader does),
     * so hashing again here would only cost CPU: only the size is checked. `countOnly`:
     * the consumer hashes what it reads (a backend with hashesPut); no SHA1 here at all.
     * `agreement`: a check run beside the transfer (a backup's metadata file against its
     * archive), awaited at the end: a problem it answers fails the stream as a mismatch does.
     */
    private readonly opts: {expect?: Expected; what?: string; hint?: string; onBytes?: (loaded: number) => void; trustSha1?: boolean; countOnly?: boolean; agreement?: Promise<string | undefined>} = {},
  ) {
    super();
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    if (!this.trusted) this.hash.update(chunk);
    this.bytes += chunk.length;
    const limit = this.opts.expect?.size;
    // too long is known at once: fail before passing on what no consumer should keep
    if (limit !== undefined && this.bytes > limit) return cb(this.failure(`got more than ${limit} bytes, expected ${limit}`));
    this.opts.onBytes?.(this.bytes);
    cb(null, chunk);
  }

  override _flush(cb: TransformCallback): void {
    this.ended = true;
    this.digest = this.trusted ? this.opts.expect?.sha1 : this.hash.digest('hex');
    const problem = this.opts.expect ? mismatch(this.result(), this.opts.expect) : undefined;
    if (problem || !this.opts.agreement) return cb(problem ? this.failure(problem) : undefined);
    this.opts.agreement.then((disagrees) => cb(disagrees ? this.failure(disagrees) : undefined), cb);
  }

  private failure(problem: string): BackupError {
    return new BackupError('checksum_mismatch', `${this.opts.what ?? 'download'} failed verification: ${problem}${this.opts.hint ? `; ${this.opts.hint}` : ''}`);
  }

  private get trusted(): boolean {
    return this.opts.countOnly === true || (this.opts.trustSha1 === true && this.opts.expect?.sha1 !== undefined);
  }

  /** Size and SHA1 of what went through; sha1 is set once the stream has ended (never with countOnly). */
  result(): {size: number; sha1?: string; ended: boolean} {
    return {size: this.bytes, sha1: this.digest, ended: this.ended};
  }

  /** Size and SHA1 of what went through so far, also after the source failed. */
  soFar(): {size: number; sha1: string} {
    return {size: this.bytes, sha1: this.digest ?? this.hash.copy().digest('hex')};
  }
}

/** Why `got` is not `expected`, or undefined when it matches. */
export function mismatch(got: {size: number; sha1?: string}, expected: Expected): string | undefined {
  if (got.size !== expected.size) return `got ${got.size} bytes, expected ${expected.size}`;
  if (expected.sha1 && got.sha1 !== expected.sha1) return `SHA1 is ${got.sha1}, expected ${expected.sha1}`;
  return undefined;
}

/** A checksum as recorded somewhere, if it is a usable SHA1 (B2 may say "none" or "unverified:…"). */
export function knownSha1(value: string | undefined): string | undefined {
  return value !== undefined && SHA1_HEX.test(value) ? value : undefined;
}
