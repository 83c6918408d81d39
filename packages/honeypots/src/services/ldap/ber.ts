/**
 * A small, bounded BER reader and an Active Directory style BER writer for LDAP
 * (RFC 4511 section 5.1: definite lengths only, single-byte tags).
 *
 * Reading never throws out of `readTlv` / `children`: malformed input yields
 * undefined. Writing mimics what a Windows DC puts on the wire: every
 * constructed element carries a 4-byte long-form length (0x84 xx xx xx xx),
 * primitives use the shortest length form. nmap's Active Directory match rule
 * (`^0\x84\0\0..\x02\x01.*dsServiceName1\x84...`) relies on exactly that.
 */

/** One element: the identifier byte and its contents. */
export interface Tlv {
  /** the whole identifier octet (class | constructed | number), e.g. 0x30, 0x63, 0x87 */
  tag: number;
  value: Buffer;
  /** offset just past this element in the buffer it was read from */
  end: number;
}

export const isConstructed = (tag: number): boolean => (tag & 0x20) !== 0;

/** Length of the element at `off`: header size and content length; undefined when more bytes are needed, null when invalid. */
export function readHeader(buf: Buffer, off = 0): { header: number; length: number } | undefined | null {
  if (buf.length - off < 2) return undefined;
  const tag = buf[off]!;
  if ((tag & 0x1f) === 0x1f) return null; // high tag numbers never occur in LDAP
  const first = buf[off + 1]!;
  if (first < 0x80) return { header: 2, length: first };
  const n = first & 0x7f;
  if (n === 0 || n > 4) return null; // indefinite length is forbidden in LDAP; > 4 GiB is nonsense
  if (buf.length - off < 2 + n) return undefined;
  let length = 0;
  for (let i = 0; i < n; i++) length = length * 256 + buf[off + 2 + i]!;
  return { header: 2 + n, length };
}

/** Read one element at `off` (wholly inside `buf`), or undefined. */
export function readTlv(buf: Buffer, off = 0): Tlv | undefined {
  const h = readHeader(buf, off);
  if (!h) return undefined;
  const start = off + h.header;
  const end = start + h.length;
  if (end > buf.length) return undefined;
  return { tag: buf[off]!, value: buf.subarray(start, end), end };
}

/** The elements inside a constructed value; undefined if they do not tile it exactly or exceed `max`. */
export function children(value: Buffer, max = 1024): Tlv[] | undefined {
  const out: Tlv[] = [];
  let off = 0;
  while (off < value.length) {
    if (out.length >= max) return undefined;
    const t = readTlv(value, off);
    if (!t) return undefined;
    out.push(t);
    off = t.end;
  }
  return out;
}

/** A BER INTEGER / ENUMERATED as a JS number (two's complement, at most 6 bytes), or undefined. */
export function readInt(value: Buffer): number | undefined {
  if (value.length === 0 || value.length > 6) return undefined;
  return value.readIntBE(0, value.length);
}

export function readBool(value: Buffer): boolean | undefined {
  return value.length === 1 ? value[0] !== 0 : undefined;
}

/** LDAP strings are UTF-8 (invalid sequences become U+FFFD, which is what an analyst wants to see anyway). */
export const readString = (value: Buffer): string => value.toString('utf8');

// ---------------------------------------------------------------- writing

function shortLength(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  if (n < 0x100) return Buffer.from([0x81, n]);
  if (n < 0x10000) return Buffer.from([0x82, n >> 8, n & 0xff]);
  const b = Buffer.alloc(5);
  b[0] = 0x84;
  b.writeUInt32BE(n, 1);
  return b;
}

/** A primitive element with the minimal length form. */
export function prim(tag: number, content: Buffer | string): Buffer {
  const c = typeof content === 'string' ? Buffer.from(content, 'utf8') : content;
  return Buffer.concat([Buffer.from([tag]), shortLength(c.length), c]);
}

/** A constructed element with AD's fixed 4-byte length. */
export function cons(tag: number, ...parts: Buffer[]): Buffer {
  const c = Buffer.concat(parts);
  const h = Buffer.alloc(6);
  h[0] = tag;
  h[1] = 0x84;
  h.writeUInt32BE(c.length, 2);
  return Buffer.concat([h, c]);
}

/** Minimal two's complement encoding of an integer. */
export function intBytes(n: number): Buffer {
  const bytes: number[] = [];
  let v = Math.trunc(n);
  for (;;) {
    const b = ((v % 256) + 256) % 256;
    bytes.unshift(b);
    v = Math.floor(v / 256);
    if ((v === 0 && (b & 0x80) === 0) || (v === -1 && (b & 0x80) !== 0)) break;
    if (bytes.length >= 8) break;
  }
  return Buffer.from(bytes);
}

export const int = (n: number, tag = 0x02): Buffer => prim(tag, intBytes(n));
export const enumerated = (n: number): Buffer => prim(0x0a, intBytes(n));
export const octets = (s: Buffer | string, tag = 0x04): Buffer => prim(tag, s);
export const bool = (b: boolean): Buffer => prim(0x01, Buffer.from([b ? 0xff : 0x00]));
export const seq = (...parts: Buffer[]): Buffer => cons(0x30, ...parts);
export const set = (...parts: Buffer[]): Buffer => cons(0x31, ...parts);
