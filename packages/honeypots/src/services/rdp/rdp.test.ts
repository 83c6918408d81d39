/**
 * The RDP honeypot against the real tools on loopback: nmap -sV and its rdp/ssl
 * NSE scripts, and xfreerdp (under xvfb-run: xfreerdp 2.x opens a display even
 * for +auth-only).
 */
import { createHmac } from 'node:crypto';
import tls from 'node:tls';
import type { AttackerEvent } from '@decnet/api';
import md4 from 'js-md4';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningService } from '../../runtime/types.js';
import { makeTestContext, type TestContext } from '../../runtime/test-context.js';
import { hasBinary, RawClient, run } from '../../runtime/test-util.js';
import { rdpService } from './rdp.js';

const hmac = (k: Buffer, ...d: Buffer[]) => d.reduce((h, x) => h.update(x), createHmac('md5', k)).digest();
const u16 = (s: string) => Buffer.from(s, 'utf16le');

/** hashcat -m 5600 in miniature: does `password` reproduce the NTProofStr of the line? */
function crack5600(line: string, password: string): boolean {
  const [user, , domain, chal, proof, blob] = line.split(':');
  const nt = Buffer.from(md4.create().update(u16(password)).arrayBuffer());
  const owf = hmac(nt, u16(user!.toUpperCase() + domain!));
  return hmac(owf, Buffer.from(chal!, 'hex'), Buffer.from(blob!, 'hex')).toString('hex') === proof;
}

/**
 * On 3389 when it is free: nmap -sV orders its probes by port, and only there does its RDP
 * probe come before the TLS probes (on another port a Windows host, which also takes TLS
 * straight away, reads as ssl/unknown, and the rdp scripts would not run).
 */
async function startRdp(nla: boolean): Promise<{ t: TestContext; svc: RunningService; port: string; standard: boolean }> {
  for (const port of [3389, 0]) {
    const t = makeTestContext('rdp', { nla }, [{ port, proto: 'tcp' }], { hostname: 'ws01', nmapOS: 'windows', otherServices: [{ name: 'ldap', config: { domain: 'corp.local' } }] });
    try {
      const svc = await rdpService.start(t.ctx);
      return { t, svc, port: String(svc.ports[0]), standard: port === 3389 };
    } catch {
      t.cleanup();
    }
  }
  throw new Error('cannot bind');
}

const xfreerdp = (port: string, extra: string[]) => {
  const args = [`/v:127.0.0.1:${port}`, '/u:alice', '/p:Secret1', '/d:CORP', '/cert:ignore', ...extra];
  return hasBinary('xvfb-run') ? run('xvfb-run', ['-a', 'timeout', '25', 'xfreerdp', ...args], { timeoutMs: 40_000 }) : run('timeout', ['25', 'xfreerdp', ...args], { timeoutMs: 40_000 });
};
const canRunXfreerdp = hasBinary('xfreerdp') && (hasBinary('xvfb-run') || Boolean(process.env['DISPLAY']));

describe('rdp with NLA (default)', () => {
  let s: Awaited<ReturnType<typeof startRdp>>;
  beforeAll(async () => {
    s = await startRdp(true);
  });
  afterAll(async () => {
    await s.svc.close();
    s.t.cleanup();
  });

  it('answers nmap\'s TerminalServerCookie probe with the Windows 10 bytes', async () => {
    const c = await RawClient.connect(Number(s.port));
    c.send(Buffer.from('0300002a25e00000000000436f6f6b69653a206d737473686173683d6e6d61700d0a0100080003000000', 'hex'));
    await c.waitFor((b) => b.length >= 19);
    expect(c.bytes.toString('hex')).toBe('030000130ed00000123400021f080002000000');
    c.close();
  });

  it('survives garbage before and inside TLS and keeps serving', async () => {
    const cr = Buffer.from('0300002a25e00000000000436f6f6b69653a206d737473686173683d6e6d61700d0a0100080003000000', 'hex');
    const junk = await RawClient.connect(Number(s.port));
    junk.send(Buffer.concat([Buffer.from([0x16, 0x03, 0x01, 0xff, 0xff]), Buffer.alloc(300, 0x41)]));
    await junk.waitClosed(5000);
    const raw = await RawClient.connect(Number(s.port));
    raw.send(cr);
    await raw.waitFor((b) => b.length >= 19);
    const secure = tls.connect({ socket: raw.socket, rejectUnauthorized: false });
    await new Promise<void>((resolve, reject) => secure.once('secureConnect', resolve).once('error', reject));
    expect(secure.getPeerCertificate().subject.CN).toBe('ws01.corp.local');
    secure.write(Buffer.alloc(2000, 0x30));
    await new Promise<void>((resolve) => secure.once('close', () => resolve()).on('error', () => {}));
    const again = await RawClient.connect(Number(s.port));
    again.send(cr);
    await again.waitFor((b) => b.length >= 19);
    again.close();
  });

  it.skipIf(!hasBinary('nmap'))(
    'nmap -sV, rdp-ntlm-info, rdp-enum-encryption and ssl-cert print a Windows 10 host',
    async (c) => {
      if (!s.standard) c.skip();
      const r = await run('nmap', ['-Pn', '-sV', '-p', s.port, '--script', 'rdp-ntlm-info,rdp-enum-encryption,ssl-cert', '127.0.0.1'], { timeoutMs: 80_000 });
      const out = r.stdout;
      expect(out).toMatch(/open\s+ms-wbt-server\s+Microsoft Terminal Services/);
      for (const line of ['Target_Name: CORP', 'NetBIOS_Domain_Name: CORP', 'NetBIOS_Computer_Name: WS01', 'DNS_Domain_Name: corp.local', 'DNS_Computer_Name: ws01.corp.local', 'DNS_Tree_Name: corp.local', 'Product_Version: 10.0.19045']) {
        expect(out).toContain(line);
      }
      expect(out).toMatch(/System_Time: \d{4}-\d\d-\d\dT/);
      // an NLA-only Windows 10: CredSSP, CredSSP with Early User Auth, RDSTLS; no TLS-only, no RDP security
      expect(out).toMatch(/CredSSP \(NLA\): SUCCESS/);
      expect(out).toMatch(/CredSSP with Early User Auth: SUCCESS/);
      expect(out).not.toMatch(/SSL: SUCCESS|Native RDP: SUCCESS/);
      expect(out).toMatch(/ssl-cert: Subject: commonName=ws01\.corp\.local/);
      expect(out).toMatch(/Issuer: commonName=ws01\.corp\.local/);
    },
    90_000,
  );

  it.skipIf(!canRunXfreerdp)(
    'xfreerdp +auth-only fails with a logon failure and leaves a crackable NetNTLMv2',
    async () => {
      const r = await xfreerdp(s.port, ['+auth-only']);
      const out = r.stdout + r.stderr;
      expect(out).toContain('STATUS_LOGON_FAILURE');
      expect(out).toContain('ERRCONNECT_LOGON_FAILURE');
      expect(out).toMatch(/Authentication only, exit status 1/);
      const ev: AttackerEvent = await s.t.waitFor((e) => e.event === 'auth_attempt' && e.principal === 'CORP\\alice');
      expect(ev).toMatchObject({ secret_kind: 'netntlmv2', success: false, auth_method: 'credssp', credssp_version: 6, rdp_cookie: 'alice' });
      expect(ev.secret).toMatch(/^alice::CORP:[0-9a-f]{16}:[0-9a-f]{32}:0101[0-9a-f]+$/);
      expect(crack5600(ev.secret!, 'Secret1')).toBe(true);
      expect(crack5600(ev.secret!, 'Secret2')).toBe(false);
    },
    60_000,
  );
});

describe('rdp with nla: false', () => {
  let s: Awaited<ReturnType<typeof startRdp>>;
  beforeAll(async () => {
    s = await startRdp(false);
  });
  afterAll(async () => {
    await s.svc.close();
    s.t.cleanup();
  });

  it.skipIf(!canRunXfreerdp)(
    'xfreerdp over TLS hands over the plaintext password and is disconnected',
    async () => {
      const r = await xfreerdp(s.port, ['/sec:tls']);
      expect(r.stdout + r.stderr).toContain('ERRINFO_LOGOFF_BY_USER');
      const ev = await s.t.waitFor((e) => e.event === 'auth_attempt');
      expect(ev).toMatchObject({ principal: 'CORP\\alice', secret_kind: 'plaintext', secret: 'Secret1', secret_b64: 'U2VjcmV0MQ==', auth_method: 'rdp_client_info', rdp_autologon: true });
      const ci = await s.t.waitFor((e) => e.request === 'mcs_connect_initial');
      expect(ci['rdp_channels']).toEqual(expect.arrayContaining(['rdpdr', 'cliprdr']));
    },
    60_000,
  );

  it.skipIf(!hasBinary('nmap'))(
    'rdp-enum-encryption sees TLS and the RDP version; rdp-ntlm-info still gets the names',
    async (c) => {
      if (!s.standard) c.skip();
      const r = await run('nmap', ['-Pn', '-sV', '-p', s.port, '--script', 'rdp-enum-encryption,rdp-ntlm-info', '127.0.0.1'], { timeoutMs: 80_000 });
      // nmap has no signature for a Windows that picks TLS over an offered CredSSP: it names the port only
      expect(r.stdout).toMatch(/3389\/tcp open\s+(ssl\/)?ms-wbt-server/);
      expect(r.stdout).toMatch(/SSL: SUCCESS/);
      expect(r.stdout).toMatch(/RDP Protocol Version:\s+RDP 10\.7 server/);
      expect(r.stdout).toContain('Product_Version: 10.0.19045');
    },
    90_000,
  );
});
