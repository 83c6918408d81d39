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

/**
 * Who made the certificate: TermService (windows-rdp), AD CS for a DC (windows-ldaps),
 * Debian's make-ssl-cert snakeoil (Apache, nginx, Dovecot, Postfix and PostgreSQL on
 * Debian use it out of the box), kubeadm's apiserver certificate (signed by the
 * cluster CA "kubernetes"), an operator's own CA as Docker's TLS guide makes it, or
 * a plain self-signed server certificate.
 */
export type CertStyle = 'windows-rdp' | 'windows-ldaps' | 'generic' | 'debian-snakeoil' | 'kubeadm-apiserver' | 'internal-ca';

export const CERT_STYLES: readonly CertStyle[] = ['windows-rdp', 'windows-ldaps', 'generic', 'debian-snakeoil', 'kubeadm-apiserver', 'internal-ca'];

export interface CertRequest {
  cn: string;
  style: CertStyle;
  /** extra DNS names (the CN is always the first) */
  sans?: string[];
  /** IP address SANs */
  ips?: string[];
  now?: Date;
}

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
  /** signed by a CA key of its own (the issuer) rather than by the certificate's key */
  caSigned?: boolean;
  notBefore: Date;
  notAfter: Date;
  serialHex: string;
  extensions: unknown[];
}

function plan(opts: CertRequest): CertPlan {
  const now = opts.now ?? new Date();
  const cn = opts.cn;
  // kubeadm names the apiserver by its SANs only; everyone else repeats the CN first
  const dnsNames = [...new Set([...(opts.style === 'kubeadm-apiserver' ? [] : [cn]), ...(opts.sans ?? [])].filter((n) => n !== ''))];
  const altNames = {
    name: 'subjectAltName',
    altNames: [...dnsNames.map((value) => ({ type: 2, value })), ...(opts.ips ?? []).map((ip) => ({ type: 7, ip }))],
  };
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
    case 'debian-snakeoil': {
      // make-ssl-cert at package install: `openssl req -x509 -days 3650` with ssleay.cnf
      // (CN and one DNS SAN = `hostname -f`, CA:FALSE; OpenSSL 3 adds the key id)
      const notBefore = wholeSeconds(new Date(now.getTime() - randomInt(20 * DAY_MS, 400 * DAY_MS)));
      const name = [{ shortName: 'CN', value: cn }];
      return {
        subject: name,
        issuer: name,
        notBefore,
        notAfter: new Date(notBefore.getTime() + 3650 * DAY_MS),
        serialHex: randomSerialHex(20),
        extensions: [{ name: 'basicConstraints', cA: false }, altNames, { name: 'subjectKeyIdentifier' }],
      };
    }
    case 'kubeadm-apiserver': {
      // kubeadm init: the cluster CA "kubernetes" (10 years) signs apiserver.crt for one year
      const notBefore = wholeSeconds(new Date(now.getTime() - randomInt(15 * DAY_MS, 300 * DAY_MS)));
      return {
        subject: [{ shortName: 'CN', value: cn }],
        issuer: [{ shortName: 'CN', value: 'kubernetes' }],
        caSigned: true,
        notBefore,
        notAfter: new Date(notBefore.getTime() + 365 * DAY_MS + 5 * 60_000),
        serialHex: randomSerialHex(8),
        extensions: [
          { name: 'keyUsage', critical: true, digitalSignature: true, keyEncipherment: true },
          { name: 'extKeyUsage', serverAuth: true },
          { name: 'basicConstraints', critical: true, cA: false },
          altNames,
        ],
      };
    }
    case 'internal-ca': {
      // Docker's "protect the daemon socket" guide: a CA made with openssl req, a server
      // certificate `-subj "/CN=$HOST"` with serverAuth and the host's names, 365 days
      const notBefore = wholeSeconds(new Date(now.getTime() - randomInt(10 * DAY_MS, 300 * DAY_MS)));
      const org = (opts.sans ?? []).find((n) => n.includes('.'))?.split('.').slice(-2, -1)[0] ?? cn;
      return {
        subject: [{ shortName: 'CN', value: cn }],
        issuer: [
          { shortName: 'C', value: 'US' },
          { shortName: 'O', value: org },
          { shortName: 'CN', value: `${org} CA` },
        ],
        caSigned: true,
        notBefore,
        notAfter: new Date(notBefore.getTime() + 365 * DAY_MS),
        serialHex: randomSerialHex(20),
        extensions: [altNames, { name: 'extKeyUsage', serverAuth: true }, { name: 'subjectKeyIdentifier' }],
      };
    }
  }
}

/** A self-signed RSA-2048 certificate as the product of `style` makes it (see the cases of `plan`). */
export function selfSignedIdentity(opts: CertRequest): TlsIdentity {
  const keyPair = () =>
    generateKeyPairSync('rsa', {
      modulusLength: 2048,
      publicKeyEncoding: { type: 'spki', format: 'pem' },
      privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
    });
  const { privateKey, publicKey } = keyPair();
  const p = plan(opts);
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.publicKeyFromPem(publicKey);
  cert.serialNumber = p.serialHex;
  cert.validity.notBefore = p.notBefore;
  cert.validity.notAfter = p.notAfter;
  cert.setSubject(p.subject);
  cert.setIssuer(p.issuer);
  cert.setExtensions(p.extensions as object[]);
  // a CA-issued certificate is signed by a key nobody keeps (clients see "unable to get
  // local issuer certificate", as for a real internal CA), not by its own key
  const signer = p.caSigned ? keyPair().privateKey : privateKey;
  cert.sign(forge.pki.privateKeyFromPem(signer), forge.md.sha256.create());
  return { cert: forge.pki.certificateToPem(cert), key: privateKey };
}

const memo = new Map<string, TlsIdentity>();

function pemValue(v: unknown): string | undefined {
  return typeof v === 'string' && v.includes('-----BEGIN') ? v : undefined;
}

/** The operator's tls_cert/tls_key pair when both are set, else a generated identity memoised per process by cn+style(+sans). */
export function tlsIdentityFor(config: Record<string, unknown>, fallback: CertRequest): TlsIdentity {
  const cert = pemValue(config['tls_cert']);
  const key = pemValue(config['tls_key']);
  if (cert && key) return { cert, key };
  const id = requestKey(fallback);
  let hit = memo.get(id);
  if (!hit) {
    hit = selfSignedIdentity(fallback);
    memo.set(id, hit);
  }
  return hit;
}

/** A stable key of a request (style, names): an identity made for one request fits another with the same key. */
export function requestKey(r: CertRequest): string {
  return `${r.style}\0${r.cn}\0${(r.sans ?? []).join(',')}\0${(r.ips ?? []).join(',')}`;
}

/** What a decky needs to know to plan its certificates (a subset of its persona). */
export interface CertSubject {
  hostname: string;
  fqdn: string;
  netbiosName: string;
  joined: boolean;
  os: string;
}

const LINUX_TLS_SERVICES = new Set(['https', 'imap', 'pop3', 'smtp', 'smtp_relay', 'postgres']);

/**
 * The certificate the product behind `service` presents on this decky, planned
 * once here for the services (their fallback) and for apply time (the engine makes
 * it and keeps it in the state dir): undefined for services without TLS or that
 * make a new one at every start (SQL Server's fallback certificate).
 */
export function certRequestFor(service: string, who: CertSubject, config: Readonly<Record<string, unknown>>, ip?: string): CertRequest | undefined {
  const named = typeof config['tls_cn'] === 'string' && config['tls_cn'].trim() !== '' ? config['tls_cn'].trim() : undefined;
  const windows = who.os.startsWith('windows');
  switch (service) {
    case 'https':
      return { cn: named ?? who.fqdn, style: windows ? 'generic' : 'debian-snakeoil' };
    case 'rdp':
      return { cn: who.joined ? who.fqdn : who.netbiosName, style: 'windows-rdp' };
    case 'ldap':
      return { cn: who.fqdn, style: 'windows-ldaps' };
    case 'k8s': {
      const node = who.hostname.toLowerCase();
      return {
        cn: 'kube-apiserver',
        style: 'kubeadm-apiserver',
        sans: [node, 'kubernetes', 'kubernetes.default', 'kubernetes.default.svc', 'kubernetes.default.svc.cluster.local'],
        ips: ['10.96.0.1', ...(ip ? [ip] : [])],
      };
    }
    case 'docker_api':
      return { cn: who.hostname, style: 'internal-ca', sans: [...new Set([who.hostname, who.fqdn])], ips: [...(ip ? [ip] : []), '127.0.0.1'] };
    default:
      return LINUX_TLS_SERVICES.has(service) ? { cn: named ?? who.fqdn, style: windows ? 'generic' : 'debian-snakeoil' } : undefined;
  }
}
