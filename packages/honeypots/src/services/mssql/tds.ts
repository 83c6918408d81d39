/**
 * TDS (MS-TDS) packet framing and the few server tokens a failed login needs.
 *
 * Packet header (8 bytes): type, status (bit 0 = end of message), length
 * (big-endian, header included), SPID (big-endian), packet id, window.
 * A message is a run of packets of one type ending with the EOM bit; the
 * reader reassembles it under a size budget so a client cannot make us buffer
 * without bound.
 */

export const PKT = {
  SQL_BATCH: 0x01,
  PRE_TDS7_LOGIN: 0x02,
  RPC: 0x03,
  TABULAR: 0x04,
  ATTENTION: 0x06,
  LOGIN7: 0x10,
  SSPI: 0x11,
  PRELOGIN: 0x12,
} as const;

/** packet types a client may send: batch, pre-7 login, RPC, attention, bulk, transaction manager, LOGIN7, SSPI, PRELOGIN */
const CLIENT_TYPES = new Set([0x01, 0x02, 0x03, 0x06, 0x07, 0x0e, 0x10, 0x11, 0x12]);

export const STATUS_EOM = 0x01;
export const HEADER_LEN = 8;
/** Largest packet a client may negotiate is 32767; the u16 length allows a bit more. */
export const MAX_PACKET = 32_768;
/** Largest reassembled message we accept (a LOGIN7 is far smaller). */
export const MAX_MESSAGE = 128 * 1024;
/** Size of the packets the server sends (SQL Server's default packet size is 4096). */
export const SERVER_PACKET = 4096;

export interface TdsMessage {
  type: number;
  /** status byte of the last packet */
  status: number;
  payload: Buffer;
}

export type ReaderItem = TdsMessage | { error: string };

/** Bounded incremental reader: bytes in, whole messages out. */
export class TdsReader {
  private buf: Buffer = Buffer.alloc(0);
  private parts: Buffer[] = [];
  private partsLen = 0;
  private partType = -1;
  private failed = false;
  private pending: string | undefined;

  constructor(
    private readonly maxPacket = MAX_PACKET,
    private readonly maxMessage = MAX_MESSAGE,
  ) {}

  get buffered(): number {
    return this.buf.length + this.partsLen;
  }

  /** Bytes received but not yet consumed as a packet (handed over on a mode switch). */
  takeRest(): Buffer {
    const rest = this.buf;
    this.buf = Buffer.alloc(0);
    return rest;
  }

  /** Buffer more bytes (bounded); call next() to take messages out. */
  push(chunk: Buffer): void {
    if (this.failed || chunk.length === 0) return;
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    if (this.buf.length > this.maxPacket + MAX_MESSAGE) {
      this.buf = Buffer.alloc(0);
      this.pending = 'buffer overflow';
    }
  }

  /** The next whole message, an error (after which the reader is dead), or undefined when more bytes are needed. */
  next(): ReaderItem | undefined {
    if (this.failed) return undefined;
    if (this.pending) return this.fail(this.pending);
    while (this.buf.length >= HEADER_LEN) {
      const type = this.buf[0]!;
      const status = this.buf[1]!;
      const len = this.buf.readUInt16BE(2);
      if (!CLIENT_TYPES.has(type)) return this.fail(`unknown packet type 0x${type.toString(16)}`);
      if (len < HEADER_LEN || len > this.maxPacket) return this.fail(`bad packet length ${len}`);
      if (this.buf.length < len) return undefined;
      const body = this.buf.subarray(HEADER_LEN, len);
      this.buf = this.buf.subarray(len);
      if (this.partType !== -1 && type !== this.partType) return this.fail('packet type changed inside a message');
      if (this.partsLen + body.length > this.maxMessage) return this.fail('message too large');
      this.partType = type;
      this.parts.push(Buffer.from(body));
      this.partsLen += body.length;
      if (status & STATUS_EOM) {
        const msg = { type, status, payload: Buffer.concat(this.parts) };
        this.parts = [];
        this.partsLen = 0;
        this.partType = -1;
        return msg;
      }
    }
    return undefined;
  }

  /** push + drain: every message the bytes complete. */
  feed(chunk: Buffer): ReaderItem[] {
    this.push(chunk);
    const out: ReaderItem[] = [];
    for (let m = this.next(); m; m = this.next()) out.push(m);
    return out;
  }

  private fail(error: string): ReaderItem {
    this.failed = true;
    this.pending = undefined;
    this.buf = Buffer.alloc(0);
    this.parts = [];
    this.partsLen = 0;
    return { error };
  }
}

/** Split a message into packets of at most `packetSize` bytes, the last one flagged EOM. */
export function framePackets(type: number, payload: Buffer, opts: { packetId?: number; spid?: number; packetSize?: number } = {}): Buffer {
  const room = (opts.packetSize ?? SERVER_PACKET) - HEADER_LEN;
  const out: Buffer[] = [];
  let id = opts.packetId ?? 1;
  let off = 0;
  do {
    const part = payload.subarray(off, off + room);
    off += part.length;
    const hdr = Buffer.alloc(HEADER_LEN);
    hdr[0] = type;
    hdr[1] = off >= payload.length ? STATUS_EOM : 0;
    hdr.writeUInt16BE(part.length + HEADER_LEN, 2);
    hdr.writeUInt16BE(opts.spid ?? 0, 4);
    hdr[6] = id & 0xff;
    id++;
    out.push(hdr, part);
  } while (off < payload.length);
  return Buffer.concat(out);
}

const ucs2 = (s: string) => Buffer.from(s, 'utf16le');

/** B_VARCHAR: one-byte character count, then UTF-16LE (truncated to 255 characters). */
function bVarchar(s: string): Buffer {
  const t = s.slice(0, 255);
  return Buffer.concat([Buffer.from([t.length]), ucs2(t)]);
}

/** US_VARCHAR: two-byte character count, then UTF-16LE. */
function usVarchar(s: string): Buffer {
  const t = s.slice(0, 4000);
  const n = Buffer.alloc(2);
  n.writeUInt16LE(t.length);
  return Buffer.concat([n, ucs2(t)]);
}

/** TDS 7.2 (0x72090002) and later use 4-byte line numbers and 8-byte DONE row counts. */
export const isTds72 = (tdsVersion: number) => tdsVersion >>> 0 >= 0x72090002;

export interface ErrorToken {
  number: number;
  state: number;
  klass: number;
  message: string;
  serverName: string;
  procName: string;
  line: number;
}

/** ERROR token (0xAA): Number, State, Class, MsgText, ServerName, ProcName, LineNumber. */
export function errorToken(e: ErrorToken, tdsVersion: number): Buffer {
  const line = Buffer.alloc(isTds72(tdsVersion) ? 4 : 2);
  if (line.length === 4) line.writeInt32LE(e.line);
  else line.writeUInt16LE(e.line & 0xffff);
  const head = Buffer.alloc(6);
  head.writeInt32LE(e.number, 0);
  head[4] = e.state;
  head[5] = e.klass;
  const body = Buffer.concat([head, usVarchar(e.message), bVarchar(e.serverName), bVarchar(e.procName), line]);
  const tl = Buffer.alloc(3);
  tl[0] = 0xaa;
  tl.writeUInt16LE(body.length, 1);
  return Buffer.concat([tl, body]);
}

export const DONE_ERROR = 0x0002;

/** DONE token (0xFD): Status, CurCmd, DoneRowCount. */
export function doneToken(status: number, tdsVersion: number, curCmd = 0): Buffer {
  const b = Buffer.alloc(isTds72(tdsVersion) ? 13 : 9);
  b[0] = 0xfd;
  b.writeUInt16LE(status, 1);
  b.writeUInt16LE(curCmd, 3);
  return b;
}

/** SSPI token (0xED): two-byte length then the security blob. */
export function sspiToken(blob: Buffer): Buffer {
  const h = Buffer.alloc(3);
  h[0] = 0xed;
  h.writeUInt16LE(Math.min(blob.length, 0xffff), 1);
  return Buffer.concat([h, blob.subarray(0, 0xffff)]);
}
