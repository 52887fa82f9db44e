import {createHash} from 'node:crypto';
import {Transform, type Readable} from 'node:stream';
import {BackupError} from '../errors.js';

/** SHA1 as hex is 40 bytes appended to the body when sent with hex_digits_at_end. */
export const HEX_SHA1_LENGTH = 40;
export const HEX_DIGITS_AT_END = 'hex_digits_at_end';

export interface UploadBody {
  body: Readable;
  /** Content-Length to send (the data plus 40 when the hash trails it). */
  contentLength: number;
  /** X-Bz-Content-Sha1 to send. */
  sha1Header: string;
  /** The data's SHA1, once the body has been read to the end. */
  sha1(): string;
}

/**
 * Wraps one attempt's data stream: counts bytes for progress, hashes while sending
 * (when the SHA1 is not known beforehand it trails the data, `hex_digits_at_end`), and
 * fails the request if the source yields more or fewer bytes than planned (a file
 * changed under us) rather than sending something else than was promised. With
 * `expect` (a caller's SHA1 of a file read from disk) a trailing SHA1 that differs
 * fails the request before it is sent, so nothing is stored and the attempt is not
 * retried (the same file would fail the same way; B2 refusing a header would be retried).
 */
export function uploadBody(source: Readable, length: number, knownSha1: string | undefined, onBytes: (n: number) => void, expect?: {sha1: string; source: string}): UploadBody {
  const hash = createHash('sha1');
  let seen = 0;
  let digest = knownSha1;
  const body = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      seen += chunk.length;
      if (seen > length) return cb(changed(length, seen));
      if (!knownSha1) hash.update(chunk);
      onBytes(chunk.length);
      cb(null, chunk);
    },
    flush(cb) {
      if (seen !== length) return cb(changed(length, seen));
      if (!knownSha1) {
        digest = hash.digest('hex');
        if (expect && digest !== expect.sha1) {
          return cb(new BackupError('checksum_mismatch', `${expect.source} has SHA1 ${digest}, not the ${expect.sha1} it was given with: it changed after it was hashed; nothing was stored, upload it again when it is no longer being written`));
        }
        this.push(Buffer.from(digest, 'ascii'));
      }
      cb();
    },
  });
  // a read error is ours, not the network's: it must not be retried as a broken connection
  source.on('error', (err) => body.destroy(err instanceof BackupError ? err : readError(err, (source as {path?: unknown}).path)));
  body.on('close', () => source.destroy());
  source.pipe(body);
  return {
    body,
    contentLength: knownSha1 ? length : length + HEX_SHA1_LENGTH,
    sha1Header: knownSha1 ?? HEX_DIGITS_AT_END,
    sha1: () => {
      if (!digest) throw new Error('upload body read before its end');
      return digest;
    },
  };
}

export function changed(expected: number, seen: number): BackupError {
  return new BackupError('checksum_mismatch', `the source changed during upload: expected ${expected} bytes, read ${seen}${seen > expected ? ' or more' : ''}; nothing was stored, upload it again when it is no longer being written`);
}

/** A local read that failed mid-upload (the file deleted, unreadable, a disk error): said as such, at once. */
export function readError(err: unknown, path?: unknown): BackupError {
  const e = err as NodeJS.ErrnoException;
  const what = e?.path ?? (typeof path === 'string' ? path : 'the source');
  const why = e?.code === 'ENOENT' ? 'ENOENT (it was deleted or moved)' : e?.code ?? e?.message ?? String(err);
  return new BackupError('failure', `cannot read ${what} while uploading it: ${why}; nothing was stored`, {cause: {code: e?.code ?? 'local', message: e?.message ?? String(err)}});
}
