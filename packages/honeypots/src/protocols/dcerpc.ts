/**
 * Connection-oriented DCE/RPC (C706 chapter 12, MS-RPCE 2.2.2) PDU codec: parses the
 * PDUs a client sends on a named pipe (BIND, ALTER_CONTEXT, REQUEST, ...) and builds
 * the ones a Windows server answers with (BIND_ACK, ALTER_CONTEXT_RESP, BIND_NAK,
 * RESPONSE, FAULT). Pure functions over Buffers; parse never throws (it returns
 * undefined for anything malformed), every length is checked against the PDU.
 */

export const PTYPE = {
  request: 0,
  response: 2,
  fault: 3,
  bind: 11,
  bindAck: 12,
  bindNak: 13,
  alterContext: 14,
  alterContextResp: 15,
  auth3: 16,
  shutdown: 17,
  coCancel: 18,
  orphaned: 19,
} as const;

export const PFC = { firstFrag: 0x01, lastFrag: 0x02, pendingCancel: 0x04, concMpx: 0x10, didNotExecute: 0x20, maybe: 0x40, objectUuid: 0x80 } as const;

/** Fault / reject status codes (C706 appendix E, MS-RPCE 2.2.2.10). */
export const NCA = {
  opRangeError: 0x1c010002,
  unknownInterface: 0x1c010003,
  protoError: 0x1c01000b,
  /** RPC_S_INVALID_TAG: a union discriminant with no arm */
  invalidTag: 0x000006c5,
  /** RPC_X_BAD_STUB_DATA: the stub could not be unmarshalled */
  badStubData: 0x000006f7,
} as const;

export interface SyntaxId {
  /** lower-case canonical text form */
  uuid: string;
  major: number;
  minor: number;
}

export const NDR_SYNTAX: SyntaxId = { uuid: '8a885d04-1ceb-11c9-9fe8-08002b104860', major: 2, minor: 0 };
export const NDR64_SYNTAX: SyntaxId = { uuid: '71710533-beba-4937-8319-b5dbef9ccc36', major: 1, minor: 0 };
/** Bind time feature negotiation: 6cb71c2c-9812-4540-XXXX-XXXXXXXXXXXX, the last 8 octets carry the feature bits. */
const BTFN_PREFIX = '6cb71c2c-9812-4540-';
/** Features a Windows server acknowledges: security context multiplexing (1) and keep connection on orphan (2). */
const BTFN_SUPPORTED = 0x0003;

export const COMMON_HEADER_LEN = 16;
const REQUEST_HEADER_LEN = 24;
const RESPONSE_HEADER_LEN = 24;
const SEC_TRAILER_LEN = 8;

/** "4b324fc8-1670-01d3-1278-5a47bf6ee188" -> the 16 octets on the wire (first three fields little endian). */
export function uuidToBytes(uuid: string): Buffer {
  const hex = uuid.replace(/-/g, '');
  const raw = Buffer.from(hex, 'hex');
  if (raw.length !== 16) throw new Error(`bad uuid ${uuid}`);
  const out = Buffer.from(raw);
  out.writeUInt32LE(raw.readUInt32BE(0), 0);
  out.writeUInt16LE(raw.readUInt16BE(4), 4);
  out.writeUInt16LE(raw.readUInt16BE(6), 6);
  return out;
}

export function uuidFromBytes(b: Buffer, le = true): string {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(le ? b.readUInt32LE(0) : b.readUInt32BE(0), 0);
  head.writeUInt16BE(le ? b.readUInt16LE(4) : b.readUInt16BE(4), 4);
  head.writeUInt16BE(le ? b.readUInt16LE(6) : b.readUInt16BE(6), 6);
  const h = Buffer.concat([head, b.subarray(8, 16)]).toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

function syntaxBytes(s: SyntaxId | undefined): Buffer {
  const out = Buffer.alloc(20);
  if (!s) return out;
  uuidToBytes(s.uuid).copy(out, 0);
  out.writeUInt16LE(s.major, 16);
  out.writeUInt16LE(s.minor, 18);
  return out;
}

export interface PduHeader {
  verMajor: number;
  verMinor: number;
  ptype: number;
  flags: number;
  littleEndian: boolean;
  fragLength: number;
  authLength: number;
  callId: number;
}

/** The 16-byte common header, or undefined when it is not DCE/RPC 5.x or its lengths are impossible. */
export function parseHeader(buf: Buffer): PduHeader | undefined {
  if (buf.length < COMMON_HEADER_LEN) return undefined;
  const verMajor = buf[0]!;
  const verMinor = buf[1]!;
  if (verMajor !== 5 || verMinor > 1) return undefined;
  const littleEndian = (buf[4]! & 0xf0) === 0x10;
  const u16 = (o: number) => (littleEndian ? buf.readUInt16LE(o) : buf.readUInt16BE(o));
  const fragLength = u16(8);
  const authLength = u16(10);
  const callId = littleEndian ? buf.readUInt32LE(12) : buf.readUInt32BE(12);
  if (fragLength < COMMON_HEADER_LEN || authLength > fragLength - COMMON_HEADER_LEN) return undefined;
  return { verMajor, verMinor, ptype: buf[2]!, flags: buf[3]!, littleEndian, fragLength, authLength, callId };
}

export interface PresentationContext {
  contextId: number;
  abstract: SyntaxId;
  transfer: SyntaxId[];
}

export interface BindPdu {
  kind: 'bind' | 'alter_context';
  header: PduHeader;
  maxXmitFrag: number;
  maxRecvFrag: number;
  assocGroup: number;
  contexts: PresentationContext[];
}

export interface RequestPdu {
  kind: 'request';
  header: PduHeader;
  allocHint: number;
  contextId: number;
  opnum: number;
  object?: string;
  stub: Buffer;
}

export interface OtherPdu {
  kind: 'other';
  header: PduHeader;
}

export type Pdu = BindPdu | RequestPdu | OtherPdu;

/** Parse one complete PDU (exactly header.fragLength bytes); undefined when malformed. */
export function parsePdu(pdu: Buffer): Pdu | undefined {
  const header = parseHeader(pdu);
  if (!header || pdu.length < header.fragLength) return undefined;
  const buf = pdu.subarray(0, header.fragLength);
  const le = header.littleEndian;
  const u16 = (o: number) => (le ? buf.readUInt16LE(o) : buf.readUInt16BE(o));
  const u32 = (o: number) => (le ? buf.readUInt32LE(o) : buf.readUInt32BE(o));
  const syntaxAt = (o: number): SyntaxId => ({ uuid: uuidFromBytes(buf.subarray(o, o + 16), le), major: u16(o + 16), minor: u16(o + 18) });

  if (header.ptype === PTYPE.bind || header.ptype === PTYPE.alterContext) {
    if (buf.length < 28) return undefined;
    const n = buf[24]!;
    const contexts: PresentationContext[] = [];
    let o = 28;
    for (let i = 0; i < n; i++) {
      if (o + 24 > buf.length) return undefined;
      const contextId = u16(o);
      const nTransfer = buf[o + 2]!;
      const abstract = syntaxAt(o + 4);
      o += 24;
      if (o + nTransfer * 20 > buf.length) return undefined;
      const transfer: SyntaxId[] = [];
      for (let t = 0; t < nTransfer; t++, o += 20) transfer.push(syntaxAt(o));
      contexts.push({ contextId, abstract, transfer });
    }
    return {
      kind: header.ptype === PTYPE.bind ? 'bind' : 'alter_context',
      header,
      maxXmitFrag: u16(16),
      maxRecvFrag: u16(18),
      assocGroup: u32(20),
      contexts,
    };
  }

  if (header.ptype === PTYPE.request) {
    const hasObject = (header.flags & PFC.objectUuid) !== 0;
    const start = REQUEST_HEADER_LEN + (hasObject ? 16 : 0);
    let end = buf.length;
    if (header.authLength > 0) {
      const trailer = buf.length - header.authLength - SEC_TRAILER_LEN;
      if (trailer < start) return undefined;
      end = trailer - buf[trailer + 2]!;
    }
    if (end < start) return undefined;
    return {
      kind: 'request',
      header,
      allocHint: u32(16),
      contextId: u16(20),
      opnum: u16(22),
      ...(hasObject ? { object: uuidFromBytes(buf.subarray(24, 40), le) } : {}),
      stub: Buffer.from(buf.subarray(start, end)),
    };
  }
  return { kind: 'other', header };
}

function commonHeader(ptype: number, flags: number, fragLength: number, callId: number): Buffer {
  const h = Buffer.alloc(COMMON_HEADER_LEN);
  h[0] = 5;
  h[1] = 0;
  h[2] = ptype;
  h[3] = flags;
  h.writeUInt32LE(0x00000010, 4); // little endian, ASCII, IEEE floats
  h.writeUInt16LE(fragLength, 8);
  h.writeUInt16LE(0, 10);
  h.writeUInt32LE(callId >>> 0, 12);
  return h;
}

export const CONTEXT_RESULT = { acceptance: 0, userRejection: 1, providerRejection: 2, negotiateAck: 3 } as const;
export const REJECT_REASON = { notSpecified: 0, abstractSyntaxNotSupported: 1, transferSyntaxesNotSupported: 2 } as const;

export interface ContextResult {
  result: number;
  reason: number;
  transfer?: SyntaxId;
}

/**
 * What a Windows server answers for each presentation context: NDR 2.0 accepted for its
 * interface, NDR64 and other transfer syntaxes rejected, the bind time feature
 * negotiation context acknowledged (result 3) with the feature bits it supports as reason.
 */
export function negotiateContext(ctx: PresentationContext, supports: (abstract: SyntaxId) => boolean): ContextResult {
  const btfn = ctx.transfer.find((t) => t.uuid.startsWith(BTFN_PREFIX));
  if (btfn) {
    const bits = uuidToBytes(btfn.uuid).readUInt16LE(8);
    return { result: CONTEXT_RESULT.negotiateAck, reason: bits & BTFN_SUPPORTED };
  }
  if (!supports(ctx.abstract)) return { result: CONTEXT_RESULT.providerRejection, reason: REJECT_REASON.abstractSyntaxNotSupported };
  const ndr = ctx.transfer.find((t) => t.uuid === NDR_SYNTAX.uuid && t.major === NDR_SYNTAX.major && t.minor === NDR_SYNTAX.minor);
  if (!ndr) return { result: CONTEXT_RESULT.providerRejection, reason: REJECT_REASON.transferSyntaxesNotSupported };
  return { result: CONTEXT_RESULT.acceptance, reason: 0, transfer: NDR_SYNTAX };
}

export interface BindAckParams {
  callId: number;
  alter: boolean;
  maxXmitFrag: number;
  maxRecvFrag: number;
  assocGroup: number;
  /** e.g. "\\PIPE\\srvsvc"; ALTER_CONTEXT_RESP carries none */
  secondaryAddress: string;
  results: ContextResult[];
}

/** BIND_ACK (or ALTER_CONTEXT_RESP): frag sizes, association group, secondary address, one result per context. */
export function buildBindAck(p: BindAckParams): Buffer {
  const addr = p.alter || p.secondaryAddress === '' ? Buffer.alloc(0) : Buffer.from(`${p.secondaryAddress}\0`, 'latin1');
  const fixed = Buffer.alloc(10);
  fixed.writeUInt16LE(p.maxXmitFrag, 0);
  fixed.writeUInt16LE(p.maxRecvFrag, 2);
  fixed.writeUInt32LE(p.assocGroup >>> 0, 4);
  fixed.writeUInt16LE(addr.length, 8);
  const before = COMMON_HEADER_LEN + fixed.length + addr.length;
  const pad = Buffer.alloc((4 - (before % 4)) % 4);
  const list = Buffer.alloc(4 + p.results.length * 24);
  list[0] = p.results.length;
  p.results.forEach((r, i) => {
    const o = 4 + i * 24;
    list.writeUInt16LE(r.result, o);
    list.writeUInt16LE(r.reason, o + 2);
    syntaxBytes(r.transfer).copy(list, o + 4);
  });
  const body = Buffer.concat([fixed, addr, pad, list]);
  const ptype = p.alter ? PTYPE.alterContextResp : PTYPE.bindAck;
  return Buffer.concat([commonHeader(ptype, PFC.firstFrag | PFC.lastFrag, COMMON_HEADER_LEN + body.length, p.callId), body]);
}

export const BIND_NAK_REASON = { notSpecified: 0, temporaryCongestion: 1, localLimitExceeded: 2, protocolVersionNotSupported: 4 } as const;

/** BIND_NAK: reject reason and the one protocol version supported (5.0). */
export function buildBindNak(callId: number, reason: number): Buffer {
  const body = Buffer.from([reason & 0xff, reason >> 8, 1, 5, 0, 0, 0, 0]);
  return Buffer.concat([commonHeader(PTYPE.bindNak, PFC.firstFrag | PFC.lastFrag, COMMON_HEADER_LEN + body.length, callId), body]);
}

/** RESPONSE PDUs carrying `stub`, each at most maxFrag bytes; alloc_hint = stub bytes left from this fragment on. */
export function buildResponse(callId: number, contextId: number, stub: Buffer, maxFrag: number): Buffer[] {
  const room = Math.max(8, (Math.min(maxFrag, 0xffff) - RESPONSE_HEADER_LEN) & ~7);
  const out: Buffer[] = [];
  let o = 0;
  do {
    const part = stub.subarray(o, o + room);
    const flags = (o === 0 ? PFC.firstFrag : 0) | (o + part.length >= stub.length ? PFC.lastFrag : 0);
    const head = commonHeader(PTYPE.response, flags, RESPONSE_HEADER_LEN + part.length, callId);
    const sub = Buffer.alloc(8);
    sub.writeUInt32LE(stub.length - o, 0);
    sub.writeUInt16LE(contextId, 4);
    out.push(Buffer.concat([head, sub, part]));
    o += part.length;
  } while (o < stub.length);
  return out;
}

/** FAULT: status code, flagged did-not-execute as Windows does for calls it rejected before running them. */
export function buildFault(callId: number, contextId: number, status: number, didNotExecute = true): Buffer {
  const len = 32;
  const head = commonHeader(PTYPE.fault, PFC.firstFrag | PFC.lastFrag | (didNotExecute ? PFC.didNotExecute : 0), len, callId);
  const body = Buffer.alloc(16);
  body.writeUInt32LE(len, 0); // alloc_hint
  body.writeUInt16LE(contextId, 4);
  body.writeUInt32LE(status >>> 0, 8);
  return Buffer.concat([head, body]);
}
