/**
 * SMB2/3 signing (MS-SMB2 3.1.4.1, 3.1.4.2): HMAC-SHA256 for 2.x, AES-128-CMAC for
 * 3.x with keys from the SP800-108 counter-mode KDF; 3.1.1 feeds the KDF the
 * preauth-integrity SHA-512 hash of the negotiate and session-setup exchange.
 */
import { createCipheriv, createDecipheriv, createHash, createHmac, randomBytes } from 'node:crypto';

/** SP800-108 KDF in counter mode, HMAC-SHA256, one 128-bit output block (what SMB 3 uses). */
export function smb3Kdf(key: Buffer, label: Buffer, context: Buffer): Buffer {
  const h = createHmac('sha256', key);
  h.update(Buffer.from([0, 0, 0, 1]));
  h.update(label);
  h.update(Buffer.from([0]));
  h.update(context);
  h.update(Buffer.from([0, 0, 0, 128]));
  return h.digest().subarray(0, 16);
}

function shiftLeft(b: Buffer): Buffer {
  const out = Buffer.alloc(16);
  for (let i = 0; i < 16; i++) out[i] = ((b[i]! << 1) | (i < 15 ? b[i + 1]! >> 7 : 0)) & 0xff;
  if (b[0]! & 0x80) out[15] = out[15]! ^ 0x87;
  return out;
}

/** AES-128-CMAC (RFC 4493) on top of OpenSSL's AES-CBC. */
export function aesCmac(key: Buffer, data: Buffer): Buffer {
  const ecb = createCipheriv('aes-128-ecb', key, null);
  ecb.setAutoPadding(false);
  const l = ecb.update(Buffer.alloc(16));
  const k1 = shiftLeft(l);
  const k2 = shiftLeft(k1);
  const n = Math.max(1, Math.ceil(data.length / 16));
  const complete = data.length > 0 && data.length % 16 === 0;
  const padded = Buffer.alloc(n * 16);
  data.copy(padded);
  if (!complete) padded[data.length] = 0x80;
  const last = padded.subarray((n - 1) * 16);
  const sub = complete ? k1 : k2;
  for (let i = 0; i < 16; i++) last[i] = last[i]! ^ sub[i]!;
  const cbc = createCipheriv('aes-128-cbc', key, Buffer.alloc(16));
  cbc.setAutoPadding(false);
  const out = cbc.update(padded);
  return out.subarray(out.length - 16);
}

export type SigningAlgo = 'hmac-sha256' | 'aes-cmac';

export interface SigningState {
  algo: SigningAlgo;
  key: Buffer;
}

/** The signing key of a session for the negotiated dialect. */
export function signingKeyFor(dialect: number, sessionKey: Buffer, preauthHash?: Buffer): SigningState {
  if (dialect < 0x0300) return { algo: 'hmac-sha256', key: sessionKey };
  if (dialect === 0x0311) {
    return { algo: 'aes-cmac', key: smb3Kdf(sessionKey, Buffer.from('SMBSigningKey\0', 'latin1'), preauthHash ?? Buffer.alloc(64)) };
  }
  return { algo: 'aes-cmac', key: smb3Kdf(sessionKey, Buffer.from('SMB2AESCMAC\0', 'latin1'), Buffer.from('SmbSign\0', 'latin1')) };
}

/** The 16-byte signature of one SMB2 message (its signature field is zeroed first). */
export function computeSignature(s: SigningState, msg: Buffer): Buffer {
  const m = Buffer.from(msg);
  m.fill(0, 48, 64);
  if (s.algo === 'hmac-sha256') return createHmac('sha256', s.key).update(m).digest().subarray(0, 16);
  return aesCmac(s.key, m);
}

/** Sign a response in place: set SMB2_FLAGS_SIGNED and write the signature. */
export function signMessage(s: SigningState, msg: Buffer): void {
  msg.writeUInt32LE((msg.readUInt32LE(16) | 0x8) >>> 0, 16);
  computeSignature(s, msg).copy(msg, 48);
}

export function verifySignature(s: SigningState, msg: Buffer): boolean {
  if (msg.length < 64) return false;
  return computeSignature(s, msg).equals(msg.subarray(48, 64));
}

/** Preauth integrity hash chaining (3.1.1): H' = SHA-512(H || message). */
export function preauthUpdate(hash: Buffer, msg: Buffer): Buffer {
  return createHash('sha512').update(hash).update(msg).digest();
}

// ---- SMB 3 encryption (MS-SMB2 3.1.4.3): transform header 0xFD 'SMB' ----

export type CipherName = 'aes-128-ccm' | 'aes-128-gcm';

export interface CipherState {
  cipher: CipherName;
  /** server decrypts requests with this */
  decKey: Buffer;
  /** server encrypts responses with this */
  encKey: Buffer;
}

/** Encryption keys for a session; cipherId is 1 (CCM) or 2 (GCM), 3.0/3.0.2 always CCM. */
export function cipherKeysFor(dialect: number, sessionKey: Buffer, cipherId: number, preauthHash?: Buffer): CipherState | undefined {
  if (dialect < 0x0300) return undefined;
  if (dialect === 0x0311) {
    if (cipherId !== 1 && cipherId !== 2) return undefined;
    const ctx = preauthHash ?? Buffer.alloc(64);
    return {
      cipher: cipherId === 2 ? 'aes-128-gcm' : 'aes-128-ccm',
      decKey: smb3Kdf(sessionKey, Buffer.from('SMBC2SCipherKey\0', 'latin1'), ctx),
      encKey: smb3Kdf(sessionKey, Buffer.from('SMBS2CCipherKey\0', 'latin1'), ctx),
    };
  }
  const label = Buffer.from('SMB2AESCCM\0', 'latin1');
  return { cipher: 'aes-128-ccm', decKey: smb3Kdf(sessionKey, label, Buffer.from('ServerIn \0', 'latin1')), encKey: smb3Kdf(sessionKey, label, Buffer.from('ServerOut\0', 'latin1')) };
}

const nonceLen = (c: CipherName) => (c === 'aes-128-ccm' ? 11 : 12);

/** SessionId of a transform message, undefined when it is not one. */
export function transformSessionId(msg: Buffer): bigint | undefined {
  return msg.length >= 52 && msg[0] === 0xfd && msg[1] === 0x53 && msg[2] === 0x4d && msg[3] === 0x42 ? msg.readBigUInt64LE(44) : undefined;
}

export function decryptMessage(s: CipherState, msg: Buffer): Buffer | undefined {
  try {
    if (msg.length < 52) return undefined;
    const size = msg.readUInt32LE(36);
    const body = msg.subarray(52);
    if (size !== body.length) return undefined;
    const nonce = msg.subarray(20, 20 + nonceLen(s.cipher));
    const aad = msg.subarray(20, 52);
    const tag = msg.subarray(4, 20);
    if (s.cipher === 'aes-128-ccm') {
      const d = createDecipheriv('aes-128-ccm', s.decKey, nonce, { authTagLength: 16 });
      d.setAuthTag(tag);
      d.setAAD(aad, { plaintextLength: body.length });
      const out = d.update(body);
      d.final();
      return out;
    }
    const d = createDecipheriv('aes-128-gcm', s.decKey, nonce, { authTagLength: 16 });
    d.setAuthTag(tag);
    d.setAAD(aad);
    return Buffer.concat([d.update(body), d.final()]);
  } catch {
    return undefined;
  }
}

export function encryptMessage(s: CipherState, sessionId: bigint, plain: Buffer, dialect: number): Buffer {
  const h = Buffer.alloc(52);
  h.write('\xfdSMB', 0, 'latin1');
  const nonce = randomBytes(nonceLen(s.cipher));
  nonce.copy(h, 20);
  h.writeUInt32LE(plain.length, 36);
  h.writeUInt16LE(1, 42);
  h.writeBigUInt64LE(sessionId, 44);
  void dialect;
  const aad = h.subarray(20, 52);
  let out: Buffer;
  let tag: Buffer;
  if (s.cipher === 'aes-128-ccm') {
    const c = createCipheriv('aes-128-ccm', s.encKey, nonce, { authTagLength: 16 });
    c.setAAD(aad, { plaintextLength: plain.length });
    out = Buffer.concat([c.update(plain), c.final()]);
    tag = c.getAuthTag();
  } else {
    const c = createCipheriv('aes-128-gcm', s.encKey, nonce, { authTagLength: 16 });
    c.setAAD(aad);
    out = Buffer.concat([c.update(plain), c.final()]);
    tag = c.getAuthTag();
  }
  tag.copy(h, 4);
  return Buffer.concat([h, out]);
}
