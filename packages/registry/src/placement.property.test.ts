import { makeDecky, makeFleet, type ResolvedDecky } from '@decnet/api';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { drain } from './drain.js';
import { place, type PlacementHost, type PlacementResult } from './placement.js';
import type { DesiredSlice } from './types.js';

const fleets = [makeFleet('lab'), makeFleet('corp', { network: { mode: 'macvlan', subnet: '10.50.0.0/24', gateway: '10.50.0.1' } })];

/** a value 1 time in `n`, else null */
const rarely = <T>(arb: fc.Arbitrary<T>, n: number): fc.Arbitrary<T | null> => fc.oneof({ arbitrary: arb, weight: 1 }, { arbitrary: fc.constant(null), weight: n - 1 });

const hostArb = fc.uniqueArray(
  fc.record({ id: fc.constantFrom('h1', 'h2', 'h3', 'h4', 'h5'), capacity: fc.integer({ min: 2, max: 8 }), ready: fc.boolean(), zone: fc.constantFrom('a', 'b') }),
  { minLength: 1, maxLength: 5, selector: (h) => h.id },
).map((hs) => hs.map<PlacementHost>((h) => ({ id: h.id, capacity: h.capacity, status: h.ready ? 'Ready' : 'NotReady', labels: { zone: h.zone } })));

const deckyArb = fc
  .record({
    n: fc.integer({ min: 1, max: 14 }),
    otherFleet: rarely(fc.constant(true), 12),
    ip: rarely(fc.integer({ min: 10, max: 18 }), 5),
    pin: rarely(fc.constantFrom('h1', 'h2', 'h9'), 10),
    zone: rarely(fc.constantFrom('a', 'b'), 4),
    rev: fc.integer({ min: 0, max: 2 }),
  })
  .map(({ n, otherFleet, ip, pin, zone, rev }): ResolvedDecky => {
    const fleet = (n % 3 === 0) !== (otherFleet === true) ? 'corp' : 'lab';
    const placement = pin !== null ? { host: pin } : zone !== null ? { hostSelector: { zone } } : undefined;
    return makeDecky(`d${n}`, fleet, { ip: `${fleet === 'lab' ? '10.213.0' : '10.50.0'}.${ip ?? 20 + n}`, hostname: `H${rev}`, ...(placement ? { placement } : {}) });
  });

const stepArb = fc.record({
  deckies: fc.uniqueArray(deckyArb, { maxLength: 10, selector: (d) => d.name }),
  prune: fc.boolean(),
  drainHost: rarely(fc.constantFrom('h1', 'h2', 'h3'), 2),
});

function commit(current: Record<string, DesiredSlice>, r: PlacementResult): Record<string, DesiredSlice> {
  const next = { ...current };
  for (const h of r.changed) next[h] = { hostId: h, generation: (current[h]?.generation ?? 0) + 1, ...r.slices[h]!, updatedAt: 't' };
  return next;
}

function checkInvariants(current: Record<string, DesiredSlice>): void {
  const deckyHost = new Map<string, string>();
  const ipHolder = new Map<string, string>();
  for (const [host, slice] of Object.entries(current)) {
    for (const d of slice.deckies) {
      expect(deckyHost.get(d.spec.name), `decky ${d.spec.name} on two hosts`).toBeUndefined();
      deckyHost.set(d.spec.name, host);
      const key = `${d.spec.fleet}/${d.spec.ip}`;
      expect(ipHolder.get(key), `IP ${key} held twice`).toBeUndefined();
      ipHolder.set(key, d.spec.name);
    }
    // every fleet of its deckies is in the slice, and only those
    expect(slice.fleets.map((f) => f.name)).toEqual([...new Set(slice.deckies.map((d) => d.spec.fleet))].sort());
  }
}

describe('placement properties', () => {
  it('never two hosts for one decky, never one IP twice per fleet, stable under re-placement', () => {
    let placed = 0;
    let drained = 0;
    fc.assert(
      fc.property(hostArb, fc.array(stepArb, { minLength: 1, maxLength: 6 }), (hosts, steps) => {
        let current: Record<string, DesiredSlice> = {};
        for (const step of steps) {
          const r = place({ hosts, current, fleets, deckies: step.deckies, prune: step.prune });
          if (r.conflicts.length === 0) {
            current = commit(current, r);
            if (r.changed.length > 0) placed++;
            checkInvariants(current);
            // every submitted decky is where the result says, once
            for (const [name, host] of Object.entries(r.assignments)) expect(current[host]!.deckies.some((d) => d.spec.name === name)).toBe(true);
            // the same submission again changes nothing
            const again = place({ hosts, current, fleets, deckies: step.deckies, prune: step.prune });
            expect(again.conflicts).toEqual([]);
            expect(again.changed).toEqual([]);
            expect(again.moves).toEqual([]);
            // and the result is deterministic
            expect(place({ hosts, current, fleets, deckies: [...step.deckies].reverse(), prune: step.prune }).assignments).toEqual(again.assignments);
          }
          if (step.drainHost !== null) {
            const before = Object.values(current).flatMap((s) => s.deckies);
            const dr = drain({ hosts, current }, step.drainHost);
            if (dr.conflicts.length === 0) {
              current = commit(current, dr);
              if (dr.moves.length > 0) drained++;
              checkInvariants(current);
              expect(current[step.drainHost]?.deckies ?? []).toEqual([]);
              const after = Object.values(current).flatMap((s) => s.deckies);
              // nothing lost, nothing changed: same deckies, same specs (IPs), same generations
              const byName = (xs: typeof before) => [...xs].sort((a, b) => (a.spec.name < b.spec.name ? -1 : 1));
              expect(byName(after)).toEqual(byName(before));
            }
          }
        }
      }),
      { numRuns: 300 },
    );
    // the property is not vacuous: many steps placed and drained something
    expect(placed).toBeGreaterThan(100);
    expect(drained).toBeGreaterThan(20);
  });
});
