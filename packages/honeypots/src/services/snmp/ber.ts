/**
 * Minimal bounded BER codec for SNMP messages (pure, no I/O). Written here rather
 * than using net-snmp's message parser: net-snmp's parser throws on malformed
 * input and is tied to its agent/session objects; SNMP needs only a handful of
 * tags, so a small decoder with explicit bounds (length, depth, element count,
 * OID arcs) is easier to keep total (it returns undefined, never throws).
 */
export const LIMITS = { maxDatagram: 4096, maxDepth: 8, maxElements: 256, maxOidArcs: 128, maxVarbinds: 64 };

export interface Tlv {
  tag: number;
  value: Buffer;
  end: number;
}

/** One TLV at `off` within `buf` (definite lengths only, at most 4 length bytes). */
export function readTlv(buf: Buffer, off: number): Tlv | undefined {
  if (off + 2 > buf.length) return undefined;
  const tag = buf[off]!;
  if ((tag & 0x1f) === 0x1f) return undefined; // multi-byte tags are not SNMP
  let len = buf[off + 1]!;
  let p = off + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 4 || p + n > buf.length) return undefined;
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + buf[p + i]!;
    p += n;
  }
  if (p + len > buf.length) return undefined;
  return { tag, value: buf.subarray(p, p + len), end: p + len };
}

/** The TLVs inside a constructed value, bounded by LIMITS.maxElements. */
export function readSeq(value: Buffer): Tlv[] | undefined {
  const out: Tlv[] = [];
  let off = 0;
  while (off < value.length) {
    if (out.length >= LIMITS.maxElements) return undefined;
    const t = readTlv(value, off);
    if (!t) return undefined;
    out.push(t);
    off = t.end;
  }
  return out;
}

export function readInt(v: Buffer): number | undefined {
  if (v.length === 0 || v.length > 6) return undefined;
  let n = v[0]! & 0x80 ? -1 : 0;
  for (const b of v) n = n * 256 + b;
  return n;
}

export function readOid(v: Buffer): number[] | undefined {
  if (v.length === 0) return undefined;
  const arcs: number[] = [];
  let cur = 0;
  let digits = 0;
  for (const b of v) {
    cur = cur * 128 + (b & 0x7f);
    digits += 1;
    if (digits > 5 || cur > 0xffffffff) return undefined;
    if (!(b & 0x80)) {
      if (arcs.length === 0) {
        const first = cur < 80 ? Math.floor(cur / 40) : 2;
        arcs.push(first, cur - first * 40);
      } else arcs.push(cur);
      if (arcs.length > LIMITS.maxOidArcs) return undefined;
      cur = 0;
      digits = 0;
    }
  }
  return digits === 0 ? arcs : undefined;
}

// --- encoding ---

export function tlv(tag: number, value: Buffer): Buffer {
  const len = value.length;
  let hdr: number[];
  if (len < 0x80) hdr = [tag, len];
  else if (len < 0x100) hdr = [tag, 0x81, len];
  else if (len < 0x10000) hdr = [tag, 0x82, len >> 8, len & 0xff];
  else hdr = [tag, 0x83, len >> 16, (len >> 8) & 0xff, len & 0xff];
  return Buffer.concat([Buffer.from(hdr), value]);
}

export const seq = (parts: Buffer[], tag = 0x30): Buffer => tlv(tag, Buffer.concat(parts));

/** signed INTEGER (tag 0x02) or an application integer type with `tag` (unsigned values) */
export function int(n: number, tag = 0x02): Buffer {
  const bytes: number[] = [];
  let v = Math.trunc(n);
  if (tag !== 0x02 && v < 0) v = 0;
  for (;;) {
    const b = ((v % 256) + 256) % 256;
    bytes.unshift(b);
    v = Math.floor(v / 256);
    if ((v === 0 && !(b & 0x80)) || (v === -1 && b & 0x80)) break;
    if (bytes.length > 8) break;
  }
  return tlv(tag, Buffer.from(bytes));
}

export const octets = (s: string | Buffer, tag = 0x04): Buffer => tlv(tag, typeof s === 'string' ? Buffer.from(s, 'utf8') : s);
export const nul = (tag = 0x05): Buffer => Buffer.from([tag, 0]);

export function oid(arcs: readonly number[]): Buffer {
  const a = arcs.length >= 2 ? arcs : [...arcs, 0, 0].slice(0, 2);
  const subs = [a[0]! * 40 + a[1]!, ...a.slice(2)];
  const out: number[] = [];
  for (const s of subs) {
    const chunk: number[] = [s & 0x7f];
    let v = Math.floor(s / 128);
    while (v > 0) {
      chunk.unshift((v & 0x7f) | 0x80);
      v = Math.floor(v / 128);
    }
    out.push(...chunk);
  }
  return tlv(0x06, Buffer.from(out));
}

export const parseOid = (s: string): number[] => s.split('.').map(Number);
export function compareOid(a: readonly number[], b: readonly number[]): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i]! < b[i]! ? -1 : 1;
  return a.length - b.length;
}
