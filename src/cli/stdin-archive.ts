import {fstatSync} from 'node:fs';
import {PassThrough, type Readable} from 'node:stream';
import {BackupError} from '../errors.js';
import {ioProblem} from '../io-errors.js';

/**
 * stdin as the archive of `upload -`. Node gives a directory on stdin as an empty stream
 * (it would read as an empty archive) and a write-only one as a raw EBADF: both are one
 * line naming stdin and the error's code instead, exit 2. A stream failure aborts the
 * upload, whose parts from stdin are cancelled: nothing is stored.
 */
export function stdinArchive(stdin: Readable & {fd?: number}, fix: string): Readable {
  const refuse = (err: unknown) => new BackupError('bad_input', `cannot read the archive from stdin: ${ioProblem(err)}; nothing was stored; ${fix}`, {cause: err});
  if (isDirectory(stdin.fd ?? 0)) throw refuse(Object.assign(new Error('stdin is a directory'), {code: 'EISDIR'}));
  const archive = new PassThrough();
  stdin.once('error', (err) => archive.destroy(refuse(err))); // pipe() passes data on, not failures
  // the failure may come before the upload reads (pipe() starts reading): kept as archive.errored, which its reader meets
  archive.on('error', () => undefined);
  return stdin.pipe(archive);
}

function isDirectory(fd: number): boolean {
  try {
    return fstatSync(fd).isDirectory();
  } catch {
    return false; // a closed stdin: reading it says why
  }
}
