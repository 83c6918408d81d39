import { describe, expect, it } from 'vitest';
import { observedFromPlan } from './plan-sim.js';
import { plan } from './planner.js';
import { makeDecky, makeFleet } from './test-fixtures.js';
import { emptyHost, HOST } from './testing/scenarios.js';
import type { Plan } from './plan-types.js';

const desired = { fleets: [makeFleet('lab')], deckies: [makeDecky('web', 'lab')] };
const built = plan(emptyHost(), desired, { hostId: HOST });

describe('observedFromPlan', () => {
  it('builds labelled, running containers and the network', () => {
    const o = observedFromPlan(emptyHost(), built);
    expect(o.labs).toEqual(['lab']);
    expect(o.networks.map((n) => n.name)).toEqual(['decnet-lab']);
    expect(o.containers.map((c) => [c.name, c.state])).toEqual([['web', 'running'], ['web-http', 'running'], ['web-ssh', 'running']]);
    const base = o.containers[0];
    expect(o.containers[1]?.networkContainer).toBe(base?.id);
    expect(base?.ip).toBe(desired.deckies[0]?.ip);
  });

  it('refuses what an engine would refuse', () => {
    const o = observedFromPlan(emptyHost(), built);
    expect(() => observedFromPlan(o, built)).toThrow(/already exists/);
    const noNet: Plan = { ...built, ops: built.ops.filter((x) => x.wave !== 0) };
    expect(() => observedFromPlan(emptyHost(), noNet)).toThrow(/network decnet-lab not found/);
    const reversed: Plan = { ...built, ops: [{ wave: 3, op: 'remove-lab', fleet: 'lab', cause: 't' }, ...built.ops] };
    expect(() => observedFromPlan(emptyHost(), reversed)).toThrow(/wave/);
    const net = o.networks[0];
    const rmNet: Plan = { ops: [{ wave: 3, op: 'remove-network', fleet: 'lab', name: 'decnet-lab', id: net?.id ?? '', cause: 't' }], conflicts: [], generations: {} };
    expect(() => observedFromPlan(o, rmNet)).toThrow(/active endpoints/);
    expect(() => observedFromPlan(emptyHost(), { ...built, conflicts: [{ code: 'X', message: 'm' }] })).toThrow(/conflict/);
    expect(() => observedFromPlan({ ...emptyHost(), foreignNames: ['web-ssh'] }, built)).toThrow(/in use/);
  });
});
