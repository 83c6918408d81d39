import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import forge from 'node-forge';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTestContext, scratchDir, type TestContext } from '../../runtime/test-context.js';
import { hasBinary, RawClient, run } from '../../runtime/test-util.js';
import type { RunningService } from '../../runtime/types.js';
import { AUTH_FAILED_REASON, johnLine, negotiate, RfbSession, type RfbVersion } from './rfb.js';
import { vncService } from './vnc.js';

const CHAL = Buffer.from('00112233445566778899aabbccddeeff', 'hex');

/** The VNC authentication response a client computes: DES-ECB of the challenge, key = password with each byte's bits reversed. */
function vncResponse(challenge: Buffer, password: string): Buffer {
  const key = Buffer.alloc(8);
  Buffer.from(password, 'latin1').copy(key, 0, 0, 8);
  for (let i = 0; i < 8; i++) {
    let b = key[i]!;
    let r = 0;
    for (let j = 0; j < 8; j++) r |= ((b >> j) & 1) << (7 - j);
    key[i] = r;
    b = r;
  }
  const c = forge.cipher.createCipher('DES-ECB', forge.util.createBuffer(key.toString('binary')));
  c.start();
  c.update(forge.util.createBuffer(challenge.toString('binary')));
  c.finish();
  return Buffer.from(c.output.getBytes(), 'binary').subarray(0, 16);
}

describe('rfb (pure)', () => {
  it('negotiates the client version capped at the server version', () => {
    expect(negotiate('003.008', 'RFB 003.008\n')).toBe('003.008');
    expect(negotiate('003.008', 'RFB 003.889\n')).toBe('003.008');
    expect(negotiate('003.008', 'RFB 003.007\n')).toBe('003.007');
    expect(negotiate('003.008', 'RFB 003.005\n')).toBe('003.003');
    expect(negotiate('003.007', 'RFB 003.008\n')).toBe('003.007');
    expect(negotiate('003.003', 'RFB 003.008\n')).toBe('003.003');
    expect(negotiate('003.008', 'GET / HTTP/1\n')).toBeUndefined();
    expect(negotiate('003.008', 'RFB 002.000\n')).toBeUndefined();
  });

  it('3.8: type list, challenge, failure with the reason', () => {
    const s = new RfbSession('003.008', CHAL);
    expect(Buffer.concat(s.feed(Buffer.from('RFB 003.008\n')).out)).toEqual(Buffer.from([1, 2]));
    expect(Buffer.concat(s.feed(Buffer.from([2])).out)).toEqual(CHAL);
    const resp = vncResponse(CHAL, 'password');
    const st = s.feed(resp);
    const reason = Buffer.from(AUTH_FAILED_REASON);
    expect(Buffer.concat(st.out)).toEqual(Buffer.concat([Buffer.from([0, 0, 0, 1, 0, 0, 0, reason.length]), reason]));
    expect(st.close).toBe(true);
    expect(st.events).toEqual([{ kind: 'auth', challenge: CHAL, response: resp, version: '003.008' }]);
    expect(s.feed(Buffer.from('more')).out).toEqual([]);
  });

  it('3.7 closes without a reason; 3.3 names VNC authentication itself and sends the challenge at once', () => {
    const s7 = new RfbSession('003.008', CHAL);
    s7.feed(Buffer.from('RFB 003.007\n'));
    s7.feed(Buffer.from([2]));
    expect(Buffer.concat(s7.feed(Buffer.alloc(16)).out)).toEqual(Buffer.from([0, 0, 0, 1]));
    const s3 = new RfbSession('003.003', CHAL);
    const st = s3.feed(Buffer.concat([Buffer.from('RFB 003.008\n'), Buffer.alloc(16, 7)]));
    expect(Buffer.concat(st.out)).toEqual(Buffer.concat([Buffer.from([0, 0, 0, 2]), CHAL, Buffer.from([0, 0, 0, 1])]));
    expect(st.close).toBe(true);
  });

  it('a type other than VNC authentication fails (3.8 with the reason) and a bad version closes', () => {
    const s = new RfbSession('003.008', CHAL);
    s.feed(Buffer.from('RFB 003.008\n'));
    const st = s.feed(Buffer.from([1]));
    expect(st.close).toBe(true);
    expect(st.out[0]).toEqual(Buffer.from([0, 0, 0, 1]));
    const b = new RfbSession('003.008', CHAL).feed(Buffer.from('SSH-2.0-x\n'));
    expect(b.close).toBe(true);
    expect(b.events[0]!.kind).toBe('error');
  });

  it('john line', () => {
    expect(johnLine(CHAL, Buffer.alloc(16, 0xab))).toBe(`$vnc$*00112233445566778899AABBCCDDEEFF*${'AB'.repeat(16)}`);
  });

  it('fuzz: any bytes in any chunking never throw, never write more than the handshake', () => {
    const valid = fc.constantFrom(Buffer.from('RFB 003.008\n'), Buffer.from('RFB 003.007\n'), Buffer.from('RFB 003.003\n'), Buffer.from([2]), Buffer.alloc(16, 1));
    const chunk = fc.oneof(fc.uint8Array({ maxLength: 80 }).map((a) => Buffer.from(a)), valid);
    fc.assert(
      fc.property(fc.constantFrom<RfbVersion>('003.003', '003.007', '003.008'), fc.array(chunk, { maxLength: 8 }), (v, chunks) => {
        const s = new RfbSession(v, CHAL);
        let written = 0;
        for (const c of chunks) for (const b of s.feed(c).out) written += b.length;
        expect(written).toBeLessThanOrEqual(2 + 16 + 4 + 4 + AUTH_FAILED_REASON.length);
      }),
      { numRuns: 10_000, seed: 4242 },
    );
  });
});

describe.skipIf(!hasBinary('nmap'))('vnc service with nmap and hydra', () => {
  let t: TestContext;
  let svc: RunningService;
  let port: number;
  beforeAll(async () => {
    t = makeTestContext('vnc', {}, [{ port: 5900, proto: 'tcp' }], { ephemeral: true });
    svc = await vncService.start(t.ctx);
    port = svc.ports[0]!;
  });
  afterAll(async () => {
    await svc.close();
    t.cleanup();
  });

  it('speaks RFB 3.8 on connect', async () => {
    const c = await RawClient.connect(port);
    const hello = await c.waitFor((b) => b.length >= 12);
    expect(hello.toString('latin1')).toBe('RFB 003.008\n');
    c.close();
  });

  it('nmap -sV names it VNC protocol 3.8 and vnc-info lists VNC Authentication', async () => {
    const r = await run('nmap', ['-Pn', '-n', '-sV', '--script', 'vnc-info', '-p', String(port), '127.0.0.1'], { timeoutMs: 90_000 });
    expect(r.stdout).toMatch(/open\s+vnc\s+VNC \(protocol 3\.8\)/);
    expect(r.stdout).toMatch(/vnc-info:[\s\S]*Protocol version: 3\.8[\s\S]*VNC Authentication \(2\)/);
  }, 100_000);

  it.skipIf(!hasBinary('hydra'))('hydra -P completes each attempt; every response lands as a crackable capture', async () => {
    const dir = scratchDir('decnet-vnc-');
    const list = join(dir, 'pw.txt');
    const words = ['123456', 'letmein', 'vncpass1'];
    writeFileSync(list, words.join('\n') + '\n');
    const before = t.events.length;
    const r = await run('hydra', ['-P', list, '-t', '1', '-s', String(port), '-I', '127.0.0.1', 'vnc'], { timeoutMs: 90_000 });
    expect(r.stdout).toMatch(/0 valid passwords? found/);
    const auths = t.events.slice(before).filter((e) => e.event === 'auth_attempt');
    expect(auths.length).toBeGreaterThanOrEqual(words.length);
    // each response is one of the words' DES answers to the challenge the service sent: crackable offline
    const cracked = auths.map((e) => words.find((w) => vncResponse(Buffer.from(String(e['challenge']), 'hex'), w).toString('hex') === e.secret));
    expect(new Set(cracked)).toEqual(new Set(words));
    expect(auths[0]!.secret_kind).toBe('vnc_challenge');
    expect(String(auths[0]!['john'])).toMatch(/^\$vnc\$\*[0-9A-F]{32}\*[0-9A-F]{32}$/);
  }, 100_000);
});
