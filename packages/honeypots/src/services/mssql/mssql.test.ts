import { createHmac } from 'node:crypto';
import { existsSync } from 'node:fs';
import md4 from 'js-md4';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolvePersona } from '@decnet/api';
import { makeTestContext, type TestContext } from '../../runtime/test-context.js';
import type { RunningService } from '../../runtime/types.js';
import { hasBinary, RawClient, run } from '../../runtime/test-util.js';
import net from 'node:net';
import tls from 'node:tls';
import { Duplex } from 'node:stream';
import { buildLogin7 } from './login7.js';
import { mssqlService } from './mssql.js';
import { framePackets, PKT } from './tds.js';
import { PreloginTlsTransport, TlsDemux } from './tds-tls.js';

const PY = '/usr/bin/python3';
const MSSQLCLIENT = '/usr/share/doc/python3-impacket/examples/mssqlclient.py';
const hasImpacket = existsSync(PY) && existsSync(MSSQLCLIENT);

const persona = resolvePersona({ hostname: 'sql01.corp.local', nmapOS: 'windows_server', services: [{ name: 'mssql', config: {} }] });

let t: TestContext;
let svc: RunningService;
let port: number;
beforeAll(async () => {
  t = makeTestContext('mssql', {}, [{ port: 0, proto: 'tcp' }], { persona });
  svc = await mssqlService.start(t.ctx);
  port = svc.ports[0]!;
});
afterAll(async () => {
  await svc.close();
  t.cleanup();
});

const hmac = (k: Buffer, ...d: Buffer[]) => {
  const h = createHmac('md5', k);
  for (const x of d) h.update(x);
  return h.digest();
};

/** Recompute NTProofStr from a hashcat 5600 line and a password guess. */
function verifies(line: string, password: string): boolean {
  const [user, , domain, chal, proof, blob] = line.split(':');
  const nt = Buffer.from(md4.create().update(Buffer.from(password, 'utf16le')).arrayBuffer());
  const owf = hmac(nt, Buffer.from(user!.toUpperCase() + domain!, 'utf16le'));
  return hmac(owf, Buffer.from(chal!, 'hex'), Buffer.from(blob!, 'hex')).toString('hex') === proof!.toLowerCase();
}

describe.skipIf(!hasImpacket)('mssql with impacket mssqlclient.py', () => {
  it('SQL login over the TLS-wrapped LOGIN7: prints Login failed and the password is captured', async () => {
    const since = t.events.length;
    const r = await run(PY, [MSSQLCLIENT, 'sa:Secret1@127.0.0.1', '-port', String(port)], { timeoutMs: 20_000 });
    const out = r.stdout + r.stderr;
    expect(out).toContain("ERROR(SQL01): Line 1: Login failed for user 'sa'.");
    const ev = await t.waitFor((e) => e.event === 'auth_attempt' && t.events.indexOf(e) >= since);
    expect(ev).toMatchObject({ principal: 'sa', secret_kind: 'plaintext', secret: 'Secret1', success: false, tls: true, server_name: '127.0.0.1' });
  });

  it('-windows-auth: NTLM through SSPI, captured as a crackable netntlmv2', async () => {
    const since = t.events.length;
    const r = await run(PY, [MSSQLCLIENT, '-windows-auth', 'CORP/alice:Secret1@127.0.0.1', '-port', String(port)], { timeoutMs: 20_000 });
    const out = r.stdout + r.stderr;
    expect(out).toContain("Login failed for user 'CORP\\alice'.");
    const ev = await t.waitFor((e) => e.event === 'auth_attempt' && t.events.indexOf(e) >= since);
    expect(ev).toMatchObject({ principal: 'CORP\\alice', secret_kind: 'netntlmv2', success: false });
    expect(ev.secret).toMatch(/^alice::CORP:[0-9a-f]{16}:[0-9a-f]{32}:[0-9a-f]+$/);
    expect(Buffer.from(ev.secret_b64!, 'base64').toString()).toBe(ev.secret);
    expect(verifies(ev.secret!, 'Secret1')).toBe(true);
    expect(verifies(ev.secret!, 'Secret2')).toBe(false);
  });
});

describe.skipIf(!hasBinary('nmap'))('mssql with nmap', () => {
  // nmap probes a non-standard port with many probes before the ms-sql-s one (~45 s); on 1433 it is quick
  let nmapPort = 0;
  let extra: RunningService | undefined;
  beforeAll(async () => {
    try {
      extra = await mssqlService.start({ ...t.ctx, ports: [{ port: 1433, proto: 'tcp' }] });
      nmapPort = extra.ports[0]!;
    } catch {
      nmapPort = port;
    }
  });
  afterAll(async () => {
    await extra?.close();
  });

  it('-sV (with ms-sql-info) names SQL Server 2019 RTM; ssl-cert sees the fallback certificate through the TDS tunnel', async () => {
    const r = await run('nmap', ['-Pn', '-sV', '-p', String(nmapPort), '--script', 'ms-sql-info,ssl-cert', '127.0.0.1'], { timeoutMs: 80_000 });
    const o = r.stdout;
    expect(o).toMatch(/open\s+ms-sql-s\s+Microsoft SQL Server 2019 15\.00\.2000\.00; RTM/);
    expect(o).toContain('ssl-cert: Subject: commonName=SSL_Self_Signed_Fallback');
    expect(o).toContain('Issuer: commonName=SSL_Self_Signed_Fallback');
    expect(o).not.toContain('Subject Alternative Name');
    const nb = /Not valid before: (\d{4})-(\S+)/.exec(o);
    const na = /Not valid after: +(\d{4})-(\S+)/.exec(o);
    expect(Number(na![1]) - Number(nb![1])).toBe(30);
    expect(na![2]).toBe(nb![2]);
    // nmap 7.93's ms-sql-* portrule scripts crash against every server (nmap issue #2622); the
    // NTLM CHALLENGE that ms-sql-ntlm-info reads is checked byte for byte in mssql-protocol.test.ts
  }, 90_000);
});

describe('mssql over raw sockets', () => {
  it('answers the nmap PRELOGIN probe with the 37-byte answer nmap fingerprints', async () => {
    const probe = Buffer.from('120100340000000000001500060100 1b000102001c000c0300280004ff080001550000004d5353514c53657276657200480f0000'.replace(/ /g, ''), 'hex');
    const c = await RawClient.connect(port);
    c.send(probe);
    await c.waitFor((b) => b.length >= 0x25);
    expect(c.bytes.subarray(0, 0x25).toString('hex')).toBe('0401002500000100' + '000015000601001b000102001c000103001d0000ff' + '0f0007d00000' + '00' + '00');
    c.close();
  });

  it('closes on garbage', async () => {
    const c = await RawClient.connect(port);
    c.send('GET / HTTP/1.0\r\n\r\n');
    await c.waitClosed();
  });

  it('an nmap ms-sql-ntlm-info style LOGIN7 (no PRELOGIN) gets the NTLM CHALLENGE in an SSPI token', async () => {
    const neg = Buffer.concat([Buffer.from('NTLMSSP\0', 'latin1'), Buffer.from('0100000001b20000010001002000000000000000200000002e', 'hex')]);
    const c = await RawClient.connect(port);
    c.send(framePackets(PKT.LOGIN7, buildLogin7({ tdsVersion: 0x71000001, serverName: '127.0.0.1', sspi: neg, integrated: true })));
    await c.waitFor((b) => b.length >= 8 && b.length >= b.readUInt16BE(2));
    expect(c.bytes[0]).toBe(PKT.TABULAR);
    expect(c.bytes[8]).toBe(0xed);
    expect(c.bytes.subarray(11, 19).toString('latin1')).toBe('NTLMSSP\0');
    expect(c.bytes.includes(Buffer.from('SQL01', 'utf16le'))).toBe(true);
    c.close();
  });

  it('ENCRYPT_ON: the whole connection runs in TLS and the error comes back encrypted', async () => {
    const sock = net.connect(port, '127.0.0.1');
    await new Promise((r) => sock.once('connect', r));
    const pre = Buffer.from('000010000601001600010200170001ff0f00000000000100', 'hex');
    sock.write(framePackets(PKT.PRELOGIN, pre));
    // one server packet: the PRELOGIN answer (type 4)
    const reply = await new Promise<Buffer>((resolve) => sock.once('data', (d: Buffer) => resolve(d.subarray(8, d.readUInt16BE(2)))));
    expect(reply.length).toBeGreaterThan(8);
    expect(reply[reply.readUInt16BE(6)]).toBe(1); // ENCRYPT_ON
    // client side of the tunnel: the same PRELOGIN wrapping, the other way round
    const demux = new TlsDemux();
    const transport = new PreloginTlsTransport((b) => sock.write(b));
    sock.on('data', (d: Buffer) => {
      for (const it of demux.feed(d)) if (it.kind === 'wrapped' || it.kind === 'record') transport.deliver(it.data);
    });
    const t = tls.connect({ socket: transport as unknown as Duplex, rejectUnauthorized: false });
    await new Promise((r) => t.once('secureConnect', r));
    transport.wrapping = false;
    expect(t.getPeerCertificate().subject.CN).toBe('SSL_Self_Signed_Fallback');
    t.write(framePackets(PKT.LOGIN7, buildLogin7({ userName: 'enc', password: 'tunnelled' })));
    const plain = await new Promise<Buffer>((resolve) => t.once('data', resolve));
    expect(plain[0]).toBe(PKT.TABULAR);
    expect(plain.includes(Buffer.from("Login failed for user 'enc'.", 'utf16le'))).toBe(true);
    const ev = await t_wait('enc');
    expect(ev).toMatchObject({ secret: 'tunnelled', tls: true });
    sock.destroy();
  });
});

describe('mssql survives hostile streams over real sockets', () => {
  it('replayed and mutated captures (TLS streams included) and random bytes: no crash, still answers', async () => {
    const fx = JSON.parse(readFileSync(fileURLToPath(new URL('./__fixtures__/captures.json', import.meta.url)), 'utf8')) as Record<string, string | string[]>;
    const seeds = Object.entries(fx).filter(([k]) => k !== '_about').flatMap(([, v]) => (Array.isArray(v) ? v : [v])).map((h) => Buffer.from(h, 'hex'));
    const chunk = fc.oneof(
      fc.constantFrom(...seeds),
      fc.tuple(fc.constantFrom(...seeds), fc.nat(), fc.integer({ min: 0, max: 255 })).map(([b, i, v]) => {
        const c = Buffer.from(b);
        c[i % c.length] = v;
        return c;
      }),
      fc.uint8Array({ minLength: 1, maxLength: 1500 }).map((u) => Buffer.from(u)),
    );
    for (const chunks of fc.sample(fc.array(chunk, { minLength: 1, maxLength: 5 }), 40)) {
      const c = await RawClient.connect(port);
      for (const ch of chunks) c.send(ch);
      await new Promise((r) => setTimeout(r, 10));
      expect(c.bytes.length).toBeLessThan(64 * 1024);
      c.close();
    }
    const probe = Buffer.from(fx['nmap-sv-probe'] as string, 'hex');
    const c = await RawClient.connect(port);
    c.send(probe);
    await c.waitFor((b) => b.length >= 0x25);
    c.close();
    expect(t.logs.filter((l) => /threw/.test(l.msg))).toEqual([]);
  }, 30_000);
});

const t_wait = (user: string) => t.waitFor((e) => e.event === 'auth_attempt' && e.principal === user);
