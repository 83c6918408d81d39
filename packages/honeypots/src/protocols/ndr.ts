/**
 * A small NDR (C706 chapter 14, MS-RPCE 2.2.5) reader and writer: just enough for the
 * srvsvc / wkssvc calls the SMB decoy answers. Alignment is relative to the start of
 * the stub, which the PDU layer keeps 8-aligned. The reader is bounded: every count
 * from the wire is checked against the bytes left, and violations throw NdrError,
 * which the RPC layer turns into a FAULT (never out of the session).
 */

export class NdrError extends Error {}

/** Longest string (in UTF-16 units) we accept from a client: server and share names are short. */
export const NDR_MAX_STRING = 4096;

export class NdrReader {
  private pos = 0;

  constructor(
    private readonly buf: Buffer,
    private readonly littleEndian = true,
  ) {}

  get offset(): number {
    return this.pos;
  }

  get remaining(): number {
    return this.buf.length - this.pos;
  }

  align(n: number): void {
    const pad = (n - (this.pos % n)) % n;
    this.need(pad);
    this.pos += pad;
  }

  private need(n: number): void {
    if (n < 0 || this.pos + n > this.buf.length) throw new NdrError('NDR: ran off the end of the stub');
  }

  u8(): number {
    this.need(1);
    return this.buf[this.pos++]!;
  }

  u16(): number {
    this.align(2);
    this.need(2);
    const v = this.littleEndian ? this.buf.readUInt16LE(this.pos) : this.buf.readUInt16BE(this.pos);
    this.pos += 2;
    return v;
  }

  u32(): number {
    this.align(4);
    this.need(4);
    const v = this.littleEndian ? this.buf.readUInt32LE(this.pos) : this.buf.readUInt32BE(this.pos);
    this.pos += 4;
    return v;
  }

  /** A unique/full pointer's referent id (0 = null). */
  ptr(): number {
    return this.u32();
  }

  /** A conformant varying string of wchar_t ([string] wchar_t*): max_count, offset, actual_count, units. */
  wstr(): string {
    const max = this.u32();
    const offset = this.u32();
    const actual = this.u32();
    if (actual > max || offset > max - actual || actual > NDR_MAX_STRING) throw new NdrError('NDR: bad string bounds');
    this.need(actual * 2);
    const units = Buffer.from(this.buf.subarray(this.pos, this.pos + actual * 2));
    if (!this.littleEndian) units.swap16();
    this.pos += actual * 2;
    const s = units.toString('utf16le');
    const nul = s.indexOf('\0');
    return nul >= 0 ? s.slice(0, nul) : s;
  }

  /** A unique pointer to a [string] wchar_t: null -> undefined. */
  uniqueWstr(): string | undefined {
    return this.ptr() === 0 ? undefined : this.wstr();
  }
}

/** First referent id Windows uses in its responses (then +4 per pointer). */
const REFERENT_BASE = 0x00020000;

export class NdrWriter {
  private chunks: Buffer[] = [];
  private len = 0;
  private referent = REFERENT_BASE;

  get length(): number {
    return this.len;
  }

  private push(b: Buffer): void {
    this.chunks.push(b);
    this.len += b.length;
  }

  align(n: number): this {
    const pad = (n - (this.len % n)) % n;
    if (pad) this.push(Buffer.alloc(pad));
    return this;
  }

  u16(v: number): this {
    this.align(2);
    const b = Buffer.alloc(2);
    b.writeUInt16LE(v & 0xffff);
    this.push(b);
    return this;
  }

  u32(v: number): this {
    this.align(4);
    const b = Buffer.alloc(4);
    b.writeUInt32LE(v >>> 0);
    this.push(b);
    return this;
  }

  /** A unique pointer: a fresh referent id when present, 0 when null. */
  ptr(present: boolean): this {
    if (!present) return this.u32(0);
    const id = this.referent;
    this.referent += 4;
    return this.u32(id);
  }

  /** A conformant varying NUL-terminated wchar_t string (the pointee of an LPWSTR). */
  wstr(s: string): this {
    const units = Buffer.from(`${s}\0`, 'utf16le');
    const count = units.length / 2;
    this.u32(count).u32(0).u32(count);
    this.push(units);
    return this;
  }

  bytes(): Buffer {
    return Buffer.concat(this.chunks, this.len);
  }
}
