/**
 * SMB2/3 wire layout (MS-SMB2 2.2): the 64-byte sync header, command and status
 * codes, and small bounded readers for the request bodies this honeypot answers.
 * Offsets in the spec are from the start of the SMB2 header; readers take the whole
 * message (header + body) and return undefined for anything malformed.
 */
export const SMB2_MAGIC = Buffer.from([0xfe, 0x53, 0x4d, 0x42]);
export const SMB2_HEADER_LEN = 64;

export const CMD = {
  NEGOTIATE: 0,
  SESSION_SETUP: 1,
  LOGOFF: 2,
  TREE_CONNECT: 3,
  TREE_DISCONNECT: 4,
  CREATE: 5,
  CLOSE: 6,
  FLUSH: 7,
  READ: 8,
  WRITE: 9,
  LOCK: 10,
  IOCTL: 11,
  CANCEL: 12,
  ECHO: 13,
  QUERY_DIRECTORY: 14,
  CHANGE_NOTIFY: 15,
  QUERY_INFO: 16,
  SET_INFO: 17,
  OPLOCK_BREAK: 18,
} as const;

export const STATUS = {
  SUCCESS: 0,
  PENDING: 0x00000103,
  BUFFER_OVERFLOW: 0x80000005,
  NO_MORE_FILES: 0x80000006,
  INVALID_PARAMETER: 0xc000000d,
  NO_SUCH_FILE: 0xc000000f,
  END_OF_FILE: 0xc0000011,
  MORE_PROCESSING_REQUIRED: 0xc0000016,
  ACCESS_DENIED: 0xc0000022,
  BUFFER_TOO_SMALL: 0xc0000023,
  OBJECT_NAME_NOT_FOUND: 0xc0000034,
  OBJECT_NAME_COLLISION: 0xc0000035,
  OBJECT_PATH_NOT_FOUND: 0xc000003a,
  LOGON_FAILURE: 0xc000006d,
  INSUFFICIENT_RESOURCES: 0xc000009a,
  NOT_SUPPORTED: 0xc00000bb,
  BAD_NETWORK_NAME: 0xc00000cc,
  NOT_IMPLEMENTED: 0xc0000002,
  INVALID_INFO_CLASS: 0xc0000003,
  INFO_LENGTH_MISMATCH: 0xc0000004,
  FILE_IS_A_DIRECTORY: 0xc00000ba,
  NOT_A_DIRECTORY: 0xc0000103,
  FILE_CLOSED: 0xc0000128,
  USER_SESSION_DELETED: 0xc0000203,
  NETWORK_NAME_DELETED: 0xc00000c9,
  NOT_FOUND: 0xc0000225,
  INVALID_DEVICE_REQUEST: 0xc0000010,
  PIPE_BROKEN: 0xc000014b,
  REQUEST_NOT_ACCEPTED: 0xc00000d0,
} as const;

export const FLAGS = { SERVER_TO_REDIR: 0x1, ASYNC: 0x2, RELATED: 0x4, SIGNED: 0x8, DFS: 0x10000000 } as const;

export interface Smb2Header {
  creditCharge: number;
  status: number;
  command: number;
  credits: number;
  flags: number;
  nextCommand: number;
  messageId: bigint;
  treeId: number;
  sessionId: bigint;
  signature: Buffer;
}

export function parseHeader(msg: Buffer): Smb2Header | undefined {
  if (msg.length < SMB2_HEADER_LEN || !msg.subarray(0, 4).equals(SMB2_MAGIC) || msg.readUInt16LE(4) !== 64) return undefined;
  return {
    creditCharge: msg.readUInt16LE(6),
    status: msg.readUInt32LE(8),
    command: msg.readUInt16LE(12),
    credits: msg.readUInt16LE(14),
    flags: msg.readUInt32LE(16),
    nextCommand: msg.readUInt32LE(20),
    messageId: msg.readBigUInt64LE(24),
    treeId: msg.readUInt32LE(36),
    sessionId: msg.readBigUInt64LE(40),
    signature: Buffer.from(msg.subarray(48, 64)),
  };
}

export interface ResponseHeader {
  command: number;
  status: number;
  messageId: bigint;
  credits: number;
  creditCharge?: number;
  treeId?: number;
  sessionId?: bigint;
  flags?: number;
}

export function buildHeader(h: ResponseHeader): Buffer {
  const b = Buffer.alloc(SMB2_HEADER_LEN);
  SMB2_MAGIC.copy(b, 0);
  b.writeUInt16LE(64, 4);
  b.writeUInt16LE(h.creditCharge ?? 0, 6);
  b.writeUInt32LE(h.status >>> 0, 8);
  b.writeUInt16LE(h.command, 12);
  b.writeUInt16LE(h.credits, 14);
  b.writeUInt32LE((FLAGS.SERVER_TO_REDIR | (h.flags ?? 0)) >>> 0, 16);
  b.writeBigUInt64LE(h.messageId, 24);
  // sync header: Reserved (Windows writes 0xFEFF for the pid half) then TreeId
  b.writeUInt32LE(0x0000feff, 32);
  b.writeUInt32LE(h.treeId ?? 0, 36);
  b.writeBigUInt64LE(h.sessionId ?? 0n, 40);
  return b;
}

/** The 9-byte error response body (StructureSize 9, no error contexts). */
export function errorBody(): Buffer {
  const b = Buffer.alloc(9);
  b.writeUInt16LE(9, 0);
  return b;
}

/** A bounded slice of `msg` at a header-relative offset; undefined when out of range. */
export function slice(msg: Buffer, offset: number, length: number): Buffer | undefined {
  if (length === 0) return Buffer.alloc(0);
  if (offset < SMB2_HEADER_LEN || offset + length > msg.length) return undefined;
  return msg.subarray(offset, offset + length);
}

/** Read a u16/u32/u64 from the body at `at` (body-relative); undefined when short. */
export class Body {
  constructor(
    readonly msg: Buffer,
    readonly base = SMB2_HEADER_LEN,
  ) {}
  has(at: number, n: number): boolean {
    return this.base + at + n <= this.msg.length;
  }
  u8(at: number): number {
    return this.has(at, 1) ? this.msg[this.base + at]! : 0;
  }
  u16(at: number): number {
    return this.has(at, 2) ? this.msg.readUInt16LE(this.base + at) : 0;
  }
  u32(at: number): number {
    return this.has(at, 4) ? this.msg.readUInt32LE(this.base + at) : 0;
  }
  u64(at: number): bigint {
    return this.has(at, 8) ? this.msg.readBigUInt64LE(this.base + at) : 0n;
  }
  bytes(at: number, n: number): Buffer {
    return this.has(at, n) ? Buffer.from(this.msg.subarray(this.base + at, this.base + at + n)) : Buffer.alloc(n);
  }
}

export interface NegotiateRequest {
  dialects: number[];
  securityMode: number;
  capabilities: number;
  clientGuid: Buffer;
  /** raw negotiate contexts (3.1.1): type -> data */
  contexts: { type: number; data: Buffer }[];
}

export function parseNegotiateRequest(msg: Buffer): NegotiateRequest | undefined {
  const b = new Body(msg);
  if (!b.has(0, 36) || b.u16(0) !== 36) return undefined;
  const count = b.u16(2);
  if (count === 0 || count > 64 || !b.has(36, count * 2)) return undefined;
  const dialects: number[] = [];
  for (let i = 0; i < count; i++) dialects.push(b.u16(36 + i * 2));
  const contexts: NegotiateRequest['contexts'] = [];
  if (dialects.includes(0x0311)) {
    let off = b.u32(28);
    const n = Math.min(b.u16(32), 16);
    for (let i = 0; i < n && off >= SMB2_HEADER_LEN && off + 8 <= msg.length; i++) {
      const type = msg.readUInt16LE(off);
      const len = msg.readUInt16LE(off + 2);
      if (off + 8 + len > msg.length) break;
      contexts.push({ type, data: Buffer.from(msg.subarray(off + 8, off + 8 + len)) });
      off = off + 8 + len;
      off = (off + 7) & ~7;
    }
  }
  return { dialects, securityMode: b.u16(4), capabilities: b.u32(8), clientGuid: b.bytes(12, 16), contexts };
}

/** UTF-16LE name from a request buffer, bounded; undefined when it points outside the message. */
export function utf16At(msg: Buffer, offset: number, length: number, max = 1024): string | undefined {
  if (length > max * 2) return undefined;
  const s = slice(msg, offset, length & ~1);
  return s ? s.toString('utf16le') : undefined;
}

export const align8 = (n: number) => (n + 7) & ~7;
