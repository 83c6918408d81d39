/**
 * The certificate SQL Server makes for itself at service start when none is
 * configured: subject = issuer = CN=SSL_Self_Signed_Fallback, no extensions
 * (no SAN: nmap's ssl-cert on a real server shows none), valid from the service
 * start for 30 years (e.g. 2018-04-02T16:10:49 .. 2048-04-02T16:10:49 as nmap
 * reports it), RSA-2048 signed with SHA-256. The generic style of
 * protocols/tls-cert.ts adds a SAN and lasts one year, which a scanner would
 * tell apart, so the fallback is built here; an operator pair (tls_cert +
 * tls_key) still wins through tlsIdentityFor.
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import forge from 'node-forge';
import { tlsIdentityFor, type TlsIdentity } from '../../protocols/tls-cert.js';

export const FALLBACK_CERT_CN = 'SSL_Self_Signed_Fallback';

export function fallbackIdentity(serviceStart: Date): TlsIdentity {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.publicKeyFromPem(publicKey);
  const serial = randomBytes(16);
  serial[0] = (serial[0]! & 0x7f) | 0x01;
  cert.serialNumber = serial.toString('hex');
  const notBefore = new Date(Math.floor(serviceStart.getTime() / 1000) * 1000);
  const notAfter = new Date(notBefore);
  notAfter.setUTCFullYear(notAfter.getUTCFullYear() + 30);
  cert.validity.notBefore = notBefore;
  cert.validity.notAfter = notAfter;
  const name = [{ name: 'commonName', value: FALLBACK_CERT_CN }];
  cert.setSubject(name);
  cert.setIssuer(name);
  cert.sign(forge.pki.privateKeyFromPem(privateKey), forge.md.sha256.create());
  return { cert: forge.pki.certificateToPem(cert), key: privateKey };
}

/** The operator's pair when configured, else the fallback certificate. */
export function mssqlIdentity(config: Record<string, unknown>, serviceStart: Date): TlsIdentity {
  const pem = (v: unknown) => typeof v === 'string' && v.includes('-----BEGIN');
  if (pem(config['tls_cert']) && pem(config['tls_key'])) return tlsIdentityFor(config, { cn: FALLBACK_CERT_CN, style: 'generic' });
  return fallbackIdentity(serviceStart);
}
