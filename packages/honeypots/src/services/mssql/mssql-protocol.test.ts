import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { resolvePersona } from '@decnet/api';
import { buildLogin7, deobfuscatePassword, Login7Error, obfuscatePassword, parseLogin7 } from './login7.js';
import { MssqlSession } from './mssql-session.js';
import { buildPreloginReply, ENCRYPT, negotiateEncryption, parsePrelogin, parseServerVersion, productYear } from './prelogin.js';
import { DONE_ERROR, doneToken, errorToken, framePackets, MAX_MESSAGE, MAX_PACKET, PKT, TdsReader } from './tds.js';
import { TlsDemux } from './tds-tls.js';

const fx = JSON.parse(readFileSync(fileURLToPath(new URL('./__fixtures__/captures.json', import.meta.url)), 'utf8')) as Record<string, string | string[]>;
const hex = (k: string) => Buffer.from(fx[k] as string, 'hex');
const stream = (k: string) => (fx[k] as string[]).map((h) => Buffer.from(h, 'hex'));
/** payload of a single-packet TDS message */
const body = (b: Buffer) => b.subarray(8);

const persona = resolvePersona({ hostname: 'sql01.corp.local', nmapOS: 'windows_server', services: [{ name: 'mssql', config: {} }] });
const newSession = () => new MssqlSession({ persona, version: { major: 15, minor: 0, build: 2000 }, instance: 'MSSQLSERVER', serverName: 'SQL01' });

describe('TDS framing', () => {
  it('reassembles a multi-packet message and splits on output', () => {
    const payload = Buffer.alloc(10_000, 7);
    const wire = framePackets(PKT.LOGIN7, payload, { packetSize: 4096 });
    expect(wire.readUInt16BE(2)).toBe(4096);
    expect(wire[1]).toBe(0);
    const r = new TdsReader();
    const got = [...wire].flatMap((_, i) => (i % 1000 === 0 ? r.feed(wire.subarray(i, i + 1000)) : []));
    expect(got).toEqual([{ type: PKT.LOGIN7, status: 1, payload }]);
  });

  it('rejects bad lengths, unknown types and oversized messages', () => {
    expect(new TdsReader().feed(Buffer.from('1001000400000000', 'hex'))).toEqual([{ error: 'bad packet length 4' }]);
    expect(new TdsReader().feed(Buffer.from('GET / HTTP/1.0\r\n'))[0]).toEqual({ error: 'unknown packet type 0x47' });
    const r = new TdsReader(MAX_PACKET, 1000);
    const items = r.feed(framePackets(PKT.SQL_BATCH, Buffer.alloc(3000), { packetSize: 512 }));
    expect(items).toEqual([{ error: 'message too large' }]);
  });

  it('ERROR and DONE tokens follow MS-TDS (7.1: 2-byte line, 4-byte row count; 7.2+: 4 and 8)', () => {
    const e = { number: 18456, state: 1, klass: 14, message: "Login failed for user 'sa'.", serverName: 'SQL01', procName: '', line: 1 };
    const t74 = errorToken(e, 0x74000004);
    expect(t74[0]).toBe(0xaa);
    expect(t74.readUInt16LE(1)).toBe(t74.length - 3);
    expect(t74.readInt32LE(3)).toBe(18456);
    expect([t74[7], t74[8]]).toEqual([1, 14]);
    expect(t74.readUInt16LE(9)).toBe(e.message.length);
    expect(t74.subarray(11, 11 + e.message.length * 2).toString('utf16le')).toBe(e.message);
    let o = 11 + e.message.length * 2;
    expect(t74[o]).toBe(5);
    expect(t74.subarray(o + 1, o + 11).toString('utf16le')).toBe('SQL01');
    o += 11;
    expect(t74[o]).toBe(0);
    expect(t74.readInt32LE(o + 1)).toBe(1);
    expect(t74.length).toBe(o + 5);
    expect(errorToken(e, 0x71000001).length).toBe(t74.length - 2);
    expect(doneToken(DONE_ERROR, 0x74000004).toString('hex')).toBe('fd020000000000000000000000');
    expect(doneToken(DONE_ERROR, 0x71000000).toString('hex')).toBe('fd0200000000000000');
  });
});

describe('PRELOGIN', () => {
  it('parses the captured impacket and nmap requests', () => {
    expect(parsePrelogin(body(hex('impacket-prelogin')))).toMatchObject({ options: [0, 1, 2, 3], version: { major: 8, minor: 0, build: 341 }, encryption: 0, instance: 'MSSQLServer' });
    expect(parsePrelogin(body(hex('nmap-sv-probe')))).toMatchObject({ encryption: 0, instance: 'MSSQLServer', threadId: 0xf48 });
    expect(parsePrelogin(body(hex('nmap-ms-sql-info-prelogin')))).toMatchObject({ options: [0, 1, 2, 3], version: { major: 9, build: 1399 } });
  });

  it('answers only what was asked, MARS and FEDAUTHREQUIRED included when asked', () => {
    const pre = parsePrelogin(body(hex('nmap-ms-sql-info-prelogin')))!;
    const r = buildPreloginReply({ ...pre, options: [...pre.options, 4, 6] }, { version: parseServerVersion('14.0.1000.169'), encryption: ENCRYPT.OFF, instOpt: 0 });
    expect(parsePrelogin(r)).toMatchObject({ options: [0, 1, 2, 3, 4, 6], version: { major: 14, minor: 0, build: 1000, subBuild: 0 }, encryption: 0, mars: 0, fedAuthRequired: 0 });
  });

  it('maps versions and encryption offers like SQL Server', () => {
    expect(parseServerVersion('16.0.1000.6')).toEqual({ major: 16, minor: 0, build: 1000 });
    expect(parseServerVersion('garbage')).toEqual({ major: 15, minor: 0, build: 2000 });
    expect([13, 14, 15, 16].map(productYear)).toEqual(['2016', '2017', '2019', '2022']);
    expect([0, 1, 2, 3].map(negotiateEncryption)).toEqual([ENCRYPT.OFF, ENCRYPT.ON, ENCRYPT.NOT_SUP, ENCRYPT.ON]);
  });
});

describe('LOGIN7', () => {
  it('parses the captured impacket SQL login and de-obfuscates the password', () => {
    const l = parseLogin7(body(hex('impacket-login7-sql')));
    expect(l).toMatchObject({ userName: 'sa', password: 'Secret1', serverName: '127.0.0.1', integrated: false, tdsVersion: 0x71000000 });
    expect(l.hostName).toMatch(/^[A-Za-z]{8}$/);
  });

  it('parses the captured integrated login (SSPI = NTLM NEGOTIATE)', () => {
    const l = parseLogin7(body(hex('impacket-login7-ntlm')));
    expect(l.integrated).toBe(true);
    expect(l.sspi.subarray(0, 8).toString('latin1')).toBe('NTLMSSP\0');
    expect(l.sspi.readUInt32LE(8)).toBe(1);
  });

  it('round-trips a 7.4 login and the password obfuscation', () => {
    const pw = Buffer.from('pä$$wörd', 'utf16le');
    expect(deobfuscatePassword(obfuscatePassword(pw))).toEqual(pw);
    const l = parseLogin7(buildLogin7({ userName: 'bob', password: 'pw', database: 'master', appName: 'sqlcmd', language: 'us_english', changePassword: 'new' }));
    expect(l).toMatchObject({ userName: 'bob', password: 'pw', database: 'master', appName: 'sqlcmd', language: 'us_english', changePassword: 'new' });
  });

  it('rejects out-of-bounds offsets', () => {
    const b = buildLogin7({ userName: 'bob' });
    b.writeUInt16LE(0xfff0, 40);
    expect(() => parseLogin7(b)).toThrow(Login7Error);
    expect(() => parseLogin7(Buffer.alloc(40))).toThrow(Login7Error);
  });
});

describe('session (pure)', () => {
  it('nmap ms-sql-ntlm-info style: LOGIN7 with an NTLM NEGOTIATE and no PRELOGIN gets an SSPI CHALLENGE', () => {
    // nselib/mssql.lua LoginPacket with SetDomain("."): integrated bit, NEGOTIATE flags 0xb201, OEM domain "."
    const neg = Buffer.concat([Buffer.from('NTLMSSP\0', 'latin1'), Buffer.from('0100000001b20000010001002000000000000000200000002e', 'hex')]);
    const login = buildLogin7({ tdsVersion: 0x71000001, hostName: 'nmap', serverName: '127.0.0.1', appName: 'Nmap NSE', libraryName: 'Nmap NSE', sspi: neg, integrated: true });
    const s = newSession();
    const step = s.feed(framePackets(PKT.LOGIN7, login));
    const out = Buffer.concat(step.out);
    expect(out[0]).toBe(PKT.TABULAR);
    const tok = out.subarray(8);
    expect(tok[0]).toBe(0xed);
    const chal = tok.subarray(3, 3 + tok.readUInt16LE(1));
    expect(chal.subarray(0, 8).toString('latin1')).toBe('NTLMSSP\0');
    expect(chal.readUInt32LE(8)).toBe(2);
    const tnLen = chal.readUInt16LE(12);
    expect(chal.subarray(chal.readUInt32LE(16), chal.readUInt32LE(16) + tnLen).toString('utf16le')).toBe('CORP');
    expect([chal[48], chal[49], chal.readUInt16LE(50)]).toEqual([10, 0, 17763]);
    expect(chal.toString('latin1')).toContain(Buffer.from('sql01.corp.local', 'utf16le').toString('latin1'));
    expect(step.close).toBeFalsy();
  });

  it('a cleartext SQL login (ENCRYPT_NOT_SUP) is captured and refused', () => {
    const s = newSession();
    const pre = Buffer.from(body(hex('impacket-prelogin')));
    pre[pre.readUInt16BE(6)] = ENCRYPT.NOT_SUP;
    const first = s.feed(framePackets(PKT.PRELOGIN, pre));
    expect(first.startTls).toBeFalsy();
    const step = s.feed(framePackets(PKT.LOGIN7, buildLogin7({ userName: 'admin', password: 'hunter2', database: 'master' })));
    expect(step.events[0]).toMatchObject({ event: 'auth_attempt', principal: 'admin', secret: 'hunter2', database: 'master', tls: false });
    expect(step.close).toBe(true);
    expect(Buffer.concat(step.out).includes(Buffer.from("Login failed for user 'admin'.", 'utf16le'))).toBe(true);
  });
});

/** mutate a seed: flip bytes, truncate, splice random bytes */
const mutated = (seeds: Buffer[]) =>
  fc
    .tuple(fc.constantFrom(...seeds), fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 8 }), fc.nat(), fc.uint8Array({ maxLength: 64 }))
    .map(([seed, flips, cut, extra]) => {
      const b = Buffer.from(seed);
      for (const [pos, v] of flips) if (b.length > 0) b[pos % b.length] = v;
      const end = cut % 3 === 0 ? cut % (b.length + 1) : b.length;
      return Buffer.concat([b.subarray(0, end), Buffer.from(extra)]);
    });
const anyBytes = fc.uint8Array({ maxLength: 600 }).map((u) => Buffer.from(u));
const seedMsgs = ['impacket-prelogin', 'impacket-login7-sql', 'impacket-login7-ntlm', 'impacket-sspi-authenticate', 'nmap-ms-sql-info-prelogin', 'nmap-sv-probe'].map(hex);

describe('fuzz (10,000 runs each, seeded from real captures)', () => {
  it('packet reader: never throws, buffers within bounds', () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(mutated(seedMsgs), anyBytes), { maxLength: 6 }), (chunks) => {
        const r = new TdsReader();
        for (const c of chunks) {
          for (const m of r.feed(c)) if (!('error' in m)) expect(m.payload.length).toBeLessThanOrEqual(MAX_MESSAGE);
          expect(r.buffered).toBeLessThanOrEqual(MAX_PACKET + MAX_MESSAGE);
        }
      }),
      { numRuns: 10_000 },
    );
  });

  it('PRELOGIN parser and reply builder: never throw', () => {
    fc.assert(
      fc.property(fc.oneof(mutated(seedMsgs.map(body)), anyBytes), (b) => {
        const p = parsePrelogin(b);
        const r = buildPreloginReply(p, { version: { major: 15, minor: 0, build: 2000 }, encryption: negotiateEncryption(p?.encryption), instOpt: 0 });
        expect(r.length).toBeLessThan(64);
      }),
      { numRuns: 10_000 },
    );
  });

  it('LOGIN7 parser: returns or throws Login7Error only, strings bounded by the input', () => {
    const seeds = [body(hex('impacket-login7-sql')), body(hex('impacket-login7-ntlm')), buildLogin7({ userName: 'u', password: 'p', sspi: Buffer.alloc(40, 1) })];
    fc.assert(
      fc.property(fc.oneof(mutated(seeds), anyBytes), (b) => {
        try {
          const l = parseLogin7(b);
          expect(l.userName.length + l.password.length + l.hostName.length).toBeLessThanOrEqual(b.length);
          expect(l.sspi.length).toBeLessThanOrEqual(b.length);
        } catch (err) {
          expect(err).toBeInstanceOf(Login7Error);
        }
      }),
      { numRuns: 10_000 },
    );
  });

  it('whole session and TLS demux: never throw, bounded output', () => {
    const seeds = [...seedMsgs, ...stream('impacket-sql-stream'), ...stream('impacket-ntlm-stream')];
    fc.assert(
      fc.property(fc.array(fc.oneof(mutated(seeds), anyBytes), { minLength: 1, maxLength: 5 }), (chunks) => {
        const s = newSession();
        const d = new TlsDemux();
        for (const c of chunks) {
          const step = s.feed(c);
          expect(step.out.reduce((n, b) => n + b.length, 0)).toBeLessThan(8192);
          for (const it of d.feed(c)) expect(it.kind === 'error' || it.data.length <= c.length + 40_000).toBe(true);
          expect(d.buffered).toBeLessThan(64 * 1024);
        }
      }),
      { numRuns: 10_000 },
    );
  });
});
