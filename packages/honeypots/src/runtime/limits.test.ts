import net from 'node:net';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { connInfo, createLineReader, safeSocket, stripV4Mapped } from './limits.js';

describe('createLineReader', () => {
  it('splits lines across chunks and strips CR', () => {
    const lines: string[] = [];
    const r = createLineReader({ onLine: (l) => lines.push(l.toString()), onOverflow: () => lines.push('OVERFLOW') });
    r.push(Buffer.from('US'));
    r.push(Buffer.from('ER a\r\nPA'));
    r.push(Buffer.from('SS b\nQUIT\r\n'));
    expect(lines).toEqual(['USER a', 'PASS b', 'QUIT']);
    expect(r.buffered).toBe(0);
  });
  it('overflows on an overlong line and then ignores input', () => {
    const lines: string[] = [];
    let overflows = 0;
    const r = createLineReader({ maxLine: 8, onLine: (l) => lines.push(l.toString()), onOverflow: () => overflows++ });
    r.push(Buffer.from('ok\n0123456789'));
    r.push(Buffer.from('more\n'));
    expect(lines).toEqual(['ok']);
    expect(overflows).toBe(1);
  });
  it('fuzz: never throws, never buffers more than the bound, lines never exceed maxLine', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 20 }), (chunks) => {
        const r = createLineReader({
          maxLine: 64,
          maxBuffered: 128,
          onLine: (l) => expect(l.length).toBeLessThanOrEqual(64),
          onOverflow: () => undefined,
        });
        for (const c of chunks) {
          r.push(Buffer.from(c));
          expect(r.buffered).toBeLessThanOrEqual(128);
        }
      }),
    );
  });
});

describe('socket helpers', () => {
  it('strips IPv4-mapped prefixes only', () => {
    expect(stripV4Mapped('::ffff:10.1.2.3')).toBe('10.1.2.3');
    expect(stripV4Mapped('fe80::1')).toBe('fe80::1');
    expect(stripV4Mapped(undefined)).toBe('');
  });
  it('connInfo reports peer and local port; safeSocket absorbs errors', async () => {
    const server = net.createServer();
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as net.AddressInfo).port;
    const got = new Promise<ReturnType<typeof connInfo>>((resolve) =>
      server.once('connection', (s) => {
        safeSocket(s);
        resolve(connInfo(s));
        s.emit('error', new Error('synthetic'));
      }),
    );
    const c = net.connect(port, '127.0.0.1');
    c.on('error', () => undefined);
    const info = await got;
    expect(info.src_ip).toBe('127.0.0.1');
    expect(info.dst_port).toBe(port);
    expect(info.src_port).toBeGreaterThan(0);
    c.destroy();
    await new Promise<void>((r) => server.close(() => r()));
  });
});
