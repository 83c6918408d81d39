/**
 * SASL DIGEST-MD5 (RFC 2831) server side, capture only: the challenge an AD
 * DC sends (realm = DNS domain, md5-sess, the qop and ciphers Windows offers)
 * and parsing of the client's digest-response. The response carries every
 * input of the hash except the password (username, realm, nonce, cnonce, nc,
 * qop, digest-uri), so the raw response is the crackable secret.
 */
import { createHash, randomBytes } from 'node:crypto';

export const MAX_DIGEST_RESPONSE = 4096;

export function digestChallenge(realm: string, nonce = randomBytes(24).toString('base64')): { challenge: Buffer; nonce: string } {
  const text = `qop="auth,auth-int,auth-conf",cipher="3des,rc4",algorithm=md5-sess,nonce="${nonce}",charset=utf-8,realm="${realm}"`;
  return { challenge: Buffer.from(text, 'utf8'), nonce };
}

/** key=value / key="quoted value" directives; undefined when malformed or too large. */
export function parseDirectives(buf: Buffer): Map<string, string> | undefined {
  if (buf.length === 0 || buf.length > MAX_DIGEST_RESPONSE) return undefined;
  const s = buf.toString('utf8');
  const out = new Map<string, string>();
  const re = /\s*([a-zA-Z-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^,]*))\s*(?:,|$)/gy;
  let m: RegExpExecArray | null;
  while (re.lastIndex < s.length && (m = re.exec(s)) !== null) {
    if (out.size >= 32) return undefined;
    out.set(m[1]!.toLowerCase(), m[2] !== undefined ? m[2].replace(/\\(.)/g, '$1') : m[3]!.trim());
    if (m[0] === '') break;
  }
  return out.has('username') && out.has('response') ? out : undefined;
}

const md5 = (...parts: (Buffer | string)[]) => {
  const h = createHash('md5');
  for (const p of parts) h.update(p);
  return h.digest();
};

/** The response a client with `password` computes (tests and offline verification). */
export function digestResponse(d: Map<string, string>, password: string): string {
  const g = (k: string) => d.get(k) ?? '';
  const qop = g('qop') || 'auth';
  const a1 = Buffer.concat([md5(`${g('username')}:${g('realm')}:${password}`), Buffer.from(`:${g('nonce')}:${g('cnonce')}${d.has('authzid') ? `:${g('authzid')}` : ''}`)]);
  const a2 = `AUTHENTICATE:${g('digest-uri')}${qop === 'auth' ? '' : ':00000000000000000000000000000000'}`;
  return md5(`${md5(a1).toString('hex')}:${g('nonce')}:${g('nc')}:${g('cnonce')}:${qop}:${md5(a2).toString('hex')}`).toString('hex');
}
