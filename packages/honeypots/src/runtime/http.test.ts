import { createHash } from 'node:crypto';
import net from 'node:net';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { headerOrderFingerprint, MAX_HEADER_ORDER, startHttpService } from './http.js';
import { makeTestContext } from './test-context.js';

describe('HTTP header-order fingerprint', () => {
  it('lower-cases the names in received order and hashes them', () => {
    const fp = headerOrderFingerprint(['Host', 'x', 'User-Agent', 'curl/8.5.0', 'Accept', '*/*', 'accept', 'text/html']);
    expect(fp.http_header_order).toBe('host,user-agent,accept,accept');
    expect(fp.http_fp).toBe(createHash('sha256').update('host,user-agent,accept,accept').digest('hex').slice(0, 12));
    expect(headerOrderFingerprint(['User-Agent', 'a', 'Host', 'b']).http_fp).not.toBe(headerOrderFingerprint(['Host', 'b', 'User-Agent', 'a']).http_fp);
    expect(headerOrderFingerprint([])).toEqual({ http_header_order: '', http_fp: createHash('sha256').update('').digest('hex').slice(0, 12) });
  });

  it('is bounded whatever the names (2,000 runs)', () => {
    fc.assert(
      fc.property(fc.array(fc.string({ maxLength: 300 }), { maxLength: 400 }), (raw) => {
        const fp = headerOrderFingerprint(raw);
        expect(fp.http_header_order.length).toBeLessThanOrEqual(MAX_HEADER_ORDER);
        expect(fp.http_header_order).toMatch(/^[\x21-\x7e]*$/);
        expect(fp.http_fp).toMatch(/^[0-9a-f]{12}$/);
      }),
      { numRuns: 2000, seed: 3 },
    );
  });
});

describe('request events carry the header order', () => {
  const t = makeTestContext('http', {}, [{ port: 80, proto: 'tcp' }], { ephemeral: true });
  const started = startHttpService(t.ctx, () => ({ status: 200, body: 'ok' }));
  afterAll(async () => {
    await (await started).close();
    t.cleanup();
  });

  it('as the client sent them', async () => {
    const port = (await started).ports[0]!;
    await new Promise<void>((resolve) => {
      const s = net.connect(port, '127.0.0.1', () => s.write('GET /x HTTP/1.1\r\nUser-Agent: Mozilla/5.0\r\nAccept: */*\r\nHOST: a\r\nConnection: close\r\n\r\n'));
      s.on('data', () => undefined);
      s.on('error', () => resolve());
      s.on('close', () => resolve());
    });
    const ev = await t.waitFor((e) => e.event === 'request' && e['path'] === '/x');
    expect(ev['http_header_order']).toBe('user-agent,accept,host,connection');
    expect(ev['http_fp']).toBe(createHash('sha256').update('user-agent,accept,host,connection').digest('hex').slice(0, 12));
  });
});
