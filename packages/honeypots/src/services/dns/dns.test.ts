import dnsPacket from 'dns-packet';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTestContext, type TestContext } from '../../runtime/test-context.js';
import { hasBinary, run } from '../../runtime/test-util.js';
import type { RunningService } from '../../runtime/types.js';
import { answer, buildZone, LIMITS, TcpFramer } from './authority.js';
import { dnsService } from './dns.js';

const zone = buildZone({ domain: 'corp.example', records: 'fs01 10.0.0.21\nmail 10.0.0.25\n# comment\nbad 999.1.1.1', ownIp: '10.0.0.53', hostname: 'dns01', version: '9.18.24-1-Debian', serial: 2026120301 });
const q = (name: string, type: string, opts: { cls?: string; rd?: boolean; edns?: boolean } = {}) =>
  dnsPacket.encode({
    id: 4242,
    type: 'query',
    flags: opts.rd === false ? 0 : dnsPacket.RECURSION_DESIRED,
    questions: [{ name, type: type as never, class: (opts.cls ?? 'IN') as never }],
    additionals: opts.edns ? [{ name: '.', type: 'OPT', udpPayloadSize: 4096, flags: 0, options: [] } as never] : [],
  });
const dec = (b: Buffer | undefined) => dnsPacket.decode(b!);

describe('authority (pure)', () => {
  it('answers A of the zone authoritatively, with the NS in authority', () => {
    const r = answer(q('fs01.corp.example', 'A'), zone, 'udp');
    const p = dec(r.reply);
    expect(p.id).toBe(4242);
    expect(p.rcode).toBe('NOERROR');
    expect((p.flags ?? 0) & dnsPacket.AUTHORITATIVE_ANSWER).toBeTruthy();
    expect((p.flags ?? 0) & dnsPacket.RECURSION_AVAILABLE).toBeFalsy();
    expect(p.answers).toMatchObject([{ type: 'A', data: '10.0.0.21' }]);
    expect(r.query).toMatchObject({ name: 'fs01.corp.example', qtype: 'A', rcode: 'NOERROR', answered: true });
    expect(dec(answer(q('DNS01.corp.example', 'A'), zone, 'udp').reply).answers).toMatchObject([{ data: '10.0.0.53' }]);
    expect(zone.a.has('bad.corp.example')).toBe(false);
  });
  it('SOA and NS at the apex; NXDOMAIN with the SOA for an unknown name; NOERROR/empty for another type', () => {
    const s = dec(answer(q('corp.example', 'SOA'), zone, 'udp').reply);
    expect(s.answers).toMatchObject([{ type: 'SOA', data: { mname: 'ns1.corp.example', serial: 2026120301 } }]);
    const nx = dec(answer(q('nope.corp.example', 'A'), zone, 'udp').reply);
    expect(nx.rcode).toBe('NXDOMAIN');
    expect(nx.authorities).toMatchObject([{ type: 'SOA' }]);
    const mx = dec(answer(q('fs01.corp.example', 'MX'), zone, 'udp').reply);
    expect([mx.rcode, mx.answers?.length]).toEqual(['NOERROR', 0]);
  });
  it('never recurses: another domain is REFUSED, so is AXFR; version.bind is the configured version', () => {
    expect(dec(answer(q('www.google.com', 'A'), zone, 'udp').reply).rcode).toBe('REFUSED');
    expect(dec(answer(q('corp.example', 'AXFR'), zone, 'tcp').reply).rcode).toBe('REFUSED');
    const v = dec(answer(q('version.bind', 'TXT', { cls: 'CH' }), zone, 'udp').reply);
    expect(v.answers?.[0]).toMatchObject({ type: 'TXT', class: 'CH' });
    expect(Buffer.concat((v.answers?.[0] as { data: Buffer[] }).data).toString()).toBe('9.18.24-1-Debian');
    expect(dec(answer(q('id.server', 'TXT', { cls: 'CH' }), zone, 'udp').reply).rcode).toBe('REFUSED');
  });
  it('EDNS is answered with BIND 9.18s 1232; responses, other opcodes and bad counts are not answered as queries', () => {
    const e = dec(answer(q('fs01.corp.example', 'A', { edns: true }), zone, 'udp').reply);
    expect(e.additionals).toMatchObject([{ type: 'OPT', udpPayloadSize: 1232 }]);
    const resp = Buffer.from(q('x', 'A'));
    resp.writeUInt16BE(0x8100, 2);
    expect(answer(resp, zone, 'udp').reply).toBeUndefined();
    const notify = Buffer.from(q('corp.example', 'SOA'));
    notify.writeUInt16BE(4 << 11, 2);
    expect(dec(answer(notify, zone, 'udp').reply).rcode).toBe('NOTIMP');
  });
  it('fuzz: random and mutated queries never throw; a UDP reply is never more than 10x the query (or 512) nor 1232 bytes', () => {
    const seeds = [q('fs01.corp.example', 'A'), q('corp.example', 'ANY', { edns: true }), q('version.bind', 'TXT', { cls: 'CH' }), q('a.b.c.d.e.f', 'AAAA')];
    const mutated = fc.tuple(fc.constantFrom(...seeds), fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 8 })).map(([b, m]) => {
      const c = Buffer.from(b);
      for (const [i, v] of m) c[i % c.length] = v;
      return c;
    });
    fc.assert(
      fc.property(fc.oneof(mutated, fc.uint8Array({ maxLength: 600 }).map((a) => Buffer.from(a))), (msg) => {
        const r = answer(msg, zone, 'udp');
        if (r.reply) {
          expect(r.reply.length).toBeLessThanOrEqual(Math.min(1232, Math.max(512, LIMITS.maxAmplification * msg.length)));
        }
      }),
      { numRuns: 10_000, seed: 53 },
    );
  });
  it('the TCP framer bounds frames', () => {
    const f = new TcpFramer();
    const m = q('fs01.corp.example', 'A');
    const len = Buffer.alloc(2);
    len.writeUInt16BE(m.length);
    expect(f.feed(Buffer.concat([len, m.subarray(0, 5)])).messages).toEqual([]);
    expect(f.feed(m.subarray(5)).messages).toHaveLength(1);
    expect(new TcpFramer().feed(Buffer.from([0xff, 0xff])).error).toMatch(/frame/);
  });
});

describe.skipIf(!hasBinary('dig'))('dns service with dig', () => {
  let t: TestContext;
  let svc: RunningService;
  let udp: number;
  let tcp: number;
  beforeAll(async () => {
    t = makeTestContext('dns', { domain: 'corp.example', bind_version: '9.16.1-Ubuntu', dns_records: 'fs01 10.0.0.21' }, [{ port: 53, proto: 'udp' }, { port: 53, proto: 'tcp' }], { ephemeral: true, hostname: 'dns01' });
    svc = await dnsService.start(t.ctx);
    [udp, tcp] = [svc.ports[0]!, svc.ports[1]!];
  });
  afterAll(async () => {
    await svc.close();
    t.cleanup();
  });
  it('dig reads A and version.bind, over UDP and TCP', async () => {
    expect((await run('dig', ['@127.0.0.1', '-p', String(udp), '+short', 'fs01.corp.example'])).stdout.trim()).toBe('10.0.0.21');
    const v = await run('dig', ['@127.0.0.1', '-p', String(udp), '+short', 'version.bind', 'TXT', 'CHAOS']);
    expect(v.stdout.trim()).toBe('"9.16.1-Ubuntu"');
    expect((await run('dig', ['@127.0.0.1', '-p', String(tcp), '+tcp', '+short', 'corp.example', 'SOA'])).stdout).toMatch(/^ns1\.corp\.example\. hostmaster\.corp\.example\. \d{10} 604800 86400 2419200 86400/);
    await t.waitFor((e) => e.event === 'name_query' && e['name'] === 'fs01.corp.example' && e['transport'] === 'udp');
  });
  it('dig for another domain: REFUSED and "recursion requested but not available"; an AXFR fails', async () => {
    const r = await run('dig', ['@127.0.0.1', '-p', String(udp), 'www.example.org']);
    expect(r.stdout).toContain('status: REFUSED');
    expect(r.stdout).toContain('recursion requested but not available');
    const x = await run('dig', ['@127.0.0.1', '-p', String(tcp), 'corp.example', 'AXFR']);
    expect(x.stdout).toMatch(/Transfer failed/);
    await t.waitFor((e) => e.event === 'name_query' && e['qtype'] === 'AXFR' && e['rcode'] === 'REFUSED');
  });
});
