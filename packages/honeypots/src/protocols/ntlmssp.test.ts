import { createHmac } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import md4 from 'js-md4';
import { describe, expect, it } from 'vitest';
import { resolvePersona } from '@decnet/api';
import {
  NtlmServer,
  buildChallenge,
  ntlmCredentialFields,
  ntlmMessageType,
  parseAuthenticate,
  parseNegotiate,
  verifyNtlmv2,
  ntHash,
  rc4,
} from './ntlmssp.js';

const dc = resolvePersona({ hostname: 'dc01', nmapOS: 'windows_server', services: [{ name: 'ldap', config: { domain: 'corp.local' } }, { name: 'smb', config: {} }] });
const ws = resolvePersona({ hostname: 'DESKTOP-7QK2M1', nmapOS: 'windows', services: [{ name: 'smb', config: {} }] });
const CHAL = Buffer.from('0123456789abcdef', 'hex');
const PY = '/usr/bin/python3';
const ORACLE = fileURLToPath(new URL('./__fixtures__/impacket-ntlm.py', import.meta.url));
const hasImpacket = (() => {
  try {
    execFileSync(PY, ['-c', 'import impacket.ntlm'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

const hmac = (k: Buffer, ...d: Buffer[]) => d.reduce((h, x) => h.update(x), createHmac('md5', k)).digest();

/** Recompute NTProofStr from a hashcat 5600 line and a candidate password: what hashcat does. */
function crack5600(line: string, password: string): boolean {
  const [user, , domain, chal, proof, blob] = line.split(':');
  const nt = Buffer.from(md4.create().update(Buffer.from(password, 'utf16le')).arrayBuffer());
  const owf = hmac(nt, Buffer.from(user!.toUpperCase() + domain!, 'utf16le'));
  return hmac(owf, Buffer.from(chal!, 'hex'), Buffer.from(blob!, 'hex')).toString('hex') === proof;
}

function avPairs(msg: Buffer): Map<number, Buffer> {
  const len = msg.readUInt16LE(40);
  const off = msg.readUInt32LE(44);
  const info = msg.subarray(off, off + len);
  const out = new Map<number, Buffer>();
  for (let p = 0; p + 4 <= info.length; ) {
    const id = info.readUInt16LE(p);
    const l = info.readUInt16LE(p + 2);
    out.set(id, info.subarray(p + 4, p + 4 + l));
    p += 4 + l;
    if (id === 0) break;
  }
  return out;
}

describe('NTLMSSP CHALLENGE', () => {
  it('is laid out like a domain-joined Windows Server 2019', () => {
    const neg = parseNegotiate(Buffer.from('4e544c4d5353500001000000978208e2000000000000000000000000000000000a0063450000000f', 'hex'));
    expect(neg?.flags).toBe(0xe2088297);
    const { message, serverChallenge } = buildChallenge(dc, neg, { challenge: CHAL, now: new Date('2026-01-01T00:00:00Z') });
    expect(serverChallenge).toEqual(CHAL);
    expect(ntlmMessageType(message)).toBe(2);
    // Windows answers a Windows client's 0xe2088297 with 0xe2898215 on a domain member
    expect(message.readUInt32LE(20).toString(16)).toBe('e2898215');
    expect(message.readUInt32LE(16)).toBe(56);
    expect(message.subarray(56, 56 + message.readUInt16LE(12)).toString('utf16le')).toBe('CORP');
    expect([...message.subarray(48, 56)]).toEqual([10, 0, 17763 & 0xff, 17763 >> 8, 0, 0, 0, 15]);
    const av = avPairs(message);
    expect([...av.keys()]).toEqual([2, 1, 4, 3, 5, 7, 0]);
    expect(av.get(2)!.toString('utf16le')).toBe('CORP');
    expect(av.get(1)!.toString('utf16le')).toBe('DC01');
    expect(av.get(4)!.toString('utf16le')).toBe('corp.local');
    expect(av.get(3)!.toString('utf16le')).toBe('dc01.corp.local');
    expect(av.get(5)!.toString('utf16le')).toBe('corp.local');
    expect(av.get(7)!.readBigUInt64LE()).toBe((BigInt(Date.parse('2026-01-01T00:00:00Z')) + 11644473600000n) * 10000n);
  });

  it('names the machine itself on a workgroup Windows 10', () => {
    const { message } = buildChallenge(ws, { flags: 0xe2088297 }, { challenge: CHAL });
    expect(message.readUInt32LE(20).toString(16)).toBe('e28a8215');
    expect(message.subarray(56, 56 + message.readUInt16LE(12)).toString('utf16le')).toBe('DESKTOP-7QK2M1');
    const av = avPairs(message);
    expect([...av.keys()]).toEqual([2, 1, 4, 3, 7, 0]);
    expect(av.get(2)!.toString('utf16le')).toBe('DESKTOP-7QK2M1');
    expect(av.get(3)!.toString('utf16le')).toBe('DESKTOP-7QK2M1') // the DNS name keeps the computer name's case, as Windows shows it;
    expect(message.readUInt16LE(50)).toBe(19045);
  });
});

describe.skipIf(!hasImpacket)('NTLMSSP against impacket', () => {
  it('captures a crackable NTLMv2 hash and derives the same session key', () => {
    const server = new NtlmServer(dc, { challenge: CHAL });
    const { message } = buildChallenge(dc, { flags: 0xe0888235 }, { challenge: CHAL });
    const out = execFileSync(PY, [ORACLE, message.toString('hex'), 'Alice', 'Winter2025!', 'CORP']).toString().trim().split('\n');
    const [t1, t3, key] = out.map((h) => Buffer.from(h, 'hex'));
    const r1 = server.step(t1!);
    expect(ntlmMessageType(r1.reply!)).toBe(2);
    const { auth } = server.step(t3!);
    expect(auth).toBeDefined();
    expect(auth!.version).toBe('v2');
    expect(auth!.user).toBe('Alice');
    expect(auth!.domain).toBe('CORP');
    expect(auth!.hashcat.startsWith('Alice::CORP:0123456789abcdef:')).toBe(true);
    expect(crack5600(auth!.hashcat, 'Winter2025!')).toBe(true);
    expect(crack5600(auth!.hashcat, 'winter2025!')).toBe(false);
    const f = ntlmCredentialFields(auth!);
    expect(f).toMatchObject({ principal: 'CORP\\Alice', secret_kind: 'netntlmv2', secret: auth!.hashcat, ntlm_workstation: 'WS01' });
    expect(Buffer.from(f.secret_b64, 'base64').toString()).toBe(auth!.hashcat);
    expect(verifyNtlmv2(auth!, 'Winter2025!')).toEqual(key);
    expect(verifyNtlmv2(auth!, 'nope')).toBeUndefined();
  });
});

describe('NTLMSSP helpers', () => {
  it('computes the NT hash and RC4 like the references', () => {
    expect(ntHash('password').toString('hex')).toBe('8846f7eaee8fb117ad06bdd830b7586c');
    // RFC 6229 test vector, key 0x0102030405
    expect(rc4(Buffer.from('0102030405', 'hex'), Buffer.alloc(8)).toString('hex')).toBe('b2396305f03dc027');
  });

  it('recognizes anonymous and v1 authenticates', () => {
    const msg = (lm: Buffer, nt: Buffer, user: string) => {
      const u = Buffer.from(user, 'utf16le');
      const head = Buffer.alloc(72);
      head.write('NTLMSSP\0', 0, 'latin1');
      head.writeUInt32LE(3, 8);
      let off = 72;
      const put = (at: number, b: Buffer) => {
        head.writeUInt16LE(b.length, at);
        head.writeUInt16LE(b.length, at + 2);
        head.writeUInt32LE(off, at + 4);
        off += b.length;
      };
      put(12, lm);
      put(20, nt);
      put(28, Buffer.alloc(0));
      put(36, u);
      put(44, Buffer.alloc(0));
      put(52, Buffer.alloc(0));
      head.writeUInt32LE(0xe2088215, 60);
      return Buffer.concat([head, lm, nt, u]);
    };
    expect(parseAuthenticate(msg(Buffer.from([0]), Buffer.alloc(0), ''), CHAL)?.version).toBe('anonymous');
    const v1 = parseAuthenticate(msg(Buffer.alloc(24, 1), Buffer.alloc(24, 2), 'bob'), CHAL)!;
    expect(v1.version).toBe('v1');
    expect(v1.hashcat).toBe(`bob:::${'01'.repeat(24)}:${'02'.repeat(24)}:0123456789abcdef`);
    expect(ntlmCredentialFields(v1).secret_kind).toBe('netntlmv1');
  });
});

describe('NTLMSSP fuzz', () => {
  const seeds = [
    Buffer.from('4e544c4d5353500001000000978208e2000000000000000000000000000000000a0063450000000f', 'hex'),
    Buffer.from('4e544c4d5353500001000000358288e000000000000000000000000000000000', 'hex'),
  ];
  const fixture = fileURLToPath(new URL('./__fixtures__/ntlm-authenticate.hex', import.meta.url));
  if (existsSync(fixture)) {
    seeds.push(Buffer.from(readFileSync(fixture, 'utf8').trim(), 'hex'));
  }
  const mutated = fc
    .tuple(fc.constantFrom(...seeds), fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 8 }), fc.nat({ max: 200 }))
    .map(([s, muts, cut]) => {
      const b = Buffer.from(s);
      for (const [i, v] of muts) b[i % b.length] = v;
      return b.subarray(0, Math.max(12, b.length - cut));
    });
  const raw = fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.concat([Buffer.from('NTLMSSP\0\x03\0\0\0', 'latin1'), Buffer.from(a)]));
  const anyMsg = fc.oneof(mutated, raw, fc.uint8Array({ maxLength: 100 }).map((a) => Buffer.from(a)));

  it('parseNegotiate never throws', () => {
    fc.assert(fc.property(anyMsg, (b) => void parseNegotiate(b)), { numRuns: 10_000 });
  });
  it('parseAuthenticate never throws and bounds its output', () => {
    fc.assert(
      fc.property(anyMsg, (b) => {
        const a = parseAuthenticate(b, CHAL);
        if (a) expect(a.hashcat.length).toBeLessThan(4 * b.length + 200);
      }),
      { numRuns: 10_000 },
    );
  });
});
