/**
 * NTLMSSP (MS-NLMP) server side, shared by smb, rdp (CredSSP), ldap, mssql and http:
 * parse the client's NEGOTIATE, answer with a CHALLENGE laid out exactly as a Windows
 * of the persona's build sends it, and turn the client's AUTHENTICATE into a crackable
 * hashcat line. Key derivation (for services that must sign after an accepted login)
 * lives here too. Every parser is bounded and never throws.
 */
import { createHash, createHmac, randomBytes } from 'node:crypto';
import md4 from 'js-md4';
import type { Persona } from '@decnet/api';

export const NTLMSSP_SIGNATURE = Buffer.from('NTLMSSP\0', 'latin1');

export const NTLM_FLAGS = {
  UNICODE: 0x1,
  OEM: 0x2,
  REQUEST_TARGET: 0x4,
  SIGN: 0x10,
  SEAL: 0x20,
  DATAGRAM: 0x40,
  LM_KEY: 0x80,
  NTLM: 0x200,
  ANONYMOUS: 0x800,
  ALWAYS_SIGN: 0x8000,
  TARGET_TYPE_DOMAIN: 0x10000,
  TARGET_TYPE_SERVER: 0x20000,
  EXTENDED_SESSIONSECURITY: 0x80000,
  IDENTIFY: 0x100000,
  TARGET_INFO: 0x800000,
  VERSION: 0x2000000,
  N128: 0x20000000,
  KEY_EXCH: 0x40000000,
  N56: 0x80000000,
} as const;

const F = NTLM_FLAGS;
/** Flags a Windows server grants when the client asks for them (it never grants DATAGRAM/IDENTIFY to SMB). */
const SERVER_SUPPORTED = F.UNICODE | F.REQUEST_TARGET | F.SIGN | F.SEAL | F.NTLM | F.ALWAYS_SIGN | F.EXTENDED_SESSIONSECURITY | F.N128 | F.KEY_EXCH | F.N56;
/** What Windows answers when there was no NEGOTIATE flags to echo (e.g. a bare CHALLENGE request). */
const DEFAULT_CLIENT_FLAGS = 0xe2088297;

const MAX_MESSAGE = 64 * 1024;
const MAX_FIELD = 8 * 1024;

export function isNtlmssp(buf: Buffer): boolean {
  return buf.length >= 12 && buf.subarray(0, 8).equals(NTLMSSP_SIGNATURE);
}

export function ntlmMessageType(buf: Buffer): 1 | 2 | 3 | undefined {
  if (!isNtlmssp(buf)) return undefined;
  const t = buf.readUInt32LE(8);
  return t === 1 || t === 2 || t === 3 ? t : undefined;
}

/** A (len, maxlen, offset) security buffer; undefined when it points outside the message. */
function field(buf: Buffer, at: number): Buffer | undefined {
  if (at + 8 > buf.length) return undefined;
  const len = buf.readUInt16LE(at);
  const off = buf.readUInt32LE(at + 4);
  if (len === 0) return Buffer.alloc(0);
  if (len > MAX_FIELD || off > buf.length || off + len > buf.length) return undefined;
  return buf.subarray(off, off + len);
}

function text(b: Buffer | undefined, unicode: boolean): string {
  if (!b || b.length === 0) return '';
  // strip NULs and control characters so names are safe for logs and hashcat lines
  const s = unicode ? b.subarray(0, b.length & ~1).toString('utf16le') : b.toString('latin1');
  return s.replace(/[\x00-\x1f\x7f:]/g, '').slice(0, 256);
}

export interface NtlmNegotiate {
  flags: number;
  domain?: string;
  workstation?: string;
}

export function parseNegotiate(buf: Buffer): NtlmNegotiate | undefined {
  try {
    if (buf.length > MAX_MESSAGE || ntlmMessageType(buf) !== 1 || buf.length < 16) return undefined;
    const flags = buf.readUInt32LE(12);
    const out: NtlmNegotiate = { flags };
    if (buf.length >= 32) {
      // the names in a NEGOTIATE are always OEM
      const d = text(field(buf, 16), false);
      const w = text(field(buf, 24), false);
      if (d) out.domain = d;
      if (w) out.workstation = w;
    }
    return out;
  } catch {
    return undefined;
  }
}

/** The 8-byte VERSION structure: major, minor, build, 3 reserved, NTLMSSP revision 15. */
export function ntlmVersion(persona: Persona): Buffer {
  const v = Buffer.alloc(8);
  const w = persona.windows ?? { major: 10, minor: 0, build: 17763 };
  v.writeUInt8(w.major & 0xff, 0);
  v.writeUInt8(w.minor & 0xff, 1);
  v.writeUInt16LE(w.build & 0xffff, 2);
  v.writeUInt8(15, 7);
  return v;
}

/** Windows FILETIME (100 ns since 1601) as an 8-byte LE buffer. */
export function filetime(d: Date): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE((BigInt(d.getTime()) + 11644473600000n) * 10000n);
  return b;
}

function avPair(id: number, value: Buffer): Buffer {
  const h = Buffer.alloc(4);
  h.writeUInt16LE(id, 0);
  h.writeUInt16LE(value.length, 2);
  return Buffer.concat([h, value]);
}

const u16 = (s: string) => Buffer.from(s, 'utf16le');

/** The TargetInfo AV pairs in the order Windows writes them. */
export function targetInfo(persona: Persona, now: Date): Buffer {
  // a workgroup machine names itself as its own "domain"
  const nbDomain = persona.joined ? persona.netbiosDomain : persona.netbiosName;
  const dnsDomain = persona.joined ? persona.dnsDomain : persona.fqdn;
  const pairs = [avPair(2, u16(nbDomain)), avPair(1, u16(persona.netbiosName)), avPair(4, u16(dnsDomain)), avPair(3, u16(persona.fqdn))];
  if (persona.joined) pairs.push(avPair(5, u16(persona.dnsDomain)));
  pairs.push(avPair(7, filetime(now)), avPair(0, Buffer.alloc(0)));
  return Buffer.concat(pairs);
}

/** The flags Windows answers a NEGOTIATE with. */
export function challengeFlags(persona: Persona, clientFlags: number): number {
  let flags = (clientFlags & SERVER_SUPPORTED) >>> 0;
  // ESS wins over LM_KEY; a Unicode server answers OEM only to an OEM-only client
  if (!(clientFlags & F.UNICODE) && clientFlags & F.OEM) flags |= F.OEM;
  else flags |= F.UNICODE;
  flags |= F.NTLM | F.TARGET_INFO | F.VERSION | F.REQUEST_TARGET;
  flags |= persona.joined ? F.TARGET_TYPE_DOMAIN : F.TARGET_TYPE_SERVER;
  return flags >>> 0;
}

export function buildChallenge(
  persona: Persona,
  negotiate: NtlmNegotiate | undefined,
  opts: { challenge?: Buffer; now?: Date } = {},
): { message: Buffer; serverChallenge: Buffer } {
  const serverChallenge = opts.challenge && opts.challenge.length === 8 ? Buffer.from(opts.challenge) : randomBytes(8);
  const flags = challengeFlags(persona, negotiate?.flags ?? DEFAULT_CLIENT_FLAGS);
  const nameText = persona.joined ? persona.netbiosDomain : persona.netbiosName;
  const name = flags & F.UNICODE ? u16(nameText) : Buffer.from(nameText, 'latin1');
  const info = targetInfo(persona, opts.now ?? new Date());
  const head = Buffer.alloc(56);
  NTLMSSP_SIGNATURE.copy(head, 0);
  head.writeUInt32LE(2, 8);
  head.writeUInt16LE(name.length, 12);
  head.writeUInt16LE(name.length, 14);
  head.writeUInt32LE(56, 16);
  head.writeUInt32LE(flags, 20);
  serverChallenge.copy(head, 24);
  head.writeUInt16LE(info.length, 40);
  head.writeUInt16LE(info.length, 42);
  head.writeUInt32LE(56 + name.length, 44);
  ntlmVersion(persona).copy(head, 48);
  return { message: Buffer.concat([head, name, info]), serverChallenge };
}

export interface NtlmAuthenticate {
  user: string;
  domain: string;
  workstation: string;
  version: 'v2' | 'v1' | 'anonymous';
  lmResponse: Buffer;
  ntResponse: Buffer;
  hashcat: string;
  /** extras for session-key derivation */
  flags: number;
  encryptedRandomSessionKey: Buffer;
  serverChallenge: Buffer;
  /** the raw user/domain as sent (UTF-16 or OEM decoded, unfiltered), for NTOWFv2 */
  rawUser: string;
  rawDomain: string;
}

export function parseAuthenticate(buf: Buffer, serverChallenge: Buffer): NtlmAuthenticate | undefined {
  try {
    if (buf.length > MAX_MESSAGE || ntlmMessageType(buf) !== 3 || buf.length < 64) return undefined;
    const lm = field(buf, 12);
    const nt = field(buf, 20);
    const dom = field(buf, 28);
    const usr = field(buf, 36);
    const ws = field(buf, 44);
    const key = field(buf, 52);
    if (!lm || !nt || !dom || !usr || !ws || !key) return undefined;
    const flags = buf.readUInt32LE(60);
    const unicode = (flags & F.UNICODE) !== 0;
    const user = text(usr, unicode);
    const domain = text(dom, unicode);
    const rawOf = (b: Buffer) => (unicode ? b.subarray(0, b.length & ~1).toString('utf16le') : b.toString('latin1'));
    const chal = serverChallenge.toString('hex');
    let version: NtlmAuthenticate['version'];
    let hashcat = '';
    const anonymous = nt.length === 0 && (lm.length === 0 || (lm.length === 1 && lm[0] === 0));
    if (anonymous || (user === '' && nt.length === 0)) version = 'anonymous';
    else if (nt.length > 24) {
      if (nt.length < 16 + 28) return undefined;
      version = 'v2';
      hashcat = `${user}::${domain}:${chal}:${nt.subarray(0, 16).toString('hex')}:${nt.subarray(16).toString('hex')}`;
    } else if (nt.length === 24) {
      version = 'v1';
      hashcat = `${user}::${domain}:${lm.toString('hex')}:${nt.toString('hex')}:${chal}`;
    } else return undefined;
    return {
      user,
      domain,
      workstation: text(ws, unicode),
      version,
      lmResponse: Buffer.from(lm),
      ntResponse: Buffer.from(nt),
      hashcat,
      flags,
      encryptedRandomSessionKey: Buffer.from(key),
      serverChallenge: Buffer.from(serverChallenge),
      rawUser: rawOf(usr),
      rawDomain: rawOf(dom),
    };
  } catch {
    return undefined;
  }
}

export function ntlmCredentialFields(auth: NtlmAuthenticate): { principal: string; secret_kind: string; secret: string; secret_b64: string; ntlm_workstation: string } {
  const kind = auth.version === 'v2' ? 'netntlmv2' : auth.version === 'v1' ? 'netntlmv1' : 'none';
  return {
    principal: `${auth.domain}\\${auth.user}`,
    secret_kind: kind,
    secret: auth.hashcat,
    secret_b64: Buffer.from(auth.hashcat, 'utf8').toString('base64'),
    ntlm_workstation: auth.workstation,
  };
}

// ---- verification and keys (an accepted login must sign like Windows) ----

export function ntHash(password: string): Buffer {
  return Buffer.from(md4.create().update(Buffer.from(password, 'utf16le')).arrayBuffer());
}

const hmacMd5 = (key: Buffer, ...data: Buffer[]) => {
  const h = createHmac('md5', key);
  for (const d of data) h.update(d);
  return h.digest();
};

/** Plain RC4 (OpenSSL 3 has none by default); used only to unwrap the 16-byte session key. */
export function rc4(key: Buffer, data: Buffer): Buffer {
  const s = new Uint8Array(256);
  for (let i = 0; i < 256; i++) s[i] = i;
  let j = 0;
  for (let i = 0; i < 256; i++) {
    j = (j + s[i]! + key[i % key.length]!) & 0xff;
    [s[i], s[j]] = [s[j]!, s[i]!];
  }
  const out = Buffer.alloc(data.length);
  let i = 0;
  j = 0;
  for (let k = 0; k < data.length; k++) {
    i = (i + 1) & 0xff;
    j = (j + s[i]!) & 0xff;
    [s[i], s[j]] = [s[j]!, s[i]!];
    out[k] = data[k]! ^ s[(s[i]! + s[j]!) & 0xff]!;
  }
  return out;
}

/**
 * Check an NTLMv2 AUTHENTICATE against a known password; on success return the
 * ExportedSessionKey (what SMB2 signing keys derive from). undefined: wrong password
 * (or not v2: this honeypot never accepts v1 logins, like a hardened Windows).
 */
export function verifyNtlmv2(auth: NtlmAuthenticate, password: string): Buffer | undefined {
  if (auth.version !== 'v2') return undefined;
  const owf = hmacMd5(ntHash(password), u16(auth.rawUser.toUpperCase() + auth.rawDomain));
  const proof = auth.ntResponse.subarray(0, 16);
  const blob = auth.ntResponse.subarray(16);
  if (!hmacMd5(owf, auth.serverChallenge, blob).equals(proof)) return undefined;
  const base = hmacMd5(owf, proof);
  if (auth.flags & F.KEY_EXCH && auth.encryptedRandomSessionKey.length === 16) return rc4(base, auth.encryptedRandomSessionKey);
  return base;
}

/** Per-connection server side: NEGOTIATE -> CHALLENGE, AUTHENTICATE -> capture. */
export class NtlmServer {
  private serverChallenge: Buffer | undefined;
  constructor(
    private readonly persona: Persona,
    private readonly opts: { challenge?: Buffer; now?: () => Date } = {},
  ) {}

  step(token: Buffer): { reply?: Buffer; auth?: NtlmAuthenticate; error?: string } {
    const type = ntlmMessageType(token);
    if (type === 1) {
      const neg = parseNegotiate(token);
      if (!neg) return { error: 'bad NEGOTIATE' };
      const { message, serverChallenge } = buildChallenge(this.persona, neg, {
        ...(this.opts.challenge ? { challenge: this.opts.challenge } : {}),
        now: this.opts.now ? this.opts.now() : new Date(),
      });
      this.serverChallenge = serverChallenge;
      return { reply: message };
    }
    if (type === 3) {
      if (!this.serverChallenge) return { error: 'AUTHENTICATE before CHALLENGE' };
      const auth = parseAuthenticate(token, this.serverChallenge);
      return auth ? { auth } : { error: 'bad AUTHENTICATE' };
    }
    return { error: 'not an NTLMSSP NEGOTIATE/AUTHENTICATE' };
  }
}

/**
 * The server's NTLMSSP signature (MS-NLMP 3.4.4.2, extended session security) over
 * `data` with sequence number `seq`: what SPNEGO's mechListMIC carries from the server.
 */
export function ntlmServerSignature(auth: NtlmAuthenticate, exportedKey: Buffer, data: Buffer, seq = 0): Buffer {
  const md5 = (...parts: Buffer[]) => parts.reduce((h, p) => h.update(p), createHash('md5')).digest();
  const signKey = md5(exportedKey, Buffer.from('session key to server-to-client signing key magic constant\0', 'latin1'));
  const sealKey = md5(exportedKey, Buffer.from('session key to server-to-client sealing key magic constant\0', 'latin1'));
  const seqBuf = Buffer.alloc(4);
  seqBuf.writeUInt32LE(seq >>> 0);
  let checksum: Buffer = hmacMd5(signKey, seqBuf, data).subarray(0, 8);
  if (auth.flags & F.KEY_EXCH) checksum = rc4(sealKey, Buffer.from(checksum));
  return Buffer.concat([Buffer.from([1, 0, 0, 0]), checksum, seqBuf]);
}
