/**
 * SSH host keys of a decky, as OpenSSH's ssh-keygen -A makes them on first boot
 * (RSA 3072, ECDSA P-256, Ed25519), in OpenSSH's private key format. Made once at
 * apply time and kept in the state dir (engine/service-files.ts), so a decky keeps
 * its host keys across restarts and heals: an intruder who reconnects never sees
 * "REMOTE HOST IDENTIFICATION HAS CHANGED".
 */
import ssh2 from 'ssh2';

/** Generated on libuv's thread pool, so an apply of many deckies does not block on RSA. */
export async function makeSshHostKeys(): Promise<string[]> {
  const done = (resolve: (k: string) => void, reject: (e: Error) => void) => (err: Error | null, keys: { private: string }) => (err ? reject(err) : resolve(keys.private));
  return Promise.all([
    new Promise<string>((res, rej) => ssh2.utils.generateKeyPair('rsa', { bits: 3072 }, done(res, rej))),
    new Promise<string>((res, rej) => ssh2.utils.generateKeyPair('ecdsa', { bits: 256 }, done(res, rej))),
    new Promise<string>((res, rej) => ssh2.utils.generateKeyPair('ed25519', {}, done(res, rej))),
  ]);
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
