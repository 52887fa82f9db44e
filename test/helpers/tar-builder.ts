/**
 * Writes tar archives for tests, from the format's description and not from
 * src/tar-reader.ts, so that a misreading cannot hide on both sides: ustar headers,
 * PAX extended headers ('x', as Python's tarfile writes them in PAX_FORMAT, HA's
 * default), and GNU long names ('L' members named ././@LongLink).
 */
export interface TarMember {
  name: string;
  data: Buffer;
  /** Typeflag, default '0'. */
  type?: string;
  /** PAX records written in an 'x' header before the member. */
  pax?: Record<string, string>;
  /** Write a name longer than 100 bytes as a GNU long name instead of a ustar prefix. */
  gnuLongName?: boolean;
  /** Header size field, when it must differ from data.length (hostile inputs). */
  sizeField?: string | Buffer;
}

const BLOCK = 512;

export function buildTar(members: TarMember[], opts: {end?: boolean} = {}): Buffer {
  const parts: Buffer[] = [];
  for (const m of members) {
    if (m.pax) {
      const body = Buffer.from(Object.entries(m.pax).map(([k, v]) => paxRecord(k, v)).join(''), 'utf8');
      parts.push(header({name: `./PaxHeaders/${m.name.split('/').pop()}`.slice(0, 99), size: body.length, type: 'x'}), padded(body));
    }
    let name = m.name;
    let prefix = '';
    if (Buffer.byteLength(name) > 100) {
      if (m.gnuLongName) {
        const long = Buffer.from(`${name}\0`, 'utf8');
        parts.push(header({name: '././@LongLink', size: long.length, type: 'L', gnu: true}), padded(long));
        name = name.slice(0, 99);
      } else {
        const cut = name.lastIndexOf('/', 155);
        prefix = name.slice(0, cut);
        name = name.slice(cut + 1);
      }
    }
    parts.push(header({name, prefix, size: m.data.length, type: m.type ?? '0', gnu: m.gnuLongName, sizeField: m.sizeField}), padded(m.data));
  }
  if (opts.end !== false) parts.push(Buffer.alloc(2 * BLOCK));
  return Buffer.concat(parts);
}

/** One header block with a correct checksum (unless the caller changes bytes afterwards). */
export function header(h: {name: string; size: number; type: string; prefix?: string; gnu?: boolean; sizeField?: string | Buffer}): Buffer {
  const b = Buffer.alloc(BLOCK);
  b.write(h.name, 0, 100, 'utf8');
  b.write('0000644\0', 100, 'latin1'); // mode
  b.write('0001750\0', 108, 'latin1'); // uid
  b.write('0001750\0', 116, 'latin1'); // gid
  if (Buffer.isBuffer(h.sizeField)) h.sizeField.copy(b, 124, 0, 12);
  else b.write(h.sizeField ?? `${h.size.toString(8).padStart(11, '0')}\0`, 124, 12, 'latin1');
  b.write(`${Math.floor(Date.UTC(2026, 3, 8) / 1000).toString(8).padStart(11, '0')}\0`, 136, 'latin1'); // mtime
  b.write(h.type, 156, 'latin1');
  if (h.gnu) b.write('ustar  \0', 257, 'latin1');
  else {
    b.write('ustar\0', 257, 'latin1');
    b.write('00', 263, 'latin1');
    if (h.prefix) b.write(h.prefix, 345, 155, 'utf8');
  }
  return withChecksum(b);
}

/** Sets the checksum field from the block's bytes (the field itself counted as spaces). */
export function withChecksum(b: Buffer): Buffer {
  b.fill(0x20, 148, 156);
  let sum = 0;
  for (const byte of b) sum += byte;
  b.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
  return b;
}

/** "<length> key=value\n", where the length counts its own digits. */
function paxRecord(key: string, value: string): string {
  const rest = ` ${key}=${value}\n`;
  const restBytes = Buffer.byteLength(rest);
  let len = restBytes + 1;
  while (String(len).length + restBytes !== len) len = String(len).length + restBytes;
  return `${len}${rest}`;
}

function padded(data: Buffer): Buffer {
  const pad = (BLOCK - (data.length % BLOCK)) % BLOCK;
  return pad === 0 ? data : Buffer.concat([data, Buffer.alloc(pad)]);
}

/**
 * Where the header of the member named `name` starts in a tar buildTar wrote (plain ustar
 * names, no extended headers), for tests that cut an archive at a chosen place.
 */
export function headerOffset(tar: Buffer, name: string): number {
  for (let at = 0; at + BLOCK <= tar.length;) {
    const block = tar.subarray(at, at + BLOCK);
    if (block.every((b) => b === 0)) break;
    if (block.subarray(0, 100).toString('utf8').replace(/\0.*$/s, '') === name) return at;
    at += BLOCK + Math.ceil(parseInt(block.subarray(124, 136).toString('latin1'), 8) / BLOCK) * BLOCK;
  }
  throw new Error(`no member ${name} in the tar`);
}
