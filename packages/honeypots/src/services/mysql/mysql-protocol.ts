/**
 * MySQL client/server protocol pieces the honeypot needs, pure and bounded:
 * packet framing, the v10 handshake, HandshakeResponse41/320 parsing, the auth
 * switch request and ERR packets.
 */

export const CLIENT = {
  LONG_PASSWORD: 0x1,
  FOUND_ROWS: 0x2,
  LONG_FLAG: 0x4,
  CONNECT_WITH_DB: 0x8,
  NO_SCHEMA: 0x10,
  COMPRESS: 0x20,
  ODBC: 0x40,
  LOCAL_FILES: 0x80,
  IGNORE_SPACE: 0x100,
  PROTOCOL_41: 0x200,
  INTERACTIVE: 0x400,
  SSL: 0x800,
  IGNORE_SIGPIPE: 0x1000,
  TRANSACTIONS: 0x2000,
  RESERVED: 0x4000,
  SECURE_CONNECTION: 0x8000,
  MULTI_STATEMENTS: 0x10000,
  MULTI_RESULTS: 0x20000,
  PS_MULTI_RESULTS: 0x40000,
  PLUGIN_AUTH: 0x80000,
  CONNECT_ATTRS: 0x100000,
  PLUGIN_AUTH_LENENC_CLIENT_DATA: 0x200000,
  CAN_HANDLE_EXPIRED_PASSWORDS: 0x400000,
  SESSION_TRACK: 0x800000,
} as const;

/** What the honeypot advertises: a MySQL 8 server without SSL and without compression. */
export const SERVER_CAPABILITIES = (0xffffff & ~CLIENT.SSL & ~CLIENT.COMPRESS) >>> 0;

export const NATIVE_PLUGIN = 'mysql_native_password';
export const MAX_PACKET = 64 * 1024;

export interface Packet {
  seq: number;
  payload: Buffer;
}

export function framePacket(seq: number, payload: Buffer): Buffer {
  const head = Buffer.alloc(4);
  head.writeUIntLE(payload.length, 0, 3);
  head[3] = seq & 0xff;
  return Buffer.concat([head, payload]);
}

/** Incremental packet splitter; a packet over `maxPacket` is an error (no multi-packet support needed here). */
export class PacketReader {
  /** unparsed input as a chunk list: a packet arriving in tiny pieces costs O(n), not O(n^2) */
  private chunks: Buffer[] = [];
  private length = 0;
  private need = 4;
  private failed = false;
  constructor(private readonly maxPacket = MAX_PACKET) {}

  feed(chunk: Buffer): Array<Packet | { error: string }> {
    const out: Array<Packet | { error: string }> = [];
    if (this.failed || chunk.length === 0) return out;
    this.chunks.push(chunk);
    this.length += chunk.length;
    if (this.length < this.need) return out;
    let buf = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks, this.length);
    this.need = 4;
    while (buf.length >= 4) {
      const len = buf.readUIntLE(0, 3);
      if (len > this.maxPacket) {
        this.failed = true;
        this.chunks = [];
        this.length = 0;
        out.push({ error: `packet too large (${len} bytes)` });
        return out;
      }
      if (buf.length < 4 + len) {
        this.need = 4 + len;
        break;
      }
      out.push({ seq: buf[3]!, payload: Buffer.from(buf.subarray(4, 4 + len)) });
      buf = buf.subarray(4 + len);
    }
    this.chunks = buf.length === 0 ? [] : [Buffer.from(buf)];
    this.length = buf.length;
    return out;
  }

  get buffered(): number {
    return this.length;
  }
}

export interface HandshakeOptions {
  version: string;
  connectionId: number;
  /** 20 bytes */
  scramble: Buffer;
  charset?: number;
}

/** Protocol::HandshakeV10 payload. */
export function buildHandshake(o: HandshakeOptions): Buffer {
  const caps = SERVER_CAPABILITIES;
  const fixed = Buffer.alloc(4 + 8 + 1 + 2 + 1 + 2 + 2 + 1 + 10);
  let p = 0;
  p = fixed.writeUInt32LE(o.connectionId >>> 0, p);
  o.scramble.copy(fixed, p, 0, 8);
  p += 8;
  fixed[p++] = 0;
  p = fixed.writeUInt16LE(caps & 0xffff, p);
  fixed[p++] = o.charset ?? 0xff;
  p = fixed.writeUInt16LE(0x0002, p); // SERVER_STATUS_AUTOCOMMIT
  p = fixed.writeUInt16LE(caps >>> 16, p);
  fixed[p++] = 21; // auth plugin data length (20 + NUL)
  return Buffer.concat([
    Buffer.from([0x0a]),
    cstr(o.version),
    fixed,
    o.scramble.subarray(8, 20),
    Buffer.from([0]),
    cstr(NATIVE_PLUGIN),
  ]);
}

export function buildAuthSwitch(plugin: string, scramble: Buffer): Buffer {
  return Buffer.concat([Buffer.from([0xfe]), cstr(plugin), scramble, Buffer.from([0])]);
}

export function buildErr(code: number, sqlState: string, message: string): Buffer {
  const head = Buffer.alloc(3);
  head[0] = 0xff;
  head.writeUInt16LE(code, 1);
  return Buffer.concat([head, Buffer.from(`#${sqlState.padEnd(5, '0').slice(0, 5)}`, 'latin1'), Buffer.from(message, 'utf8')]);
}

function cstr(s: string): Buffer {
  return Buffer.concat([Buffer.from(s.replace(/\0/g, ''), 'utf8'), Buffer.from([0])]);
}

export interface HandshakeResponse {
  capabilities: number;
  /** true when this is only an SSLRequest (the client wants TLS before sending credentials) */
  sslRequest: boolean;
  maxPacket?: number;
  charset?: number;
  username: string;
  authResponse: Buffer;
  database?: string;
  plugin?: string;
  attrs: Record<string, string>;
}

/** A bounds-checked cursor; every read throws a ParseError past the end. */
class Cursor {
  pos = 0;
  constructor(readonly buf: Buffer) {}
  get left(): number {
    return this.buf.length - this.pos;
  }
  need(n: number): void {
    if (n < 0 || this.pos + n > this.buf.length) throw new ParseError('truncated packet');
  }
  u8(): number {
    this.need(1);
    return this.buf[this.pos++]!;
  }
  uint(n: number): number {
    this.need(n);
    const v = this.buf.readUIntLE(this.pos, n);
    this.pos += n;
    return v;
  }
  bytes(n: number): Buffer {
    this.need(n);
    const b = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return Buffer.from(b);
  }
  cstr(): Buffer {
    const end = this.buf.indexOf(0, this.pos);
    if (end < 0) throw new ParseError('unterminated string');
    const b = this.buf.subarray(this.pos, end);
    this.pos = end + 1;
    return Buffer.from(b);
  }
  /** NUL-terminated, or to the end of the packet when the NUL is missing */
  cstrOrRest(): Buffer {
    return this.buf.indexOf(0, this.pos) < 0 ? this.bytes(this.left) : this.cstr();
  }
  lenenc(): number {
    const first = this.u8();
    if (first < 0xfb) return first;
    if (first === 0xfc) return this.uint(2);
    if (first === 0xfd) return this.uint(3);
    if (first === 0xfe) {
      const lo = this.uint(4);
      const hi = this.uint(4);
      if (hi !== 0) throw new ParseError('length too large');
      return lo;
    }
    throw new ParseError('bad length-encoded integer');
  }
}

export class ParseError extends Error {}

const MAX_ATTRS = 32;

/** Parse HandshakeResponse41 (or the old 320 form, or an SSLRequest). Throws ParseError when malformed. */
export function parseHandshakeResponse(payload: Buffer): HandshakeResponse {
  const c = new Cursor(payload);
  const low = c.uint(2);
  if (!(low & CLIENT.PROTOCOL_41)) {
    // HandshakeResponse320: caps(2) max-packet(3) user\0 auth-response
    const maxPacket = c.uint(3);
    const username = c.cstrOrRest().toString('utf8');
    const authResponse = c.left > 0 ? c.cstrOrRest() : Buffer.alloc(0);
    return { capabilities: low, sslRequest: false, maxPacket, username, authResponse, attrs: {} };
  }
  const capabilities = (low | (c.uint(2) << 16)) >>> 0;
  const maxPacket = c.uint(4);
  const charset = c.u8();
  c.bytes(23);
  if (c.left === 0) {
    if (capabilities & CLIENT.SSL) return { capabilities, sslRequest: true, maxPacket, charset, username: '', authResponse: Buffer.alloc(0), attrs: {} };
    throw new ParseError('truncated packet');
  }
  const username = c.cstr().toString('utf8');
  let authResponse: Buffer;
  if (capabilities & CLIENT.PLUGIN_AUTH_LENENC_CLIENT_DATA) authResponse = c.bytes(c.lenenc());
  else if (capabilities & CLIENT.SECURE_CONNECTION) authResponse = c.bytes(c.u8());
  else authResponse = c.cstr();
  const res: HandshakeResponse = { capabilities, sslRequest: false, maxPacket, charset, username, authResponse, attrs: {} };
  if (capabilities & CLIENT.CONNECT_WITH_DB && c.left > 0) res.database = c.cstrOrRest().toString('utf8');
  if (capabilities & CLIENT.PLUGIN_AUTH && c.left > 0) res.plugin = c.cstrOrRest().toString('latin1');
  if (capabilities & CLIENT.CONNECT_ATTRS && c.left > 0) {
    const total = c.lenenc();
    const attrs = new Cursor(c.bytes(Math.min(total, c.left)));
    while (attrs.left > 0 && Object.keys(res.attrs).length < MAX_ATTRS) {
      try {
        const k = attrs.bytes(attrs.lenenc()).toString('utf8').slice(0, 64);
        const v = attrs.bytes(attrs.lenenc()).toString('utf8').slice(0, 256);
        res.attrs[k] = v;
      } catch {
        break; // attributes are best-effort
      }
    }
  }
  return res;
}
