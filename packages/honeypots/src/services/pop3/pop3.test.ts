import fc from 'fast-check';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { accountMap } from '../../runtime/accounts.js';
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
    expect(a.events[1]).toMatchObject({ principal: 'mrose', auth_method: 'APOP', secret: 'c4c9334bac560ecc979e58001b3e22fb' });
    expect(a.replies).toEqual(['-ERR Unknown command.']);
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
      { numRuns: 10_000, seed: 110 },
    );
  });

  it('fuzz: an accepted login and protocol-shaped lines never throw', () => {
    const cmd = fc.constantFrom('USER alice', 'PASS Winter2026!', 'STAT', 'LIST', 'LIST 2', 'UIDL', 'RETR 1', 'TOP 2 3', 'TOP 1 x', 'DELE 1', 'RSET', 'RETR 99', 'NOOP', 'CAPA', 'STLS', 'AUTH PLAIN', 'QUIT');
    fc.assert(
      fc.property(fc.array(fc.oneof(cmd, fc.string({ maxLength: 80 })), { maxLength: 30 }), (lines) => {
        const s = new Pop3Session('x', { accounts: accountMap('alice:Winter2026!'), persona: { hostname: 'mail-01', dnsDomain: '', fqdn: 'mail-01' }, starttls: true });
        for (const l of lines) {
          const out = s.onLine(Buffer.from(l));
          for (const r of out.replies) expect(r.length).toBeLessThan(8192);
        }
      }),
      { numRuns: 10_000, seed: 995 },
    );
  });
});

describe('pop3 maildrop and TLS', () => {
  let tt: TestContext;
  let s2: RunningService;
  let plain: number;
  let secure: number;
  beforeAll(async () => {
    tt = makeTestContext('pop3', { users: 'alice:Winter2026!' }, [{ port: 110, proto: 'tcp' }, { port: 995, proto: 'tcp' }], { ephemeral: true, hostname: 'mail-01' });
    s2 = await pop3Service.start(tt.ctx);
    [plain, secure] = s2.ports as [number, number];
  });
  afterAll(async () => {
    await s2.close();
    tt.cleanup();
  });

  it.skipIf(!hasBinary('curl'))('curl pop3s:// lists and retrieves the fake mail of an accepted user', async () => {
    const list = await run('curl', ['-sS', '-k', '--max-time', '10', '-u', 'alice:Winter2026!', `pop3s://127.0.0.1:${secure}/`]);
    expect(list.stderr).toBe('');
    expect(list.stdout.trim().split(/\r?\n/)).toHaveLength(4);
    const msg = await run('curl', ['-sS', '-k', '--max-time', '10', '-u', 'alice:Winter2026!', `pop3s://127.0.0.1:${secure}/3`]);
    expect(msg.stdout).toContain('Subject: Re: reporting database');
    expect(msg.stdout).toContain('postgresql://report_ro:');
    const ev = await tt.waitFor((e) => e.event === 'auth_attempt' && e.success === true);
    expect(ev).toMatchObject({ principal: 'alice', tls: true });
    await tt.waitFor((e) => e.event === 'command' && e.command === 'RETR' && Array.isArray(e.read_uids));
    const conn = await tt.waitFor((e) => e.event === 'connection' && e.tls === true);
    expect(conn['ja3_hash']).toMatch(/^[0-9a-f]{32}$/);
  });

  it.skipIf(!hasBinary('curl'))('STLS upgrade, then a refused login is captured', async () => {
    const r = await run('curl', ['-sS', '-k', '--ssl-reqd', '--max-time', '10', '-u', 'eve:letmein', `pop3://127.0.0.1:${plain}/`]);
    expect(r.code).not.toBe(0);
    await tt.waitFor((e) => e.event === 'tls_handshake' && e.starttls === true);
    const ev = await tt.waitFor((e) => e.event === 'auth_attempt' && e.principal === 'eve');
    expect(ev).toMatchObject({ secret: 'letmein', tls: true, success: false });
  }, 20_000);

  it.skipIf(!hasBinary('nmap'))('nmap -sV says Dovecot pop3d on both ports', async () => {
    const r = await run('nmap', ['-sV', '-Pn', '-n', '-p', `${plain},${secure}`, '127.0.0.1'], { timeoutMs: 120_000 });
    expect(r.stdout).toMatch(new RegExp(`${plain}/tcp\\s+open\\s+pop3\\s+Dovecot pop3d`));
    expect(r.stdout).toMatch(new RegExp(`${secure}/tcp\\s+open\\s+ssl/pop3\\s+Dovecot pop3d`));
  }, 130_000);
});
