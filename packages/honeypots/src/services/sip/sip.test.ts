import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import dgram from 'node:dgram';
import net from 'node:net';
import fc from 'fast-check';
import { makeTestContext } from '../../runtime/test-context.js';
import { hasBinary, run } from '../../runtime/test-util.js';
import type { RunningService } from '../../runtime/types.js';
import { frameLength, LIMITS, parse, parseDigest, uriUser, type SipRequest } from './sip-codec.js';
import { handleRequest, johnSipLine, rewriteVia, type SipConfig } from './sip-session.js';
import { startSip, udpReplyBound } from './sip.js';

const md5 = (s: string) => createHash('md5').update(s).digest('hex');
const cfg: SipConfig = { server: 'Asterisk PBX 18.20.0', domain: '10.0.0.5', extensions: new Set(['100', '101']), realm: 'asterisk', nonce: () => '1700000000/abc', opaque: () => '0123456789abcdef' };
const peer = { transport: 'UDP' as const, src_ip: '10.0.0.9', src_port: 5070 };
const NMAP_UDP =
  'OPTIONS sip:nm SIP/2.0\r\nVia: SIP/2.0/UDP nm;branch=foo;rport\r\nFrom: <sip:nm@nm>;tag=root\r\nTo: <sip:nm2@nm2>\r\nCall-ID: 50000\r\nCSeq: 42 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\nContact: <sip:nm@nm>\r\nAccept: application/sdp\r\n\r\n';

function req(method: string, uri: string, to: string, extra = ''): SipRequest {
  const p = parse(Buffer.from(`${method} ${uri} SIP/2.0\r\nVia: SIP/2.0/UDP 10.0.0.9:5070;branch=z9hG4bK1;rport\r\nFrom: <sip:${to}@10.0.0.5>;tag=a1\r\nTo: <sip:${to}@10.0.0.5>\r\nCall-ID: c1\r\nCSeq: 1 ${method}\r\n${extra}Content-Length: 0\r\n\r\n`));
  if (p.kind !== 'request') throw new Error(p.kind);
  return p;
}

describe('sip codec', () => {
  it('parses requests, compact headers, uri users and digests', () => {
    const p = parse(Buffer.from('REGISTER sip:h SIP/2.0\r\nv: SIP/2.0/UDP x\r\nt: "A" <sip:100@h>\r\nf: <sip:100@h>;tag=1\r\ni: 1\r\nCSeq: 1 REGISTER\r\nl: 0\r\n\r\n'));
    expect(p.kind).toBe('request');
    const r = p as SipRequest;
    expect(r.headers.map(([k]) => k)).toEqual(['Via', 'To', 'From', 'Call-ID', 'CSeq', 'Content-Length']);
    expect(uriUser('"A" <sip:100@h;x=1>;tag=2')).toBe('100');
    expect(uriUser('sip:h')).toBe('');
    expect(parseDigest('Digest username="100", realm="asterisk",nonce="n", uri="sip:h", response="ab", qop=auth, nc=00000001')).toEqual({ username: '100', realm: 'asterisk', nonce: 'n', uri: 'sip:h', response: 'ab', qop: 'auth', nc: '00000001' });
    expect(parse(Buffer.from('\x16\x03\x01garbage')).kind).toBe('invalid');
    expect(parse(Buffer.alloc(LIMITS.maxMessage + 1, 0x41)).kind).toBe('invalid');
    const many = `OPTIONS sip:h SIP/2.0\r\n${'X-A: 1\r\n'.repeat(65)}\r\n`;
    expect(parse(Buffer.from(many))).toMatchObject({ kind: 'invalid', reason: 'too many headers' });
    expect(frameLength(Buffer.from('OPTIONS sip:h SIP/2.0\r\nContent-Length: 3\r\n\r\nab'))).toBe(0);
    expect(frameLength(Buffer.from('OPTIONS sip:h SIP/2.0\r\nContent-Length: 3\r\n\r\nabcOPT'))).toBe(47);
    expect(frameLength(Buffer.from('OPTIONS sip:h SIP/2.0\r\nContent-Length: 99999\r\n\r\n'))).toBe(-1);
  });
  it('never throws on random or mutated input (fuzz)', () => {
    const seeds = [NMAP_UDP, 'REGISTER sip:h SIP/2.0\r\nv: SIP/2.0/UDP x;rport\r\nt: <sip:100@h>\r\nf: <sip:100@h>;tag=1\r\ni: 1\r\nCSeq: 1 REGISTER\r\nAuthorization: Digest username="100",uri="sip:h",response="00"\r\n\r\n'].map((s) => Buffer.from(s));
    fc.assert(
      fc.property(
        fc.oneof(
          fc.uint8Array({ maxLength: 700 }),
          fc.string({ maxLength: 400 }).map((s) => Buffer.from(`INVITE sip:${s} SIP/2.0\r\n${s}: ${s}\r\n\r\n`)),
          fc.tuple(fc.nat(1), fc.array(fc.tuple(fc.nat(400), fc.nat(255)), { maxLength: 10 })).map(([i, muts]) => {
            const b = Buffer.from(seeds[i]!);
            for (const [p, v] of muts) if (p < b.length) b[p] = v;
            return b;
          }),
        ),
        (bytes) => {
          const b = Buffer.from(bytes);
          const p = parse(b);
          frameLength(b);
          if (p.kind === 'request') {
            const out = handleRequest(p, cfg, peer);
            if (out.reply) expect(out.reply.length).toBeLessThanOrEqual(LIMITS.maxMessage * 2);
          }
        },
      ),
      { numRuns: 10_000, seed: 5060 },
    );
  });
});

describe('sip session', () => {
  it('answers the nmap OPTIONS probe like pjsip', () => {
    const p = parse(Buffer.from(NMAP_UDP)) as SipRequest;
    const out = handleRequest(p, cfg, peer);
    const s = out.reply!.toString();
    expect(s).toMatch(/^SIP\/2\.0 200 OK\r\nVia: SIP\/2\.0\/UDP nm;rport=5070;received=10\.0\.0\.9;branch=foo\r\nCall-ID: 50000\r\nFrom: <sip:nm@nm>;tag=root\r\nTo: <sip:nm2@nm2>;tag=foo\r\nCSeq: 42 OPTIONS\r\nAccept: /);
    expect(s).toContain('\r\nServer: Asterisk PBX 18.20.0\r\nContent-Length:  0\r\n\r\n');
    expect(/^SIP\/2\.0 (?:[^\r\n]*\r\n(?!\r\n))*?Server: Asterisk PBX ([\w._+~-]+)\r\n/s.exec(s)?.[1]).toBe('18.20.0');
    expect(udpReplyBound(NMAP_UDP.length)).toBeGreaterThanOrEqual(out.reply!.length);
  });
  it('challenges existing extensions, 404s others, refuses credentials with a john line', () => {
    expect(handleRequest(req('REGISTER', 'sip:10.0.0.5', '100'), cfg, peer).reply!.toString()).toMatch(
      /^SIP\/2\.0 401 Unauthorized\r\n[^]*WWW-Authenticate: Digest realm="asterisk",nonce="1700000000\/abc",opaque="0123456789abcdef",algorithm=md5,qop="auth"\r\n/,
    );
    expect(handleRequest(req('INVITE', 'sip:101@10.0.0.5', '101'), cfg, peer).status).toBe(401);
    expect(handleRequest(req('REGISTER', 'sip:10.0.0.5', '102'), cfg, peer).status).toBe(404);
    expect(handleRequest(req('OPTIONS', 'sip:102@10.0.0.5', '102'), cfg, peer).status).toBe(404);
    expect(handleRequest(req('OPTIONS', 'sip:100@10.0.0.5', '100'), cfg, peer).status).toBe(200);
    expect(handleRequest(req('ACK', 'sip:100@10.0.0.5', '100'), cfg, peer).reply).toBeUndefined();
    expect(handleRequest(req('BYE', 'sip:100@10.0.0.5', '100'), cfg, peer).reply!.toString()).toMatch(/^SIP\/2\.0 481 Call\/Transaction Does Not Exist\r\n/);
    expect(handleRequest(req('FOO', 'sip:100@10.0.0.5', '100'), cfg, peer).status).toBe(501);
    const ha1 = md5('100:asterisk:secret');
    const resp = md5(`${ha1}:N1:00000001:cn:auth:${md5('REGISTER:sip:10.0.0.5')}`);
    const auth = `Authorization: Digest username="100",realm="asterisk",nonce="N1",uri="sip:10.0.0.5",response="${resp}",algorithm=MD5,cnonce="cn",qop=auth,nc=00000001\r\n`;
    const out = handleRequest(req('REGISTER', 'sip:10.0.0.5', '100', auth), cfg, peer);
    expect(out.status).toBe(403);
    const ev = out.events.find((e) => e.event === 'auth_attempt')!;
    expect(ev).toMatchObject({ principal: '100', secret_kind: 'sip_digest', success: false, hashcat: `$sip$*10.0.0.5*10.0.0.9*100*asterisk*REGISTER*sip*10.0.0.5**N1*cn*00000001*auth*MD5*${resp}` });
    expect(johnSipLine({ server: 'a', client: 'b', user: 'u*', realm: 'r', method: 'M', uri: 'sip:x', nonce: '', cnonce: '', nc: '', qop: '', response: resp })).toBeUndefined();
    expect(rewriteVia('SIP/2.0/UDP h:1;branch=z;rport;received=1.1.1.1', peer)).toBe('SIP/2.0/UDP h:1;rport=5070;received=10.0.0.9;branch=z');
  });
});

describe('sip service over the wire', () => {
  const t = makeTestContext('sip', {}, [{ port: 5060, proto: 'udp' }, { port: 5060, proto: 'tcp' }], { ephemeral: true });
  let svc: RunningService;
  let udpPort = 0;
  let tcpPort = 0;
  beforeAll(async () => {
    svc = await startSip(t.ctx);
    [udpPort, tcpPort] = svc.ports as [number, number];
  });
  afterAll(async () => svc?.close());

  it('answers over UDP and TCP, drops garbage on UDP with a protocol_error', async () => {
    const sock = dgram.createSocket('udp4');
    const got = new Promise<string>((r) => sock.once('message', (m) => r(m.toString())));
    sock.send(Buffer.from('\x00\x01garbage'), udpPort, '127.0.0.1');
    await t.waitFor((e) => e.event === 'protocol_error');
    sock.send(Buffer.from(NMAP_UDP), udpPort, '127.0.0.1');
    expect(await got).toMatch(/^SIP\/2\.0 200 OK\r\n[^]*received=127\.0\.0\.1/);
    sock.close();
    const c = net.connect(tcpPort, '127.0.0.1');
    let data = '';
    c.on('data', (d) => (data += d.toString()));
    c.write(NMAP_UDP.replace('UDP', 'TCP') + NMAP_UDP.replace('UDP', 'TCP').replace('OPTIONS sip:nm', 'FOO sip:nm'));
    await new Promise<void>((r) => {
      const iv = setInterval(() => {
        if (data.includes('501 Not Implemented')) {
          clearInterval(iv);
          r();
        }
      }, 20);
    });
    expect(data).toMatch(/^SIP\/2\.0 200 OK\r\n/);
    c.destroy();
    await t.waitFor((e) => e.event === 'request' && e['method'] === 'OPTIONS' && e['transport'] === 'tcp');
  });

  it.skipIf(!hasBinary('svmap'))('svmap shows the Asterisk user agent', async () => {
    const r = await run('svmap', ['-p', String(udpPort), '127.0.0.1'], { timeoutMs: 30_000 });
    expect(r.stdout + r.stderr, r.stdout + r.stderr).toMatch(/Asterisk PBX 18\.20\.0/);
  }, 40_000);

  it.skipIf(!hasBinary('svwar'))('svwar lists exactly the configured extensions', async () => {
    const r = await run('svwar', ['-e100-205', '-p', String(udpPort), '127.0.0.1'], { timeoutMs: 60_000 });
    const found = [...r.stdout.matchAll(/^\|\s*(\d+)\s*\|\s*reqauth/gm)].map((m) => m[1]).sort();
    expect(found, r.stdout + r.stderr).toEqual(['100', '101', '102', '200']);
    const o = await run('svwar', ['-e100-110', '-t', '0.02', '-m', 'OPTIONS', '-p', String(udpPort), '127.0.0.1'], { timeoutMs: 60_000 });
    const foundO = [...o.stdout.matchAll(/^\|\s*(\d+)\s*\|\s*noauth/gm)].map((m) => m[1]).sort();
    expect(foundO, o.stdout + o.stderr).toEqual(['100', '101', '102']);
  }, 130_000);

  it.skipIf(!hasBinary('sipsak'))('sipsak OPTIONS gets the 200, register mode gets 401 then 403 and is logged', async () => {
    const r = await run('sipsak', ['-s', `sip:100@127.0.0.1:${udpPort}`, '-vv'], { timeoutMs: 20_000 });
    expect(r.stdout + r.stderr).toMatch(/SIP\/2\.0 200 OK/);
    const u = await run('sipsak', ['-U', '-s', `sip:100@127.0.0.1:${udpPort}`, '-a', 'password', '-u', '100', '-vvv'], { timeoutMs: 20_000 });
    const out = u.stdout + u.stderr;
    expect(out).toMatch(/401 Unauthorized/);
    expect(out).toMatch(/403 Forbidden/);
    const ev = await t.waitFor((e) => e.event === 'auth_attempt');
    expect(ev).toMatchObject({ principal: '100', secret_kind: 'sip_digest', success: false });
    expect(String(ev['hashcat'])).toMatch(/^\$sip\$\*127\.0\.0\.1\*127\.0\.0\.1\*100\*asterisk\*REGISTER\*sip\*/);
  }, 45_000);

  it.skipIf(!hasBinary('nmap') || process.getuid?.() !== 0)('nmap -sU -sV identifies Asterisk over UDP', async () => {
    const r = await run('nmap', ['-sU', '-sV', '-p', String(udpPort), '127.0.0.1', '-Pn'], { timeoutMs: 120_000 });
    expect(r.stdout).toMatch(/sip\S*\s+Asterisk/i);
  }, 130_000);
});
