import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { makeTestContext, type TestContext } from '../../runtime/test-context.js';
import type { RunningService } from '../../runtime/types.js';
import { hasBinary, RawClient, run } from '../../runtime/test-util.js';
import { Pop3Session } from './pop3-session.js';
import { pop3Service } from './pop3.js';

let t: TestContext;
let svc: RunningService;
let port: number;
beforeEach(async () => {
  t = makeTestContext('pop3', { pop3_banner: 'mail.corp.example Cyrus POP3 v3.6.1 server ready' });
  svc = await pop3Service.start(t.ctx);
  port = svc.ports[0]!;
});
afterEach(async () => {
  await svc.close();
  t.cleanup();
});

describe('pop3 over raw sockets', () => {
  it('greets, answers CAPA, captures USER/PASS and QUITs', async () => {
    const c = await RawClient.connect(port);
    await c.waitFor(/^\+OK mail\.corp\.example Cyrus POP3 v3\.6\.1 server ready\r\n/);
    c.send('CAPA\r\n');
    await c.waitFor(/SASL PLAIN LOGIN\r\n\.\r\n/);
    c.send('USER alice\r\nPASS pa ss\r\nSTAT\r\nQUIT\r\n');
    await c.waitClosed();
    expect(c.text).toContain('+OK\r\n-ERR [AUTH] Authentication failed.\r\n-ERR Unknown command.\r\n+OK Logging out.\r\n');
    const ev = await t.waitFor((e) => e.event === 'auth_attempt');
    expect(ev).toMatchObject({ principal: 'alice', secret_kind: 'plaintext', secret: 'pa ss', src_ip: '127.0.0.1', dst_port: port });
    const cmds = t.events.filter((e) => e.event === 'command');
    expect(cmds.map((e) => e.command)).toEqual(['CAPA', 'USER', 'PASS', 'STAT', 'QUIT']);
    expect(cmds[2]!.args).toBe('<redacted>');
    await t.waitFor((e) => e.event === 'disconnect');
  });

  it('closes on an over-long line', async () => {
    const c = await RawClient.connect(port);
    await c.waitFor(/^\+OK/);
    c.send('USER ' + 'a'.repeat(5000));
    await c.waitClosed();
    expect(c.text).toContain('-ERR Input line too long.');
  });
});

describe.skipIf(!hasBinary('curl'))('pop3 with curl', () => {
  it('curl pop3:// login is captured and refused', async () => {
    const r = await run('curl', ['-sS', '--max-time', '5', '-u', 'bob:hunter2', `pop3://127.0.0.1:${port}/`]);
    expect(r.code).not.toBe(0);
    const ev = await t.waitFor((e) => e.event === 'auth_attempt');
    expect(ev).toMatchObject({ principal: 'bob', secret: 'hunter2' });
  });
});

describe('Pop3Session', () => {
  const feed = (s: Pop3Session, line: string) => s.onLine(Buffer.from(line));

  it('handles SASL PLAIN and LOGIN, and APOP', () => {
    const s = new Pop3Session('x');
    expect(feed(s, 'AUTH PLAIN').replies).toEqual(['+ ']);
    const p = feed(s, Buffer.from('\0carol\0secret').toString('base64'));
    expect(p.replies).toEqual(['-ERR [AUTH] Authentication failed.']);
    expect(p.events[0]).toMatchObject({ event: 'auth_attempt', principal: 'carol', secret: 'secret', auth_method: 'SASL PLAIN' });
    feed(s, 'AUTH LOGIN');
    feed(s, Buffer.from('dave').toString('base64'));
    const l = feed(s, Buffer.from('pw\x01').toString('base64'));
    expect(l.events[0]).toMatchObject({ principal: 'dave', secret: 'pw\\x01', secret_b64: Buffer.from('pw\x01').toString('base64') });
    const a = feed(s, 'APOP mrose c4c9334bac560ecc979e58001b3e22fb');
    expect(a.events[1]).toMatchObject({ principal: 'mrose', secret_kind: 'apop', secret: 'c4c9334bac560ecc979e58001b3e22fb' });
    expect(feed(s, 'PASS x').replies).toEqual(['-ERR No username given.']);
  });

  it('disconnects after too many bad commands', () => {
    const s = new Pop3Session('x');
    let closed = false;
    for (let i = 0; i < 25 && !closed; i++) closed = feed(s, 'WHAT').close;
    expect(closed).toBe(true);
    expect(feed(s, 'CAPA').replies).toEqual([]);
  });

  it('fuzz: arbitrary lines never throw and replies stay bounded', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 30 }), (lines) => {
        const s = new Pop3Session('x');
        for (const l of lines) {
          const out = s.onLine(Buffer.from(l));
          expect(out.replies.length).toBeLessThanOrEqual(2);
          for (const r of out.replies) expect(r.length).toBeLessThan(200);
        }
      }),
      { numRuns: 2000 },
    );
  });
});
