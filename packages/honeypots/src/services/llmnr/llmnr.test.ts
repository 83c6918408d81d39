import { existsSync, readFileSync } from 'node:fs';
import dnsPacket from 'dns-packet';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { makeTestContext, type TestContext } from '../../runtime/test-context.js';
import { run } from '../../runtime/test-util.js';
import type { RunningService } from '../../runtime/types.js';
import { startLlmnr } from './llmnr.js';
import { ownAddressFor, reverseName } from './own-address.js';
import { LIMITS, respond, type Identity } from './responder.js';

const PY = '/usr/bin/python3';
const fixtures = JSON.parse(readFileSync(new URL('./__fixtures__/queries.json', import.meta.url), 'utf8')) as Record<string, string>;
const seeds = Object.entries(fixtures)
  .filter(([k]) => !k.startsWith('_'))
  .map(([, v]) => Buffer.from(v, 'hex'));

const hasDnspython = existsSync(PY) && (await run(PY, ['-c', 'import dns.query']).then((r) => r.code === 0));

/** One query with dnspython (a real resolver library), printing rcode, flags and the answer section. */
async function pyQuery(port: number, name: string, type: string): Promise<string> {
  const script = [
    'import sys, dns.message, dns.query, dns.flags, dns.rcode',
    `q = dns.message.make_query(${JSON.stringify(name)}, ${JSON.stringify(type)})`,
    'try:',
    `    r = dns.query.udp(q, "127.0.0.1", port=${port}, timeout=1.5)`,
    'except dns.exception.Timeout:',
    '    print("TIMEOUT"); sys.exit(0)',
    'print("rcode", dns.rcode.to_text(r.rcode()), "flags", dns.flags.to_text(r.flags), "answers", len(r.answer))',
    'for rr in r.answer: print(rr.to_text())',
  ].join('\n');
  const r = await run(PY, ['-c', script]);
  return r.stdout + r.stderr;
}

const identity: Identity = { names: ['SRV-TEST-42'], hostname: 'SRV-TEST-42', ip: '10.0.0.7' };

describe('responder (pure)', () => {
  it('answers LLMNR A for its own name case-insensitively, with the question echoed and no C/TC/T bits', () => {
    const r = respond(Buffer.from(fixtures['llmnr_a_dnspython']!, 'hex'), 'llmnr', identity, 40000);
    const p = dnsPacket.decode(r.reply!);
    expect(p.id).toBe(0x54eb);
    expect((p.flags ?? 0) & 0x7fff & ~0x0100).toBe(0);
    expect(p.questions).toEqual([{ name: 'SRV-TEST-42', type: 'A', class: 'IN' }]);
    expect(p.answers).toMatchObject([{ type: 'A', data: '10.0.0.7', ttl: 30 }]);
    expect(r.queries).toEqual([{ name: 'SRV-TEST-42', qtype: 'A', protocol: 'llmnr', answered: true }]);
  });

  it('never answers another name (not a poisoner), but records the query', () => {
    for (const name of ['wpad', 'fileserver', 'SRV-TEST-4', 'srv-test-42.evil']) {
      const q = dnsPacket.encode({ id: 7, type: 'query', questions: [{ name, type: 'A' }] });
      const r = respond(q, 'llmnr', identity, 40000);
      expect(r.reply).toBeUndefined();
      expect(r.queries).toEqual([{ name, qtype: 'A', protocol: 'llmnr', answered: false }]);
      expect(respond(q, 'mdns', identity, 5353).reply).toBeUndefined();
    }
  });

  it('answers mDNS from port 5353 with id 0, no question, cache-flush and TTL 120; PTR for its reverse name', () => {
    const q = dnsPacket.encode({
      id: 0,
      type: 'query',
      questions: [
        { name: 'srv-test-42.local', type: 'A' },
        { name: reverseName('10.0.0.7'), type: 'PTR' },
        { name: 'other.local', type: 'A' },
      ],
    });
    const r = respond(q, 'mdns', identity, 5353);
    const p = dnsPacket.decode(r.reply!);
    expect(p.id).toBe(0);
    expect(p.flags! & dnsPacket.AUTHORITATIVE_ANSWER).toBeTruthy();
    expect(p.questions).toEqual([]);
    expect(p.answers).toMatchObject([
      { type: 'A', data: '10.0.0.7', ttl: 120, flush: true },
      { type: 'PTR', name: '7.0.0.10.in-addr.arpa', data: 'SRV-TEST-42.local', ttl: 120, flush: true },
    ]);
    expect(r.queries.map((x) => x.answered)).toEqual([true, true, false]);
  });

  it('drops responses, LLMNR messages with QDCOUNT != 1 and oversized or over-counted datagrams', () => {
    const resp = dnsPacket.encode({ id: 1, type: 'response', questions: [{ name: 'SRV-TEST-42', type: 'A' }] });
    expect(respond(resp, 'llmnr', identity, 1).queries).toEqual([]);
    const two = dnsPacket.encode({ id: 1, type: 'query', questions: [{ name: 'SRV-TEST-42', type: 'A' }, { name: 'x', type: 'A' }] });
    expect(respond(two, 'llmnr', identity, 1).reply).toBeUndefined();
    const five = dnsPacket.encode({ id: 1, type: 'query', questions: Array.from({ length: 5 }, () => ({ name: 'srv-test-42.local', type: 'A' as const })) });
    expect(respond(five, 'mdns', identity, 5353)).toEqual({ queries: [] });
    const big = Buffer.concat([Buffer.from(fixtures['llmnr_a_dnspython']!, 'hex'), Buffer.alloc(1500)]);
    expect(respond(big, 'llmnr', identity, 1)).toEqual({ queries: [] });
  });

  it('picks the address of the interface whose subnet holds the sender, else the first non-internal one', () => {
    const ifaces = [
      { address: '127.0.0.1', netmask: '255.0.0.0', mac: '00:00:00:00:00:00', internal: true },
      { address: '172.20.0.5', netmask: '255.255.0.0', mac: '02:42:ac:14:00:05', internal: false },
      { address: '192.168.1.20', netmask: '255.255.255.0', mac: '02:42:c0:a8:01:14', internal: false },
    ];
    expect(ownAddressFor('192.168.1.99', ifaces)).toBe('192.168.1.20');
    expect(ownAddressFor('127.0.0.1', ifaces)).toBe('127.0.0.1');
    expect(ownAddressFor('8.8.8.8', ifaces)).toBe('172.20.0.5');
    expect(ownAddressFor('::1', [])).toBeUndefined();
  });

  it('survives 10,000 generated and mutated datagrams with bounded output', () => {
    const mutated = fc
      .tuple(fc.constantFrom(...seeds), fc.array(fc.tuple(fc.nat(80), fc.integer({ min: 0, max: 255 })), { maxLength: 8 }), fc.nat(90))
      .map(([seed, edits, cut]) => {
        const b = Buffer.from(seed);
        for (const [i, v] of edits) if (i < b.length) b[i] = v;
        return cut > 80 ? b : b.subarray(0, Math.max(12, cut));
      });
    const generated = fc
      .record({
        id: fc.nat(0xffff),
        names: fc.array(fc.oneof(fc.constantFrom('SRV-TEST-42', 'srv-test-42.local', '7.0.0.10.in-addr.arpa', 'wpad'), fc.domain()), { minLength: 1, maxLength: 6 }),
        type: fc.constantFrom('A', 'AAAA', 'ANY', 'PTR', 'TXT', 'SRV'),
      })
      .map((r) => dnsPacket.encode({ id: r.id, type: 'query', questions: r.names.map((name) => ({ name, type: r.type as 'A' })) }));
    const any = fc.oneof(mutated, generated, fc.uint8Array({ maxLength: 1600 }).map((u) => Buffer.from(u)));
    fc.assert(
      fc.property(any, fc.constantFrom('llmnr' as const, 'mdns' as const), fc.constantFrom(5353, 40000), (msg, proto, port) => {
        const r = respond(msg, proto, identity, port);
        expect(r.queries.length).toBeLessThanOrEqual(LIMITS.maxQuestions);
        if (r.reply) expect(r.reply.length).toBeLessThanOrEqual(1500);
        for (const q of r.queries) expect(q.name.length).toBeLessThanOrEqual(LIMITS.maxName);
      }),
      { numRuns: 10_000 },
    );
  });
});

describe.skipIf(!hasDnspython)('llmnr service with dnspython on loopback', () => {
  let t: TestContext;
  let svc: RunningService;
  let llmnrPort: number;
  let mdnsPort: number;
  beforeEach(async () => {
    t = makeTestContext('llmnr', {}, [{ port: 0, proto: 'udp' }, { port: 0, proto: 'udp' }], { hostname: 'SRV-TEST-42', nmapOS: 'windows' });
    svc = await startLlmnr(t.ctx);
    [llmnrPort, mdnsPort] = svc.ports as [number, number];
  });
  afterEach(async () => {
    await svc.close();
    t.cleanup();
  });

  it('LLMNR: A for its own name is the address of the interface the query came in on', async () => {
    const out = await pyQuery(llmnrPort, 'srv-test-42', 'A');
    expect(out).toContain('rcode NOERROR');
    expect(out).toContain('srv-test-42. 30 IN A 127.0.0.1');
    const ev = await t.waitFor((e) => e.event === 'name_query');
    expect(ev).toMatchObject({ name: 'srv-test-42', qtype: 'A', protocol: 'llmnr', answered: true, src_ip: '127.0.0.1', dst_port: llmnrPort });
    expect(typeof ev.src_port).toBe('number');
  });

  it('LLMNR: AAAA for its own name is NOERROR with an empty answer, another name gets no reply', async () => {
    expect(await pyQuery(llmnrPort, 'SRV-TEST-42', 'AAAA')).toContain('rcode NOERROR flags QR answers 0') // the DNS RD bit is LLMNR's T (tentative): a reply keeps it clear;
    expect(await pyQuery(llmnrPort, 'wpad', 'A')).toContain('TIMEOUT');
    await t.waitFor((e) => e.event === 'name_query' && e.name === 'wpad' && e.answered === false);
  });

  it('mDNS (legacy unicast): <hostname>.local A and the PTR of its address', async () => {
    const a = await pyQuery(mdnsPort, 'srv-test-42.local', 'A');
    expect(a).toContain('flags QR AA');
    expect(a).toContain('srv-test-42.local. 10 IN A 127.0.0.1');
    expect(await pyQuery(mdnsPort, '1.0.0.127.in-addr.arpa', 'PTR')).toContain('1.0.0.127.in-addr.arpa. 10 IN PTR SRV-TEST-42.local.');
    expect(await pyQuery(mdnsPort, 'printer.local', 'A')).toContain('TIMEOUT');
    await t.waitFor((e) => e.event === 'name_query' && e.protocol === 'mdns' && e.name === 'printer.local' && e.answered === false);
  });

  it('answers with an injected address', async () => {
    const svc2 = await startLlmnr(t.ctx, { ip: '10.1.2.3' });
    try {
      expect(await pyQuery(svc2.ports[0]!, 'SRV-TEST-42', 'A')).toContain('IN A 10.1.2.3');
    } finally {
      await svc2.close();
    }
  });
});
