/**
 * Reads the member headers of a tar archive (ustar, GNU long names, PAX extended headers)
 * without reading members' data: each member's data is skipped by its size, so finding
 * one member of a large archive costs one small read per member before it.
 *
 * Hand-written rather than a tar library because the two callers need what streaming
 * extractors do not offer: seeking past members in a file (tar-stream and node-tar read
 * every byte before a member), and reading only the first header(s) of a stream whose
 * bytes must all be kept for an upload. Every number in a header is untrusted: sizes are
 * bounded before anything is allocated, and anything malformed is a TarFormatError.
 */

export const TAR_BLOCK = 512;

/** Reads `length` bytes at `position`; fewer only at the end of the input. */
export type ReadAt = (position: number, length: number) => Promise<Buffer>;

export interface TarEntry {
  /** The member's path: from a PAX `path`, a GNU long name, or the ustar prefix and name. */
  name: string;
  /** The typeflag: '0' for a regular file ('\0' and '7' are reported as '0'). */
  type: string;
  /** Bytes of data (a PAX `size` wins over the header's). */
  size: number;
  /** Where the member's data starts, from the start of the archive. */
  dataOffset: number;
}

export interface TarLimits {
  /** Largest PAX header or GNU long name read (default 64 KiB). */
  maxMetaBytes?: number;
  /** Members looked at before giving up (default 1,000). */
  maxEntries?: number;
}

export class TarFormatError extends Error {}

const DEFAULT_MAX_META_BYTES = 64 * 1024;
const DEFAULT_MAX_ENTRIES = 1000;
/** Extended headers in a row before one member; real archives have one or two. */
const MAX_META_CHAIN = 8;
/** Types whose size field does not announce data (links, devices, directories, FIFOs), as Python's tarfile reads them. */
const NO_DATA_TYPES = new Set(['1', '2', '3', '4', '5', '6']);

/**
 * The archive's members in order, lazily: a header is read only when the next member is
 * asked for, so a caller that stops early reads nothing further. Ends at the end-of-archive
 * block or at the end of the input on a block boundary; throws TarFormatError otherwise.
 */
export async function* tarEntries(read: ReadAt, limits: TarLimits = {}): AsyncGenerator<TarEntry> {
  yield* members(read, limits);
}

/**
 * How an archive read through by tarWalk ended. `after`: the last member before the cut.
 * - complete: its end-of-archive blocks are there: a zero block and the block after it
 *   (tar writes two zero blocks; it stops reading at the first, so the second is not checked).
 * - data: the input ended inside a member's data; `present` of its `size` bytes are there.
 * - header: it ended inside a member's header, or the extended header(s) before it, at byte `at`.
 * - end: it ended after the last member's data (or inside its padding, or after one end
 *   block) without both end-of-archive blocks.
 */
export type TarEnding =
  | {complete: true}
  | {complete: false; inside: 'data'; member: string; size: number; present: number}
  | {complete: false; inside: 'header' | 'end'; at: number; after?: string};

/**
 * The archive's members in order, as tarEntries, read to the end of the archive: the
 * generator's return value says whether it is complete. A cut input is no error here
 * (malformed headers still are): `inputLength` gives the input's length, asked only once a
 * read came back short (the input has ended), to say where it was cut. The end-of-archive
 * blocks are the last bytes read: whatever follows them (tar's record padding) is not.
 */
export function tarWalk(read: ReadAt, limits: TarLimits, inputLength: () => number): AsyncGenerator<TarEntry, TarEnding> {
  return members(read, limits, inputLength);
}

function members(read: ReadAt, limits: TarLimits): AsyncGenerator<TarEntry, undefined>;
function members(read: ReadAt, limits: TarLimits, inputLength: () => number): AsyncGenerator<TarEntry, TarEnding>;
async function* members(read: ReadAt, limits: TarLimits, inputLength?: () => number): AsyncGenerator<TarEntry, TarEnding | undefined> {
  const maxMeta = limits.maxMetaBytes ?? DEFAULT_MAX_META_BYTES;
  const maxEntries = limits.maxEntries ?? DEFAULT_MAX_ENTRIES;
  let offset = 0;
  let pax: Map<string, string> | undefined;
  let longName: string | undefined;
  let chain = 0;
  let count = 0;
  let last: TarEntry | undefined;
  /**
   * Where the input was cut, the bytes at `offset` being short: in a header block (`got`
   * of it there), an extended header's data, or the second end-of-archive block. Walking,
   * an ending; for tarEntries, a TarFormatError.
   */
  const cut = (where: 'block' | 'extended' | 'end', got: Buffer): TarEnding => {
    if (!inputLength) throw new TarFormatError(`truncated ${where === 'extended' ? 'extended header' : 'header'} at byte ${offset}`);
    const end = inputLength();
    if (last && end < last.dataOffset + last.size) return {complete: false, inside: 'data', member: last.name, size: last.size, present: end - last.dataOffset};
    // a block cut after extended headers, or one that is not zeros, was a member's header
    const inHeader = where === 'extended' || (where === 'block' && (chain > 0 || got.some((b) => b !== 0)));
    return {complete: false, inside: inHeader ? 'header' : 'end', at: offset, after: last?.name};
  };
  // bounded: every pass counts a member (at most maxEntries) or an extended header (at most MAX_META_CHAIN in a row)
  while (true) {
    const block = await read(offset, TAR_BLOCK);
    // no end-of-archive blocks: tolerated by tarEntries, as tar does
    if (block.length === 0 && !inputLength) return undefined;
    if (block.length < TAR_BLOCK) return cut('block', block);
    const header = parseHeader(block, offset);
    if (header === 'end') {
      if (!inputLength) return undefined;
      const second = await read(offset + TAR_BLOCK, TAR_BLOCK);
      return second.length === TAR_BLOCK ? {complete: true} : cut('end', second);
    }
    const dataOffset = offset + TAR_BLOCK;
    if (header.type === 'x' || header.type === 'L' || header.type === 'K' || header.type === 'g') {
      if (++chain > MAX_META_CHAIN) throw new TarFormatError(`more than ${MAX_META_CHAIN} extended headers in a row at byte ${offset}`);
      if (header.size > maxMeta) throw new TarFormatError(`extended header of ${header.size} bytes at byte ${offset} (at most ${maxMeta} are read)`);
      const data = await read(dataOffset, header.size);
      if (data.length < header.size) return cut('extended', data);
      if (header.type === 'x') pax = parsePax(data, offset);
      else if (header.type === 'L') longName = cString(data);
      // 'K' (long link name) and 'g' (global PAX header) say nothing about names or sizes we use
      offset = dataOffset + padded(header.size);
      continue;
    }
    count++;
    const size = pax?.has('size') ? decimal(pax.get('size') as string, offset) : header.size;
    const name = pax?.get('path') ?? longName ?? header.name;
    pax = undefined;
    longName = undefined;
    chain = 0;
    if (count > maxEntries) throw new TarFormatError(`more than ${maxEntries} members`);
    const entry = {name, type: header.type, size, dataOffset};
    yield entry;
    const skip = NO_DATA_TYPES.has(header.type) ? 0 : padded(size);
    if (dataOffset + skip > Number.MAX_SAFE_INTEGER) throw new TarFormatError(`member at byte ${offset} claims ${size} bytes`);
    last = skip === 0 ? {...entry, size: 0} : entry;
    offset = dataOffset + skip;
  }
}

/** The first member named one of `names` that is a regular file, or undefined. `firstOnly`: look at the first member alone. */
export async function findTarMember(read: ReadAt, names: readonly string[], opts: TarLimits & {firstOnly?: boolean} = {}): Promise<TarEntry | undefined> {
  for await (const entry of tarEntries(read, opts)) {
    if (entry.type === '0' && names.includes(entry.name)) return entry;
    if (opts.firstOnly) return undefined;
  }
  return undefined;
}

interface Header {
  name: string;
  type: string;
  size: number;
}

function parseHeader(block: Buffer, at: number): Header | 'end' {
  if (block.every((b) => b === 0)) return 'end';
  const recorded = octal(block.subarray(148, 156), 'checksum', at);
  let unsigned = 0;
  let signed = 0;
  for (let i = 0; i < TAR_BLOCK; i++) {
    const b = i >= 148 && i < 156 ? 0x20 : block[i];
    unsigned += b;
    signed += b > 127 ? b - 256 : b;
  }
  if (recorded !== unsigned && recorded !== signed) throw new TarFormatError(`bad header checksum at byte ${at}`);
  const flag = String.fromCharCode(block[156]);
  const type = flag === '\0' || flag === '7' ? '0' : flag;
  const size = numeric(block.subarray(124, 136), 'size', at);
  let name = cString(block.subarray(0, 100));
  // POSIX ustar splits long paths into prefix and name; GNU's "ustar  " keeps other fields there
  if (block.subarray(257, 263).toString('latin1') === 'ustar\0') {
    const prefix = cString(block.subarray(345, 500));
    if (prefix) name = `${prefix}/${name}`;
  }
  return {name, type, size};
}

/** A numeric field: octal text, or GNU's base-256 (high bit set) for values that do not fit. */
function numeric(field: Buffer, what: string, at: number): number {
  if (field[0] & 0x80) {
    if (field[0] === 0xff) throw new TarFormatError(`negative ${what} at byte ${at}`);
    let value = field[0] & 0x7f;
    for (let i = 1; i < field.length; i++) {
      value = value * 256 + field[i];
      if (value > Number.MAX_SAFE_INTEGER) throw new TarFormatError(`${what} too large at byte ${at}`);
    }
    return value;
  }
  return octal(field, what, at);
}

/** Octal text ended by NUL or space, as tar writes it (Python's nti: an empty field is 0). */
function octal(field: Buffer, what: string, at: number): number {
  const nul = field.indexOf(0);
  const text = field.subarray(0, nul === -1 ? field.length : nul).toString('latin1').trim();
  if (text === '') return 0;
  if (!/^[0-7]+$/.test(text)) throw new TarFormatError(`${what} field ${JSON.stringify(text)} is not octal at byte ${at}`);
  return parseInt(text, 8);
}

function decimal(text: string, at: number): number {
  if (!/^\d{1,15}$/.test(text)) throw new TarFormatError(`PAX size ${JSON.stringify(text.slice(0, 20))} is not a size at byte ${at}`);
  return Number(text);
}

/** PAX records: "<length> <key>=<value>\n", where length counts the whole record. */
function parsePax(data: Buffer, at: number): Map<string, string> {
  const records = new Map<string, string>();
  let pos = 0;
  while (pos < data.length) {
    if (data[pos] === 0) break; // padding some writers leave
    const space = data.indexOf(0x20, pos);
    const digits = space === -1 ? '' : data.subarray(pos, space).toString('latin1');
    if (!/^[1-9]\d{0,7}$/.test(digits)) throw new TarFormatError(`bad PAX record length at byte ${at}`);
    const end = pos + Number(digits);
    if (end > data.length || end <= space + 1 || data[end - 1] !== 0x0a) throw new TarFormatError(`bad PAX record at byte ${at}`);
    const record = data.subarray(space + 1, end - 1).toString('utf8');
    const eq = record.indexOf('=');
    if (eq <= 0) throw new TarFormatError(`bad PAX record at byte ${at}`);
    records.set(record.slice(0, eq), record.slice(eq + 1));
    pos = end;
  }
  return records;
}

function cString(field: Buffer): string {
  const nul = field.indexOf(0);
  return field.subarray(0, nul === -1 ? field.length : nul).toString('utf8');
}

function padded(size: number): number {
  return Math.ceil(size / TAR_BLOCK) * TAR_BLOCK;
}
