import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MAX_SSH_START, hassh, hasshAlgorithms, parseKexInit, readSshClientStart } from './ssh-kexinit.js';

const nameList = (s: string) => {
  const b = Buffer.from(s, 'latin1');
  const l = Buffer.alloc(4);
  l.writeUInt32BE(b.length);
  return Buffer.concat([l, b]);
};

/** An SSH_MSG_KEXINIT binary packet (RFC 4253 6 and 7.1) with the given name-lists. */
function kexinitPacket(lists: { kex: string; hostKey: string; enc: string; mac: string; comp: string }, padding = 4): Buffer {
  const payload = Buffer.concat([
    Buffer.from([20]),
    Buffer.alloc(16, 0xab),
    nameList(lists.kex),
    nameList(lists.hostKey),
    nameList(lists.enc),
    nameList(lists.enc),
    nameList(lists.mac),
    nameList(lists.mac),
    nameList(lists.comp),
    nameList(lists.comp),
    nameList(''),
    nameList(''),
    Buffer.from([0, 0, 0, 0, 0]), // first_kex_packet_follows, reserved
  ]);
  const head = Buffer.alloc(5);
  head.writeUInt32BE(1 + payload.length + padding);
  head[4] = padding;
  return Buffer.concat([head, payload, Buffer.alloc(padding)]);
}

// salesforce/hassh README, "Example 1: Client Fingerprinting": Cyberduck 6.7.1 (28683)
const CYBERDUCK = {
  kex: 'curve25519-sha256@libssh.org,diffie-hellman-group-exchange-sha256,ecdh-sha2-nistp521,ecdh-sha2-nistp384,ecdh-sha2-nistp256,diffie-hellman-group-exchange-sha1,diffie-hellman-group1-sha1,diffie-hellman-group14-sha1,diffie-hellman-group14-sha256,diffie-hellman-group15-sha512,diffie-hellman-group16-sha512,diffie-hellman-group17-sha512,diffie-hellman-group18-sha512,diffie-hellman-group14-sha256@ssh.com,diffie-hellman-group15-sha256,diffie-hellman-group15-sha256@ssh.com,diffie-hellman-group15-sha384@ssh.com,diffie-hellman-group16-sha256,diffie-hellman-group16-sha384@ssh.com,diffie-hellman-group16-sha512@ssh.com,diffie-hellman-group18-sha512@ssh.com',
  enc: 'aes128-cbc,aes128-ctr,aes192-cbc,aes192-ctr,aes256-cbc,aes256-ctr,blowfish-cbc,blowfish-ctr,cast128-cbc,cast128-ctr,idea-cbc,idea-ctr,serpent128-cbc,serpent128-ctr,serpent192-cbc,serpent192-ctr,serpent256-cbc,serpent256-ctr,3des-cbc,3des-ctr,twofish128-cbc,twofish128-ctr,twofish192-cbc,twofish192-ctr,twofish256-cbc,twofish256-ctr,twofish-cbc,arcfour,arcfour128,arcfour256',
  mac: 'hmac-sha1,hmac-sha1-96,hmac-md5,hmac-md5-96,hmac-sha2-256,hmac-sha2-512',
  comp: 'zlib@openssh.com,zlib,none',
  hostKey: 'ssh-rsa',
};
const IDENT = 'SSH-2.0-Cyberduck/6.7.1.28683 (Mac OS X/10.13.6) (x86_64)';
const start = Buffer.concat([Buffer.from(`${IDENT}\r\n`), kexinitPacket(CYBERDUCK)]);

describe('SSH client start and HASSH', () => {
  it("gives the salesforce/hassh README's Cyberduck hassh", () => {
    const r = readSshClientStart(start);
    expect(r.state).toBe('done');
    if (r.state !== 'done') return;
    expect(r.fingerprint.hassh).toBe('8a8ae540028bf433cd68356c1b9e8d5b');
    expect(r.fingerprint.hassh_algorithms).toBe(`${CYBERDUCK.kex};${CYBERDUCK.enc};${CYBERDUCK.mac};${CYBERDUCK.comp}`);
    expect(r.fingerprint.client_version).toBe(IDENT);
    expect(r.bytes).toBe(start.length);
    expect(hasshAlgorithms(r.kexinit)).toBe(r.fingerprint.hassh_algorithms);
    expect(hassh(r.kexinit)).toBe('8a8ae540028bf433cd68356c1b9e8d5b');
    expect(r.kexinit.hostKey).toBe('ssh-rsa');
  });

  it('waits for the rest when cut anywhere, and tolerates a bare LF ident', () => {
    for (let i = 0; i < start.length; i++) expect(readSshClientStart(start.subarray(0, i)).state).toBe('need-more');
    const lf = Buffer.concat([Buffer.from(`${IDENT}\n`), kexinitPacket(CYBERDUCK)]);
    expect(readSshClientStart(lf).state).toBe('done');
  });

  it('rejects what is not an SSH 2 client start', () => {
    expect(readSshClientStart(Buffer.from('GET / HTTP/1.1\r\n'.repeat(400))).state).toBe('bad');
    expect(readSshClientStart(Buffer.from('x'.repeat(300))).state).toBe('bad');
    expect(readSshClientStart(Buffer.from('SSH-1.5-old\r\n')).state).toBe('bad');
    const notKex = Buffer.from(kexinitPacket(CYBERDUCK));
    notKex[5] = 21;
    expect(readSshClientStart(Buffer.concat([Buffer.from('SSH-2.0-x\r\n'), notKex]))).toMatchObject({ state: 'bad', client_version: 'SSH-2.0-x' });
    const huge = Buffer.from([0x00, 0x10, 0x00, 0x00, 4]);
    expect(readSshClientStart(Buffer.concat([Buffer.from('SSH-2.0-x\r\n'), huge])).state).toBe('bad');
    expect(parseKexInit(Buffer.from([20, 1, 2]))).toBeUndefined();
  });

  it('never throws and stays bounded on generated or mutated input (12,000 runs)', () => {
    const check = (b: Buffer) => {
      const r = readSshClientStart(b);
      expect(['need-more', 'bad', 'done']).toContain(r.state);
      if (r.state === 'need-more') expect(b.length).toBeLessThanOrEqual(MAX_SSH_START);
      if (r.state === 'done') {
        expect(r.fingerprint.hassh).toMatch(/^[0-9a-f]{32}$/);
        expect(r.fingerprint.hassh_algorithms.length).toBeLessThanOrEqual(4096);
        expect(r.fingerprint.client_version.length).toBeLessThanOrEqual(255);
        expect(r.bytes).toBeLessThanOrEqual(b.length);
      }
    };
    const mutated = fc
      .tuple(fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 12 }), fc.nat())
      .map(([flips, cut]) => {
        const b = Buffer.from(start);
        for (const [i, v] of flips) b[i % b.length] = v;
        return b.subarray(0, cut % 2 === 0 ? b.length : cut % (b.length + 1));
      });
    fc.assert(fc.property(mutated, check), { numRuns: 6000, seed: 7 });
    const generated = fc.uint8Array({ maxLength: 800 }).map((a) => Buffer.concat([Buffer.from('SSH-2.0-fuzz\r\n'), Buffer.from(a)]));
    fc.assert(fc.property(generated, check), { numRuns: 4000, seed: 7 });
    fc.assert(fc.property(fc.uint8Array({ maxLength: 600 }), (a) => check(Buffer.from(a))), { numRuns: 1000, seed: 7 });
    fc.assert(fc.property(fc.uint8Array({ maxLength: 400 }), (a) => void parseKexInit(Buffer.concat([Buffer.from([20]), Buffer.from(a)]))), { numRuns: 1000, seed: 7 });
  });
});
