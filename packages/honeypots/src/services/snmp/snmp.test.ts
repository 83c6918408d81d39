import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import dgram from 'node:dgram';
import fc from 'fast-check';
import { makeTestContext } from '../../runtime/test-context.js';
import { hasBinary, run } from '../../runtime/test-util.js';
import type { RunningService } from '../../runtime/types.js';
import { handle, type AgentConfig } from './agent.js';
import { int, octets, oid, seq, nul } from './ber.js';
import { buildMib, defaultSysDescr } from './mib.js';
import { engineIdFor, startSnmp } from './snmp.js';

const mib = buildMib({ os: 'linux', hostname: 'h1', sysDescr: defaultSysDescr('linux', 'h1'), sysContact: 'c', sysLocation: 'l', mac: Buffer.from([1, 2, 3, 4, 5, 6]), uptime: () => 100 });
const cfg: AgentConfig = { community: 'public', mib, engineId: engineIdFor('d', 'linux'), engineBoots: 1, engineTime: () => 5 };

function getMsg(version: number, community: string, tag: number, oids: number[][], a = 0, b = 0): Buffer {
  return seq([int(version), octets(community), seq([int(1234), int(a), int(b), seq(oids.map((o) => seq([oid(o), nul()])))], tag)]);
}
const sysDescr0 = [1, 3, 6, 1, 2, 1, 1, 1, 0];
const nmapV3 = Buffer.from('303a020103300f02024a69020300ffe30401040201030410300e0400020100020100040004000400301204000400a00c020237f00201000201003000', 'hex');

describe('snmp core', () => {
  it('answers get, refuses set, caps getbulk', () => {
    const r = handle(getMsg(1, 'public', 0xa0, [sysDescr0]), cfg) as { reply?: Buffer };
    expect(r.reply?.toString('latin1')).toContain('Linux h1 5.15.0-91-generic');
    const s = handle(getMsg(0, 'public', 0xa3, [sysDescr0]), cfg) as { reply?: Buffer };
    expect(s.reply?.toString('hex')).toContain('020104020101');
    const bulk = handle(getMsg(1, 'public', 0xa5, [[1, 3]], 0, 100000), cfg) as { reply?: Buffer };
    expect(bulk.reply!.length).toBeLessThanOrEqual(1472);
    expect(bulk.reply!.length).toBeGreaterThan(200);
    const w = handle(getMsg(1, 'private', 0xa0, [sysDescr0]), cfg) as { ok?: boolean; reply?: Buffer };
    expect(w.ok).toBe(false);
    expect(w.reply).toBeUndefined();
  });
  it('answers the nmap v3 probe with a net-snmp engine report', () => {
    const r = handle(nmapV3, cfg);
    expect(r.kind).toBe('v3');
    const reply = (r as { reply: Buffer }).reply;
    expect(/^..\x02\x01\x030.\x02\x02Ji\x02.{3,4}\x04\x01.\x02\x01\x03\x04.{5,6}\0\x1f\x88/s.test(reply.toString('latin1'))).toBe(true);
  });
  it('never throws on random or mutated input (fuzz)', () => {
    const seeds = [getMsg(1, 'public', 0xa5, [sysDescr0, [1, 3, 6]], 1, 10), getMsg(0, 'public', 0xa1, [[1, 3]]), nmapV3];
    fc.assert(
      fc.property(fc.oneof(fc.uint8Array({ maxLength: 600 }), fc.tuple(fc.nat(2), fc.array(fc.tuple(fc.nat(200), fc.nat(255)), { maxLength: 8 })).map(([i, muts]) => {
        const b = Buffer.from(seeds[i]!);
        for (const [p, v] of muts) if (p < b.length) b[p] = v;
        return b;
      })), (bytes) => {
        const r = handle(Buffer.from(bytes), cfg);
        if ('reply' in r && r.reply) expect(r.reply.length).toBeLessThanOrEqual(1472);
      }),
      { numRuns: 10_000, seed: 161 },
    );
  });
});

describe.skipIf(!hasBinary('snmpwalk'))('snmp with stock net-snmp tools', () => {
  const t = makeTestContext('snmp', {}, [{ port: 161, proto: 'udp' }], { ephemeral: true, hostname: 'web-01' });
  let svc: RunningService;
  let port = 0;
  beforeAll(async () => {
    svc = await startSnmp(t.ctx);
    port = svc.ports[0]!;
  });
  afterAll(async () => {
    await svc.close();
    t.cleanup();
  });
  const target = () => `127.0.0.1:${port}`;

  it('snmpwalk -v2c walks system and ifTable', async () => {
    const r = await run('snmpwalk', ['-v2c', '-c', 'public', target(), '1.3.6.1.2.1']);
    expect(r.stdout).toContain('iso.3.6.1.2.1.1.5.0 = STRING: "web-01"');
    expect(r.stdout).toContain('iso.3.6.1.2.1.1.1.0 = STRING: "Linux web-01 5.15.0-91-generic #101-Ubuntu SMP Tue Nov 14 13:30:08 UTC 2023 x86_64"');
    expect(r.stdout).toContain('iso.3.6.1.2.1.1.2.0 = OID: iso.3.6.1.4.1.8072.3.2.10');
    expect(r.stdout).toContain('iso.3.6.1.2.1.2.2.1.2.2 = STRING: "eth0"');
    expect(r.stdout).toMatch(/iso.3.6.1.2.1.2.2.1.6.2 = Hex-STRING: ([0-9A-F]{2} ){6}/);
    expect(r.stdout).toContain('iso.3.6.1.2.1.25.2.2.0 = INTEGER:');
    expect(r.stdout).toContain('No more variables left in this MIB View');
    await t.waitFor((e) => e.event === 'auth_attempt' && e.success === true);
    await t.waitFor((e) => e.event === 'request' && e['pdu'] === 'getnext');
  });
  it('snmpget -v1 and snmpbulkwalk', async () => {
    const g = await run('snmpget', ['-v1', '-c', 'public', target(), '1.3.6.1.2.1.1.4.0', '1.3.6.1.2.1.1.6.0']);
    expect(g.stdout).toContain('iso.3.6.1.2.1.1.4.0 = STRING: "root@localhost"');
    expect(g.stdout).toContain('iso.3.6.1.2.1.1.6.0 = STRING: "Server Room"');
    const b = await run('snmpbulkwalk', ['-v2c', '-c', 'public', '-Cr50', target(), '1.3.6.1.2.1.2.2']);
    expect(b.stdout).toContain('iso.3.6.1.2.1.2.2.1.3.1 = INTEGER: 24');
    expect(b.stdout).toContain('iso.3.6.1.2.1.2.2.1.22.2 = OID: ccitt.0');
    const s = await run('snmpset', ['-v1', '-c', 'public', target(), '1.3.6.1.2.1.1.4.0', 's', 'x']);
    expect(s.stdout + s.stderr).toMatch(/readOnly|notWritable|noAccess/);
  });
  it('wrong community: no answer, an auth_attempt event', async () => {
    const r = await run('snmpget', ['-v2c', '-c', 'secret1', '-t', '0.5', '-r', '0', target(), '1.3.6.1.2.1.1.5.0']);
    expect(r.stderr).toContain('Timeout');
    const e = await t.waitFor((x) => x.event === 'auth_attempt' && x.secret === 'secret1');
    expect(e).toMatchObject({ principal: '', secret_kind: 'snmp_community', success: false });
  });
  it('snmpwalk -v3 gets an unknown user name report, user captured', async () => {
    await new Promise((r) => setTimeout(r, 1100)); // let the per-source reply budget (20/s) refill
    const r = await run('snmpwalk', ['-v3', '-l', 'authNoPriv', '-u', 'admin', '-a', 'SHA', '-A', 'password123', '-t', '1', '-r', '0', target()]);
    expect(r.stderr).toMatch(/Unknown user name/i);
    await t.waitFor((e) => e.event === 'auth_attempt' && e.secret_kind === 'snmpv3_usm' && e.principal === 'admin');
  });
  it.skipIf(!hasBinary('nmap') || process.getuid?.() !== 0)('nmap -sU -sV identifies snmp', async () => {
    const r = await run('nmap', ['-sU', '-sV', '-p', String(port), '127.0.0.1', '-Pn'], { timeoutMs: 120_000 });
    process.stderr.write(`NMAP OUTPUT:\n${r.stdout}\n`);
    expect(r.stdout).toMatch(/open\s+snmp\s+.*SNMPv1 server/);
  }, 130_000);
  it('a raw v2c get answers and the reply is bounded', async () => {
    const sock = dgram.createSocket('udp4');
    const got = new Promise<Buffer>((res) => sock.once('message', (m) => res(m)));
    sock.send(getMsg(1, 'public', 0xa0, [sysDescr0]), port, '127.0.0.1');
    const m = await got;
    sock.close();
    expect(m.length).toBeLessThan(300);
  });
});
