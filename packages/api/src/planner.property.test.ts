import { fleetNetworkPart } from './fleet-settings.js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalHash } from './canonical.js';
import { groupObserved } from './group.js';
import { encodeDeckyLabels } from './labels.js';
import { observedFromPlan } from './plan-sim.js';
import { plan, type DesiredState } from './planner.js';
import { makeDecky, makeFleet, makeService } from './test-fixtures.js';
import { emptyHost, HOST } from './testing/scenarios.js';
import type { ContainerState, ObservedContainer, ObservedState, ResolvedDecky, ResolvedFleet } from './types.js';

const NAMES = ['d0', 'd1', 'd2', 'd3', 'd4', 'd5'];
const SERVICES = ['ftp', 'http', 'smb', 'ssh'];

function fleet(name: string, variant: number): ResolvedFleet {
  return name === 'lab'
    ? makeFleet('lab', variant ? { logTarget: 'udp://127.0.0.1:5514' } : {})
    : makeFleet('corp', { lab: false, network: { mode: 'macvlan', parent: 'eth1', subnet: '10.9.0.0/24', gateway: '10.9.0.1' }, ...(variant ? { mutateInterval: 600 } : {}) });
}

const deckyChoice = fc.record({
  fleet: fc.constantFrom('lab', 'corp'),
  services: fc.subarray(SERVICES, { minLength: 1 }),
  hostname: fc.constantFrom('A', 'B'),
  ipVariant: fc.constantFrom(0, 1),
  config: fc.constantFrom(0, 1, 2),
  mutate: fc.option(fc.constantFrom(60, 3600), { nil: undefined }),
  image: fc.constantFrom('debian:bookworm-slim', 'alpine:3.19'),
});

const desiredArb: fc.Arbitrary<DesiredState> = fc
  .record({
    picks: fc.dictionary(fc.constantFrom(...NAMES), deckyChoice, { maxKeys: NAMES.length }),
    labVariant: fc.constantFrom(0, 1),
    corpVariant: fc.constantFrom(0, 1),
  })
  .map(({ picks, labVariant, corpVariant }) => {
    const deckies: ResolvedDecky[] = Object.entries(picks)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([name, c]) => {
        const idx = NAMES.indexOf(name);
        const prefix = c.fleet === 'lab' ? '10.213.0.' : '10.9.0.';
        return makeDecky(name, c.fleet, {
          ip: `${prefix}${10 + idx + 10 * c.ipVariant}`,
          hostname: `SRV-${c.hostname}-${name}`,
          baseImage: c.image,
          services: c.services.map((s) => makeService(s, c.config ? { config: { banner: `v${c.config}` } } : {})),
          ...(c.mutate !== undefined ? { mutateInterval: c.mutate } : {}),
        });
      });
    const used = new Set(deckies.map((d) => d.fleet));
    const fleets = [...used].sort().map((f) => fleet(f, f === 'lab' ? labVariant : corpVariant));
    return { fleets, deckies };
  });

/** foreign objects: unmanaged containers and another host's managed ones */
const foreignArb = fc.array(
  fc.record({ name: fc.constantFrom('nginx', 'x-1', 'x-2', 'd9', 'd9-ssh'), otherHost: fc.boolean() }),
  { maxLength: 3 },
).map((xs) => {
  const seen = new Set<string>();
  return xs.filter((x) => !seen.has(x.name) && seen.add(x.name)).map((x, i): ObservedContainer => ({
    id: `foreign-${i}`,
    name: x.name,
    image: 'x',
    state: 'running',
    labels: x.otherHost ? encodeDeckyLabels(makeDecky('d9', 'lab'), { hostId: 'host-b', role: 'base', generation: 7 }) : { app: 'web' },
  }));
});

/** the labels on the host now record exactly the desired specs, at the planned generations */
function assertRecorded(after: ObservedState, desired: DesiredState, generations: Record<string, number>) {
  const g = groupObserved(after);
  for (const d of desired.deckies) {
    const o = g.deckies.find((x) => x.name === d.name);
    expect(o?.errors).toEqual([]);
    expect(o?.hash).toBe(canonicalHash(d));
    expect(o?.generation).toBe(generations[d.name]);
  }
  for (const f of desired.fleets) {
    const got = g.fleets.find((x) => x.name === f.name);
    // the network carries the network part, the settings volume the rest: together, the fleet
    expect(got?.hash).toBe(canonicalHash(fleetNetworkPart(f)));
    expect(got?.spec && canonicalHash(got.spec)).toBe(canonicalHash(f));
    expect(g.settings.filter((s) => s.fleet === f.name)).toHaveLength(1);
  }
}

function assertNoForeignOps(o: ObservedState, ops: ReturnType<typeof plan>['ops'], foreign: ObservedContainer[]) {
  const ids = new Set(foreign.map((c) => c.id));
  const names = new Set(foreign.map((c) => c.name));
  for (const op of ops) {
    if ('id' in op) expect(ids.has(op.id)).toBe(false);
    if (op.op !== 'create-network' && op.op !== 'remove-network' && 'name' in op) expect(names.has(op.name)).toBe(false);
  }
  void o;
}

describe('planner properties', () => {
  it('converges from an empty host in one plan, and never touches foreign containers', () => {
    fc.assert(
      fc.property(desiredArb, foreignArb, (desired, foreign) => {
        const start: ObservedState = { ...emptyHost(), containers: foreign };
        const p = plan(start, desired, { hostId: HOST });
        expect(p.conflicts).toEqual([]);
        assertNoForeignOps(start, p.ops, foreign);
        const after = observedFromPlan(start, p);
        assertRecorded(after, desired, p.generations);
        expect(plan(after, desired, { hostId: HOST }).ops).toEqual([]);
        expect(after.containers.filter((c) => c.id.startsWith('foreign-'))).toEqual(foreign);
      }),
      { numRuns: 200 },
    );
  });

  it('converges from any earlier state: change, prune, force', () => {
    fc.assert(
      fc.property(desiredArb, desiredArb, fc.boolean(), foreignArb, (d1, d2, prune, foreign) => {
        const s0: ObservedState = { ...emptyHost(), containers: foreign };
        const s1 = observedFromPlan(s0, plan(s0, d1, { hostId: HOST }));
        const opts = { hostId: HOST, prune, force: true };
        const p = plan(s1, d2, opts);
        assertNoForeignOps(s1, p.ops, foreign);
        // the only refusal left is a decky moving to another fleet (names are unique per host)
        for (const c of p.conflicts) expect(c.code).toBe('NameTaken');
        fc.pre(p.conflicts.length === 0);
        const s2 = observedFromPlan(s1, p);
        assertRecorded(s2, d2, p.generations);
        expect(plan(s2, d2, opts).ops).toEqual([]);
        // additive: without prune, deckies of d1 not in d2 survive
        const left = new Set(s2.containers.map((c) => c.labels['com.decnet.decky']));
        for (const d of d1.deckies) {
          const inD2Fleets = d2.fleets.some((f) => f.name === d.fleet);
          if (!d2.deckies.some((x) => x.name === d.name) && !(prune && inD2Fleets)) expect(left.has(d.name)).toBe(true);
        }
      }),
      { numRuns: 200 },
    );
  });

  it('small edits land in the labels with the fewest recreations', () => {
    const edit = fc.constantFrom('keep', 'mutate', 'drop-service', 'config', 'hostname', 'labels');
    const arb = desiredArb.chain((d1) => fc.tuple(fc.constant(d1), fc.array(edit, { minLength: d1.deckies.length, maxLength: d1.deckies.length })));
    fc.assert(
      fc.property(arb, ([d1, edits]) => {
        const s1 = observedFromPlan(emptyHost(), plan(emptyHost(), d1, { hostId: HOST }));
        const deckies = d1.deckies.map((d, i): ResolvedDecky => {
          switch (edits[i]) {
            case 'mutate': return { ...d, mutateInterval: (d.mutateInterval ?? 0) + 7 };
            case 'drop-service': return d.services.length > 1 ? { ...d, services: d.services.slice(1) } : d;
            case 'config': return { ...d, services: d.services.map((x, j) => (j === 0 ? { ...x, config: { banner: 'edited' } } : x)) };
            case 'hostname': return { ...d, hostname: `${d.hostname}-x` };
            case 'labels': return { ...d, labels: { team: 'blue' } };
            default: return d;
          }
        });
        const d2 = { fleets: d1.fleets, deckies };
        const p = plan(s1, d2, { hostId: HOST });
        expect(p.conflicts).toEqual([]);
        const s2 = observedFromPlan(s1, p);
        assertRecorded(s2, d2, p.generations);
        expect(plan(s2, d2, { hostId: HOST }).ops).toEqual([]);
        d1.deckies.forEach((d, i) => {
          const creates = p.ops.filter((o) => o.op === 'create-container' && o.decky === d.name).length;
          const changed = canonicalHash(d) !== canonicalHash(deckies[i]);
          expect(p.generations[d.name]).toBe(changed ? 2 : 1);
          // a base change recreates everything; any other change recreates exactly one container
          if (!changed) expect(creates).toBe(0);
          else expect(creates).toBe(edits[i] === 'hostname' ? 1 + d.services.length : 1);
        });
      }),
      { numRuns: 200 },
    );
  });

  it('heals drift: stopped, dead and missing containers', () => {
    const drift = fc.array(fc.record({ i: fc.nat(), kind: fc.constantFrom<ContainerState | 'drop'>('exited', 'created', 'dead', 'drop') }), { maxLength: 4 });
    fc.assert(
      fc.property(desiredArb, drift, (desired, edits) => {
        let s = observedFromPlan(emptyHost(), plan(emptyHost(), desired, { hostId: HOST }));
        for (const e of edits) {
          const c = s.containers[e.i % Math.max(s.containers.length, 1)];
          if (!c) continue;
          s = e.kind === 'drop'
            ? { ...s, containers: s.containers.filter((x) => x.id !== c.id) }
            : { ...s, containers: s.containers.map((x) => (x.id === c.id ? { ...x, state: e.kind as ContainerState } : x)) };
        }
        const p = plan(s, desired, { hostId: HOST });
        expect(p.conflicts).toEqual([]);
        // healing never changes the recorded generation
        expect(Object.values(p.generations).every((g) => g === 1)).toBe(true);
        const healed = observedFromPlan(s, p);
        expect(plan(healed, desired, { hostId: HOST }).ops).toEqual([]);
        expect(healed.containers.every((c) => c.state === 'running')).toBe(true);
      }),
      { numRuns: 200 },
    );
  });
});
