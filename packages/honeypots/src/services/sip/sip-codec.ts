/**
 * SIP message codec (RFC 3261 text syntax), pure and bounded: a message is at most
 * 8 KiB, 64 header fields, 1 KiB per header line. `parse` never throws; it returns
 * `{ kind: 'invalid' }` for anything it does not accept.
 */

export const LIMITS = { maxMessage: 8192, maxHeaders: 64, maxLine: 1024 };

export interface SipRequest {
  kind: 'request';
  method: string;
  uri: string;
  version: string;
  /** header fields in order, names in canonical long form (compact forms expanded) */
  headers: [string, string][];
  body: Buffer;
}
export interface SipResponseMsg {
  kind: 'response';
  status: number;
  reason: string;
  headers: [string, string][];
}
export type Parsed = SipRequest | SipResponseMsg | { kind: 'invalid'; reason: string };

const COMPACT: Record<string, string> = {
  v: 'Via', f: 'From', t: 'To', i: 'Call-ID', m: 'Contact', l: 'Content-Length', c: 'Content-Type',
  e: 'Content-Encoding', k: 'Supported', s: 'Subject', o: 'Event', r: 'Refer-To', u: 'Allow-Events', x: 'Session-Expires',
};
const CANON: Record<string, string> = {
  via: 'Via', from: 'From', to: 'To', 'call-id': 'Call-ID', cseq: 'CSeq', contact: 'Contact', 'content-length': 'Content-Length',
  'user-agent': 'User-Agent', authorization: 'Authorization', 'proxy-authorization': 'Proxy-Authorization', 'max-forwards': 'Max-Forwards',
  expires: 'Expires', 'content-type': 'Content-Type', supported: 'Supported', accept: 'Accept', allow: 'Allow',
};

export function canonicalName(name: string): string {
  const n = name.toLowerCase();
  if (name.length === 1) return Object.hasOwn(COMPACT, n) ? COMPACT[n]! : name;
  return Object.hasOwn(CANON, n) ? CANON[n]! : name;
}

const TOKEN = /^[A-Za-z0-9\-.!%*_+`'~]+$/;

/** Offset of the end of the header block (index of the blank line terminator) and its length, or undefined. */
export function headerEnd(buf: Buffer): { at: number; len: number } | undefined {
  const crlf = buf.indexOf('\r\n\r\n');
  const lf = buf.indexOf('\n\n');
  if (crlf < 0 && lf < 0) return undefined;
  if (crlf >= 0 && (lf < 0 || crlf < lf)) return { at: crlf, len: 4 };
  return { at: lf, len: 2 };
}

export function parse(buf: Buffer): Parsed {
  try {
    return parseInner(buf);
  } catch {
    return { kind: 'invalid', reason: 'parser error' };
  }
}

function parseInner(buf: Buffer): Parsed {
  if (buf.length === 0) return { kind: 'invalid', reason: 'empty' };
  if (buf.length > LIMITS.maxMessage) return { kind: 'invalid', reason: 'message too large' };
  // keep-alive CRLFs before a message are allowed (RFC 3261 7.5)
  let start = 0;
  while (start < buf.length && (buf[start] === 0x0d || buf[start] === 0x0a)) start++;
  if (start === buf.length) return { kind: 'invalid', reason: 'keepalive' };
  const rest = buf.subarray(start);
  const end = headerEnd(rest);
  const head = (end ? rest.subarray(0, end.at) : rest).toString('latin1');
  const body = end ? rest.subarray(end.at + end.len) : Buffer.alloc(0);
  const lines = head.split(/\r?\n/);
  const first = lines[0] ?? '';
  if (first.length > LIMITS.maxLine) return { kind: 'invalid', reason: 'start line too long' };
  if (/[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]/.test(head)) return { kind: 'invalid', reason: 'control characters' };
  const headers: [string, string][] = [];
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.length > LIMITS.maxLine) return { kind: 'invalid', reason: 'header line too long' };
    if ((line.startsWith(' ') || line.startsWith('\t')) && headers.length > 0) {
      const last = headers[headers.length - 1]!;
      last[1] = `${last[1]} ${line.trim()}`;
      if (last[1].length > LIMITS.maxLine) return { kind: 'invalid', reason: 'header line too long' };
      continue;
    }
    const colon = line.indexOf(':');
    if (colon <= 0) return { kind: 'invalid', reason: 'malformed header' };
    const name = line.slice(0, colon).trim();
    if (!TOKEN.test(name)) return { kind: 'invalid', reason: 'malformed header name' };
    if (headers.length >= LIMITS.maxHeaders) return { kind: 'invalid', reason: 'too many headers' };
    headers.push([canonicalName(name), line.slice(colon + 1).trim()]);
  }
  const resp = /^SIP\/2\.0 ([1-6]\d\d) ?(.*)$/.exec(first);
  if (resp) return { kind: 'response', status: Number(resp[1]), reason: resp[2] ?? '', headers };
  const req = /^([A-Za-z0-9\-.!%*_+`'~]{1,32}) (\S{1,900}) (SIP\/\d\.\d)$/.exec(first);
  if (!req) return { kind: 'invalid', reason: 'bad start line' };
  if (!/^[a-zA-Z][a-zA-Z0-9+.-]*:/.test(req[2]!)) return { kind: 'invalid', reason: 'bad request uri' };
  return { kind: 'request', method: req[1]!, uri: req[2]!, version: req[3]!, headers, body };
}

export function header(msg: { headers: [string, string][] }, name: string): string | undefined {
  const n = name.toLowerCase();
  for (const [k, v] of msg.headers) if (k.toLowerCase() === n) return v;
  return undefined;
}

export function allHeaders(msg: { headers: [string, string][] }, name: string): string[] {
  const n = name.toLowerCase();
  return msg.headers.filter(([k]) => k.toLowerCase() === n).map(([, v]) => v);
}

/** The user part of a SIP URI or name-addr ("Bob" <sip:100@host;x>;tag=1 → 100), '' when none. */
export function uriUser(s: string | undefined): string {
  if (!s) return '';
  const lt = s.indexOf('<');
  let uri = lt >= 0 ? s.slice(lt + 1, s.indexOf('>', lt) < 0 ? undefined : s.indexOf('>', lt)) : s.split(';')[0]!;
  uri = uri.trim();
  const m = /^(?:sips?|tel):([^@;?>]*)@/i.exec(uri);
  if (!m) return '';
  return (m[1] ?? '').split(':')[0]!;
}

/** Parse a Digest credentials value (Authorization header), bounded: at most 32 params. */
export function parseDigest(value: string): Record<string, string> | undefined {
  const m = /^\s*Digest\s+(.*)$/is.exec(value);
  if (!m) return undefined;
  const out: Record<string, string> = {};
  const re = /\s*([A-Za-z0-9_-]+)\s*=\s*("((?:[^"\\]|\\.)*)"|[^,\s]*)\s*,?/gy;
  const s = m[1]!;
  let n = 0;
  let g: RegExpExecArray | null;
  while (n < 32 && re.lastIndex < s.length && (g = re.exec(s)) !== null) {
    if (g[0].length === 0) break;
    const key = g[1]!.toLowerCase();
    if (key === '__proto__' || key === 'constructor' || key === 'prototype') continue;
    out[key] = g[3] !== undefined ? g[3].replace(/\\(.)/g, '$1') : g[2]!;
    n++;
  }
  return out;
}

export interface ResponseSpec {
  status: number;
  reason: string;
  headers: [string, string][];
  body?: string;
}

/** Serialise a response the way pjsip prints it (note the two spaces of "Content-Length:  N"). */
export function encodeResponse(r: ResponseSpec): Buffer {
  const body = r.body ?? '';
  let s = `SIP/2.0 ${r.status} ${r.reason}\r\n`;
  for (const [k, v] of r.headers) s += `${k}: ${v}\r\n`;
  s += `Content-Length:  ${Buffer.byteLength(body)}\r\n\r\n${body}`;
  return Buffer.from(s, 'utf8');
}

/**
 * TCP stream framing: the length of the first complete message in `buf` (headers +
 * Content-Length body), 0 when more data is needed, -1 when the stream is invalid.
 */
export function frameLength(buf: Buffer): number {
  let start = 0;
  while (start < buf.length && (buf[start] === 0x0d || buf[start] === 0x0a)) start++;
  const end = headerEnd(buf.subarray(start));
  if (!end) return buf.length > LIMITS.maxMessage ? -1 : 0;
  const head = buf.subarray(start, start + end.at).toString('latin1');
  const m = /(?:^|\n)(?:Content-Length|l)[ \t]*:[ \t]*(\d{1,6})[ \t]*\r?(?:\n|$)/i.exec(head);
  const bodyLen = m ? Number(m[1]) : 0;
  const total = start + end.at + end.len + bodyLen;
  if (total - start > LIMITS.maxMessage) return -1;
  return buf.length >= total ? total : 0;
}
