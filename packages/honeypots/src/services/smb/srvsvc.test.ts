import { execFileSync } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { readFileSync } from 'node:fs';
import type { Persona } from '@decnet/api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { PFC, PTYPE, parseHeader } from '../../protocols/dcerpc.js';
import { MAX_PENDING_OUTPUT, MAX_REQUEST_STUB } from '../../protocols/dcerpc-server.js';
import { run } from '../../runtime/test-util.js';
import { PipeEndpoint, pipeFor, type ShareInfo } from './srvsvc.js';
import { serverType } from './srvsvc-ops.js';

const FIXTURES = path.join(import.meta.dirname, '__fixtures__');
const ORACLE = path.join(FIXTURES, 'impacket-rpc.py');
const SAMBA_ORACLE = path.join(FIXTURES, 'samba-rpc.py');
const SEEDS: Record<string, string> = JSON.parse(readFileSync(path.join(FIXTURES, 'client-pdus.json'), 'utf8'));
const hex = (name: string) => Buffer.from(SEEDS[name]!, 'hex');

const persona: Persona = {
  hostname: 'fs01.corp.local',
  netbiosName: 'FS01',
  netbiosDomain: 'CORP',
  dnsDomain: 'corp.local',
  fqdn: 'fs01.corp.local',
  joined: true,
  domainController: false,
  baseDn: 'DC=corp,DC=local',
  os: 'windows_server',
  windows: { product: 'Windows Server 2019 Standard', major: 10, minor: 0, build: 17763, smbDialects: [0x0202, 0x0210, 0x0300, 0x0302, 0x0311], server: true },
};

const shares: ShareInfo[] = [
  { name: 'ADMIN$', type: 0x80000000, comment: 'Remote Admin' },
  { name: 'C$', type: 0x80000000, comment: 'Default share' },
  { name: 'IPC$', type: 0x80000003, comment: 'Remote IPC' },
  { name: 'Finance', type: 0, comment: '' },
];

function hasPython(module: string): boolean {
  try {
    execFileSync('/usr/bin/python3', ['-c', `import ${module}`], { stdio: 'ignore', cwd: '/' });
    return true;
  } catch {
    return false;
  }
}

/** A loopback ncacn_ip_tcp bridge: each connection gets a fresh pipe endpoint; replies are flushed after every write. */
async function bridge(pipe: string, list: ShareInfo[], calls: string[]): Promise<{ port: number; close: () => void }> {
  const server = net.createServer((sock) => {
    const ep = pipeFor(pipe, persona, list, (c) => calls.push(`${c.pipe}:${c.operation}`))!;
    sock.on('data', (d: Buffer) => {
      ep.write(d);
      for (let m = ep.read(1 << 20); m.length; m = ep.read(1 << 20)) sock.write(m);
    });
    sock.on('error', () => {});
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { port: (server.address() as net.AddressInfo).port, close: () => server.close() };
}

describe.skipIf(!hasPython('impacket.dcerpc.v5.srvs'))('srvsvc/wkssvc against impacket’s DCE/RPC client', () => {
  const calls: string[] = [];
  const servers: { port: number; close: () => void }[] = [];
  const many = Array.from({ length: 300 }, (_, i) => ({ name: `Share${i}`, type: 0, comment: `Department share number ${i}` }));
  beforeAll(async () => {
    servers.push(await bridge('srvsvc', shares, calls), await bridge('\\PIPE\\WKSSVC', shares, calls), await bridge('srvsvc', [...shares, ...many], calls));
  });
  afterAll(() => servers.forEach((s) => s.close()));

  const oracle = async (srv: number, wks: number, frag?: number) => {
    const args = [ORACLE, 'client', String(srv), String(wks), ...(frag ? [String(frag)] : [])];
    const r = await run('/usr/bin/python3', args, { timeoutMs: 20_000 });
    expect(r.stderr).toBe('');
    return JSON.parse(r.stdout);
  };

  it('decodes share enumeration, share/server/workstation info and faults as Windows sends them', async () => {
    const out = await oracle(servers[0]!.port, servers[1]!.port);
    expect(out.enum1).toEqual({ total: 4, status: 0, shares });
    expect(out.enum0).toEqual(['ADMIN$', 'C$', 'IPC$', 'Finance']);
    expect(out.enum2_error).toBe(5); // ERROR_ACCESS_DENIED for a non-admin
    expect(out.getinfo1).toEqual({ name: 'C$', type: 0x80000000, comment: 'Default share' });
    expect(out.getinfo_missing).toBe(2310); // NERR_NetNameNotFound
    expect(out.getinfo2_error).toBe(5);
    expect(out.server101).toEqual({ platform: 500, name: 'FS01', major: 10, minor: 0, type: 0x9003, comment: '' });
    expect(out.unknown_opnum).toBe('nca_s_op_rng_error'); // FAULT 0x1c010002
    expect(out.wksta100).toEqual({ platform: 500, computer: 'FS01', langroup: 'CORP', major: 10, minor: 0 });
    expect(out.wksta102_error).toBe(5);
    expect(out.sessions_error).toBe(5); // NetrSessionEnum as a non-admin on Windows 10 1607+ / Server 2016+
    expect(out.wksta_users_error).toBe(5);
    expect(out.stats_error).toBe(5);
    expect(calls).toContain('srvsvc:NetrShareEnum');
    expect(calls).toContain('wkssvc:NetrWkstaGetInfo');
  }, 30_000);

  it('reassembles requests impacket fragments into 16-byte pieces', async () => {
    const out = await oracle(servers[0]!.port, servers[1]!.port, 16);
    expect(out.enum1.shares).toEqual(shares);
    expect(out.getinfo1.name).toBe('C$');
  }, 30_000);

  it('fragments a long share list at the negotiated size and impacket reassembles it', async () => {
    const out = await oracle(servers[2]!.port, servers[1]!.port);
    expect(out.enum1.total).toBe(304);
    expect(out.enum1.shares.at(-1)).toEqual({ name: 'Share299', type: 0, comment: 'Department share number 299' });
  }, 30_000);
});

describe.skipIf(!hasPython('samba.dcerpc.srvsvc'))('srvsvc/wkssvc against Samba’s librpc client (what smbclient -L runs)', () => {
  const servers: { port: number; close: () => void }[] = [];
  beforeAll(async () => {
    servers.push(await bridge('srvsvc', shares, []), await bridge('wkssvc', shares, []));
  });
  afterAll(() => servers.forEach((s) => s.close()));

  it('NetShareEnumAll level 1, NetSrvGetInfo 101, NetShareGetInfo 1, NetWkstaGetInfo 100', async () => {
    const r = await run('/usr/bin/python3', [SAMBA_ORACLE, String(servers[0]!.port), String(servers[1]!.port)], { timeoutMs: 20_000 });
    expect(r.stderr).toBe('');
    const out = JSON.parse(r.stdout);
    expect(out.enum1).toEqual({ total: 4, shares });
    expect(out.server101).toEqual({ platform: 500, name: 'FS01', major: 10, minor: 0, type: 0x9003, comment: '' });
    expect(out.getinfo1).toEqual({ name: 'IPC$', type: 0x80000003, comment: 'Remote IPC' });
    expect(out.wksta100).toEqual({ platform: 500, computer: 'FS01', langroup: 'CORP', major: 10, minor: 0 });
  }, 30_000);
});

describe('PipeEndpoint', () => {
  it('answers a Windows-style three-context bind: NDR accepted, NDR64 rejected, BTFN negotiate ack', () => {
    const ep = new PipeEndpoint('\\PIPE\\srvsvc', persona, shares);
    const ack = ep.transceive(hex('bind_srvsvc_windows'), 4280);
    expect(parseHeader(ack)?.ptype).toBe(PTYPE.bindAck);
    expect(ack.readUInt16LE(16)).toBe(4280); // max_xmit_frag: min(5840, 4280)
    const addrLen = ack.readUInt16LE(24);
    expect(ack.subarray(26, 26 + addrLen).toString('latin1')).toBe('\\PIPE\\srvsvc\0');
    let o = 26 + addrLen;
    o += (4 - (o % 4)) % 4;
    expect(ack[o]).toBe(3);
    const results = [0, 1, 2].map((i) => [ack.readUInt16LE(o + 4 + i * 24), ack.readUInt16LE(o + 6 + i * 24)]);
    expect(results).toEqual([
      [0, 0],
      [2, 2],
      [3, 3],
    ]);
    expect(ack.subarray(o + 8, o + 24).toString('hex')).toBe('045d888aeb1cc9119fe808002b104860');
  });

  it('keeps reply messages apart and hands out a long one over several reads', () => {
    const ep = pipeFor('SRVSVC', persona, shares)!;
    ep.write(Buffer.concat([hex('bind_srvsvc'), hex('share_enum_1')]));
    const ack = ep.read(4096);
    expect(parseHeader(ack)?.ptype).toBe(PTYPE.bindAck);
    const first = ep.read(20);
    expect(first.length).toBe(20);
    expect(ep.available).toBeGreaterThan(0);
    const rest = ep.read(4096);
    const resp = Buffer.concat([first, rest]);
    expect(parseHeader(resp)?.fragLength).toBe(resp.length);
    expect(ep.read(4096).length).toBe(0);
  });

  it('announces workstation, member server and domain controller server types', () => {
    expect(serverType({ ...persona, windows: { ...persona.windows!, server: false } })).toBe(0x1003);
    expect(serverType(persona)).toBe(0x9003);
    expect(serverType({ ...persona, domainController: true })).toBe(0x902b);
  });

  it('serves only srvsvc and wkssvc', () => {
    expect(pipeFor('\\pipe\\lsarpc', persona, shares)).toBeUndefined();
    expect(pipeFor('wkssvc', persona, shares)).toBeInstanceOf(PipeEndpoint);
    // a wkssvc bind on the srvsvc pipe is rejected (abstract syntax not supported)
    const ack = pipeFor('srvsvc', persona, shares)!.transceive(hex('bind_wkssvc'), 4280);
    expect(ack.readUInt16LE(ack.length - 24)).toBe(2);
    expect(ack.readUInt16LE(ack.length - 22)).toBe(1);
  });
});

/** A request PDU (little endian, no auth) carrying `stub`. */
function request(callId: number, opnum: number, stub: Buffer, flags = PFC.firstFrag | PFC.lastFrag, ctx = 0): Buffer {
  const h = Buffer.alloc(24);
  h.writeUInt32LE(0x03000005, 0);
  h[2] = PTYPE.request;
  h[3] = flags;
  h.writeUInt32LE(0x10, 4);
  h.writeUInt16LE(24 + stub.length, 8);
  h.writeUInt32LE(callId, 12);
  h.writeUInt32LE(stub.length, 16);
  h.writeUInt16LE(ctx, 20);
  h.writeUInt16LE(opnum, 22);
  return Buffer.concat([h, stub]);
}

const seedList = Object.entries(SEEDS).map(([k, v]) => [k, Buffer.from(v, 'hex')] as const);
const requestSeeds = seedList.filter(([k]) => !k.startsWith('bind')).map(([, b]) => b);
const bindSeeds = seedList.filter(([k]) => k.startsWith('bind')).map(([, b]) => b);

const mutate = (base: Buffer, edits: [number, number][], cut: number | null, fixLength: boolean) => {
  let b = Buffer.from(base);
  for (const [pos, v] of edits) b[pos % b.length] = v;
  if (cut !== null) b = b.subarray(0, cut);
  if (fixLength && b.length >= 10) b.writeUInt16LE(b.length, 8);
  return Buffer.from(b);
};
const edits = fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 6 });
const mutatedRequest = fc.tuple(fc.constantFrom(...requestSeeds), edits, fc.option(fc.nat({ max: 120 })), fc.boolean()).map(([b, e, c, f]) => mutate(b, e, c, f));
const mutatedBind = fc.tuple(fc.constantFrom(...bindSeeds), edits, fc.option(fc.nat({ max: 160 }), { freq: 8 }), fc.boolean()).map(([b, e, c, f]) => mutate(b, e, c, f));
const generatedRequest = fc
  .tuple(
    fc.integer({ min: 1, max: 4 }),
    fc.oneof(fc.constantFrom(0, 15, 16, 21), fc.integer({ min: 0, max: 70 })),
    fc.oneof(fc.uint8Array({ maxLength: 300 }).map((u) => Buffer.from(u)), fc.constantFrom(...requestSeeds).map((b) => b.subarray(24))),
    fc.constantFrom(3, 1, 2, 0, 0x83, 0x23),
    fc.integer({ min: 0, max: 2 }),
  )
  .map(([callId, opnum, stub, flags, ctx]) => request(callId, opnum, stub, flags, ctx));

/** Feed a byte stream to a fresh endpoint in random chunks with random reads; check every bound. */
function drive(pipe: string, pdus: Buffer[], cuts: number[], readSizes: number[]): void {
  const ep = pipeFor(pipe, persona, shares, () => {})!;
  const stream = Buffer.concat(pdus);
  let o = 0;
  let i = 0;
  let total = 0;
  while (o < stream.length) {
    const n = Math.max(1, cuts[i % Math.max(1, cuts.length)] ?? stream.length);
    ep.write(stream.subarray(o, o + n));
    o += n;
    const max = readSizes[i++ % Math.max(1, readSizes.length)] ?? 4096;
    const got = i % 2 ? ep.read(max) : ep.transceive(Buffer.alloc(0), max);
    expect(got.length).toBeLessThanOrEqual(Math.max(0, max));
    total += got.length;
    // finish a message the read cut short, so the final drain starts on a boundary
    if (got.length === max && ep.available) total += ep.read(ep.available).length;
    const b = ep.buffered;
    expect(b.input).toBeLessThanOrEqual(0xffff);
    expect(b.reassembly).toBeLessThanOrEqual(MAX_REQUEST_STUB);
    expect(b.output).toBeLessThanOrEqual(MAX_PENDING_OUTPUT);
  }
  // whatever is left comes out as whole, well-formed PDUs no larger than the negotiated fragment
  for (let m = ep.read(1 << 20); m.length; m = ep.read(1 << 20)) {
    const h = parseHeader(m);
    expect(h?.fragLength).toBe(m.length);
    expect(m.length).toBeLessThanOrEqual(4280);
    total += m.length;
  }
  expect(total).toBeLessThanOrEqual(8192 + pdus.length * 8192);
}

describe('PipeEndpoint robustness', () => {
  const cuts = fc.array(fc.integer({ min: 1, max: 300 }), { maxLength: 6 });
  const reads = fc.array(fc.integer({ min: 0, max: 5000 }), { maxLength: 4 });

  it('fuzz: mutated impacket binds and requests, in random chunks', () => {
    fc.assert(
      fc.property(fc.constantFrom('srvsvc', 'wkssvc'), mutatedBind, fc.array(mutatedRequest, { minLength: 1, maxLength: 5 }), cuts, reads, (pipe, bind, reqs, c, r) => {
        drive(pipe, [bind, ...reqs], c, r);
      }),
      { numRuns: 10_000 },
    );
  });

  it('fuzz: generated requests and fragments after a valid bind', () => {
    fc.assert(
      fc.property(fc.constantFrom('srvsvc', 'wkssvc'), fc.array(generatedRequest, { minLength: 1, maxLength: 6 }), cuts, reads, (pipe, reqs, c, r) => {
        drive(pipe, [pipe === 'srvsvc' ? hex('bind_srvsvc') : hex('bind_wkssvc'), ...reqs], c, r);
      }),
      { numRuns: 10_000 },
    );
  });

  it('bounds reassembly: an endless fragmented request ends in a FAULT, not in memory', () => {
    const ep = pipeFor('srvsvc', persona, shares)!;
    ep.transceive(hex('bind_srvsvc'), 4096);
    ep.write(request(7, 15, Buffer.alloc(4000), PFC.firstFrag));
    for (let i = 0; i < 100; i++) ep.write(request(7, 15, Buffer.alloc(4000), 0));
    expect(ep.buffered.reassembly).toBeLessThanOrEqual(MAX_REQUEST_STUB);
    const fault = ep.read(4096);
    expect(parseHeader(fault)?.ptype).toBe(PTYPE.fault);
  });

  it('bounds output: a client that never reads cannot grow the reply queue', () => {
    const ep = pipeFor('srvsvc', persona, shares)!;
    ep.write(hex('bind_srvsvc'));
    const req = hex('share_enum_1');
    for (let i = 0; i < 5000; i++) ep.write(req);
    expect(ep.buffered.output).toBeLessThanOrEqual(MAX_PENDING_OUTPUT);
  });
});
