/**
 * MongoDB wire protocol codec (pure, no I/O): a bounded message framer and
 * parsers for OP_MSG (2013) and legacy OP_QUERY (2004), encoders for OP_MSG
 * and OP_REPLY (1). BSON is decoded with the `bson` package; every decode
 * error becomes a returned error, never a throw.
 */
import { BSON, type Document } from 'bson';

export const OP = { REPLY: 1, UPDATE: 2001, INSERT: 2002, QUERY: 2004, GET_MORE: 2005, DELETE: 2006, KILL_CURSORS: 2007, COMPRESSED: 2012, MSG: 2013 } as const;

/** Our bound for one message (the server's own is 48 000 000). */
export const MAX_MESSAGE = 1 << 20;
/** Max kind-1 document sequences per OP_MSG, and documents per message. */
export const MAX_SECTIONS = 16;
export const MAX_DOCS = 10_000;

/** OP_MSG flag bits */
export const MSG_FLAGS = { checksumPresent: 1 << 0, moreToCome: 1 << 1, exhaustAllowed: 1 << 16 } as const;

export interface Frame {
  length: number;
  requestId: number;
  responseTo: number;
  opCode: number;
  /** the whole message, header included */
  raw: Buffer;
}

export type FrameResult = Frame | { error: string; http?: boolean };

/** "GET " read as a little-endian int32 length: a web client on the driver port */
const HTTP_GET = 0x20544547;

/** Splits a byte stream into whole wire messages; stops for good after the first error. */
export class MessageReader {
  private buf: Buffer = Buffer.alloc(0);
  private failed = false;
  constructor(private readonly max = MAX_MESSAGE) {}

  feed(chunk: Buffer): FrameResult[] {
    if (this.failed) return [];
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    const out: FrameResult[] = [];
    while (this.buf.length >= 4) {
      const len = this.buf.readInt32LE(0);
      if (len === HTTP_GET) return this.fail(out, { error: 'HTTP request on the driver port', http: true });
      if (len < 16 || len > this.max) return this.fail(out, { error: `bad message length ${len}` });
      if (this.buf.length < len) break;
      const raw = Buffer.from(this.buf.subarray(0, len));
      this.buf = this.buf.subarray(len);
      out.push({ length: len, requestId: raw.readInt32LE(4), responseTo: raw.readInt32LE(8), opCode: raw.readInt32LE(12), raw });
    }
    return out;
  }

  private fail(out: FrameResult[], e: { error: string; http?: boolean }): FrameResult[] {
    this.failed = true;
    this.buf = Buffer.alloc(0);
    out.push(e);
    return out;
  }

  get buffered(): number {
    return this.buf.length;
  }
}

export class WireError extends Error {}

/** mongod's default maxBSONDepth */
export const MAX_BSON_DEPTH = 200;

const FIXED: Record<number, number> = { 0x01: 8, 0x06: 0, 0x07: 12, 0x08: 1, 0x09: 8, 0x0a: 0, 0x10: 4, 0x11: 8, 0x12: 8, 0x13: 16, 0x7f: 0, 0xff: 0 };

/**
 * Iterative structure check of the document at `off` (size already bounded):
 * element sizes stay inside their parents and nesting stays within `maxDepth`,
 * so the recursive decoder never sees a pathological tree. Unknown element
 * types are left for the decoder to reject.
 */
export function checkStructure(buf: Buffer, off: number, size: number, maxDepth = MAX_BSON_DEPTH): void {
  const ends: number[] = [off + size - 1];
  let p = off + 4;
  let elements = 0;
  while (ends.length > 0) {
    const end = ends[ends.length - 1]!;
    if (p === end) {
      if (buf[p] !== 0) throw new WireError('BSON document not terminated');
      ends.pop();
      p += 1;
      continue;
    }
    if (p > end) throw new WireError('BSON element overruns its document');
    if (++elements > 200_000) throw new WireError('too many BSON elements');
    const type = buf[p]!;
    const nul = buf.indexOf(0, p + 1);
    if (nul === -1 || nul >= end) throw new WireError('BSON field name not terminated');
    p = nul + 1;
    const need = (n: number) => {
      if (p + n > end) throw new WireError('BSON element overruns its document');
    };
    const fixed = FIXED[type];
    if (fixed !== undefined) {
      need(fixed);
      p += fixed;
    } else if (type === 0x02 || type === 0x0d || type === 0x0e || type === 0x0c) {
      need(4);
      const n = buf.readInt32LE(p);
      if (n < 1) throw new WireError('bad BSON string length');
      need(4 + n + (type === 0x0c ? 12 : 0));
      p += 4 + n + (type === 0x0c ? 12 : 0);
    } else if (type === 0x05) {
      need(5);
      const n = buf.readInt32LE(p);
      if (n < 0) throw new WireError('bad BSON binary length');
      need(5 + n);
      p += 5 + n;
    } else if (type === 0x0b) {
      for (let k = 0; k < 2; k++) {
        const z = buf.indexOf(0, p);
        if (z === -1 || z >= end) throw new WireError('BSON regex not terminated');
        p = z + 1;
      }
    } else if (type === 0x03 || type === 0x04 || type === 0x0f) {
      if (type === 0x0f) {
        // code with scope: int32 total, string, then the scope document
        need(8);
        const n = buf.readInt32LE(p + 4);
        if (n < 1) throw new WireError('bad BSON string length');
        need(8 + n);
        p += 8 + n;
      }
      need(5);
      const n = buf.readInt32LE(p);
      if (n < 5) throw new WireError('bad BSON document size');
      need(n);
      if (ends.length >= maxDepth) throw new WireError(`BSON nesting deeper than ${maxDepth}`);
      ends.push(p + n - 1);
      p += 4;
    } else {
      return; // let the decoder report the unknown type
    }
  }
}

/** Decode one BSON document at `off` (bounded by `end`), returning it and its size. */
export function readDocument(buf: Buffer, off: number, end = buf.length): { doc: Document; size: number } {
  if (off + 5 > end) throw new WireError('truncated BSON document');
  const size = buf.readInt32LE(off);
  if (size < 5 || off + size > end) throw new WireError(`bad BSON document size ${size}`);
  checkStructure(buf, off, size);
  let doc: Document;
  try {
    doc = BSON.deserialize(buf.subarray(off, off + size), { promoteBuffers: false, validation: { utf8: false } });
  } catch (err) {
    throw new WireError(`invalid BSON: ${err instanceof RangeError ? 'nesting too deep' : (err as Error).message}`.slice(0, 200));
  }
  return { doc, size };
}

function readCString(buf: Buffer, off: number, end: number): { s: string; next: number } {
  const nul = buf.indexOf(0, off);
  if (nul === -1 || nul >= end) throw new WireError('unterminated cstring');
  if (nul - off > 1024) throw new WireError('cstring too long');
  return { s: buf.toString('utf8', off, nul), next: nul + 1 };
}

export interface OpMsg {
  op: 'msg';
  requestId: number;
  flags: number;
  body: Document;
  sequences: { id: string; docs: Document[] }[];
  checksum: boolean;
}

export interface OpQuery {
  op: 'query';
  requestId: number;
  flags: number;
  collection: string;
  skip: number;
  limit: number;
  query: Document;
}

export interface OpOther {
  op: 'other';
  requestId: number;
  opCode: number;
}

export type Message = OpMsg | OpQuery | OpOther;

export function parseOpMsg(f: Frame): OpMsg {
  const b = f.raw;
  if (b.length < 21) throw new WireError('OP_MSG too short');
  const flags = b.readUInt32LE(16);
  const checksum = (flags & MSG_FLAGS.checksumPresent) !== 0;
  // bits 0-15 are "required": a server rejects ones it does not know
  if (flags & 0xfffc) throw new WireError(`Unrecognized required bits in OP_MSG flags: ${flags & 0xfffc}`);
  const end = b.length - (checksum ? 4 : 0);
  if (end < 21) throw new WireError('OP_MSG too short');
  let off = 20;
  let body: Document | undefined;
  const sequences: OpMsg['sequences'] = [];
  let docCount = 0;
  while (off < end) {
    const kind = b[off]!;
    off += 1;
    if (kind === 0) {
      if (body) throw new WireError('Multiple body sections in message');
      const { doc, size } = readDocument(b, off, end);
      body = doc;
      off += size;
    } else if (kind === 1) {
      if (sequences.length >= MAX_SECTIONS) throw new WireError('too many document sequences');
      if (off + 4 > end) throw new WireError('truncated document sequence');
      const size = b.readInt32LE(off);
      const secEnd = off + size;
      if (size < 5 || secEnd > end) throw new WireError(`bad document sequence size ${size}`);
      const { s: id, next } = readCString(b, off + 4, secEnd);
      const docs: Document[] = [];
      let p = next;
      while (p < secEnd) {
        if (++docCount > MAX_DOCS) throw new WireError('too many documents');
        const r = readDocument(b, p, secEnd);
        docs.push(r.doc);
        p += r.size;
      }
      sequences.push({ id, docs });
      off = secEnd;
    } else {
      throw new WireError(`Unknown section kind ${kind}`);
    }
  }
  if (!body) throw new WireError('OP_MSG messages must have a body');
  return { op: 'msg', requestId: f.requestId, flags, body, sequences, checksum };
}

export function parseOpQuery(f: Frame): OpQuery {
  const b = f.raw;
  if (b.length < 20 + 1 + 8 + 5) throw new WireError('OP_QUERY too short');
  const flags = b.readInt32LE(16);
  const { s: collection, next } = readCString(b, 20, b.length);
  if (next + 8 > b.length) throw new WireError('OP_QUERY too short');
  const skip = b.readInt32LE(next);
  const limit = b.readInt32LE(next + 4);
  const { doc } = readDocument(b, next + 8, b.length);
  return { op: 'query', requestId: f.requestId, flags, collection, skip, limit, query: doc };
}

/** Parse a framed message; throws WireError on malformed input (callers catch). */
export function parseMessage(f: Frame): Message {
  if (f.opCode === OP.MSG) return parseOpMsg(f);
  if (f.opCode === OP.QUERY) return parseOpQuery(f);
  return { op: 'other', requestId: f.requestId, opCode: f.opCode };
}

/** parseMessage that never throws */
export function tryParse(f: Frame): Message | { error: string } {
  try {
    return parseMessage(f);
  } catch (err) {
    return { error: err instanceof WireError ? err.message : `parse failure: ${String(err).slice(0, 200)}` };
  }
}

function header(len: number, requestId: number, responseTo: number, opCode: number): Buffer {
  const h = Buffer.alloc(16);
  h.writeInt32LE(len, 0);
  h.writeInt32LE(requestId, 4);
  h.writeInt32LE(responseTo, 8);
  h.writeInt32LE(opCode, 12);
  return h;
}

/** OP_MSG with one kind-0 body section and no checksum. */
export function encodeOpMsg(requestId: number, responseTo: number, doc: Document, flags = 0): Buffer {
  const body = Buffer.from(BSON.serialize(doc));
  const pre = Buffer.alloc(5);
  pre.writeUInt32LE(flags >>> 0, 0);
  pre[4] = 0;
  return Buffer.concat([header(16 + 5 + body.length, requestId, responseTo, OP.MSG), pre, body]);
}

/** OP_REPLY carrying `docs` (responseFlags: 2 = QueryFailure, 8 = AwaitCapable). */
export function encodeOpReply(requestId: number, responseTo: number, docs: Document[], responseFlags = 8): Buffer {
  const bodies = docs.map((d) => Buffer.from(BSON.serialize(d)));
  const fixed = Buffer.alloc(20);
  fixed.writeInt32LE(responseFlags, 0);
  // cursorID (int64) 0, startingFrom 0
  fixed.writeInt32LE(docs.length, 16);
  const len = 16 + 20 + bodies.reduce((n, b) => n + b.length, 0);
  return Buffer.concat([header(len, requestId, responseTo, OP.REPLY), fixed, ...bodies]);
}

/** What mongod answers to an HTTP request on the driver port (2.5.1 and later). */
export const HTTP_ON_DRIVER_PORT =
  'HTTP/1.0 200 OK\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: 84\r\n\r\n' +
  'It looks like you are trying to access MongoDB over HTTP on the native driver port.\n';
