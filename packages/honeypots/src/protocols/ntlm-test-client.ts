/**
 * Test helpers (not used at runtime): a minimal NTLMv2 client that builds
 * NEGOTIATE / AUTHENTICATE messages from a password, and the check that a
 * captured hashcat 5600 line verifies against a password (js-md4's pure
 * JS path: OpenSSL 3 has no MD4).
 */
import { createHmac, randomBytes } from 'node:crypto';
import md4 from 'js-md4';

const u16 = (s: string) => Buffer.from(s, 'utf16le');
const hmac = (key: Buffer, ...data: Buffer[]) => {
  const h = createHmac('md5', key);
  for (const d of data) h.update(d);
  return h.digest();
};
export const ntHash = (pw: string): Buffer => Buffer.from(md4.create().update(u16(pw)).arrayBuffer());

const FLAGS = 0xe2088297; // UNICODE | REQUEST_TARGET | NTLM | ALWAYS_SIGN | EXTENDED_SESSIONSECURITY | TARGET_INFO | VERSION | 128 | KEY_EXCH | 56 ...

export function negotiate(): Buffer {
  const b = Buffer.alloc(32);
  b.write('NTLMSSP\0', 0, 'latin1');
  b.writeUInt32LE(1, 8);
  b.writeUInt32LE((FLAGS & ~0x40000000) >>> 0, 12);
  return b;
}

/** The server challenge and target info of a CHALLENGE message. */
export function readChallenge(msg: Buffer): { challenge: Buffer; targetInfo: Buffer } {
  const len = msg.readUInt16LE(40);
  const off = msg.readUInt32LE(44);
  return { challenge: msg.subarray(24, 32), targetInfo: msg.subarray(off, off + len) };
}

export function authenticate(challengeMsg: Buffer, user: string, domain: string, password: string, workstation = 'KALI'): Buffer {
  const { challenge, targetInfo } = readChallenge(challengeMsg);
  const owf = hmac(ntHash(password), u16(user.toUpperCase() + domain));
  const ts = Buffer.alloc(8);
  ts.writeBigUInt64LE(BigInt(Date.now()) * 10_000n + 116_444_736_000_000_000n);
  const blob = Buffer.concat([Buffer.from([1, 1, 0, 0, 0, 0, 0, 0]), ts, randomBytes(8), Buffer.alloc(4), targetInfo, Buffer.alloc(4)]);
  const nt = Buffer.concat([hmac(owf, challenge, blob), blob]);
  const lm = Buffer.alloc(24);
  const fields = [lm, nt, u16(domain), u16(user), u16(workstation), Buffer.alloc(0)];
  const head = Buffer.alloc(64);
  head.write('NTLMSSP\0', 0, 'latin1');
  head.writeUInt32LE(3, 8);
  let off = 64;
  fields.forEach((f, i) => {
    head.writeUInt16LE(f.length, 12 + i * 8);
    head.writeUInt16LE(f.length, 14 + i * 8);
    head.writeUInt32LE(off, 16 + i * 8);
    off += f.length;
  });
  head.writeUInt32LE((FLAGS & ~0x40000000) >>> 0, 60);
  return Buffer.concat([head, ...fields]);
}

/** Does a hashcat mode 5600 line (user::domain:challenge:NTProofStr:blob) verify against `password`? */
export function verifyHashcat5600(line: string, password: string): boolean {
  const [user, , domain, chal, proof, blob] = line.split(':') as [string, string, string, string, string, string];
  const owf = hmac(ntHash(password), u16(user.toUpperCase() + domain));
  return hmac(owf, Buffer.from(chal, 'hex'), Buffer.from(blob, 'hex')).toString('hex') === proof.toLowerCase();
}
