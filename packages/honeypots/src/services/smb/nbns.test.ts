import dgram from 'node:dgram';
import { existsSync, readFileSync } from 'node:fs';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeNetbiosName, encodeNetbiosName, firstLevelDecode, firstLevelEncode, rawName } from '../../protocols/netbios-name.js';
import { makeTestContext, type TestContext } from '../../runtime/test-context.js';
import { hasBinary, run } from '../../runtime/test-util.js';
import type { RunningService } from '../../runtime/types.js';
import { handleNbns, heldNames, MAX_NBNS_DATAGRAM, startNbns, type NbnsIdentity } from './nbns.js';

const PY = '/usr/bin/python3';
const MAC = '02:42:ac:14:00:05';
const fixtures = JSON.parse(readFileSync(new URL('./__fixtures__/nbns-requests.json', import.meta.url), 'utf8')) as Record<string, string>;
const seeds = Object.entries(fixtures)
  .filter(([k]) => !k.startsWith('_'))
  .map(([, v]) => Buffer.from(v, 'hex'));
const hasImpacket = existsSync(PY) && (await run(PY, ['-c', 'import impacket.nmb']).then((r) => r.code === 0));

/** Is 127.0.0.1:137/udp free (nobody else's name service listening)? */
function port137Free(): Promise<boolean> {
  return new Promise((resolve) => {
    const s = dgram.createSocket({ type: 'udp4', reuseAddr: false });
    s.once('error', () => resolve(false));
    s.bind(137, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}
const free137 = await port137Free();

function ctxFor(persona: 'workgroup' | 'dc' | 'samba', port = 0): TestContext {
  const ports = [{ port, proto: 'udp' as const }];
  if (persona === 'dc') return makeTestContext('smb', {}, ports, { hostname: 'DC01', nmapOS: 'windows_server', otherServices: [{ name: 'ldap', config: { domain: 'corp.local' } }] });
  if (persona === 'samba') return makeTestContext('smb', {}, ports, { hostname: 'nas01', nmapOS: 'linux' });
  return makeTestContext('smb', {}, ports, { hostname: 'FILESRV01', nmapOS: 'windows_server' });
}

describe('NetBIOS names (RFC 1001 first-level encoding)', () => {
  it('encodes as the tools do and round-trips name, suffix and scope', () => {
    // impacket's encoding of SRV-TEST-42<20> (captured)
    expect(encodeNetbiosName('SRV-TEST-42', 0x20).toString('hex')).toBe(fixtures['query_impacket_20']!.slice(24, 24 + 68));
    expect(encodeNetbiosName('*', 0).toString('latin1')).toBe('\x20CKAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\0');
    const enc = encodeNetbiosName('corp', 0x1c, 'lab.example');
    expect(decodeNetbiosName(enc, 0)).toEqual({ name: 'CORP', suffix: 0x1c, scope: 'lab.example', bytes: enc.length });
    expect(firstLevelDecode(firstLevelEncode(rawName('A', 3)))).toEqual(rawName('A', 3));
  });

  it('rejects pointers, bad letters and truncation', () => {
    const enc = encodeNetbiosName('X', 0);
    expect(decodeNetbiosName(Buffer.concat([enc.subarray(0, 33), Buffer.from([0xc0, 0x0c])]), 0)).toBeUndefined();
    expect(decodeNetbiosName(Buffer.from(enc).fill(0x5a, 1, 2), 0)).toBeUndefined();
    expect(decodeNetbiosName(enc.subarray(0, 30), 0)).toBeUndefined();
  });
});

describe('NBNS handler (pure)', () => {
  const id: NbnsIdentity = { names: heldNames(ctxFor('dc').ctx.persona), ip: '10.0.0.7', mac: Buffer.from('0242ac140005', 'hex') };

  it('lists a domain controller\'s names in the order Windows does', () => {
    expect(id.names.map((n) => `${n.name}<${n.suffix.toString(16).padStart(2, '0')}>${n.group ? 'G' : 'U'}`)).toEqual(['DC01<00>U', 'CORP<00>G', 'CORP<1c>G', 'DC01<20>U', 'CORP<1b>U']);
  });

  it('answers a name query for an own name only; never for another name, a registration or a scope', () => {
    const q = (name: string, suffix: number, flags = 0x0110, scope = '') => {
      const h = Buffer.from([0x12, 0x34, flags >> 8, flags & 0xff, 0, 1, 0, 0, 0, 0, 0, 0]);
      return Buffer.concat([h, encodeNetbiosName(name, suffix, scope), Buffer.from([0, 0x20, 0, 1])]);
    };
    const r = handleNbns(q('dc01', 0x20), id);
    expect(r.query).toEqual({ name: 'DC01<20>', qtype: 'NB', protocol: 'nbns', answered: true, broadcast: true });
    expect(r.reply!.subarray(-6).toString('hex')).toBe('00000a000007');
    expect(r.reply!.readUInt16BE(2)).toBe(0x8500);
    expect(handleNbns(q('CORP', 0x1c), id).reply!.subarray(-6).toString('hex')).toBe('80000a000007');
    for (const [n, s] of [['WPAD', 0x00], ['FILESRV', 0x20], ['CORP', 0x1d], ['DC01', 0x03]] as const) {
      const x = handleNbns(q(n, s), id);
      expect(x.reply).toBeUndefined();
      expect(x.query?.answered).toBe(false);
    }
    expect(handleNbns(q('DC01', 0x20, 0x2910), id)).toMatchObject({ query: { opcode: 'registration', answered: false } });
    expect(handleNbns(q('DC01', 0x20, 0x0100, 'x'), id).reply).toBeUndefined();
  });

  it('survives 10,000 generated and mutated requests with bounded output', () => {
    const mutated = fc
      .tuple(fc.constantFrom(...seeds), fc.array(fc.tuple(fc.nat(60), fc.integer({ min: 0, max: 255 })), { maxLength: 6 }), fc.nat(70))
      .map(([seed, edits, cut]) => {
        const b = Buffer.from(seed);
        for (const [i, v] of edits) if (i < b.length) b[i] = v;
        return cut > 60 ? b : b.subarray(0, cut);
      });
    const generated = fc
      .record({ name: fc.string({ maxLength: 20 }), suffix: fc.nat(255), scope: fc.constantFrom('', 'a.b', 'x'.repeat(70)), type: fc.constantFrom(0x20, 0x21, 0x0a), flags: fc.nat(0xffff) })
      .map((r) => Buffer.concat([Buffer.from([1, 2, r.flags >> 8, r.flags & 0xff, 0, 1, 0, 0, 0, 0, 0, 0]), encodeNetbiosName(r.name, r.suffix, r.scope), Buffer.from([0, r.type, 0, 1])]));
    const any = fc.oneof(mutated, generated, fc.uint8Array({ maxLength: 700 }).map((u) => Buffer.from(u)));
    fc.assert(
      fc.property(any, (msg) => {
        const r = handleNbns(msg, id);
        if (r.reply) expect(r.reply.length).toBeLessThanOrEqual(MAX_NBNS_DATAGRAM);
        if (r.query) expect(r.query.name.length).toBeLessThan(300);
      }),
      { numRuns: 10_000 },
    );
  });
});

describe.skipIf(!hasImpacket)('nbns with impacket on a loopback port', () => {
  let t: TestContext;
  let svc: RunningService;
  beforeAll(async () => {
    t = ctxFor('workgroup');
    svc = await startNbns(t.ctx, { mac: MAC });
  });
  afterAll(async () => {
    await svc.close();
    t.cleanup();
  });

  const py = (body: string) =>
    run(PY, ['-c', `from impacket import nmb\nn = nmb.NetBIOS()\nn._NetBIOS__servport = ${svc.ports[0]}\n${body}`]).then((r) => r.stdout + r.stderr);

  it('node status: the names of a Windows workgroup server and its MAC', async () => {
    const out = await py(`for e in n.getnodestatus('*', '127.0.0.1', timeout=2):\n    print(e['NAME'].decode().strip(), hex(e['TYPE']), hex(e['NAME_FLAGS']))\nprint(n.getmacaddress())`);
    expect(out).toBe('FILESRV01 0x0 0x400\nWORKGROUP 0x0 0x8400\nFILESRV01 0x20 0x400\n02-42-AC-14-00-05\n');
    await t.waitFor((e) => e.event === 'name_query' && e.qtype === 'NBSTAT' && e.name === '*<00>' && e.answered === true);
  });

  it('name query: its own name resolves to its address, another name times out', async () => {
    expect(await py(`n.set_nameserver('127.0.0.1')\nprint(n.gethostbyname('filesrv01', nmb.TYPE_SERVER, timeout=2).entries)`)).toBe("['127.0.0.1']\n");
    expect(await py(`n.set_nameserver('127.0.0.1')\ntry:\n    n.gethostbyname('WPAD', nmb.TYPE_WORKSTATION, timeout=1)\nexcept Exception as e:\n    print(type(e).__name__)`)).toContain('NetBIOSTimeout');
    await t.waitFor((e) => e.event === 'name_query' && e.name === 'WPAD<00>' && e.answered === false && e.src_ip === '127.0.0.1');
  });
});

describe.skipIf(!free137)('nbns on 127.0.0.1:137 with nmblookup, nbtscan and nmap', () => {
  let t: TestContext;
  let svc: RunningService;
  beforeAll(async () => {
    t = ctxFor('dc', 137);
    svc = await startNbns(t.ctx, { mac: MAC });
  });
  afterAll(async () => {
    await svc?.close();
    t.cleanup();
  });

  it.skipIf(!hasBinary('nmblookup'))('nmblookup -A', async () => {
    const r = await run('nmblookup', ['-A', '127.0.0.1']);
    expect(r.stdout).toMatch(/DC01\s+<00> -\s+B <ACTIVE>/);
    expect(r.stdout).toMatch(/CORP\s+<1c> - <GROUP> B <ACTIVE>/);
    expect(r.stdout).toMatch(/CORP\s+<1b> -\s+B <ACTIVE>/);
    expect(r.stdout).toContain('MAC Address = 02-42-AC-14-00-05');
  });

  it.skipIf(!hasBinary('nbtscan'))('nbtscan', async () => {
    const r = await run('nbtscan', ['127.0.0.1']);
    expect(r.stdout).toMatch(/127\.0\.0\.1\s+DC01\s+<server>\s+<unknown>\s+02:42:ac:14:00:05/);
  });

  it.skipIf(!hasBinary('nmap'))('nmap nbstat.nse', async () => {
    const r = await run('nmap', ['-Pn', '-sU', '-p', '137', '--script', 'nbstat', '127.0.0.1'], { timeoutMs: 60_000 });
    expect(r.stdout).toContain('NetBIOS name: DC01, NetBIOS user: <unknown>, NetBIOS MAC: 0242ac140005 (unknown)');
    expect(r.stdout).toMatch(/CORP<1c>\s+Flags: <group><active>/);
    await t.waitFor((e) => e.event === 'name_query' && e.qtype === 'NBSTAT');
  }, 70_000);
});

describe('samba persona', () => {
  it('holds the names nmbd registers', () => {
    const names = heldNames(ctxFor('samba').ctx.persona).map((n) => `${n.name}<${n.suffix}>`);
    expect(names).toEqual(['NAS01<0>', 'NAS01<3>', 'NAS01<32>', 'WORKGROUP<0>', 'WORKGROUP<30>']);
  });
});
