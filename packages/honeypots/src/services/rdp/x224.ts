/**
 * TPKT (RFC 1006 / T.123) framing and the X.224 class 0 TPDUs of the RDP
 * connection sequence (MS-RDPBCGR 2.2.1.1, 2.2.1.2): the client's Connection
 * Request with its routing cookie and RDP_NEG_REQ, and the server's Connection
 * Confirm with RDP_NEG_RSP or RDP_NEG_FAILURE. Pure and bounded.
 */

export const PROTOCOL = { RDP: 0, SSL: 1, HYBRID: 2, RDSTLS: 4, HYBRID_EX: 8, RDSAAD: 0x10 } as const;

/** RDP_NEG_FAILURE codes */
export const NEG_FAILURE = {
  SSL_REQUIRED_BY_SERVER: 1,
  SSL_NOT_ALLOWED_BY_SERVER: 2,
  SSL_CERT_NOT_ON_SERVER: 3,
  INCONSISTENT_FLAGS: 4,
  HYBRID_REQUIRED_BY_SERVER: 5,
  SSL_WITH_USER_AUTH_REQUIRED_BY_SERVER: 6,
} as const;

/**
 * RDP_NEG_RSP flags of Windows 8.1 / Server 2012 R2 and later: EXTENDED_CLIENT_DATA_SUPPORTED,
 * DYNVC_GFX_PROTOCOL_SUPPORTED, NEGRSP_FLAG_RESERVED, RESTRICTED_ADMIN_MODE_SUPPORTED,
 * REDIRECTED_AUTHENTICATION_MODE_SUPPORTED = 0x1f (nmap's "Windows 10" signature).
 */
export const NEG_RSP_FLAGS_WIN10 = 0x1f;

/** largest TPKT we accept: a Connect-Initial with many channels and monitors is ~2 KB, a Client Info PDU < 4 KB */
export const MAX_TPKT = 16 * 1024;

export function protocolNames(mask: number): string[] {
  const names = Object.entries(PROTOCOL)
    .filter(([, bit]) => bit !== 0 && mask & bit)
    .map(([n]) => n);
  return names.length ? names : ['RDP'];
}

/** Bounded TPKT splitter: version 3, length 7..MAX_TPKT. */
export class TpktReader {
  private buf: Buffer = Buffer.alloc(0);
  constructor(private readonly max = MAX_TPKT) {}

  get buffered(): number {
    return this.buf.length;
  }

  /** the complete packets (whole TPKT including header) so far, or an error for a malformed/oversized frame */
  push(chunk: Buffer): { packets: Buffer[]; error?: string } {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    const packets: Buffer[] = [];
    while (this.buf.length >= 4) {
      if (this.buf[0] !== 3) return this.fail(packets, `not a TPKT (first byte 0x${this.buf[0]!.toString(16)})`);
      const len = this.buf.readUInt16BE(2);
      if (len < 7 || len > this.max) return this.fail(packets, `bad TPKT length ${len}`);
      if (this.buf.length < len) break;
      packets.push(Buffer.from(this.buf.subarray(0, len)));
      this.buf = this.buf.subarray(len);
      if (packets.length >= 64) break;
    }
    return { packets };
  }

  /** what is buffered and not yet a packet (handed to TLS when the client starts it) */
  take(): Buffer {
    const b = this.buf;
    this.buf = Buffer.alloc(0);
    return b;
  }

  private fail(packets: Buffer[], error: string) {
    this.buf = Buffer.alloc(0);
    return { packets, error };
  }
}

export interface ConnectionRequest {
  /** "Cookie: mstshash=USER" value (user name hint; mstsc truncates it to 9 characters) */
  cookie?: string;
  /** "Cookie: msts=..." load-balancing routing token */
  routingToken?: string;
  /** RDP_NEG_REQ present */
  negotiation: boolean;
  negFlags: number;
  requestedProtocols: number;
  /** RDP_NEG_CORRELATION_INFO id (hex) when present */
  correlationId?: string;
}

/** Parse the X.224 Connection Request inside a TPKT; undefined when it is not one. */
export function parseConnectionRequest(tpkt: Buffer): ConnectionRequest | undefined {
  if (tpkt.length < 11) return undefined;
  const li = tpkt[4]!;
  if (tpkt[5]! >> 4 !== 0x0e) return undefined; // CR TPDU code 1110xxxx
  if (li < 6 || 5 + li > tpkt.length) return undefined;
  let rest = tpkt.subarray(11, 5 + li);
  const req: ConnectionRequest = { negotiation: false, negFlags: 0, requestedProtocols: 0 };
  // optional routingToken or cookie, terminated by CR LF
  const crlf = rest.indexOf('\r\n');
  if (crlf !== -1 && rest.subarray(0, 8).toString('latin1') === 'Cookie: ' && crlf <= 1024) {
    const line = rest.subarray(8, crlf).toString('latin1');
    if (line.startsWith('mstshash=')) req.cookie = printable(line.slice(9), 128);
    else req.routingToken = printable(line, 256);
    rest = rest.subarray(crlf + 2);
  }
  if (rest.length >= 8 && rest[0] === 0x01 && rest.readUInt16LE(2) === 8) {
    req.negotiation = true;
    req.negFlags = rest[1]!;
    req.requestedProtocols = rest.readUInt32LE(4);
    const corr = rest.subarray(8);
    if (req.negFlags & 0x08 && corr.length >= 36 && corr[0] === 0x06 && corr.readUInt16LE(2) === 36) {
      req.correlationId = corr.subarray(4, 20).toString('hex');
    }
  }
  return req;
}

function printable(s: string, max: number): string {
  return s.slice(0, max).replace(/[^\x20-\x7e]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

export type Negotiation = { kind: 'none' } | { kind: 'rsp'; flags: number; selected: number } | { kind: 'failure'; code: number };

/** X.224 Connection Confirm: dst-ref 0, src-ref 0x1234, class 0 (as Windows sends), plus the negotiation structure. */
export function buildConnectionConfirm(neg: Negotiation): Buffer {
  const negData = Buffer.alloc(neg.kind === 'none' ? 0 : 8);
  if (neg.kind === 'rsp') {
    negData.writeUInt8(0x02, 0);
    negData.writeUInt8(neg.flags, 1);
    negData.writeUInt16LE(8, 2);
    negData.writeUInt32LE(neg.selected, 4);
  } else if (neg.kind === 'failure') {
    negData.writeUInt8(0x03, 0);
    negData.writeUInt16LE(8, 2);
    negData.writeUInt32LE(neg.code, 4);
  }
  const x224 = Buffer.from([6 + negData.length, 0xd0, 0x00, 0x00, 0x12, 0x34, 0x00]);
  return tpkt(Buffer.concat([x224, negData]));
}

export function tpkt(payload: Buffer): Buffer {
  const h = Buffer.from([3, 0, 0, 0]);
  h.writeUInt16BE(payload.length + 4, 2);
  return Buffer.concat([h, payload]);
}

/** TPKT + X.224 Data TPDU (LI 2, code F0, EOT) around an MCS PDU. */
export function dataTpdu(payload: Buffer): Buffer {
  return tpkt(Buffer.concat([Buffer.from([0x02, 0xf0, 0x80]), payload]));
}

/** The payload of an X.224 Data TPDU, or undefined when the TPKT carries something else. */
export function parseDataTpdu(tpkt: Buffer): Buffer | undefined {
  if (tpkt.length < 7 || tpkt[4] !== 0x02 || tpkt[5] !== 0xf0) return undefined;
  return tpkt.subarray(7);
}

/** X.224 Disconnect Request TPDU (what a client sends to hang up before MCS). */
export function isDisconnectRequest(tpkt: Buffer): boolean {
  return tpkt.length >= 6 && tpkt[5]! >> 4 === 0x08;
}
