/**
 * Checks that a captured NetNTLMv2 line (hashcat mode 5600:
 * user::domain:server_challenge:NTProofStr:blob) is what the client computed from
 * `password`, the way a cracker confirms a guess: the capture is crackable, not just present.
 */
import { createHmac } from 'node:crypto';
import md4 from 'js-md4';

export function ntHash(password: string): Buffer {
  return Buffer.from(md4.create().update(Buffer.from(password, 'utf16le')).hex(), 'hex');
}

export function netntlmv2Matches(line: string, password: string): boolean {
  const parts = line.split(':');
  if (parts.length !== 6 || parts[1] !== '') return false;
  const [user, , domain, challenge, proof, blob] = parts as [string, string, string, string, string, string];
  const ntowf = createHmac('md5', ntHash(password)).update(Buffer.from(user.toUpperCase() + domain, 'utf16le')).digest();
  const want = createHmac('md5', ntowf).update(Buffer.concat([Buffer.from(challenge, 'hex'), Buffer.from(blob, 'hex')])).digest('hex');
  return want === proof.toLowerCase();
}
