/**
 * CredSSP (MS-CSSP) TSRequest, DER encoded, as Windows 10 / Server 2019 speak it:
 *
 *   TSRequest ::= SEQUENCE {
 *     version    [0] INTEGER,
 *     negoTokens [1] SEQUENCE OF SEQUENCE { negoToken [0] OCTET STRING } OPTIONAL,
 *     authInfo   [2] OCTET STRING OPTIONAL,
 *     pubKeyAuth [3] OCTET STRING OPTIONAL,
 *     errorCode  [4] INTEGER OPTIONAL,         -- version 3+
 *     clientNonce [5] OCTET STRING OPTIONAL }  -- version 5+
 */
import { children, derInt, derOctets, intValue, readTlv, tlv, tlvSize } from '../../protocols/der.js';

/** CredSSP version Windows has sent since the CVE-2018-0886 updates */
export const CREDSSP_VERSION = 6;
/** NTSTATUS Windows puts in errorCode when the NTLM logon fails */
export const STATUS_LOGON_FAILURE = 0xc000006d;
/** largest TSRequest accepted: an AUTHENTICATE with a long target info blob is < 2 KB */
export const MAX_TSREQUEST = 16 * 1024;

export interface TsRequest {
  version: number;
  negoTokens: Buffer[];
  authInfo?: Buffer;
  pubKeyAuth?: Buffer;
  errorCode?: number;
  clientNonce?: Buffer;
}

/** Parse one TSRequest; undefined when malformed. Never throws. */
export function parseTsRequest(buf: Buffer): TsRequest | undefined {
  const outer = readTlv(buf, 0);
  if (!outer || outer.tag !== 0x30) return undefined;
  const req: TsRequest = { version: -1, negoTokens: [] };
  for (const field of children(outer.body, 8)) {
    const inner = readTlv(field.body, 0);
    if (!inner) continue;
    switch (field.tag) {
      case 0xa0:
        if (inner.tag === 0x02) req.version = intValue(inner.body) ?? -1;
        break;
      case 0xa1:
        if (inner.tag !== 0x30) break;
        for (const item of children(inner.body, 4)) {
          const tok = item.tag === 0x30 ? readTlv(item.body, 0) : undefined;
          const os = tok && tok.tag === 0xa0 ? readTlv(tok.body, 0) : undefined;
          if (os && os.tag === 0x04) req.negoTokens.push(Buffer.from(os.body));
        }
        break;
      case 0xa2:
        if (inner.tag === 0x04) req.authInfo = Buffer.from(inner.body);
        break;
      case 0xa3:
        if (inner.tag === 0x04) req.pubKeyAuth = Buffer.from(inner.body);
        break;
      case 0xa4:
        if (inner.tag === 0x02) {
          const v = intValue(inner.body);
          if (v !== undefined) req.errorCode = v >>> 0;
        }
        break;
      case 0xa5:
        if (inner.tag === 0x04) req.clientNonce = Buffer.from(inner.body);
        break;
    }
  }
  return req.version >= 0 ? req : undefined;
}

export function buildTsRequest(r: { version?: number; negoToken?: Buffer; pubKeyAuth?: Buffer; errorCode?: number }): Buffer {
  const parts = [tlv(0xa0, derInt(r.version ?? CREDSSP_VERSION))];
  if (r.negoToken) parts.push(tlv(0xa1, tlv(0x30, tlv(0x30, tlv(0xa0, derOctets(r.negoToken))))));
  if (r.pubKeyAuth) parts.push(tlv(0xa3, derOctets(r.pubKeyAuth)));
  // NTSTATUS values are written as the signed 32-bit INTEGER Windows' encoder produces (c0 00 00 6d)
  if (r.errorCode !== undefined) parts.push(tlv(0xa4, derInt(r.errorCode | 0)));
  return tlv(0x30, ...parts);
}

/** Splits the TLS stream into whole TSRequests (CredSSP has no other framing). */
export class TsRequestReader {
  private buf: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): { messages: Buffer[]; error?: string } {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    const messages: Buffer[] = [];
    while (this.buf.length > 0) {
      if (this.buf[0] !== 0x30) return this.fail(messages, `not a TSRequest (0x${this.buf[0]!.toString(16)})`);
      const size = tlvSize(this.buf);
      if (size === undefined) {
        if (this.buf.length > 8) return this.fail(messages, 'bad DER length');
        break;
      }
      if (size > MAX_TSREQUEST) return this.fail(messages, `TSRequest too large (${size})`);
      if (this.buf.length < size) break;
      messages.push(Buffer.from(this.buf.subarray(0, size)));
      this.buf = this.buf.subarray(size);
      if (messages.length >= 8) break;
    }
    return { messages };
  }

  get buffered(): number {
    return this.buf.length;
  }

  private fail(messages: Buffer[], error: string) {
    this.buf = Buffer.alloc(0);
    return { messages, error };
  }
}
