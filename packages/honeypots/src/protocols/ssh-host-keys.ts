/**
 * SSH host keys of a decky, as OpenSSH's ssh-keygen -A makes them on first boot
 * (RSA 3072, ECDSA P-256, Ed25519), in OpenSSH's private key format. Made once at
 * apply time and kept in the state dir (engine/service-files.ts), so a decky keeps
 * its host keys across restarts and heals: an intruder who reconnects never sees
 * "REMOTE HOST IDENTIFICATION HAS CHANGED".
 */
import ssh2 from 'ssh2';

export function makeSshHostKeys(): string[] {
  const { utils } = ssh2;
  return [
    utils.generateKeyPairSync('rsa', { bits: 3072 }).private,
    utils.generateKeyPairSync('ecdsa', { bits: 256 }).private,
    utils.generateKeyPairSync('ed25519').private,
  ];
}

/** Keys that ssh2 can load (bad or foreign entries are dropped). */
export function usableHostKeys(keys: readonly unknown[] | undefined): string[] {
  const out: string[] = [];
  for (const k of keys ?? []) {
    if (typeof k !== 'string' || !k.includes('-----BEGIN')) continue;
    const parsed = ssh2.utils.parseKey(k);
    if (!(parsed instanceof Error)) out.push(k);
  }
  return out;
}
