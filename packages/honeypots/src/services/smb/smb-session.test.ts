import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { resolvePersona, type Persona } from '@decnet/api';
import { buildShares } from './fake-fs.js';
import { smb1Dialects } from './smb1.js';
import { aesCmac, smb3Kdf } from './smb2-crypto.js';
import { parseHeader, parseNegotiateRequest } from './smb2-messages.js';
import { SmbSession, type SmbSessionOptions } from './smb-session.js';
import { MAX_SMB_FRAME, nbssFrameLength, parseUsers } from './smb.js';

/** Client byte streams recorded on loopback (smbclient 4.17, impacket 0.10, nmap 7.93) through a tap proxy. */
const captures = JSON.parse(readFileSync(new URL('./__fixtures__/client-captures.json', import.meta.url), 'utf8')) as Record<string, string>;

/** Split a recorded TCP stream into NBSS packets. */
function packets(hex: string): Buffer[] {
  const buf = Buffer.from(hex, 'hex');
  const out: Buffer[] = [];
  for (let at = 0; at + 4 <= buf.length; ) {
    const len = nbssFrameLength(buf.subarray(at));
    if (!len || len < 0 || at + len > buf.length) break;
    out.push(buf.subarray(at, at + len));
    at += len;
  }
  return out;
}

const server = resolvePersona({ hostname: 'FILESRV01', nmapOS: 'windows_server', services: [{ name: 'smb', config: {} }] });
const dc = resolvePersona({ hostname: 'dc01', nmapOS: 'windows_server', services: [{ name: 'ldap', config: { domain: 'corp.local' } }, { name: 'smb', config: {} }] });

function options(persona: Persona, extra: Partial<SmbSessionOptions> = {}): SmbSessionOptions {
  return {
    persona,
    users: parseUsers('alice:Winter2025!'),
    guest: false,
    shares: buildShares(persona, undefined, 'test-decky'),
    serverGuid: SmbSession.guidFor('test-decky'),
    bootTime: 0n,
    budget: { remaining: 1 << 20 },
    ...extra,
  };
}

const smb2Of = (pkt: Buffer) => pkt.subarray(4);

describe('SMB1 -> SMB2 upgrade', () => {
  it('hangs up on an SMB1-only NEGOTIATE (nmap smb-protocols SMBv1 probe), like Windows with SMB1 disabled', () => {
    const nmapV1 = packets(captures['nmap-1']!)[0]!;
    expect(smb1Dialects(nmapV1.subarray(4))).toEqual(['NT LM 0.12', '']);
    const out = new SmbSession(options(server)).handlePacket(nmapV1);
    expect(out.packets).toEqual([]);
    expect(out.close).toBe(true);
  });

  it('answers "SMB 2.???" with the 0x02FF wildcard SMB2 NEGOTIATE response', () => {
    const first = packets(captures['impacket-1']!)[0]!;
    expect(smb1Dialects(first.subarray(4))).toEqual(['NT LM 0.12', 'SMB 2.002', 'SMB 2.???']);
    const out = new SmbSession(options(server)).handlePacket(first);
    const msg = smb2Of(out.packets[0]!);
    expect(parseHeader(msg)).toMatchObject({ command: 0, status: 0 });
    expect(msg.readUInt16LE(64)).toBe(65);
    expect(msg.readUInt16LE(68)).toBe(0x02ff);
    expect(msg.subarray(72, 88)).toEqual(SmbSession.guidFor('test-decky'));
  });

  it('answers port-139 SESSION REQUEST positively', () => {
    const req = Buffer.concat([Buffer.from([0x81, 0, 0, 68]), Buffer.alloc(68, 0x41)]);
    expect(new SmbSession(options(server)).handlePacket(req).packets).toEqual([Buffer.from([0x82, 0, 0, 0])]);
  });
});

describe('SMB2 NEGOTIATE', () => {
  it('on port 139 answers a session message sent before any session request as Windows does (nmap -sV: Microsoft Windows netbios-ssn)', () => {
    const nmapV1 = packets(captures['nmap-1']!)[0]!;
    const out = new SmbSession(options(server, { sessionService: true })).handlePacket(nmapV1);
    expect(out.packets).toEqual([Buffer.from([0x83, 0, 0, 1, 0x8f])]);
    expect(out.close).toBe(true);
    const s139 = new SmbSession(options(server, { sessionService: true }));
    s139.handlePacket(Buffer.from([0x81, 0, 0, 0]));
    expect(s139.handlePacket(nmapV1).packets).not.toEqual([Buffer.from([0x83, 0, 0, 1, 0x8f])]);
  });

  it('picks 3.1.1 for smbclient with preauth + encryption contexts, signing enabled not required', () => {
    const neg = packets(captures['smbclient-1']!)[0]!;
    expect(parseNegotiateRequest(smb2Of(neg))?.dialects).toContain(0x0311);
    const msg = smb2Of(new SmbSession(options(server)).handlePacket(neg).packets[0]!);
    expect(msg.readUInt16LE(66)).toBe(0x1);
    expect(msg.readUInt16LE(68)).toBe(0x0311);
    expect(msg.readUInt16LE(70)).toBe(2);
    expect(msg.readUInt32LE(88)).toBe(0x7);
    expect(msg.readUInt32LE(92)).toBe(8 * 1024 * 1024);
    const secOff = msg.readUInt16LE(120);
    expect(msg[secOff]).toBe(0x60);
    const ctxOff = msg.readUInt32LE(124);
    expect(ctxOff % 8).toBe(0);
    expect(msg.readUInt16LE(ctxOff)).toBe(1); // PREAUTH_INTEGRITY_CAPABILITIES
    expect(msg.readUInt16LE(ctxOff + 8 + 4)).toBe(1); // SHA-512
    const next = (ctxOff + 8 + msg.readUInt16LE(ctxOff + 2) + 7) & ~7;
    expect(msg.readUInt16LE(next)).toBe(2); // ENCRYPTION_CAPABILITIES
    expect([1, 2]).toContain(msg.readUInt16LE(next + 10));
  });

  it('requires signing on a domain controller; nmap per-dialect probes get that dialect', () => {
    for (const [i, d] of [[2, 0x0202], [4, 0x0210], [5, 0x0300], [6, 0x0302], [7, 0x0311]] as const) {
      const pkt = packets(captures[`nmap-${i}`]!)[0]!;
      const req = parseNegotiateRequest(smb2Of(pkt))!;
      const msg = smb2Of(new SmbSession(options(dc)).handlePacket(pkt).packets[0]!);
      expect(msg.readUInt16LE(66)).toBe(0x3);
      expect(msg.readUInt16LE(68)).toBe(Math.max(...req.dialects.filter((x) => dc.windows!.smbDialects.includes(x))));
      expect(d).toBeGreaterThan(0);
    }
  });
});

describe('smb2 crypto', () => {
  it('AES-CMAC matches RFC 4493', () => {
    const k = Buffer.from('2b7e151628aed2a6abf7158809cf4f3c', 'hex');
    expect(aesCmac(k, Buffer.alloc(0)).toString('hex')).toBe('bb1d6929e95937287fa37d129b756746');
    expect(aesCmac(k, Buffer.from('6bc1bee22e409f96e93d7e117393172a', 'hex')).toString('hex')).toBe('070a16b46b4d4144f79bdd9dd04a287c');
    expect(aesCmac(k, Buffer.from('6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e5130c81c46a35ce411', 'hex')).toString('hex')).toBe('dfa66747de9ae63030ca32611497c827');
  });
  it('KDF yields 16 bytes, label-dependent', () => {
    const a = smb3Kdf(Buffer.alloc(16, 1), Buffer.from('SMB2AESCMAC\0'), Buffer.from('SmbSign\0'));
    expect(a.length).toBe(16);
    expect(a).not.toEqual(smb3Kdf(Buffer.alloc(16, 1), Buffer.from('SMB2AESCCM\0'), Buffer.from('ServerIn \0')));
  });
});

describe('SMB session replay and fuzz (seeded from smbclient/impacket/nmap captures)', () => {
  const streams = Object.entries(captures).map(([name, hex]) => ({ name, pkts: packets(hex) }));

  it('replays every capture as a guest session without throwing', () => {
    for (const { pkts } of streams) {
      const s = new SmbSession(options(server, { users: new Map(), guest: true }));
      for (const p of pkts) {
        const out = s.handlePacket(p);
        expect(out.events.every((e) => e.error !== 'internal')).toBe(true);
        if (out.close) break;
      }
    }
  });

  it('replays smbclient ls/get/put up to tree connect and file commands (guest)', () => {
    const s = new SmbSession(options(server, { users: new Map(), guest: true }));
    const events: string[] = [];
    for (const p of streams.find((x) => x.name === 'smbclient-2')!.pkts) {
      const out = s.handlePacket(p);
      events.push(...out.events.map((e) => `${e.event}:${String(e.command ?? e.success ?? '')}`));
    }
    expect(events).toContain('auth_attempt:true');
    expect(events).toContain('request:tree_connect');
  });

  const allPkts = streams.flatMap((s) => s.pkts);
  const mutated = fc
    .tuple(fc.nat({ max: allPkts.length - 1 }), fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 10 }), fc.nat({ max: 64 }))
    .map(([i, muts, cut]) => {
      const b = Buffer.from(allPkts[i]!);
      for (const [at, v] of muts) b[4 + (at % Math.max(1, b.length - 4))] = v;
      return b.subarray(0, Math.max(4, b.length - cut));
    });

  it('fuzz: a session fed mutated real packets never throws, output bounded', () => {
    const prefix = streams.find((x) => x.name === 'smbclient-2')!.pkts;
    fc.assert(
      fc.property(fc.nat({ max: prefix.length }), fc.array(mutated, { minLength: 1, maxLength: 4 }), (keep, extra) => {
        const s = new SmbSession(options(server, { users: new Map(), guest: true }));
        for (const p of [...prefix.slice(0, keep), ...extra]) {
          const out = s.handlePacket(p);
          expect(out.events.every((e) => e.error !== 'internal')).toBe(true);
          for (const o of out.packets) expect(o.length).toBeLessThan(MAX_SMB_FRAME + 8 * 1024 * 1024);
          if (out.close) break;
        }
      }),
      { numRuns: 10_000 },
    );
  }, 60_000);

  it('fuzz: NBSS framing, SMB1 and SMB2 NEGOTIATE parsers never throw', () => {
    const raw = fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.from(a));
    fc.assert(
      fc.property(fc.oneof(mutated, raw), (b) => {
        const n = nbssFrameLength(b);
        if (n !== undefined && n > 0) expect(n).toBeLessThanOrEqual(4 + 0xffffff);
        smb1Dialects(b.subarray(4));
        const neg = parseNegotiateRequest(b.subarray(4));
        if (neg) expect(neg.dialects.length).toBeLessThanOrEqual(64);
      }),
      { numRuns: 10_000 },
    );
  });
});
