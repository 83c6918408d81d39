import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { array, bulk, encode, error, int, parseCommand, RespReader, simple, splitArgs } from './resp.js';

const strs = (argv: Buffer[]) => argv.map((b) => b.toString());
const mb = (...args: string[]) => Buffer.from(`*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`);

describe('parseCommand', () => {
  it('parses a multibulk command and reports bytes consumed', () => {
    const buf = Buffer.concat([mb('SET', 'k', 'v a l'), Buffer.from('rest')]);
    const r = parseCommand(buf);
    expect(r.type).toBe('command');
    if (r.type !== 'command') return;
    expect(strs(r.argv)).toEqual(['SET', 'k', 'v a l']);
    expect(r.consumed).toBe(buf.length - 4);
  });

  it('waits for incomplete input at every split point', () => {
    const full = mb('CONFIG', 'SET', 'dir', '/var/spool/cron');
    for (let i = 0; i < full.length; i++) expect(parseCommand(full.subarray(0, i)).type).toBe('incomplete');
    expect(parseCommand(full).type).toBe('command');
  });

  it('parses inline commands with quotes and escapes', () => {
    const r = parseCommand(Buffer.from('set "a b" \'c d\' "\\x41\\n"\r\n'));
    expect(r.type === 'command' && strs(r.argv)).toEqual(['set', 'a b', 'c d', 'A\n']);
  });

  it('rejects malformed input with redis-like messages', () => {
    expect(parseCommand(Buffer.from('*x\r\n'))).toEqual({ type: 'error', message: 'Protocol error: invalid multibulk length' });
    expect(parseCommand(Buffer.from('*2000\r\n'))).toMatchObject({ type: 'error' });
    expect(parseCommand(Buffer.from('*1\r\n+OK\r\n'))).toEqual({ type: 'error', message: "Protocol error: expected '$', got '+'" });
    expect(parseCommand(Buffer.from('*1\r\n$99999999\r\n'))).toEqual({ type: 'error', message: 'Protocol error: invalid bulk length' });
    expect(parseCommand(Buffer.from('get "abc\r\n'))).toEqual({ type: 'error', message: 'Protocol error: unbalanced quotes in request' });
    expect(parseCommand(Buffer.alloc(70 * 1024, 0x61))).toEqual({ type: 'error', message: 'Protocol error: too big inline request' });
  });

  it('splitArgs handles empty and whitespace-only lines', () => {
    expect(splitArgs(Buffer.from(''))).toEqual([]);
    expect(splitArgs(Buffer.from('  \t '))).toEqual([]);
    expect(splitArgs(Buffer.from('"a"b'))).toBeNull();
  });
});

describe('RespReader', () => {
  it('reassembles commands across arbitrary chunk boundaries', () => {
    const stream = Buffer.concat([mb('PING'), Buffer.from('ECHO hi\r\n'), mb('GET', 'x'), Buffer.from('\r\n')]);
    fc.assert(
      fc.property(fc.array(fc.nat(stream.length), { maxLength: 6 }), (cuts) => {
        const points = [...new Set(cuts)].sort((a, b) => a - b);
        const r = new RespReader();
        const out: string[][] = [];
        let prev = 0;
        for (const p of [...points, stream.length]) {
          for (const f of r.feed(stream.subarray(prev, p))) if ('argv' in f) out.push(strs(f.argv));
          prev = p;
        }
        expect(out).toEqual([['PING'], ['ECHO', 'hi'], ['GET', 'x']]);
      }),
    );
  });

  it('fails once and then ignores input', () => {
    const r = new RespReader();
    expect(r.feed(Buffer.from('*1\r\n:1\r\n'))).toEqual([{ error: "Protocol error: expected '$', got ':'" }]);
    expect(r.feed(Buffer.from('PING\r\n'))).toEqual([]);
  });

  it('bounds the buffered bytes', () => {
    const r = new RespReader({ maxBulk: 1 << 20, maxArray: 10, maxInline: 100, maxBuffer: 4096 });
    const out = r.feed(Buffer.concat([Buffer.from('*1\r\n$100000\r\n'), Buffer.alloc(5000)]));
    expect(out).toEqual([{ error: 'Protocol error: request too large' }]);
  });

  it('stays linear when a large bulk arrives in tiny pieces', () => {
    const value = Buffer.alloc(500 * 1024, 0x62);
    const wire = Buffer.concat([Buffer.from(`*2\r\n$3\r\nSET\r\n$${value.length}\r\n`), value, Buffer.from('\r\n')]);
    const r = new RespReader();
    const started = Date.now();
    const out = [];
    for (let i = 0; i < wire.length; i += 16) out.push(...r.feed(wire.subarray(i, i + 16)));
    expect(Date.now() - started).toBeLessThan(3000);
    expect(out).toHaveLength(1);
    expect('argv' in out[0]! && out[0].argv[1]!.equals(value)).toBe(true);
  });

  it('fuzz: arbitrary bytes never throw and output stays bounded', () => {
    const limits = { maxBulk: 64, maxArray: 8, maxInline: 128, maxBuffer: 512 };
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 10 }), (chunks) => {
        const r = new RespReader(limits);
        for (const c of chunks) {
          for (const f of r.feed(Buffer.from(c))) {
            if ('argv' in f) {
              expect(f.argv.length).toBeLessThanOrEqual(limits.maxArray);
              for (const a of f.argv) expect(a.length).toBeLessThanOrEqual(limits.maxInline);
            }
          }
          expect(r.buffered).toBeLessThanOrEqual(limits.maxBuffer);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('fuzz: protocol-shaped input never throws', () => {
    const token = fc.oneof(
      fc.constantFrom('*', '$', '\r\n', '\n', '"', "'", '\\x', '-1', '0', '3', '99999999999999999999', ' '),
      fc.string({ maxLength: 5 }),
    );
    fc.assert(
      fc.property(fc.array(token, { maxLength: 40 }), (parts) => {
        const r = new RespReader({ maxBulk: 64, maxArray: 8, maxInline: 128, maxBuffer: 512 });
        r.feed(Buffer.from(parts.join('')));
      }),
      { numRuns: 2000 },
    );
  });
});

describe('encode', () => {
  it('encodes every reply type', () => {
    expect(encode(simple('OK')).toString()).toBe('+OK\r\n');
    expect(encode(error('ERR x\r\ny')).toString()).toBe('-ERR x y\r\n');
    expect(encode(int(42)).toString()).toBe(':42\r\n');
    expect(encode(bulk(null)).toString()).toBe('$-1\r\n');
    expect(encode(bulk('héllo')).toString()).toBe('$6\r\nhéllo\r\n');
    expect(encode(array([bulk('a'), int(1)])).toString()).toBe('*2\r\n$1\r\na\r\n:1\r\n');
    expect(encode(array(null)).toString()).toBe('*-1\r\n');
  });

  it('round-trips commands through the parser', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 50 }), { minLength: 1, maxLength: 8 }), (args) => {
        const wire = encode(array(args.map((a) => bulk(Buffer.from(a)))));
        const r = parseCommand(wire);
        expect(r.type === 'command' && r.argv.map((b) => [...b])).toEqual(args.map((a) => [...a]));
      }),
    );
  });
});
