/**
 * A small bounded DER/BER reader and DER writer for the few ASN.1 structures the
 * honeypots speak (CredSSP TSRequest, MCS Connect-Initial, ...). Hand-written so
 * that nothing an attacker sends can make it recurse deeply, allocate much or throw:
 * every reader returns undefined on malformed input.
 */

export interface Tlv {
  /** the identifier octet (single-byte tags only: what these protocols use) */
  tag: number;
  /** the contents (a view into the input) */
  body: Buffer;
  /** offset just past this TLV in the buffer it was read from */
  next: number;
}

/** Header of the TLV at `at`: tag, content offset and length; undefined when malformed. Long lengths up to 4 bytes (BER), no indefinite form. */
export function readHeader(buf: Buffer, at = 0): { tag: number; start: number; length: number } | undefined {
  if (at < 0 || at + 2 > buf.length) return undefined;
  const tag = buf[at]!;
  if ((tag & 0x1f) === 0x1f) {
    // multi-byte tag numbers: MCS uses [APPLICATION 101] = 7f 65; accept one extra byte
    if (at + 3 > buf.length) return undefined;
    const second = buf[at + 1]!;
    if (second & 0x80) return undefined;
    const l = lengthAt(buf, at + 2);
    return l && { tag: (tag << 8) | second, start: l.start, length: l.length };
  }
  const l = lengthAt(buf, at + 1);
  return l && { tag, start: l.start, length: l.length };
}

function lengthAt(buf: Buffer, p: number): { start: number; length: number } | undefined {
  if (p >= buf.length) return undefined;
  let len = buf[p]!;
  p += 1;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 4 || p + n > buf.length) return undefined;
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + buf[p + i]!;
    p += n;
  }
  return { start: p, length: len };
}

/** The complete TLV at `at`, or undefined if malformed or truncated. */
export function readTlv(buf: Buffer, at = 0): Tlv | undefined {
  const h = readHeader(buf, at);
  if (!h || h.start + h.length > buf.length) return undefined;
  return { tag: h.tag, body: buf.subarray(h.start, h.start + h.length), next: h.start + h.length };
}

/** Total size of the TLV starting at offset 0 once its header is in `buf` (for framing a stream), or undefined while the header is incomplete. */
export function tlvSize(buf: Buffer): number | undefined {
  const h = readHeader(buf, 0);
  return h && h.start + h.length;
}

/** The TLVs directly inside `body`, at most `max`; stops at the first malformed one. */
export function children(body: Buffer, max = 32): Tlv[] {
  const out: Tlv[] = [];
  let at = 0;
  while (at < body.length && out.length < max) {
    const t = readTlv(body, at);
    if (!t) break;
    out.push(t);
    at = t.next;
  }
  return out;
}

/** An INTEGER's contents as a (signed) number when it fits in 32 bits. */
export function intValue(body: Buffer): number | undefined {
  if (body.length === 0 || body.length > 5) return undefined;
  let v = body[0]! & 0x80 ? -1 : 0;
  for (const b of body) v = v * 256 + b;
  if (v < -0x80000000 || v > 0xffffffff) return undefined;
  return v;
}

// ---- writing (DER: minimal lengths) ----

export function derLength(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  if (n < 0x100) return Buffer.from([0x81, n]);
  if (n < 0x10000) return Buffer.from([0x82, n >> 8, n & 0xff]);
  return Buffer.from([0x83, (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff]);
}

/** tag (one byte, or two for 0x7fxx) + DER length + the concatenated contents */
export function tlv(tag: number, ...content: Buffer[]): Buffer {
  const body = Buffer.concat(content);
  const t = tag > 0xff ? Buffer.from([tag >> 8, tag & 0xff]) : Buffer.from([tag]);
  return Buffer.concat([t, derLength(body.length), body]);
}

/** INTEGER contents, minimal two's complement (unsigned 32-bit values keep a leading 0x00 when the top bit is set). */
export function intBytes(v: number): Buffer {
  const bytes: number[] = [];
  let n = BigInt(Math.trunc(v));
  do {
    bytes.unshift(Number(n & 0xffn));
    n >>= 8n;
  } while (n !== 0n && n !== -1n);
  const neg = v < 0;
  if (!neg && bytes[0]! & 0x80) bytes.unshift(0);
  if (neg && !(bytes[0]! & 0x80)) bytes.unshift(0xff);
  return Buffer.from(bytes);
}

export const derInt = (v: number, tag = 0x02): Buffer => tlv(tag, intBytes(v));
export const derOctets = (b: Buffer): Buffer => tlv(0x04, b);
