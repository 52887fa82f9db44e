import {closeSync, constants, fstatSync, openSync, readSync, type Stats} from 'node:fs';

/**
 * Reads a small file a user points at (the profiles file, a key file) without trusting
 * it to be one: a FIFO would block for ever and /dev/zero never ends, so the file is
 * opened without blocking, must be a regular file, and is read up to `maxBytes` only.
 * Returns undefined when the file does not exist; otherwise the text or why not.
 */
export function readSmallFile(path: string, maxBytes: number): {text: string} | {problem: string} | undefined {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return undefined;
    return {problem: code === 'EACCES' || code === 'EPERM' ? 'permission denied' : code === 'EISDIR' ? 'it is a directory, not a file' : `cannot open it (${code ?? 'unknown error'})`};
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) return {problem: `it is ${kindOf(st)}, not a regular file`};
    if (st.size > maxBytes) return {problem: `it has ${st.size} bytes, more than the ${maxBytes} allowed`};
    const buf = Buffer.alloc(maxBytes + 1);
    let length = 0;
    for (let n = 1; n > 0 && length < buf.length; length += n) n = readSync(fd, buf, length, buf.length - length, null);
    if (length > maxBytes) return {problem: `it has more than the ${maxBytes} bytes allowed`};
    return {text: buf.subarray(0, length).toString('utf8')};
  } catch (err) {
    return {problem: `cannot read it (${(err as NodeJS.ErrnoException).code ?? 'unknown error'})`};
  } finally {
    closeSync(fd);
  }
}

function kindOf(st: Stats): string {
  if (st.isDirectory()) return 'a directory';
  if (st.isFIFO()) return 'a FIFO (named pipe)';
  if (st.isCharacterDevice() || st.isBlockDevice()) return 'a device';
  if (st.isSocket()) return 'a socket';
  return 'not a file';
}
