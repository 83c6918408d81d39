/**
 * TFTP packet codec (RFC 1350, options RFC 2347/2348/2349). Pure, bounded, never throws:
 * parse() returns a packet or { kind: 'invalid', reason }.
 */
export const OP = { RRQ: 1, WRQ: 2, DATA: 3, ACK: 4, ERROR: 5, OACK: 6 } as const;

/** error codes and the messages tftpd-hpa sends for them */
export const ERR = {
  UNDEF: 0,
  NOT_FOUND: 1,
  ACCESS: 2,
  DISK_FULL: 3,
  ILLEGAL: 4,
  UNKNOWN_TID: 5,
  EXISTS: 6,
  NO_USER: 7,
  OPTNEG: 8,
} as const;
export const ERR_MSG: Record<number, string> = {
  0: 'Undefined error code',
  1: 'File not found',
  2: 'Access violation',
  3: 'Disk full or allocation exceeded',
  4: 'Illegal TFTP operation',
  5: 'Unknown transfer ID',
  6: 'File already exists',
  7: 'No such user',
  8: 'Failure to negotiate RFC2347 options',
};

export const LIMITS = {
  /** a request never exceeds one default block plus header in practice */
  maxRequest: 1024,
  maxOptions: 16,
  maxString: 255,
  /** largest DATA the protocol allows (blksize 65464 + 4) */
  maxPacket: 65468,
} as const;

export type Packet =
  | { kind: 'rrq' | 'wrq'; filename: string; mode: string; options: Record<string, string> }
  | { kind: 'data'; block: number; data: Buffer }
  | { kind: 'ack'; block: number }
  | { kind: 'error'; code: number; message: string }
  | { kind: 'oack'; options: Record<string, string> }
  | { kind: 'invalid'; reason: string };

/** Split NUL-terminated strings starting at `off`; null when a string is unterminated or too long. */
function cstrings(buf: Buffer, off: number, max: number): string[] | null {
  const out: string[] = [];
  while (off < buf.length) {
    if (out.length >= max) return null;
    const end = buf.indexOf(0, off);
    if (end < 0 || end - off > LIMITS.maxString) return null;
    out.push(buf.toString('latin1', off, end));
    off = end + 1;
  }
  return out;
}

function parseOptions(parts: string[]): Record<string, string> | string {
  if (parts.length % 2 !== 0) return 'odd option list';
  const options: Record<string, string> = Object.create(null) as Record<string, string>;
  for (let i = 0; i < parts.length; i += 2) {
    const k = parts[i]!.toLowerCase();
    if (k === '' || k in options) continue;
    options[k] = parts[i + 1]!;
  }
  return options;
}

export function parse(buf: Buffer): Packet {
  try {
    if (buf.length < 2) return { kind: 'invalid', reason: 'short packet' };
    if (buf.length > LIMITS.maxPacket) return { kind: 'invalid', reason: 'oversized packet' };
    const op = buf.readUInt16BE(0);
    switch (op) {
      case OP.RRQ:
      case OP.WRQ: {
        if (buf.length > LIMITS.maxRequest) return { kind: 'invalid', reason: 'oversized request' };
        const parts = cstrings(buf, 2, 2 + LIMITS.maxOptions * 2);
        if (!parts || parts.length < 2) return { kind: 'invalid', reason: 'malformed request' };
        const [filename, mode, ...rest] = parts;
        if (!filename) return { kind: 'invalid', reason: 'empty filename' };
        const options = parseOptions(rest);
        if (typeof options === 'string') return { kind: 'invalid', reason: options };
        return { kind: op === OP.RRQ ? 'rrq' : 'wrq', filename, mode: mode!.toLowerCase(), options };
      }
      case OP.DATA:
        if (buf.length < 4) return { kind: 'invalid', reason: 'short data' };
        return { kind: 'data', block: buf.readUInt16BE(2), data: buf.subarray(4) };
      case OP.ACK:
        if (buf.length < 4) return { kind: 'invalid', reason: 'short ack' };
        return { kind: 'ack', block: buf.readUInt16BE(2) };
      case OP.ERROR: {
        if (buf.length < 4) return { kind: 'invalid', reason: 'short error' };
        const end = buf.indexOf(0, 4);
        const message = buf.toString('latin1', 4, Math.min(end < 0 ? buf.length : end, 4 + LIMITS.maxString));
        return { kind: 'error', code: buf.readUInt16BE(2), message };
      }
      case OP.OACK: {
        const parts = cstrings(buf, 2, LIMITS.maxOptions * 2);
        if (!parts) return { kind: 'invalid', reason: 'malformed oack' };
        const options = parseOptions(parts);
        if (typeof options === 'string') return { kind: 'invalid', reason: options };
        return { kind: 'oack', options };
      }
      default:
        return { kind: 'invalid', reason: `unknown opcode ${op}` };
    }
  } catch {
    return { kind: 'invalid', reason: 'unparseable' };
  }
}

function header(op: number, n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt16BE(op, 0);
  b.writeUInt16BE(n & 0xffff, 2);
  return b;
}

function strings(op: number, parts: string[]): Buffer {
  const op2 = Buffer.alloc(2);
  op2.writeUInt16BE(op, 0);
  return Buffer.concat([op2, ...parts.map((s) => Buffer.from(`${s}\0`, 'latin1'))]);
}

export const encode = {
  rrq: (filename: string, mode = 'octet', options: Record<string, string> = {}) =>
    strings(OP.RRQ, [filename, mode, ...Object.entries(options).flat()]),
  wrq: (filename: string, mode = 'octet', options: Record<string, string> = {}) =>
    strings(OP.WRQ, [filename, mode, ...Object.entries(options).flat()]),
  data: (block: number, data: Buffer) => Buffer.concat([header(OP.DATA, block), data]),
  ack: (block: number) => header(OP.ACK, block),
  error: (code: number, message = ERR_MSG[code] ?? ERR_MSG[0]!) =>
    Buffer.concat([header(OP.ERROR, code), Buffer.from(`${message.slice(0, LIMITS.maxString)}\0`, 'latin1')]),
  oack: (options: Record<string, string>) => strings(OP.OACK, Object.entries(options).flat()),
};

/** netascii encoding for sending: LF -> CR LF, bare CR -> CR NUL */
export function toNetascii(b: Buffer): Buffer {
  const out: number[] = [];
  for (const c of b) {
    if (c === 0x0a) out.push(0x0d, 0x0a);
    else if (c === 0x0d) out.push(0x0d, 0x00);
    else out.push(c);
  }
  return Buffer.from(out);
}

/** netascii decoding of a received file: CR LF -> LF, CR NUL -> CR */
export function fromNetascii(b: Buffer): Buffer {
  const out: number[] = [];
  for (let i = 0; i < b.length; i++) {
    const c = b[i]!;
    if (c === 0x0d && (b[i + 1] === 0x0a || b[i + 1] === 0x00)) {
      out.push(b[i + 1] === 0x0a ? 0x0a : 0x0d);
      i++;
    } else out.push(c);
  }
  return Buffer.from(out);
}
