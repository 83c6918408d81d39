/**
 * IMAP input, bounded: assembles command lines with their literals
 * (`{n}` synchronising, `{n+}` LITERAL+), and tokenises a command into atoms,
 * strings (quoted or literal) and parenthesised lists. Pure; no I/O.
 */

export const IMAP_LIMITS = {
  maxLine: 8 * 1024,
  /** one literal (APPEND of a big message is refused above this) */
  maxLiteral: 1024 * 1024,
  /** a whole command: lines and literals */
  maxCommand: 1100 * 1024,
  maxTokens: 512,
  maxDepth: 8,
};

/** A piece of an assembled command: text of a line, or the bytes of a literal. */
export type Segment = { text: string } | { literal: Buffer };

export type ReaderOutput =
  | { type: 'command'; segments: Segment[] }
  /** the client announced a synchronising literal: send "+ OK" */
  | { type: 'continue' }
  | { type: 'error'; reason: string };

export class ImapReader {
  private buf: Buffer = Buffer.alloc(0);
  private segments: Segment[] = [];
  private size = 0;
  private literal = 0;
  /** raw line mode: each line is a command of one text segment (SASL responses, IDLE's DONE) */
  raw = false;
  private failed = false;

  constructor(private readonly limits = IMAP_LIMITS) {}

  get buffered(): number {
    return this.buf.length;
  }

  feed(chunk: Buffer): ReaderOutput[] {
    const out: ReaderOutput[] = [];
    if (this.failed) return out;
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    for (;;) {
      if (this.literal > 0) {
        if (this.buf.length < this.literal) break;
        this.segments.push({ literal: this.buf.subarray(0, this.literal) });
        this.buf = this.buf.subarray(this.literal);
        this.literal = 0;
        continue;
      }
      const lf = this.buf.indexOf(0x0a);
      if (lf < 0) {
        if (this.buf.length > this.limits.maxLine) return this.fail(out, 'line too long');
        break;
      }
      if (lf > this.limits.maxLine) return this.fail(out, 'line too long');
      const line = this.buf.subarray(0, lf > 0 && this.buf[lf - 1] === 0x0d ? lf - 1 : lf).toString('utf8');
      this.buf = this.buf.subarray(lf + 1);
      this.size += line.length;
      if (this.size > this.limits.maxCommand) return this.fail(out, 'command too long');
      const m = this.raw ? null : /\{(\d{1,10})(\+?)\}$/.exec(line);
      if (m) {
        const n = Number(m[1]);
        if (n > this.limits.maxLiteral || this.size + n > this.limits.maxCommand) return this.fail(out, 'literal too big');
        this.segments.push({ text: line.slice(0, m.index) });
        this.size += n;
        if (n === 0) this.segments.push({ literal: Buffer.alloc(0) });
        else {
          this.literal = n;
          if (m[2] !== '+') out.push({ type: 'continue' });
        }
        continue;
      }
      this.segments.push({ text: line });
      out.push({ type: 'command', segments: this.segments });
      this.segments = [];
      this.size = 0;
    }
    return out;
  }

  private fail(out: ReaderOutput[], reason: string): ReaderOutput[] {
    this.failed = true;
    this.buf = Buffer.alloc(0);
    this.segments = [];
    out.push({ type: 'error', reason });
    return out;
  }
}

export type Token = { atom: string } | { str: Buffer } | { list: Token[] } | { nil: true };

export class ParseError extends Error {}

/** Tokens of an assembled command. Atoms keep `[...]` sections whole (BODY[HEADER.FIELDS (FROM)]). */
export function tokenize(segments: Segment[], limits = IMAP_LIMITS): Token[] {
  const stack: Token[][] = [[]];
  let count = 0;
  const push = (t: Token) => {
    if (++count > limits.maxTokens) throw new ParseError('too many tokens');
    stack[stack.length - 1]!.push(t);
  };
  for (const seg of segments) {
    if ('literal' in seg) {
      push({ str: seg.literal });
      continue;
    }
    const s = seg.text;
    let i = 0;
    while (i < s.length) {
      const c = s[i]!;
      if (c === ' ') {
        i++;
      } else if (c === '(') {
        if (stack.length > limits.maxDepth) throw new ParseError('lists nested too deep');
        const list: Token[] = [];
        push({ list });
        stack.push(list);
        i++;
      } else if (c === ')') {
        if (stack.length === 1) throw new ParseError('unbalanced )');
        stack.pop();
        i++;
      } else if (c === '"') {
        let j = i + 1;
        let v = '';
        while (j < s.length && s[j] !== '"') {
          if (s[j] === '\\' && j + 1 < s.length) j++;
          v += s[j];
          j++;
        }
        if (j >= s.length) throw new ParseError('unterminated string');
        push({ str: Buffer.from(v, 'utf8') });
        i = j + 1;
      } else {
        let j = i;
        let depth = 0;
        while (j < s.length) {
          const d = s[j]!;
          if (d === '[') depth++;
          else if (d === ']') depth = Math.max(0, depth - 1);
          else if (depth === 0 && (d === ' ' || d === '(' || d === ')' || d === '"')) break;
          j++;
        }
        const a = s.slice(i, j);
        push(a.toUpperCase() === 'NIL' ? { nil: true } : { atom: a });
        i = j;
      }
    }
  }
  if (stack.length !== 1) throw new ParseError('unbalanced (');
  return stack[0]!;
}

/** A token as a string (atom or string), or undefined. */
export function asString(t: Token | undefined): string | undefined {
  if (!t) return undefined;
  if ('atom' in t) return t.atom;
  if ('str' in t) return t.str.toString('utf8');
  return undefined;
}

/** Message numbers (or UIDs) of a sequence set such as `1:3,5,7:*` among `max` (the highest), ascending. */
export function parseSequenceSet(set: string, max: number, limit = 10_000): number[] | undefined {
  if (!/^[0-9*:,]+$/.test(set)) return undefined;
  const out = new Set<number>();
  for (const part of set.split(',')) {
    const [a, b] = part.split(':');
    const num = (x: string | undefined) => (x === '*' ? max : x !== undefined && /^\d{1,10}$/.test(x) ? Number(x) : NaN);
    const lo = num(a);
    const hi = b === undefined ? lo : num(b);
    if (!Number.isFinite(lo) || !Number.isFinite(hi) || part.split(':').length > 2) return undefined;
    const from = Math.min(lo, hi);
    const to = Math.min(Math.max(lo, hi), max);
    for (let n = Math.max(from, 1); n <= to && out.size < limit; n++) out.add(n);
  }
  return [...out].sort((x, y) => x - y);
}
