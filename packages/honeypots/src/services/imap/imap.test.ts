import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTestContext, type TestContext } from '../../runtime/test-context.js';
import type { RunningService } from '../../runtime/types.js';
import { hasBinary, RawClient, run } from '../../runtime/test-util.js';
import { accountMap } from '../../runtime/accounts.js';
import { ImapReader, parseSequenceSet, tokenize } from './imap-reader.js';
import { ImapSession } from './imap-session.js';
import { imapService } from './imap.js';

let t: TestContext;
let svc: RunningService;
let plain: number;
let secure: number;

beforeAll(async () => {
  t = makeTestContext('imap', { users: 'alice:Winter2026!' }, [{ port: 143, proto: 'tcp' }, { port: 993, proto: 'tcp' }], { ephemeral: true, hostname: 'mail-01' });
  svc = await imapService.start(t.ctx);
  [plain, secure] = svc.ports as [number, number];
});
afterAll(async () => {
  await svc.close();
  t.cleanup();
});

const curl = (...args: string[]) => run('curl', ['-sS', '--max-time', '10', ...args]);

describe.skipIf(!hasBinary('curl'))('imap with curl', () => {
  it('imaps: an accepted login lists the folders and reads a message', async () => {
    const list = await curl('-k', '-u', 'alice:Winter2026!', `imaps://127.0.0.1:${secure}/`);
    expect(list.stderr).toBe('');
    expect(list.stdout).toContain('* LIST (\\HasNoChildren) "." INBOX');
    expect(list.stdout).toContain('\\Sent) "." Sent');
    const msg = await curl('-k', '-u', 'alice:Winter2026!', `imaps://127.0.0.1:${secure}/INBOX;UID=1`);
    expect(msg.stdout).toContain('Subject: Your new VPN access');
    expect(msg.stdout).toContain('Delivered-To: alice@localdomain');
    expect(msg.stdout).toContain('Temporary password:');
    const ev = await t.waitFor((e) => e.event === 'auth_attempt' && e.success === true);
    expect(ev).toMatchObject({ principal: 'alice', secret: 'Winter2026!', tls: true, auth_method: 'AUTHENTICATE PLAIN' });
    const conn = await t.waitFor((e) => e.event === 'connection' && e.tls === true);
    expect(conn['ja4']).toMatch(/^t1[23][di]/);
    await t.waitFor((e) => e.event === 'command' && e.command === 'UID FETCH' && String(e.args).startsWith('1 BODY'));
  });

  it('imap with STARTTLS required: a refused login is captured', async () => {
    const r = await curl('--ssl-reqd', '-k', '-u', 'bob:hunter2', `imap://127.0.0.1:${plain}/`);
    expect(r.stderr).toMatch(/Login denied|login denied/i);
    const hs = await t.waitFor((e) => e.event === 'tls_handshake' && e.starttls === true);
    expect(hs['ja3_hash']).toMatch(/^[0-9a-f]{32}$/);
    const ev = await t.waitFor((e) => e.event === 'auth_attempt' && e.principal === 'bob');
    expect(ev).toMatchObject({ secret: 'hunter2', success: false, tls: true });
  }, 20_000);
});

describe.skipIf(!hasBinary('openssl'))('imap STARTTLS with openssl', () => {
  it('presents the decky certificate after STARTTLS', async () => {
    const r = await run('openssl', ['s_client', '-connect', `127.0.0.1:${plain}`, '-starttls', 'imap', '-brief'], { input: 'a LOGOUT\r\n' });
    expect(r.stderr).toMatch(/Peer certificate: .*CN ?= ?mail-01/);
  });
});

describe.skipIf(!hasBinary('nmap'))('imap with nmap', () => {
  it('-sV says Dovecot imapd on both ports', async () => {
    const r = await run('nmap', ['-sV', '-Pn', '-n', '-p', `${plain},${secure}`, '127.0.0.1'], { timeoutMs: 120_000 });
    expect(r.stdout).toMatch(new RegExp(`${plain}/tcp\\s+open\\s+imap\\s+Dovecot imapd`));
    expect(r.stdout).toMatch(new RegExp(`${secure}/tcp\\s+open\\s+ssl/imap\\s+Dovecot imapd`));
  }, 130_000);
});

describe('imap protocol details', () => {
  it('LOGIN with literals, pipelined', async () => {
    const c = await RawClient.connect(plain);
    await c.waitFor(/Dovecot ready\.\r\n/);
    c.send('a1 LOGIN {5}\r\n');
    await c.waitFor(/\+ OK\r\n/);
    c.send('alice {11+}\r\nWinter2026!\r\na2 SELECT INBOX\r\na3 FETCH 1:* (FLAGS UID)\r\na4 LOGOUT\r\n');
    const all = await c.waitFor(/a4 OK Logout completed/);
    expect(all).toContain('a1 OK [CAPABILITY IMAP4rev1');
    expect(all).toContain('* 4 EXISTS');
    expect(all).toContain('* 1 FETCH (FLAGS (\\Seen) UID 1)');
    expect(all).toContain('* 3 FETCH (FLAGS () UID 3)');
    c.close();
  });

  it('answers garbage like Dovecot and closes after too many errors', async () => {
    const c = await RawClient.connect(plain);
    await c.waitFor(/ready/);
    for (let i = 0; i < 10; i++) c.send(`x${i} FOO\r\n`);
    const all = await c.waitFor(/\* BYE Too many invalid IMAP commands\.\r\n/);
    expect(all).toContain('x0 BAD Error in IMAP command received by server.');
    await c.waitClosed();
  });
});

describe('imap parsers', () => {
  it('tokenises sections, lists, strings and literals', () => {
    const toks = tokenize([{ text: 'a FETCH 1 (BODY.PEEK[HEADER.FIELDS (FROM TO)] "x\\"y" ' }, { literal: Buffer.from('lit') }, { text: ')' }]);
    expect(toks[2]).toEqual({ atom: '1' });
    const list = (toks[3] as { list: unknown[] }).list;
    expect(list[0]).toEqual({ atom: 'BODY.PEEK[HEADER.FIELDS (FROM TO)]' });
    expect(list[1]).toEqual({ str: Buffer.from('x"y') });
    expect(list[2]).toEqual({ str: Buffer.from('lit') });
  });

  it('sequence sets', () => {
    expect(parseSequenceSet('1:3,5,7:*', 8)).toEqual([1, 2, 3, 5, 7, 8]);
    expect(parseSequenceSet('*', 4)).toEqual([4]);
    expect(parseSequenceSet('1:4294967295', 3)).toEqual([1, 2, 3]);
    expect(parseSequenceSet('1;DROP', 3)).toBeUndefined();
  });

  it('fuzz: the reader and session never throw and stay bounded', () => {
    const limits = { maxLine: 200, maxLiteral: 300, maxCommand: 600, maxTokens: 64, maxDepth: 4 };
    const piece = fc.oneof(
      fc.uint8Array({ maxLength: 120 }).map((a) => Buffer.from(a)),
      fc
        .constantFrom('a LOGIN alice Winter2026!', 'b SELECT INBOX', 'c UID FETCH 1:* (BODY.PEEK[HEADER.FIELDS (FROM)]<0.10> FLAGS)', 'd AUTHENTICATE PLAIN', 'AGFsaWNlAFdpbnRlcjIwMjYh', 'e IDLE', 'DONE', 'f STORE 1:2 +FLAGS (\\Deleted)', 'g EXPUNGE', 'h APPEND INBOX {5}', 'i FETCH * ALL', 'j LIST "" *', '((((((', 'k STATUS INBOX (MESSAGES UNSEEN UIDNEXT)', '{99999999}', 'l SEARCH UNSEEN')
        .map((s) => Buffer.from(`${s}\r\n`)),
    );
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 25 }), (chunks) => {
        const r = new ImapReader(limits);
        const s = new ImapSession({ banner: 'Dovecot ready.', tls: false, starttls: true, accounts: accountMap('alice:Winter2026!'), persona: { hostname: 'mail-01', dnsDomain: '', fqdn: 'mail-01' }, now: () => new Date('2026-12-01T10:00:00Z') });
        for (const c of chunks) {
          for (const o of r.feed(c)) {
            if (o.type === 'command') {
              const out = s.onCommand(o.segments);
              r.raw = s.rawLines;
              expect(out.replies.length).toBeLessThan(200);
            }
          }
          expect(r.buffered).toBeLessThanOrEqual(limits.maxCommand + limits.maxLine + 200);
        }
      }),
      { numRuns: 10_000, seed: 1143 },
    );
  });
});
