import type { AttackerEvent } from '@decnet/api';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AttackerAggregator, summarizeAttackers } from './attackers.js';

const T = Date.parse('2025-01-01T00:00:00.000Z');
const at = (s: number) => new Date(T + s * 1000).toISOString();
function ev(s: number, event: string, extra: Partial<AttackerEvent> = {}): AttackerEvent {
  return { time: at(s), fleet: 'lab', decky: 'web-01', service: 'ssh', event, src_ip: '10.0.0.9', dst_port: 22, ...extra };
}

describe('summarizeAttackers', () => {
  it('summarises one attacker across deckies and services', () => {
    const events = [
      ev(10, 'connection', { count: 3 }),
      ev(11, 'auth_attempt', { principal: 'root', secret_kind: 'plaintext', secret: 'toor', secret_b64: 'dG9vcg==', success: false }),
      ev(12, 'auth_attempt', { principal: 'root', secret_kind: 'plaintext', secret: 'toor', secret_b64: 'dG9vcg==', success: false }),
      ev(13, 'auth_attempt', { principal: 'admin', secret_kind: 'plaintext', secret: 'admin', secret_b64: 'YWRtaW4=', success: true }),
      ev(14, 'command', { command: 'uname -a' }),
      ev(15, 'command', { command: '  uname -a ' }),
      ev(16, 'command', { cmd: 'id' }),
      ev(5, 'request', { decky: 'web-02', service: 'http', dst_port: 80, fleet: 'prod' }),
    ];
    const [s, ...rest] = summarizeAttackers(events);
    expect(rest).toEqual([]);
    expect(s).toEqual({
      ip: '10.0.0.9',
      firstSeen: at(5),
      lastSeen: at(16),
      events: 10,
      eventCounts: { auth_attempt: 3, command: 3, connection: 3, request: 1 },
      fleets: ['lab', 'prod'],
      deckies: ['web-01', 'web-02'],
      services: ['http', 'ssh'],
      ports: [22, 80],
      credentials: [
        { principal: 'root', secretKind: 'plaintext', secret: 'toor', secretB64: 'dG9vcg==', count: 2, accepted: 0 },
        { principal: 'admin', secretKind: 'plaintext', secret: 'admin', secretB64: 'YWRtaW4=', count: 1, accepted: 1 },
      ],
      credentialsDropped: 0,
      commands: [
        { command: 'uname -a', count: 2 },
        { command: 'id', count: 1 },
      ],
      commandsDropped: 0,
      fingerprints: { hassh: [], ja3: [], ja4: [], http_fp: [] },
    });
  });

  it('collects the distinct client fingerprints of a source, bounded and well-formed only', () => {
    const h1 = '472b5de333ad665af5cbf10ff892c4df';
    const j3 = 'ada70206e40642a3e4461f35503241d5';
    const j4 = 't13d1516h2_8daaf6152771_e5627efa2ab1';
    const events = [
      ev(1, 'client_version', { hassh: h1, hassh_algorithms: 'curve25519-sha256;aes128-ctr;hmac-sha2-256;none' }),
      ev(2, 'client_version', { hassh: h1 }),
      ev(3, 'connection', { service: 'https', dst_port: 443, ja3_hash: j3, ja4: j4 }),
      ev(4, 'tls_handshake', { service: 'https', dst_port: 443, ja3_hash: j3, ja4: j4, starttls: false }),
      ev(5, 'request', { service: 'https', http_fp: 'a1b2c3d4e5f6', http_header_order: 'host,user-agent,accept' }),
      ev(6, 'request', { service: 'http', http_fp: 'ffffffffffff' }),
      ev(7, 'request', { service: 'http', http_fp: 'not a hash', ja4: 'x'.repeat(500), hassh: 42 as unknown as string }),
      ev(8, 'connection', { src_ip: '10.9.9.9', ja3_hash: 'de350869b8c85de67a350c8d186f11e6' }),
    ];
    const byIp = new Map(summarizeAttackers(events).map((s) => [s.ip, s]));
    expect(byIp.get('10.0.0.9')!.fingerprints).toEqual({ hassh: [h1], ja3: [j3], ja4: [j4], http_fp: ['a1b2c3d4e5f6', 'ffffffffffff'] });
    expect(byIp.get('10.9.9.9')!.fingerprints).toEqual({ hassh: [], ja3: ['de350869b8c85de67a350c8d186f11e6'], ja4: [], http_fp: [] });
    const many = Array.from({ length: 30 }, (_, i) => ev(i, 'request', { http_fp: i.toString(16).padStart(12, '0') }));
    const s = summarizeAttackers(many, { maxFingerprints: 5 })[0]!;
    expect(s.fingerprints.http_fp).toEqual(['000000000000', '000000000001', '000000000002', '000000000003', '000000000004']);
  });

  it('orders attackers by last seen, most recent first, and skips events without a source', () => {
    const agg = new AttackerAggregator();
    agg.add(ev(1, 'connection', { src_ip: '1.1.1.1' }));
    agg.add(ev(9, 'connection', { src_ip: '2.2.2.2' }));
    agg.add(ev(5, 'connection', { src_ip: '3.3.3.3' }));
    agg.add(ev(5, 'connection', { src_ip: '0.0.0.1' }));
    const { src_ip: _s, ...anon } = ev(1, 'service_start');
    agg.add(anon);
    expect(agg.summaries().map((s) => s.ip)).toEqual(['2.2.2.2', '0.0.0.1', '3.3.3.3', '1.1.1.1']);
    expect(agg.skipped).toBe(1);
    expect(agg.get('9.9.9.9')).toBeUndefined();
  });

  it('caps distinct commands and credentials, counting the overflow', () => {
    const events = [
      ...Array.from({ length: 10 }, (_, i) => ev(i, 'command', { command: `cmd${i}` })),
      ev(20, 'command', { command: 'cmd0' }),
      ...Array.from({ length: 5 }, (_, i) => ev(i, 'auth_attempt', { principal: `u${i}`, secret: 'x' })),
    ];
    const [s] = summarizeAttackers(events, { maxCommands: 3, maxCredentials: 2, maxCommandLength: 3 });
    expect(s!.commands).toEqual([{ command: 'cmd', count: 11 }]);
    const [s2] = summarizeAttackers(events, { maxCommands: 3, maxCredentials: 2 });
    expect(s2!.commands.map((c) => `${c.command}:${c.count}`)).toEqual(['cmd0:2', 'cmd1:1', 'cmd2:1']);
    expect(s2!.commandsDropped).toBe(7);
    expect(s2!.credentials.map((c) => c.principal)).toEqual(['u0', 'u1']);
    expect(s2!.credentialsDropped).toBe(3);
  });

  it('only auth attempts count as credentials, not events carrying the session principal', () => {
    const [s] = summarizeAttackers([
      ev(1, 'auth_attempt', { principal: 'anonymous', secret_kind: 'plaintext', secret: 'a@b', success: true }),
      ev(2, 'command', { principal: 'anonymous', command: 'LIST' }),
      ev(3, 'download_attempt', { principal: 'anonymous', path: '/pub/x' }),
    ]);
    expect(s!.credentials).toEqual([{ principal: 'anonymous', secretKind: 'plaintext', secret: 'a@b', count: 1, accepted: 1 }]);
    expect(s!.commands).toEqual([{ command: 'LIST', count: 1 }]);
  });

  it('credentials differing only in secret kind or bytes stay apart', () => {
    const [s] = summarizeAttackers([
      ev(1, 'auth_attempt', { principal: 'a', secret_kind: 'plaintext', secret: 'p' }),
      ev(2, 'auth_attempt', { principal: 'a', secret_kind: 'http_basic', secret: 'p' }),
      ev(3, 'auth_attempt', { principal: 'a', secret_kind: 'plaintext', secret: '\\x00', secret_b64: 'AA==' }),
      ev(4, 'auth_attempt', { principal: 'a', secret_kind: 'plaintext', secret: '\\x00', secret_b64: 'XHgwMA==' }),
    ]);
    expect(s!.credentials).toHaveLength(4);
  });

  it('property: totals add up and first <= last', () => {
    const arb = fc.array(
      fc.record({ s: fc.nat(10_000), ip: fc.constantFrom('a', 'b', 'c'), type: fc.constantFrom('connection', 'command', 'auth_attempt'), count: fc.option(fc.integer({ min: 1, max: 5 }), { nil: undefined }) }),
      { maxLength: 80 },
    );
    fc.assert(
      fc.property(arb, (rows) => {
        const events = rows.map((r) => ev(r.s, r.type, { src_ip: r.ip, count: r.count, command: r.type === 'command' ? `c${r.s % 7}` : undefined }));
        const out = summarizeAttackers(events);
        const weight = (e: AttackerEvent) => e.count ?? 1;
        expect(out.reduce((n, s) => n + s.events, 0)).toBe(events.reduce((n, e) => n + weight(e), 0));
        for (const s of out) {
          expect(Date.parse(s.firstSeen)).toBeLessThanOrEqual(Date.parse(s.lastSeen));
          expect(Object.values(s.eventCounts).reduce((a, b) => a + b, 0)).toBe(s.events);
          const cmds = events.filter((e) => e.src_ip === s.ip && e.event === 'command').reduce((n, e) => n + weight(e), 0);
          expect(s.commands.reduce((n, c) => n + c.count, 0) + s.commandsDropped).toBe(cmds);
        }
      }),
    );
  });
});
