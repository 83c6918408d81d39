/**
 * Certificates for the TLS ports of the honeypots (rdp, ldaps, later https...):
 * a self-signed RSA-2048 certificate shaped like the one the imitated product
 * makes for itself, or the operator's own PEM pair from the service config.
 *
 * The key pair comes from node:crypto (native, ~100 ms) and the certificate is
 * assembled and signed with node-forge, so the fields (serial, validity,
 * extensions, their order) are exactly what we choose rather than what a CLI
 * tool defaults to. Generation is slow-ish: identities are memoised per process.
 */
import { generateKeyPairSync, randomBytes, randomInt } from 'node:crypto';
import forge from 'node-forge';

export interface TlsIdentity {
  cert: string;
  key: string;
}

export type CertStyle = 'windows-rdp' | 'windows-ldaps' | 'generic';

const DAY_MS = 86_400_000;

/** A positive random serial of `bytes` bytes as hex (the top bit cleared so DER needs no sign byte). */
function randomSerialHex(bytes: number): string {
  const b = randomBytes(bytes);
  b[0] = (b[0]! & 0x7f) | 0x01;
  return b.toString('hex');
}

function addMonths(d: Date, months: number): Date {
  const r = new Date(d.getTime());
  r.setUTCMonth(r.getUTCMonth() + months);
  return r;
}

/** Windows truncates certificate times to whole seconds, like everyone else; forge keeps ms only in memory. */
function wholeSeconds(d: Date): Date {
  return new Date(Math.floor(d.getTime() / 1000) * 1000);
}

/** "dc01.corp.local" -> "corp-DC01-CA", the default name of an AD CS enterprise CA installed on that DC. */
function enterpriseCaName(cn: string): string {
  const [host, dom] = cn.split('.');
  return dom ? `${dom}-${(host ?? '').toUpperCase()}-CA` : `${cn.toUpperCase()}-CA`;
}

interface CertPlan {
  subject: forge.pki.CertificateField[];
  issuer: forge.pki.CertificateField[];
  notBefore: Date;
  notAfter: Date;
  serialHex: string;
  extensions: unknown[];
}

function plan(opts: { cn: string; style: CertStyle; sans?: string[]; now?: Date }): CertPlan {
  const now = opts.now ?? new Date();
  const cn = opts.cn;
  const dnsNames = [...new Set([cn, ...(opts.sans ?? [])].filter((n) => n !== ''))];
  const altNames = { name: 'subjectAltName', altNames: dnsNames.map((value) => ({ type: 2, value })) };
  switch (opts.style) {
    case 'windows-rdp': {
      // TermService makes its own certificate at first start and renews it: valid
      // six months from creation, which we place a few days to weeks back.
      const notBefore = wholeSeconds(new Date(now.getTime() - randomInt(2 * 3600_000, 40 * DAY_MS)));
      const name = [{ shortName: 'CN', value: cn }];
      return {
        subject: name,
        issuer: name,
        notBefore,
        notAfter: addMonths(notBefore, 6),
        serialHex: randomSerialHex(16),
        extensions: [
          { name: 'extKeyUsage', serverAuth: true },
          { name: 'keyUsage', keyEncipherment: true, dataEncipherment: true },
        ],
      };
    }
    case 'windows-ldaps': {
      // A DC's "Domain Controller" template certificate, issued by the domain's CA, one year.
      const notBefore = wholeSeconds(new Date(now.getTime() - randomInt(5 * DAY_MS, 200 * DAY_MS)));
      const domainDc = cn.split('.').slice(1).map((p) => ({ type: '0.9.2342.19200300.100.1.25', name: 'domainComponent', value: p, valueTagClass: 22 }));
      return {
        subject: [{ shortName: 'CN', value: cn }],
        issuer: [...[...domainDc].reverse(), { shortName: 'CN', value: enterpriseCaName(cn) }],
        notBefore,
        notAfter: addMonths(notBefore, 12),
        serialHex: randomSerialHex(13),
        extensions: [
          { name: 'keyUsage', critical: true, digitalSignature: true, keyEncipherment: true },
          { name: 'extKeyUsage', clientAuth: true, serverAuth: true },
          altNames,
        ],
      };
    }
    case 'generic': {
      const notBefore = wholeSeconds(new Date(now.getTime() - randomInt(DAY_MS, 90 * DAY_MS)));
      const name = [{ shortName: 'CN', value: cn }];
      return {
        subject: name,
        issuer: name,
        notBefore,
        notAfter: addMonths(notBefore, 12),
        serialHex: randomSerialHex(16),
        extensions: [{ name: 'basicConstraints', cA: false }, { name: 'keyUsage', digitalSignature: true, keyEncipherment: true }, { name: 'extKeyUsage', serverAuth: true }, altNames],
      };
    }
  }
}

/** A self-signed RSA-2048 certificate as the product of `style` makes it (see the cases of `plan`). */
export function selfSignedIdentity(opts: { cn: string; style: CertStyle; sans?: string[]; now?: Date }): TlsIdentity {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
  const p = plan(opts);
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.publicKeyFromPem(publicKey);
  cert.serialNumber = p.serialHex;
  cert.validity.notBefore = p.notBefore;
  cert.validity.notAfter = p.notAfter;
  cert.setSubject(p.subject);
  cert.setIssuer(p.issuer);
  cert.setExtensions(p.extensions as object[]);
  cert.sign(forge.pki.privateKeyFromPem(privateKey), forge.md.sha256.create());
  return { cert: forge.pki.certificateToPem(cert), key: privateKey };
}

const memo = new Map<string, TlsIdentity>();

function pemValue(v: unknown): string | undefined {
  return typeof v === 'string' && v.includes('-----BEGIN') ? v : undefined;
}

/** The operator's tls_cert/tls_key pair when both are set, else a generated identity memoised per process by cn+style(+sans). */
export function tlsIdentityFor(config: Record<string, unknown>, fallback: { cn: string; style: CertStyle; sans?: string[] }): TlsIdentity {
  const cert = pemValue(config['tls_cert']);
  const key = pemValue(config['tls_key']);
  if (cert && key) return { cert, key };
  const id = `${fallback.style}\0${fallback.cn}\0${(fallback.sans ?? []).join(',')}`;
  let hit = memo.get(id);
  if (!hit) {
    hit = selfSignedIdentity(fallback);
    memo.set(id, hit);
  }
  return hit;
}
