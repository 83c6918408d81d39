import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { makeTestContext, type TestContext } from '../../runtime/test-context.js';
import { rawConnect } from '../../runtime/test-client.js';
import type { RunningService } from '../../runtime/types.js';
import { startTelnet } from './telnet.js';
import { DO, DONT, IAC, OPT_ECHO, OPT_SGA, SB, SE, WILL, WONT, createTelnetParser } from './telnet-iac.js';

describe('telnet IAC parser', () => {
  it('strips negotiation, unescapes IAC IAC, skips subnegotiation, answers once', () => {
    const p = createTelnetParser();
    const r = p.feed(Buffer.from([0x61, IAC, DO, OPT_ECHO, IAC, DO, 24, IAC, WILL, 31, IAC, SB, 24, 0, 0x78, IAC, SE, 0x62, IAC, IAC, 0x0d, 0x00, 0x63]));
    expect([...r.data]).toEqual([0x61, 0x62, 0xff, 0x0d, 0x63]);
    expect([...r.replies]).toEqual([IAC, WONT, 24, IAC, DONT, 31]);
    expect([...p.feed(Buffer.from([IAC, DO, 24, IAC, DONT, OPT_SGA])).replies]).toEqual([IAC, WONT, OPT_SGA]);
  });
  it('handles sequences split across chunks', () => {
    const p = createTelnetParser();
    const bytes = [IAC, WILL, 31, 0x6c, IAC, SB, 31, 0, 80, 0, 24, IAC, SE, 0x73, 0x0d, 0x0a];
    const data: number[] = [];
    const replies: number[] = [];
    for (const b of bytes) {
      const r = p.feed(Buffer.from([b]));
      data.push(...r.data);
      replies.push(...r.replies);
    }
    expect(Buffer.from(data).toString()).toBe('ls\r\n');
    expect(replies).toEqual([IAC, DONT, 31]);
  });
  it('fuzz: arbitrary bytes never throw; output bounded by input', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 500 }), { maxLength: 10 }), (chunks) => {
        const p = createTelnetParser();
        let replies = 0;
        for (const c of chunks) {
          const r = p.feed(Buffer.from(c));
          expect(r.data.length).toBeLessThanOrEqual(c.length);
          replies += r.replies.length;
        }
        expect(replies).toBeLessThanOrEqual(256 * 4 * 3);
      }),
    );
  });
});

describe('telnet honeypot', () => {
  let t: TestContext;
  let svc: RunningService;
  let port: number;
  beforeAll(async () => {
    t = makeTestContext('telnet', { users: 'pi:raspberry', kernel_version: '4.19.0-27-amd64' });
    svc = await startTelnet(t.ctx);
    port = svc.ports[0]!;
  });
  afterAll(async () => {
    await svc.close();
    t.cleanup();
  });

  it('negotiates, logs in a persona user into the fake shell', async () => {
    const c = await rawConnect(port);
    const first = await c.expect('SRV-TEST-42 login: ');
    expect([...Buffer.from(first, 'latin1').subarray(0, 6)]).toEqual([IAC, WILL, OPT_ECHO, IAC, WILL, OPT_SGA]);
    c.send(Buffer.from([IAC, DO, OPT_ECHO, IAC, WILL, 24]));
    c.send('pi\r\n');
    await c.expect('pi\r\nPassword: ');
    c.send('raspberry\r\0');
    await c.expect('pi@SRV-TEST-42:~$ ');
    c.send('uname -r\r\n');
    expect(await c.expect('$ ')).toBe('uname -r\r\n4.19.0-27-amd64\r\npi@SRV-TEST-42:~$ ');
    c.send('exit\r\n');
    await c.closed;
    expect(await t.waitFor((e) => e.event === 'auth_attempt' && e.success === true)).toMatchObject({ principal: 'pi', secret: 'raspberry', secret_kind: 'plaintext', src_ip: '127.0.0.1' });
    expect(await t.waitFor((e) => e.event === 'command')).toMatchObject({ command: 'uname -r', principal: 'pi' });
  });

  it('does not echo the password; three failures close the connection', async () => {
    const c = await rawConnect(port);
    await c.expect('login: ');
    for (let i = 1; i <= 3; i++) {
      c.send(`admin\r\n`);
      await c.expect('Password: ');
      c.send(`secret${i}\r\n`);
      const after = await c.expect('Login incorrect\r\n');
      expect(after).not.toContain(`secret${i}`);
    }
    await c.closed;
    const fails = t.events.filter((e) => e.event === 'auth_attempt' && e.principal === 'admin');
    expect(fails.map((e) => [e.secret, e.success])).toEqual([
      ['secret1', false],
      ['secret2', false],
      ['secret3', false],
    ]);
  });

  it('survives garbage and overlong input', async () => {
    const c = await rawConnect(port);
    await c.expect('login: ');
    c.send(Buffer.from([IAC, SB, ...new Array(5000).fill(7), IAC, IAC, 0, 0xfe, 0xff]));
    c.send('x'.repeat(100_000));
    c.send('\r\n');
    await c.expect('Password: ');
    c.close();
    const c2 = await rawConnect(port);
    await c2.expect('login: ');
    c2.close();
  });
});
