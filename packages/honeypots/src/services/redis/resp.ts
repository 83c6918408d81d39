/**
 * RESP2 (REdis Serialization Protocol) codec: a pure, incremental, bounded
 * command parser (multibulk and inline forms) and a reply encoder.
 * No I/O here; the redis service feeds socket chunks into a RespReader.
 */

export interface RespLimits {
  /** largest accepted bulk string, bytes */
  maxBulk: number;
  /** most elements in one multibulk command */
  maxArray: number;
  /** longest inline command line, bytes */
  maxInline: number;
  /** most bytes buffered while waiting for a command to complete */
  maxBuffer: number;
}

export const DEFAULT_RESP_LIMITS: RespLimits = {
  maxBulk: 512 * 1024,
  maxArray: 1024,
  maxInline: 64 * 1024,
  maxBuffer: 1024 * 1024,
};

export type ParseResult =
  | { type: 'command'; argv: Buffer[]; consumed: number }
  | { type: 'incomplete'; /** total buffer length needed before parsing again can succeed */ need?: number }
  | { type: 'error'; message: string };

const CR = 0x0d;
const LF = 0x0a;
/** longest "*<n>\r\n" / "$<n>\r\n" header we wait for before calling it garbage */
const MAX_HEADER = 32;

/** Parse one command at the start of `buf`. Empty commands come back as argv []. */
export function parseCommand(buf: Buffer, limits: RespLimits = DEFAULT_RESP_LIMITS): ParseResult {
  if (buf.length === 0) return { type: 'incomplete' };
  return buf[0] === 0x2a /* '*' */ ? parseMultibulk(buf, limits) : parseInline(buf, limits);
}

/** Read "<prefix><int>\r\n" at `pos`; null = incomplete, NaN value = malformed. */
function readHeader(buf: Buffer, pos: number): { value: number; next: number } | null | 'bad' {
  const end = buf.indexOf(LF, pos);
  if (end < 0) return buf.length - pos > MAX_HEADER ? 'bad' : null;
  if (end - pos > MAX_HEADER) return 'bad';
  const text = buf.toString('latin1', pos + 1, end > pos && buf[end - 1] === CR ? end - 1 : end);
  if (!/^-?\d{1,18}$/.test(text)) return 'bad';
  return { value: Number(text), next: end + 1 };
}

function parseMultibulk(buf: Buffer, limits: RespLimits): ParseResult {
  const head = readHeader(buf, 0);
  if (head === null) return { type: 'incomplete' };
  if (head === 'bad' || head.value > limits.maxArray) return { type: 'error', message: 'Protocol error: invalid multibulk length' };
  if (head.value <= 0) return { type: 'command', argv: [], consumed: head.next };
  const argv: Buffer[] = [];
  let pos = head.next;
  for (let i = 0; i < head.value; i++) {
    if (pos >= buf.length) return { type: 'incomplete' };
    if (buf[pos] !== 0x24 /* '$' */) {
      return { type: 'error', message: `Protocol error: expected '$', got '${printableChar(buf[pos]!)}'` };
    }
    const bulk = readHeader(buf, pos);
    if (bulk === null) return { type: 'incomplete' };
    if (bulk === 'bad' || bulk.value < 0 || bulk.value > limits.maxBulk) {
      return { type: 'error', message: 'Protocol error: invalid bulk length' };
    }
    if (buf.length < bulk.next + bulk.value + 2) return { type: 'incomplete', need: bulk.next + bulk.value + 2 };
    argv.push(Buffer.from(buf.subarray(bulk.next, bulk.next + bulk.value)));
    pos = bulk.next + bulk.value + 2;
  }
  return { type: 'command', argv, consumed: pos };
}

function parseInline(buf: Buffer, limits: RespLimits): ParseResult {
  const end = buf.indexOf(LF);
  if (end < 0) {
    return buf.length > limits.maxInline ? { type: 'error', message: 'Protocol error: too big inline request' } : { type: 'incomplete' };
  }
  if (end > limits.maxInline) return { type: 'error', message: 'Protocol error: too big inline request' };
  const line = buf.subarray(0, end > 0 && buf[end - 1] === CR ? end - 1 : end);
  const argv = splitArgs(line);
  if (argv === null) return { type: 'error', message: 'Protocol error: unbalanced quotes in request' };
  if (argv.length > limits.maxArray) return { type: 'error', message: 'Protocol error: invalid multibulk length' };
  return { type: 'command', argv, consumed: end + 1 };
}

function printableChar(b: number): string {
  return b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : `\\x${b.toString(16).padStart(2, '0')}`;
}

const isSpace = (b: number | undefined) => b === 0x20 || b === 0x09 || b === 0x0d || b === 0x0a || b === 0x0b || b === 0x0c;
const hexVal = (b: number | undefined): number => {
  if (b === undefined) return -1;
  if (b >= 0x30 && b <= 0x39) return b - 0x30;
  if (b >= 0x61 && b <= 0x66) return b - 0x57;
  if (b >= 0x41 && b <= 0x46) return b - 0x37;
  return -1;
};
const ESCAPES: Record<number, number> = { 0x6e: 0x0a, 0x72: 0x0d, 0x74: 0x09, 0x62: 0x08, 0x61: 0x07 };

/** Split an inline command like redis-cli does: whitespace, "double" (with escapes) and 'single' quotes. null = unbalanced. */
export function splitArgs(line: Buffer): Buffer[] | null {
  const out: Buffer[] = [];
  let i = 0;
  while (true) {
    while (i < line.length && isSpace(line[i])) i++;
    if (i >= line.length) return out;
    const cur: number[] = [];
    let inDq = false;
    let inSq = false;
    for (;;) {
      const c = line[i];
      if (inDq) {
        if (c === undefined) return null;
        if (c === 0x5c && line[i + 1] === 0x78 && hexVal(line[i + 2]) >= 0 && hexVal(line[i + 3]) >= 0) {
          cur.push(hexVal(line[i + 2]) * 16 + hexVal(line[i + 3]));
          i += 3;
        } else if (c === 0x5c && line[i + 1] !== undefined) {
          i++;
          const e = line[i]!;
          cur.push(ESCAPES[e] ?? e);
        } else if (c === 0x22) {
          if (line[i + 1] !== undefined && !isSpace(line[i + 1])) return null;
          inDq = false;
          i++;
          break;
        } else cur.push(c);
      } else if (inSq) {
        if (c === undefined) return null;
        if (c === 0x5c && line[i + 1] === 0x27) {
          i++;
          cur.push(0x27);
        } else if (c === 0x27) {
          if (line[i + 1] !== undefined && !isSpace(line[i + 1])) return null;
          inSq = false;
          i++;
          break;
        } else cur.push(c);
      } else {
        if (c === undefined || isSpace(c)) break;
        if (c === 0x22) inDq = true;
        else if (c === 0x27) inSq = true;
        else cur.push(c);
      }
      i++;
    }
    out.push(Buffer.from(cur));
  }
}

/**
 * Incremental reader: feed socket chunks, get complete commands back. After a protocol
 * error (or the buffer limit) it returns the error once and ignores further input,
 * as redis replies with the error and closes the connection.
 */
export class RespReader {
  /** unparsed input, kept as a chunk list so a large command arriving in small pieces costs O(n) */
  private chunks: Buffer[] = [];
  private length = 0;
  /** do not re-parse before this many bytes are buffered */
  private need = 0;
  private failed = false;

  constructor(private readonly limits: RespLimits = DEFAULT_RESP_LIMITS) {}

  feed(chunk: Buffer): Array<{ argv: Buffer[] } | { error: string }> {
    const out: Array<{ argv: Buffer[] } | { error: string }> = [];
    if (this.failed || chunk.length === 0) return out;
    this.chunks.push(chunk);
    this.length += chunk.length;
    if (this.length > this.limits.maxBuffer) return this.fail(out, 'Protocol error: request too large');
    if (this.length < this.need) return out;
    let buf = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks, this.length);
    for (;;) {
      const r = parseCommand(buf, this.limits);
      if (r.type === 'incomplete') {
        this.need = r.need ?? 0;
        break;
      }
      if (r.type === 'error') return this.fail(out, r.message);
      buf = buf.subarray(r.consumed);
      if (r.argv.length > 0) out.push({ argv: r.argv });
    }
    // copy the remainder so consumed chunks can be collected
    this.chunks = buf.length === 0 ? [] : [Buffer.from(buf)];
    this.length = buf.length;
    return out;
  }

  get buffered(): number {
    return this.length;
  }

  private fail(out: Array<{ argv: Buffer[] } | { error: string }>, message: string) {
    this.failed = true;
    this.chunks = [];
    this.length = 0;
    out.push({ error: message });
    return out;
  }
}

// ---- replies ----

export type RespValue =
  | { t: 'simple'; v: string }
  | { t: 'error'; v: string }
  | { t: 'int'; v: number }
  | { t: 'bulk'; v: Buffer | string | null }
  | { t: 'array'; v: RespValue[] | null };

export const simple = (v: string): RespValue => ({ t: 'simple', v });
export const error = (v: string): RespValue => ({ t: 'error', v });
export const int = (v: number): RespValue => ({ t: 'int', v });
export const bulk = (v: Buffer | string | null): RespValue => ({ t: 'bulk', v });
export const array = (v: RespValue[] | null): RespValue => ({ t: 'array', v });

const oneLine = (s: string) => s.replace(/[\r\n]+/g, ' ');

export function encode(value: RespValue): Buffer {
  switch (value.t) {
    case 'simple':
      return Buffer.from(`+${oneLine(value.v)}\r\n`);
    case 'error':
      return Buffer.from(`-${oneLine(value.v)}\r\n`);
    case 'int':
      return Buffer.from(`:${Math.trunc(value.v)}\r\n`);
    case 'bulk': {
      if (value.v === null) return Buffer.from('$-1\r\n');
      const b = typeof value.v === 'string' ? Buffer.from(value.v) : value.v;
      return Buffer.concat([Buffer.from(`$${b.length}\r\n`), b, Buffer.from('\r\n')]);
    }
    case 'array':
      if (value.v === null) return Buffer.from('*-1\r\n');
      return Buffer.concat([Buffer.from(`*${value.v.length}\r\n`), ...value.v.map(encode)]);
  }
}
