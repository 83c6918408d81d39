import type { ServicePort } from '@decnet/api';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { seededRandom } from './clock.js';
import { isMutationDue, mutationCandidates, nextMutationAt, pickMutation } from './mutation.js';

const PORTS: Record<string, ServicePort[]> = {
  ssh: [{ port: 22, proto: 'tcp' }],
  telnet: [{ port: 23, proto: 'tcp' }],
  http: [{ port: 80, proto: 'tcp' }],
  https: [{ port: 443, proto: 'tcp' }],
  smtp: [{ port: 25, proto: 'tcp' }, { port: 587, proto: 'tcp' }],
  smtp_relay: [{ port: 25, proto: 'tcp' }, { port: 587, proto: 'tcp' }],
  snmp: [{ port: 161, proto: 'udp' }],
  conpot: [{ port: 502, proto: 'tcp' }, { port: 161, proto: 'udp' }, { port: 80, proto: 'tcp' }],
  sip: [{ port: 5060, proto: 'udp' }, { port: 5060, proto: 'tcp' }],
  dns: [{ port: 53, proto: 'udp' }, { port: 53, proto: 'tcp' }],
  ftp: [{ port: 21, proto: 'tcp' }],
  tftp: [{ port: 69, proto: 'udp' }],
};
const ALL = Object.keys(PORTS);
const portsOf = (s: string) => PORTS[s] ?? [];

describe('pickMutation', () => {
  it('is deterministic for a seeded random source', () => {
    const a = pickMutation(['ssh', 'http'], ALL, seededRandom(1), { portsOf });
    const b = pickMutation(['ssh', 'http'], ALL, seededRandom(1), { portsOf });
    expect(a).toEqual(b);
  });

  it('picks from a small archetype pool, never the current set', () => {
    // linux-server pool: ssh, http -> candidates [http], [ssh] (current [http, ssh] excluded)
    expect(mutationCandidates(['ssh', 'http'], ['ssh', 'http'])).toEqual([[['http'], ['ssh']]]);
    const seen = new Set<string>();
    const r = seededRandom(3);
    for (let i = 0; i < 50; i++) seen.add(pickMutation(['ssh', 'http'], ['ssh', 'http'], r).join(','));
    expect(seen).toEqual(new Set(['http', 'ssh']));
  });

  it('returns the current set when no other set is possible', () => {
    expect(pickMutation(['ssh'], ['ssh'], seededRandom(1))).toEqual(['ssh']);
    // smtp and smtp_relay collide: only singletons, and [smtp] is current
    expect(pickMutation(['smtp'], ['smtp', 'smtp_relay'], seededRandom(1), { portsOf })).toEqual(['smtp_relay']);
  });

  it('covers every size 1..3 over many draws', () => {
    const r = seededRandom(9);
    const sizes = new Set<number>();
    for (let i = 0; i < 200; i++) sizes.add(pickMutation(['ssh'], ALL, r, { portsOf }).length);
    expect(sizes).toEqual(new Set([1, 2, 3]));
  });

  it('property: 1..3 services, sorted, unique, subset of the pool, differs when possible, no port collisions', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.constantFrom(...ALL), { minLength: 1, maxLength: ALL.length }),
        fc.uniqueArray(fc.constantFrom(...ALL), { minLength: 1, maxLength: 3 }),
        fc.integer(),
        (pool, current, seed) => {
          const out = pickMutation(current, pool, seededRandom(seed), { portsOf });
          const possible = mutationCandidates(current, pool, { portsOf }).length > 0;
          if (!possible) {
            expect(out).toEqual([...current].sort());
            return;
          }
          expect(out.length).toBeGreaterThanOrEqual(1);
          expect(out.length).toBeLessThanOrEqual(3);
          expect(out).toEqual([...new Set(out)].sort());
          expect(out.every((s) => pool.includes(s))).toBe(true);
          expect(out.join(',')).not.toBe([...current].sort().join(','));
          const claimed = out.flatMap((s) => portsOf(s).map((p) => `${p.port}/${p.proto}`));
          expect(new Set(claimed).size).toBe(claimed.length);
        },
      ),
    );
  });

  it('property: a pool of 2+ conflict-free services always allows a different set', () => {
    const free = ['ssh', 'telnet', 'http', 'https', 'ftp', 'tftp'];
    fc.assert(
      fc.property(fc.uniqueArray(fc.constantFrom(...free), { minLength: 2 }), fc.uniqueArray(fc.constantFrom(...free), { minLength: 1, maxLength: 3 }), fc.integer(), (pool, current, seed) => {
        const out = pickMutation(current, pool, seededRandom(seed), { portsOf });
        expect(out.join(',')).not.toBe([...current].sort().join(','));
      }),
    );
  });

  it('tolerates a random source returning exactly 0 or values near 1', () => {
    expect(pickMutation(['ssh'], ALL, () => 0, { portsOf })).toHaveLength(1);
    expect(pickMutation(['ssh'], ALL, () => 0.9999999999, { portsOf })).toHaveLength(3);
  });
});

describe('isMutationDue', () => {
  const since = '2025-01-01T00:00:00.000Z';
  it('is due once the interval has passed since the last mutation', () => {
    expect(isMutationDue(since, 1800, '2025-01-01T00:29:59.999Z')).toBe(false);
    expect(isMutationDue(since, 1800, '2025-01-01T00:30:00.000Z')).toBe(true);
    expect(isMutationDue(Date.parse(since), 60, new Date(Date.parse(since) + 61_000))).toBe(true);
  });
  it('never without a positive interval; always for an unparsable time', () => {
    expect(isMutationDue(since, undefined, '2030-01-01T00:00:00Z')).toBe(false);
    expect(isMutationDue(since, 0, '2030-01-01T00:00:00Z')).toBe(false);
    expect(isMutationDue('garbage', 60, since)).toBe(true);
    expect(nextMutationAt(since, 60)).toBe(Date.parse(since) + 60_000);
    expect(nextMutationAt(since, undefined)).toBeUndefined();
  });
});
