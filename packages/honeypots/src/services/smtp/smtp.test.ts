import { createHash } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { makeTestContext, type TestContext } from '../../runtime/test-context.js';
import type { RunningService } from '../../runtime/types.js';
import { hasBinary, RawClient, run } from '../../runtime/test-util.js';
import { smtpGreeting, smtpService } from './smtp.js';

let t: TestContext;
let svc: RunningService;
let port: number;
beforeEach(async () => {
  t = makeTestContext('smtp', {}, [
    { port: 0, proto: 'tcp' },
    { port: 0, proto: 'tcp' },
  ], { hostname: 'MAIL-GW-17' });
  svc = await smtpService.start(t.ctx);
  port = svc.ports[0]!;
});
afterEach(async () => {
  await svc.close();
  t.cleanup();
});

describe.skipIf(!hasBinary('swaks'))('smtp with swaks', () => {
  it('logs AUTH LOGIN, refuses it, then quarantines the mail', async () => {
    const body = 'Subject: invoice 42\nFrom: a@evil.example\n\nPlease pay.\n';
    const r = await run('swaks', [
      '--server', '127.0.0.1', '--port', String(port), '--ehlo', 'spam.example',
      '--from', 'a@evil.example', '--to', 'victim@corp.example,cfo@corp.example',
      '--auth-optional', 'LOGIN', '--auth-user', 'info@corp.example', '--auth-password', 'Winter2024!',
      '--data', body,
    ]);
    expect(r.stdout).toMatch(/<- {2}220 mail-gw-17 ESMTP Postfix \(Debian\/GNU\)/);
    expect(r.stdout).toContain('535 5.7.8 Error: authentication failed');
    expect(r.stdout).toMatch(/250 2\.0\.0 Ok: queued as [0-9A-F]{10}/);
    const auth = await t.waitFor((e) => e.event === 'auth_attempt');
    expect(auth).toMatchObject({ principal: 'info@corp.example', secret_kind: 'plaintext', secret: 'Winter2024!', auth_method: 'LOGIN', success: false });
    expect(await t.waitFor((e) => e.event === 'mail_from')).toMatchObject({ address: 'a@evil.example', helo: 'spam.example' });
    const mail = await t.waitFor((e) => e.event === 'mail');
    expect(mail).toMatchObject({ mail_from: 'a@evil.example', rcpt_to: ['victim@corp.example', 'cfo@corp.example'], subject: 'invoice 42', truncated: false });
    const files = readdirSync(t.ctx.quarantineDir);
    expect(files).toHaveLength(1);
    const stored = readFileSync(join(t.ctx.quarantineDir, files[0]!));
    expect(stored.toString()).toContain('Please pay.');
    expect(mail.sha256).toBe(createHash('sha256').update(stored).digest('hex'));
    expect(mail.stored_size).toBe(stored.length);
    const commands = t.events.filter((e) => e.event === 'command').map((e) => e.command);
    expect(commands).toEqual(expect.arrayContaining(['EHLO', 'AUTH', 'MAIL', 'RCPT', 'DATA', 'QUIT']));
    // the secret never appears in command lines
    expect(JSON.stringify(t.events.filter((e) => e.event === 'command'))).not.toContain(Buffer.from('Winter2024!').toString('base64'));
  });

  it('answers on every configured port (587 too)', async () => {
    const r = await run('swaks', ['--server', '127.0.0.1', '--port', String(svc.ports[1]), '--quit-after', 'EHLO']);
    expect(r.stdout).toContain('250-mail-gw-17');
    expect(r.stdout).toContain('AUTH PLAIN LOGIN');
    expect(r.stdout).toContain('250-STARTTLS');
  });
});

describe('smtp over raw sockets', () => {
  it('logs AUTH PLAIN, caps the stored message at 1 MiB and replies 552', async () => {
    const c = await RawClient.connect(port);
    await c.waitFor(/^220 /);
    c.send('EHLO x\r\n');
    await c.waitFor(/250 /);
    c.send(`AUTH PLAIN ${Buffer.from('\0root\0toor').toString('base64')}\r\n`);
    await c.waitFor(/535 /);
    c.send('MAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\r\n');
    await c.waitFor(/354 /);
    const line = `${'x'.repeat(998)}\r\n`;
    for (let i = 0; i < 1100; i++) c.send(line);
    c.send('.\r\nQUIT\r\n');
    await c.waitClosed(10_000);
    expect(c.text).toMatch(/552 5\.3\.4/);
    expect(await t.waitFor((e) => e.event === 'auth_attempt')).toMatchObject({ principal: 'root', secret: 'toor', auth_method: 'PLAIN' });
    const mail = await t.waitFor((e) => e.event === 'mail');
    expect(mail.stored_size).toBe(1024 * 1024);
    expect(mail.truncated).toBe(true);
    expect(mail.size as number).toBeGreaterThan(1024 * 1024);
    await t.waitFor((e) => e.event === 'disconnect');
  });

  it('fuzz: random command lines get a reply and never crash the server', async () => {
    const lines = fc.sample(fc.string({ maxLength: 200, unit: 'binary' }).map((s) => s.replace(/[\r\n]/g, '')), 60);
    const c = await RawClient.connect(port);
    await c.waitFor(/^220 /);
    for (const l of lines) c.send(`${l}\r\n`);
    c.send('NOOP\r\n');
    await c.waitFor(/(421|250)[^\n]*\r\n$/);
    c.close();
    const again = await RawClient.connect(port);
    await again.waitFor(/^220 /);
    again.close();
  });
});

describe('smtpGreeting', () => {
  it.skipIf(!hasBinary('curl'))('STARTTLS with the decky certificate: the ClientHello is fingerprinted, AUTH inside TLS captured', async () => {
    const r = await run('curl', ['-sS', '-v', '--max-time', '10', '--ssl-reqd', '-k', '-u', 'ops:Tls-Secret1', '--mail-from', 'ops@corp.example', '--mail-rcpt', 'x@y.example', '-T', '/dev/null', `smtp://127.0.0.1:${port}`]);
    expect(r.stderr).toContain('< 220 Ready to start TLS');
    expect(r.stderr).toMatch(/SSL connection using TLS/);
    expect(r.stderr).toMatch(/535 5\.7\.8/);
    const hs = await t.waitFor((e) => e.event === 'tls_handshake');
    expect(hs).toMatchObject({ starttls: true, src_ip: '127.0.0.1' });
    expect(hs['ja3_hash']).toMatch(/^[0-9a-f]{32}$/);
    const ev = await t.waitFor((e) => e.event === 'auth_attempt' && e.principal === 'ops');
    expect(ev.secret).toBe('Tls-Secret1');
  });

  it.skipIf(!hasBinary('openssl'))('openssl s_client -starttls smtp sees the snakeoil certificate', async () => {
    const r = await run('openssl', ['s_client', '-connect', `127.0.0.1:${port}`, '-starttls', 'smtp', '-brief'], { input: 'QUIT\r\n' });
    expect(r.stderr).toMatch(/Peer certificate: .*CN ?= ?/);
    await t.waitFor((e) => e.event === 'connection');
  });

  it('derives name, banner and EHLO style from the persona', () => {
    expect(smtpGreeting({}, 'SRV-A-10')).toEqual({ name: 'srv-a-10', banner: 'Postfix (Debian/GNU)', helo: '%s' });
    expect(smtpGreeting({ smtp_banner: 'mx1.corp.example ESMTP Exim 4.94.2' }, 'h')).toMatchObject({ name: 'mx1.corp.example', banner: 'Exim 4.94.2' });
    expect(smtpGreeting({ smtp_banner: 'Microsoft ESMTP MAIL Service ready' }, 'h')).toMatchObject({ name: 'Microsoft', banner: 'MAIL Service ready' });
    expect(smtpGreeting({ smtp_mta: 'exim' }, 'h').banner).toBe('Exim 4.96 Ubuntu');
    expect(smtpGreeting({ smtp_banner: 'just text\r\n250 injected' }, 'h').banner).toBe('just text  250 injected');
  });
});
