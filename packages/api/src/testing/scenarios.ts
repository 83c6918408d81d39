/** Scenario helpers for planner tests: deploy desired state onto a simulated host. */
import { observedFromPlan } from '../plan-sim.js';
import { plan, type DesiredState, type PlanOptions } from '../planner.js';
import type { Plan } from '../plan-types.js';
import type { ObservedContainer, ObservedState } from '../types.js';

export const HOST = 'host-a';

export const emptyHost = (hostId = HOST): ObservedState => ({ hostId, containers: [], networks: [], labs: [] });

/** Plan + apply; throws if the plan has conflicts or the simulated engine refuses an op. */
export function deploy(observed: ObservedState, desired: DesiredState, opts: Partial<PlanOptions> = {}): { plan: Plan; after: ObservedState } {
  const p = plan(observed, desired, { hostId: observed.hostId, ...opts });
  return { plan: p, after: observedFromPlan(observed, p) };
}

/** Replace containers matching a name with a modified copy. */
export function patchContainer(o: ObservedState, name: string, patch: Partial<ObservedContainer>): ObservedState {
  return { ...o, containers: o.containers.map((c) => (c.name === name ? { ...c, ...patch } : c)) };
}

export function dropContainer(o: ObservedState, name: string): ObservedState {
  return { ...o, containers: o.containers.filter((c) => c.name !== name) };
}

/** Compact op list for assertions: `wave op name`. */
export const opLines = (p: Plan): string[] =>
  p.ops.map((o) => `${o.wave} ${o.op} ${'name' in o ? o.name : o.fleet}`);
