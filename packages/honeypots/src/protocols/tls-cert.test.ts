import { execFileSync } from 'node:child_process';
import { X509Certificate, createPrivateKey } from 'node:crypto';
import tls from 'node:tls';
import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { hasBinary } from '../runtime/test-util.js';
import { selfSignedIdentity, tlsIdentityFor } from './tls-cert.js';

const DAY = 86_400_000;

describe('selfSignedIdentity windows-rdp', () => {
  const now = new Date('2026-12-02T16:00:00Z');
  const id = selfSignedIdentity({ cn: 'ws01.corp.local', style: 'windows-rdp', now });
  const x = new X509Certificate(id.cert);

  it('is self-signed with CN=<host>, ~6 months, RSA-2048, 16-byte serial', () => {
    expect(x.subject).toBe('CN=ws01.corp.local');
    expect(x.issuer).toBe(x.subject);
    expect(x.verify(x.publicKey)).toBe(true);
    expect(x.publicKey.asymmetricKeyDetails?.modulusLength).toBe(2048);
    const from = new Date(x.validFrom).getTime();
    const to = new Date(x.validTo).getTime();
    expect(from).toBeLessThan(now.getTime());
    expect(now.getTime() - from).toBeLessThan(41 * DAY);
    expect((to - from) / DAY).toBeGreaterThan(180);
    expect((to - from) / DAY).toBeLessThan(185);
    expect(x.serialNumber).toMatch(/^[0-9A-F]{32}$/);
    expect(x.keyUsage).toEqual(['1.3.6.1.5.5.7.3.1']);
    expect(x.checkPrivateKey(createPrivateKey(id.key))).toBe(true);
  });

  it.skipIf(!hasBinary('openssl'))('openssl x509 -text shows what a Windows RDP certificate shows', () => {
    const text = execFileSync('openssl', ['x509', '-noout', '-text'], { input: id.cert }).toString();
    expect(text).toMatch(/Version: 3 \(0x2\)/);
    expect(text).toMatch(/Signature Algorithm: sha256WithRSAEncryption/);
    expect(text).toMatch(/Issuer: CN\s?=\s?ws01\.corp\.local/);
    expect(text).toMatch(/Subject: CN\s?=\s?ws01\.corp\.local/);
    expect(text).toMatch(/Public-Key: \(2048 bit\)/);
    expect(text).toMatch(/X509v3 Extended Key Usage: \n\s+TLS Web Server Authentication/);
    expect(text).toMatch(/X509v3 Key Usage: \n\s+Key Encipherment, Data Encipherment/);
    expect(text).not.toMatch(/Subject Alternative Name/);
  });

  it('serves a TLS handshake', async () => {
    const server = net.createServer((s) => {
      const t = new tls.TLSSocket(s, { isServer: true, ...id });
      t.on('error', () => {});
      t.on('secure', () => t.end());
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as net.AddressInfo).port;
    const peer = await new Promise<tls.PeerCertificate>((resolve, reject) => {
      const c = tls.connect({ port, host: '127.0.0.1', rejectUnauthorized: false }, () => {
        resolve(c.getPeerCertificate());
        c.destroy();
      });
      c.on('error', reject);
    });
    server.close();
    expect(peer.subject.CN).toBe('ws01.corp.local');
  });
});

describe('other styles and tlsIdentityFor', () => {
  it('windows-ldaps: issued by the domain CA, SAN, one year', () => {
    const x = new X509Certificate(selfSignedIdentity({ cn: 'dc01.corp.local', style: 'windows-ldaps', sans: ['corp.local'] }).cert);
    expect(x.subject).toBe('CN=dc01.corp.local');
    expect(x.issuer).toContain('CN=corp-DC01-CA');
    expect(x.subjectAltName).toBe('DNS:dc01.corp.local, DNS:corp.local');
    const days = (new Date(x.validTo).getTime() - new Date(x.validFrom).getTime()) / DAY;
    expect(days).toBeGreaterThan(364);
    expect(days).toBeLessThan(367);
  });

  it('generic: CN and SAN', () => {
    const x = new X509Certificate(selfSignedIdentity({ cn: 'mail.example.com', style: 'generic' }).cert);
    expect(x.subject).toBe('CN=mail.example.com');
    expect(x.subjectAltName).toBe('DNS:mail.example.com');
  });

  it('memoises generated identities and prefers the operator PEM pair', () => {
    const a = tlsIdentityFor({}, { cn: 'x1', style: 'windows-rdp' });
    const b = tlsIdentityFor({ tls_cert: 'nope' }, { cn: 'x1', style: 'windows-rdp' });
    expect(b).toBe(a);
    const own = tlsIdentityFor({ tls_cert: a.cert, tls_key: a.key }, { cn: 'other', style: 'generic' });
    expect(own).toEqual({ cert: a.cert, key: a.key });
  });
});
