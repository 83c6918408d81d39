/**
 * GSS-API / SPNEGO (RFC 4178, RFC 2743 framing) as Windows speaks it around NTLMSSP:
 * the server's NegTokenInit2 hint, NegTokenResp replies, and pulling the mech token out of
 * whatever the client sends, over der.ts's bounded reader and writer (the structures are
 * tiny; a general ASN.1 library would accept far more than needed).
 */
import { children, readTlv, tlv, type Tlv } from './der.js';

export const SPNEGO_OID = '1.3.6.1.5.5.2';
export const NTLMSSP_OID = '1.3.6.1.4.1.311.2.2.10';

const MAX_TOKEN = 64 * 1024;
const MAX_DEPTH = 8;

export function encodeOid(oid: string): Buffer {
  const parts = oid.split('.').map(Number);
  const bytes: number[] = [parts[0]! * 40 + parts[1]!];
  for (const p of parts.slice(2)) {
    const enc: number[] = [p & 0x7f];
    for (let v = Math.floor(p / 128); v > 0; v = Math.floor(v / 128)) enc.unshift((v & 0x7f) | 0x80);
    bytes.push(...enc);
  }
  return tlv(0x06, Buffer.from(bytes));
}

const NTLMSSP_OID_DER = encodeOid(NTLMSSP_OID);
const SPNEGO_OID_DER = encodeOid(SPNEGO_OID);

/**
 * NegTokenInit2 as in a Windows SMB2 NEGOTIATE response: mechTypes [NTLMSSP] and the
 * negHints hintName Windows has sent since 2008 ("not_defined_in_RFC4178@please_ignore").
 */
export function buildNegTokenInit(): Buffer {
  const mechTypes = tlv(0xa0, tlv(0x30, NTLMSSP_OID_DER));
  const hints = tlv(0xa3, tlv(0x30, tlv(0xa0, tlv(0x1b, Buffer.from('not_defined_in_RFC4178@please_ignore', 'latin1')))));
  return tlv(0x60, SPNEGO_OID_DER, tlv(0xa0, tlv(0x30, mechTypes, hints)));
}

const NEG_STATE = { 'accept-completed': 0, 'accept-incomplete': 1, reject: 2 } as const;

export function buildNegTokenResp(state: 'accept-completed' | 'accept-incomplete' | 'reject', responseToken?: Buffer, withMech?: boolean): Buffer {
  const parts = [tlv(0xa0, tlv(0x0a, Buffer.from([NEG_STATE[state]])))];
  if (withMech ?? state === 'accept-incomplete') parts.push(tlv(0xa1, NTLMSSP_OID_DER));
  if (responseToken && responseToken.length > 0) parts.push(tlv(0xa2, tlv(0x04, responseToken)));
  return tlv(0xa1, tlv(0x30, ...parts));
}

// ---- reading: der.ts's bounded reader (never throws, undefined on malformed input) ----
/** Context-tagged [2] OCTET STRING inside a SEQUENCE (mechToken / responseToken). */
function tokenInSequence(seq: Buffer): Buffer | undefined {
  for (const c of children(seq, 16)) {
    if (c.tag === 0xa2) {
      const os = readTlv(c.body, 0);
      if (os && os.tag === 0x04) return Buffer.from(os.body);
    }
  }
  return undefined;
}

function unwrapNeg(t: Tlv, depth: number): Buffer | undefined {
  if (depth > MAX_DEPTH) return undefined;
  // NegTokenInit [0] / NegTokenResp [1]: both wrap a SEQUENCE whose [2] is the token
  if (t.tag === 0xa0 || t.tag === 0xa1) {
    const seq = readTlv(t.body, 0);
    if (seq && seq.tag === 0x30) return tokenInSequence(seq.body);
  }
  return undefined;
}

export function unwrapSpnego(buf: Buffer): { mechToken?: Buffer; wrapped: boolean } {
  try {
    if (buf.length === 0 || buf.length > MAX_TOKEN) return { wrapped: false };
    if (buf.length >= 8 && buf.subarray(0, 8).toString('latin1') === 'NTLMSSP\0') return { mechToken: Buffer.from(buf), wrapped: false };
    const outer = readTlv(buf, 0);
    if (!outer) return { wrapped: false };
    if (outer.tag === 0x60) {
      const oid = readTlv(outer.body, 0);
      if (!oid || oid.tag !== 0x06 || !oid.body.equals(SPNEGO_OID_DER.subarray(2))) return { wrapped: true };
      const inner = readTlv(outer.body, oid.next);
      const tok = inner ? unwrapNeg(inner, 1) : undefined;
      return tok ? { mechToken: tok, wrapped: true } : { wrapped: true };
    }
    if (outer.tag === 0xa0 || outer.tag === 0xa1) {
      const tok = unwrapNeg(outer, 1);
      return tok ? { mechToken: tok, wrapped: true } : { wrapped: true };
    }
    return { wrapped: false };
  } catch {
    return { wrapped: false };
  }
}

/** The mechTypes a client NegTokenInit lists (dotted OIDs), for logging which mechs were offered. */
export function offeredMechs(buf: Buffer): string[] {
  try {
    const outer = readTlv(buf, 0);
    if (!outer || outer.tag !== 0x60) return [];
    const oid = readTlv(outer.body, 0);
    const inner = oid ? readTlv(outer.body, oid.next) : undefined;
    const seq = inner && inner.tag === 0xa0 ? readTlv(inner.body, 0) : undefined;
    if (!seq || seq.tag !== 0x30) return [];
    const mt = children(seq.body, 16).find((c) => c.tag === 0xa0);
    const list = mt ? readTlv(mt.body, 0) : undefined;
    if (!list || list.tag !== 0x30) return [];
    return children(list.body, 16)
      .filter((c) => c.tag === 0x06)
      .map((c) => decodeOid(c.body));
  } catch {
    return [];
  }
}

function decodeOid(b: Buffer): string {
  if (b.length === 0) return '';
  const parts = [Math.floor(b[0]! / 40), b[0]! % 40];
  let v = 0;
  for (const x of b.subarray(1, 64)) {
    v = v * 128 + (x & 0x7f);
    if (!(x & 0x80)) {
      parts.push(v);
      v = 0;
    }
  }
  return parts.join('.');
}

/** The raw DER of a client NegTokenInit's mechTypes (SEQUENCE OF OID): what a mechListMIC signs. */
export function mechTypesDer(buf: Buffer): Buffer | undefined {
  try {
    const outer = readTlv(buf, 0);
    if (!outer || outer.tag !== 0x60) return undefined;
    const oid = readTlv(outer.body, 0);
    const inner = oid ? readTlv(outer.body, oid.next) : undefined;
    const seq = inner && inner.tag === 0xa0 ? readTlv(inner.body, 0) : undefined;
    if (!seq || seq.tag !== 0x30) return undefined;
    const mt = children(seq.body, 16).find((c) => c.tag === 0xa0);
    if (!mt) return undefined;
    const list = readTlv(mt.body, 0);
    return list && list.tag === 0x30 ? Buffer.from(mt.body.subarray(0, list.next)) : undefined;
  } catch {
    return undefined;
  }
}

/** NegTokenResp accept-completed carrying a mechListMIC (the final server token when the client sent one). */
export function buildNegTokenRespMic(mic: Buffer): Buffer {
  return tlv(0xa1, tlv(0x30, tlv(0xa0, tlv(0x0a, Buffer.from([0]))), tlv(0xa3, tlv(0x04, mic))));
}
