/**
 * TLS ClientHello reader and client fingerprints (JA3 and JA4), pure and bounded.
 *
 * Written by hand: npm's ja3 packages are unmaintained wrappers around pcap
 * parsers, and the layout (RFC 8446 section 4.1.2, extensions by RFC 6066 /
 * 7301 / 8422 / 8446) is small. JA3 is the Salesforce definition (decimal
 * fields, GREASE removed, md5); JA4 is FoxIO's JA4 (TLS over TCP, "t").
 */
import { createHash } from 'node:crypto';

export interface ClientHello {
  /** legacy_version of the ClientHello (771 = TLS 1.2) */
  version: number;
  ciphers: number[];
  /** extension types in the order sent */
  extensions: number[];
  /** supported_groups (elliptic curves) */
  groups: number[];
  pointFormats: number[];
  signatureAlgorithms: number[];
  supportedVersions: number[];
  alpn: string[];
  sni?: string;
}

export interface TlsFingerprint {
  ja3: string;
  ja3_hash: string;
  ja4: string;
  tls_sni?: string;
  tls_alpn?: string[];
  /** the highest version the client offers, e.g. "TLSv1.3" */
  tls_client_version: string;
}

/** The bytes of a ClientHello never exceed this (a handshake message split over records is joined up to it). */
export const MAX_HELLO = 64 * 1024;

/** RFC 8701 GREASE values: 0x?a?a with both bytes equal. */
export function isGrease(v: number): boolean {
  return (v & 0x0f0f) === 0x0a0a && v >> 8 === (v & 0xff);
}

export type HelloProgress = { state: 'need-more' } | { state: 'not-tls' } | { state: 'hello'; hello: ClientHello; bytes: number } | { state: 'bad' };

/**
 * Look at the first bytes of a connection: `need-more` until a whole ClientHello
 * (possibly over several handshake records) is there, `not-tls` when the first
 * byte is not a handshake record, `bad` when the records or the hello are malformed
 * or larger than MAX_HELLO.
 */
export function readClientHello(buf: Buffer): HelloProgress {
  if (buf.length === 0) return { state: 'need-more' };
  if (buf[0] !== 0x16) return { state: 'not-tls' };
  // join the payloads of consecutive handshake records until the hello is whole
  const parts: Buffer[] = [];
  let have = 0;
  let off = 0;
  let need = -1;
  while (true) {
    if (buf.length < off + 5) return buf.length > MAX_HELLO ? { state: 'bad' } : { state: 'need-more' };
    if (buf[off] !== 0x16 || buf[off + 1] !== 0x03) return { state: 'bad' };
    const len = buf.readUInt16BE(off + 3);
    if (len === 0 || len > 16384 + 2048) return { state: 'bad' };
    if (buf.length < off + 5 + len) return off + 5 + len > MAX_HELLO + 5 ? { state: 'bad' } : { state: 'need-more' };
    parts.push(buf.subarray(off + 5, off + 5 + len));
    have += len;
    off += 5 + len;
    if (need < 0 && have >= 4) {
      const head = Buffer.concat(parts);
      if (head[0] !== 0x01) return { state: 'bad' };
      need = 4 + head.readUIntBE(1, 3);
      if (need > MAX_HELLO) return { state: 'bad' };
    }
    if (need >= 0 && have >= need) {
      const hello = parseClientHelloBody(Buffer.concat(parts).subarray(4, need));
      return hello ? { state: 'hello', hello, bytes: off } : { state: 'bad' };
    }
  }
}

/** Parse the body of a ClientHello handshake message (after its 4-byte header); undefined when malformed. */
export function parseClientHelloBody(b: Buffer): ClientHello | undefined {
  let o = 0;
  const need = (n: number) => o + n <= b.length;
  if (!need(2 + 32 + 1)) return undefined;
  const version = b.readUInt16BE(0);
  o = 34;
  const sid = b[o]!;
  o += 1;
  if (sid > 32 || !need(sid + 2)) return undefined;
  o += sid;
  const cl = b.readUInt16BE(o);
  o += 2;
  if (cl % 2 !== 0 || !need(cl + 1)) return undefined;
  const ciphers: number[] = [];
  for (let i = 0; i < cl; i += 2) ciphers.push(b.readUInt16BE(o + i));
  o += cl;
  const comp = b[o]!;
  o += 1;
  if (!need(comp)) return undefined;
  o += comp;
  const hello: ClientHello = { version, ciphers, extensions: [], groups: [], pointFormats: [], signatureAlgorithms: [], supportedVersions: [], alpn: [] };
  if (o === b.length) return hello; // no extensions (SSL 3.0 / old TLS 1.0 clients)
  if (!need(2)) return undefined;
  const el = b.readUInt16BE(o);
  o += 2;
  if (!need(el)) return undefined;
  const end = o + el;
  while (o < end) {
    if (o + 4 > end) return undefined;
    const type = b.readUInt16BE(o);
    const len = b.readUInt16BE(o + 2);
    o += 4;
    if (o + len > end) return undefined;
    const d = b.subarray(o, o + len);
    o += len;
    hello.extensions.push(type);
    if (hello.extensions.length > 200) return undefined;
    readExtension(hello, type, d);
  }
  return hello;
}

function u16List(d: Buffer, lenBytes: 1 | 2): number[] {
  if (d.length < lenBytes) return [];
  const n = lenBytes === 2 ? d.readUInt16BE(0) : d[0]!;
  const out: number[] = [];
  for (let i = lenBytes; i + 1 < lenBytes + n && i + 1 < d.length; i += 2) out.push(d.readUInt16BE(i));
  return out;
}

function readExtension(h: ClientHello, type: number, d: Buffer): void {
  switch (type) {
    case 0x0000: {
      // server_name: list(2) of { type(1) = 0 host_name, name(2) }
      if (d.length >= 5 && d[2] === 0) {
        const n = d.readUInt16BE(3);
        if (5 + n <= d.length && n <= 255) h.sni = d.subarray(5, 5 + n).toString('latin1').replace(/[^\x21-\x7e]/g, '?');
      }
      return;
    }
    case 0x000a:
      h.groups = u16List(d, 2);
      return;
    case 0x000b:
      if (d.length >= 1) h.pointFormats = [...d.subarray(1, 1 + d[0]!)];
      return;
    case 0x000d:
      h.signatureAlgorithms = u16List(d, 2);
      return;
    case 0x002b:
      h.supportedVersions = u16List(d, 1);
      return;
    case 0x0010: {
      // ALPN: list(2) of name(1)
      if (d.length < 2) return;
      const n = Math.min(d.readUInt16BE(0), d.length - 2);
      let i = 2;
      while (i < 2 + n && h.alpn.length < 16) {
        const l = d[i]!;
        if (i + 1 + l > 2 + n) break;
        h.alpn.push(d.subarray(i + 1, i + 1 + l).toString('latin1'));
        i += 1 + l;
      }
      return;
    }
    default:
      return;
  }
}

const md5 = (s: string) => createHash('md5').update(s).digest('hex');
const sha12 = (s: string) => createHash('sha256').update(s).digest('hex').slice(0, 12);
const hex4 = (v: number) => v.toString(16).padStart(4, '0');

/** The JA3 string: version,ciphers,extensions,groups,point formats (GREASE removed). */
export function ja3String(h: ClientHello): string {
  const keep = (xs: number[]) => xs.filter((x) => !isGrease(x)).join('-');
  return [String(h.version), keep(h.ciphers), keep(h.extensions), keep(h.groups), h.pointFormats.join('-')].join(',');
}

function highestVersion(h: ClientHello): number {
  const offered = h.supportedVersions.filter((v) => !isGrease(v));
  return offered.length > 0 ? Math.max(...offered) : h.version;
}

const VERSION_CODES: Record<number, string> = { 0x0304: '13', 0x0303: '12', 0x0302: '11', 0x0301: '10', 0x0300: 's3', 0x0002: 's2', 0xfeff: 'd1', 0xfefd: 'd2', 0xfefc: 'd3' };
const VERSION_NAMES: Record<number, string> = { 0x0304: 'TLSv1.3', 0x0303: 'TLSv1.2', 0x0302: 'TLSv1.1', 0x0301: 'TLSv1', 0x0300: 'SSLv3' };

const alnum = (c: number) => (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);

function alpnCode(h: ClientHello): string {
  const first = h.alpn[0];
  if (first === undefined || first.length === 0) return '00';
  const bytes = Buffer.from(first, 'latin1');
  const a = bytes[0]!;
  const z = bytes[bytes.length - 1]!;
  if (alnum(a) && alnum(z)) return String.fromCharCode(a) + String.fromCharCode(z);
  const hx = bytes.toString('hex');
  return hx[0]! + hx[hx.length - 1]!;
}

/** FoxIO JA4 for TLS over TCP: t<ver><d|i><nn ciphers><nn extensions><alpn>_<ciphers hash>_<extensions+sigalgs hash>. */
export function ja4(h: ClientHello): string {
  const ciphers = h.ciphers.filter((c) => !isGrease(c));
  const exts = h.extensions.filter((e) => !isGrease(e));
  const two = (n: number) => String(Math.min(n, 99)).padStart(2, '0');
  const a = `t${VERSION_CODES[highestVersion(h)] ?? '00'}${h.sni !== undefined ? 'd' : 'i'}${two(ciphers.length)}${two(exts.length)}${alpnCode(h)}`;
  const b = ciphers.length === 0 ? '000000000000' : sha12(ciphers.map(hex4).sort().join(','));
  const sortedExts = exts.filter((e) => e !== 0x0000 && e !== 0x0010).map(hex4).sort().join(',');
  const sigs = h.signatureAlgorithms.filter((s) => !isGrease(s)).map(hex4).join(',');
  const c = sortedExts === '' && sigs === '' ? '000000000000' : sha12(sigs === '' ? sortedExts : `${sortedExts}_${sigs}`);
  return `${a}_${b}_${c}`;
}

export function fingerprint(h: ClientHello): TlsFingerprint {
  const s = ja3String(h);
  return {
    ja3: s,
    ja3_hash: md5(s),
    ja4: ja4(h),
    ...(h.sni !== undefined ? { tls_sni: h.sni } : {}),
    ...(h.alpn.length > 0 ? { tls_alpn: h.alpn.slice(0, 8).map((a) => a.slice(0, 64)) } : {}),
    tls_client_version: VERSION_NAMES[highestVersion(h)] ?? `0x${hex4(highestVersion(h))}`,
  };
}
