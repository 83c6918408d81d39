import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import tls from 'node:tls';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { fingerprint, isGrease, ja3String, ja4, parseClientHelloBody, readClientHello, type ClientHello } from '../protocols/tls-hello.js';
import { certRequestFor, selfSignedIdentity } from '../protocols/tls-cert.js';
import { httpsService } from '../services/http/http.js';
import { makeTestContext } from './test-context.js';
import { hasBinary, run } from './test-util.js';
import { serviceIdentity } from './tls.js';

const fixture = (name: string) => Buffer.from(readFileSync(join(__dirname, '..', 'protocols', '__fixtures__', name), 'utf8').trim(), 'hex');
const curlHello = fixture('clienthello-curl.hex');
const opensslHello = fixture('clienthello-openssl.hex');

describe('ClientHello and fingerprints', () => {
  it('reads the hellos curl and openssl send', () => {
    const c = readClientHello(curlHello);
    expect(c.state).toBe('hello');
    if (c.state !== 'hello') return;
    expect(c.hello.sni).toBe('localhost');
    expect(c.hello.alpn).toEqual(['h2', 'http/1.1']);
    expect(c.bytes).toBe(curlHello.length);
    const fp = fingerprint(c.hello);
    expect(fp.tls_client_version).toBe('TLSv1.3');
    expect(fp.ja3).toMatch(/^771,[\d-]+,[\d-]+,[\d-]+,0(-\d+)*$/);
    expect(fp.ja3_hash).toMatch(/^[0-9a-f]{32}$/);
    expect(fp.ja4).toMatch(/^t13d\d{4}h2_[0-9a-f]{12}_[0-9a-f]{12}$/);
    const o = readClientHello(opensslHello);
    expect(o.state === 'hello' && o.hello.sni).toBe('example.org');
    expect(o.state === 'hello' && fingerprint(o.hello).ja4.startsWith('t13d')).toBe(true);
  });

  it('waits for the rest of a hello cut anywhere, including over two records', () => {
    for (let i = 0; i < curlHello.length; i++) expect(readClientHello(curlHello.subarray(0, i)).state).toBe('need-more');
    // the same handshake message split over two records
    const body = curlHello.subarray(5);
    const rec = (b: Buffer) => Buffer.concat([Buffer.from([0x16, 0x03, 0x01, b.length >> 8, b.length & 0xff]), b]);
    const split = Buffer.concat([rec(body.subarray(0, 100)), rec(body.subarray(100))]);
    const r = readClientHello(split);
    expect(r.state).toBe('hello');
    expect(r.state === 'hello' && r.hello.sni).toBe('localhost');
  });

  it('tells plaintext from a broken handshake', () => {
    expect(readClientHello(Buffer.from('GET / HTTP/1.1\r\n')).state).toBe('not-tls');
    expect(readClientHello(Buffer.from([0x16, 0x03, 0x01, 0x00, 0x04, 0x02, 0, 0, 0])).state).toBe('bad');
  });

  it("computes JA4's hashes as FoxIO's example (Chrome) has them", () => {
    const G = 0x2a2a;
    const hello: ClientHello = {
      version: 0x0303,
      ciphers: [G, 0x1301, 0x1302, 0x1303, 0xc02b, 0xc02f, 0xc02c, 0xc030, 0xcca9, 0xcca8, 0xc013, 0xc014, 0x009c, 0x009d, 0x002f, 0x0035],
      extensions: [G, 0x001b, 0x0000, 0x0033, 0x0010, 0x4469, 0x0017, 0x002d, 0x000d, 0x0005, 0x0023, 0x0012, 0x002b, 0xff01, 0x000b, 0x000a, 0x0015],
      groups: [G, 0x001d, 0x0017, 0x0018],
      pointFormats: [0],
      signatureAlgorithms: [0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501, 0x0806, 0x0601],
      supportedVersions: [G, 0x0304, 0x0303],
      alpn: ['h2', 'http/1.1'],
      sni: 'example.com',
    };
    expect(ja4(hello)).toBe('t13d1516h2_8daaf6152771_e5627efa2ab1');
    expect(ja3String(hello).startsWith('771,4865-4866-4867-49195-')).toBe(true);
    expect(ja3String(hello)).not.toContain(String(G));
    expect(isGrease(0x0a0a) && isGrease(0xfafa) && !isGrease(0x0a0b)).toBe(true);
  });

  it("gives the JA3 hashes of salesforce/ja3's README examples", () => {
    const base = { extensions: [], groups: [], pointFormats: [], signatureAlgorithms: [], supportedVersions: [], alpn: [] };
    const withExts: ClientHello = { ...base, version: 769, ciphers: [47, 53, 5, 10, 49161, 49162, 49171, 49172, 50, 56, 19, 4], extensions: [0, 10, 11], groups: [23, 24, 25], pointFormats: [0] };
    expect(ja3String(withExts)).toBe('769,47-53-5-10-49161-49162-49171-49172-50-56-19-4,0-10-11,23-24-25,0');
    expect(fingerprint(withExts).ja3_hash).toBe('ada70206e40642a3e4461f35503241d5');
    const noExts: ClientHello = { ...base, version: 769, ciphers: [4, 5, 10, 9, 100, 98, 3, 6, 19, 18, 99] };
    expect(ja3String(noExts)).toBe('769,4-5-10-9-100-98-3-6-19-18-99,,,');
    expect(fingerprint(noExts).ja3_hash).toBe('de350869b8c85de67a350c8d186f11e6');
  });

  it('never throws on generated or mutated input (10,000 runs)', () => {
    const check = (b: Buffer) => {
      const r = readClientHello(b);
      expect(['need-more', 'not-tls', 'hello', 'bad']).toContain(r.state);
      if (r.state === 'hello') {
        const fp = fingerprint(r.hello);
        expect(fp.ja4.length).toBeLessThan(64);
        expect(r.hello.extensions.length).toBeLessThanOrEqual(200);
      }
    };
    const mutated = fc
      .tuple(fc.constantFrom(curlHello, opensslHello), fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 12 }), fc.nat())
      .map(([base, flips, cut]) => {
        const b = Buffer.from(base);
        for (const [i, v] of flips) b[i % b.length] = v;
        return b.subarray(0, cut % 2 === 0 ? b.length : cut % (b.length + 1));
      });
    fc.assert(fc.property(mutated, check), { numRuns: 6000, seed: 42 });
    const generated = fc.uint8Array({ maxLength: 600 }).map((a) => Buffer.concat([Buffer.from([0x16, 0x03, 0x01, a.length >> 8, a.length & 0xff, 0x01]), Buffer.from(a)]));
    fc.assert(fc.property(generated, check), { numRuns: 3000, seed: 42 });
    fc.assert(fc.property(fc.uint8Array({ maxLength: 400 }), (a) => void parseClientHelloBody(Buffer.from(a))), { numRuns: 1000, seed: 42 });
  });
});

describe('certificates', () => {
  it('plans the certificate each product makes, one place for the services and apply time', () => {
    const linux = { hostname: 'web-01', fqdn: 'web-01', netbiosName: 'WEB-01', joined: false, os: 'linux' };
    expect(certRequestFor('https', linux, {})).toEqual({ cn: 'web-01', style: 'debian-snakeoil' });
    expect(certRequestFor('https', linux, { tls_cn: 'www.example.com' })?.cn).toBe('www.example.com');
    expect(certRequestFor('imap', linux, {})?.style).toBe('debian-snakeoil');
    expect(certRequestFor('k8s', linux, {}, '10.0.0.5')?.ips).toEqual(['10.96.0.1', '10.0.0.5']);
    expect(certRequestFor('mssql', linux, {})).toBeUndefined();
    expect(certRequestFor('ssh', linux, {})).toBeUndefined();
  });

  it('makes a snakeoil certificate as make-ssl-cert does, and CA-signed ones not self-signed', () => {
    const snake = new X509Certificate(selfSignedIdentity({ cn: 'mail01', style: 'debian-snakeoil' }).cert);
    expect(snake.subject).toBe('CN=mail01');
    expect(snake.issuer).toBe('CN=mail01');
    expect(snake.subjectAltName).toBe('DNS:mail01');
    expect(snake.serialNumber.length).toBe(40);
    const years = (Date.parse(snake.validTo) - Date.parse(snake.validFrom)) / (365 * 86_400_000);
    expect(years).toBeGreaterThan(9.9);
    expect(snake.verify(snake.publicKey)).toBe(true);
    const kube = new X509Certificate(selfSignedIdentity({ ...certRequestFor('k8s', { hostname: 'cp-01', fqdn: 'cp-01', netbiosName: 'CP-01', joined: false, os: 'linux' }, {}, '10.1.2.3')! }).cert);
    expect(kube.subject).toBe('CN=kube-apiserver');
    expect(kube.issuer).toBe('CN=kubernetes');
    expect(kube.subjectAltName).toBe('DNS:cp-01, DNS:kubernetes, DNS:kubernetes.default, DNS:kubernetes.default.svc, DNS:kubernetes.default.svc.cluster.local, IP Address:10.96.0.1, IP Address:10.1.2.3');
    expect(kube.verify(kube.publicKey)).toBe(false);
  });

  it('presents the operator certificate, else the apply-time one, else its own', () => {
    const applied = selfSignedIdentity({ cn: 'applied', style: 'debian-snakeoil' });
    const operator = selfSignedIdentity({ cn: 'operator', style: 'generic' });
    const req = { cn: 'x', style: 'debian-snakeoil' } as const;
    const withApplied = makeTestContext('https', {}, undefined, { tls: { 'debian-snakeoil': applied } });
    expect(serviceIdentity(withApplied.ctx, req)).toBe(applied);
    const withOperator = makeTestContext('https', { tls_cert: operator.cert, tls_key: operator.key }, undefined, { tls: { 'debian-snakeoil': applied } });
    expect(serviceIdentity(withOperator.ctx, req).cert).toBe(operator.cert);
    const bare = makeTestContext('https');
    expect(new X509Certificate(serviceIdentity(bare.ctx, req).cert).subject).toBe('CN=x');
  });
});

describe('https over the shared TLS front', () => {
  const t = makeTestContext('https', { server_header: 'Apache/2.4.62 (Debian)', tls_cn: 'intranet.example.com' }, [{ port: 443, proto: 'tcp' }], { ephemeral: true });
  const started = httpsService.start(t.ctx);
  afterAll(async () => (await started).close());

  it('curl completes, sees the certificate and the server; the connection event has JA3 and JA4', async () => {
    const port = (await started).ports[0]!;
    const r = await run('curl', ['-skv', '--max-time', '5', `https://127.0.0.1:${port}/`]);
    expect(r.stdout).toContain('It works');
    expect(r.stderr).toContain('subject: CN=intranet.example.com');
    expect(r.stderr).toMatch(/< Server: Apache\/2\.4\.62 \(Debian\)/i);
    const conn = await t.waitFor((e) => e.event === 'connection' && e['ja4'] !== undefined);
    expect(conn['tls']).toBe(true);
    expect(String(conn['ja4'])).toMatch(/^t13i\d{4}h2_/);
    expect(String(conn['ja3_hash'])).toMatch(/^[0-9a-f]{32}$/);
    const req = await t.waitFor((e) => e.event === 'request');
    expect(req['path']).toBe('/');
    const hs = await t.waitFor((e) => e.event === 'tls_handshake');
    expect(hs).toMatchObject({ starttls: false, tls: true, ja4: conn['ja4'], ja3_hash: conn['ja3_hash'], dst_port: conn['dst_port'] });
    expect(String(req['http_fp'])).toMatch(/^[0-9a-f]{12}$/);
    expect(req['http_header_order']).toBe('host,user-agent,accept');
  });

  it.skipIf(!hasBinary('openssl'))('openssl s_client shows the configured CN; a plaintext client gets an alert and a protocol_error', async () => {
    const port = (await started).ports[0]!;
    const r = await run('sh', ['-c', `echo | openssl s_client -connect 127.0.0.1:${port} -servername files.local 2>&1`]);
    expect(r.stdout).toContain('subject=CN = intranet.example.com');
    await t.waitFor((e) => e.event === 'connection' && e['tls_sni'] === 'files.local');
    const alert = await new Promise<Buffer>((resolve) => {
      const s = net.connect(port, '127.0.0.1', () => s.write('GET / HTTP/1.0\r\n\r\n'));
      let got = Buffer.alloc(0);
      s.on('data', (d) => (got = Buffer.concat([got, d])));
      s.on('close', () => resolve(got));
      s.on('error', () => resolve(got));
    });
    expect(alert[0]).toBe(0x15);
    await t.waitFor((e) => e.event === 'protocol_error' && String(e['message']).includes('not a TLS handshake'));
  });

  it('records a TLS 1.2-only client with its own fingerprint', async () => {
    const port = (await started).ports[0]!;
    await new Promise<void>((resolve, reject) => {
      const s = tls.connect({ port, host: '127.0.0.1', rejectUnauthorized: false, maxVersion: 'TLSv1.2', servername: 'tls12.test' }, () => {
        s.end();
        resolve();
      });
      s.on('error', reject);
    });
    const conn = await t.waitFor((e) => e.event === 'connection' && e['tls_sni'] === 'tls12.test');
    expect(conn['tls_client_version']).toBe('TLSv1.2');
    expect(String(conn['ja4']).startsWith('t12d')).toBe(true);
  });
});
