/**
 * What a controller under a registry does with its desired slice (pure): which ops
 * make the host's labelled containers match the slice, which deckies it refuses, and
 * the observed slice it reports back.
 *
 * Ownership rule: the slice is the truth for the deckies it lists (a listed decky that
 * exists locally, even one applied without a registry, is adopted and updated to the
 * slice's spec). A decky the slice does NOT list is removed only when the registry placed
 * it here before (it is in the controller's ledger, see registry-ledger.ts); deckies
 * applied locally without a registry are never touched. Lab plumbing (veth + attacker
 * namespace) is never removed by a sync: it belongs to the kernel, and several engines
 * on one machine may hang their MACVLAN networks on the same lab parent.
 *
 * A decky whose services the local mutation scheduler rotated keeps its rotation: it
 * conforms to the slice when everything but its services and mutation record matches
 * and the slice still declares the services the rotation started from (declaredHash).
 */
import {
  canonicalHash,
  containerName,
  groupObserved,
  plan as makePlan,
  type GroupedState,
  type ObservedDecky as LocalDecky,
  type ObservedState,
  type Op,
  type Plan,
  type ResolvedDecky,
} from '@decnet/api';
import type { ConditionSummary, DesiredDecky, DesiredSlice, ObservedDecky } from '@decnet/registry';
import { computeDeckyStatus, type ContainerSnapshot, type DeckyStatus } from './status.js';

export interface SyncPlanInput {
  hostId: string;
  observed: ObservedState;
  slice: Pick<DesiredSlice, 'fleets' | 'deckies'>;
  /** deckies the registry placed on this host before (the ledger) */
  placed: ReadonlySet<string>;
}

export interface SyncPlan {
  /** executable ops (sorted by wave); never contains a conflicting decky's ops */
  plan: Plan;
  /** decky -> why it was refused (nothing done for it) */
  refused: Record<string, string>;
  /** deckies removed because the slice no longer lists them */
  pruned: string[];
  /** listed deckies that existed locally but were not placed by the registry */
  adopted: string[];
  /** listed deckies already matching the slice */
  inSync: string[];
}

const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

function strip(d: ResolvedDecky): unknown {
  const { services: _s, mutation: _m, ...rest } = d;
  return rest;
}

/** Does a local decky's spec satisfy the desired one (same hash, or only rotated by mutation)? */
export function conforms(local: ResolvedDecky | undefined, desired: DesiredDecky, localHash?: string): 'exact' | 'mutated' | false {
  if (!local) return false;
  if (localHash === desired.hash || canonicalHash(local) === desired.hash) return 'exact';
  const m = local.mutation;
  if (m !== undefined && desired.spec.mutation === undefined && (m.declaredHash === undefined || m.declaredHash === canonicalHash(desired.spec.services)) && canonicalHash(strip(local)) === canonicalHash(strip(desired.spec))) return 'mutated';
  return false;
}

const opKey = (o: Op) => `${o.op}|${'name' in o ? o.name : ''}|${o.fleet ?? ''}`;

export function planRegistrySync(input: SyncPlanInput): SyncPlan {
  const g = groupObserved(input.observed);
  const local = new Map(g.deckies.map((d) => [d.name, d]));
  const listed = new Set(input.slice.deckies.map((d) => d.spec.name));
  const fleets = new Map(input.slice.fleets.map((f) => [f.name, f]));
  const refused: Record<string, string> = {};
  const ops: Op[] = [];
  const seen = new Set<string>();
  const push = (o: Op) => {
    const k = opKey(o);
    if (o.wave === 0 || o.wave === 3) {
      if (seen.has(k)) return;
      seen.add(k);
    }
    ops.push(o);
  };
  const generations: Record<string, number> = {};
  const adopted: string[] = [];
  const inSync: string[] = [];
  for (const d of [...input.slice.deckies].sort((a, b) => cmp(a.spec.name, b.spec.name))) {
    const name = d.spec.name;
    const O = local.get(name);
    if (O && !input.placed.has(name)) adopted.push(name);
    if (O && O.errors.length === 0 && conforms(O.spec, d, O.hash)) {
      inSync.push(name);
      continue;
    }
    const F = fleets.get(d.spec.fleet);
    if (!F) {
      refused[name] = `fleet ${d.spec.fleet} is not in the desired slice`;
      continue;
    }
    const p = makePlan(input.observed, { fleets: [F], deckies: [d.spec] }, { hostId: input.hostId });
    if (p.conflicts.length > 0) {
      refused[name] = p.conflicts.map((c) => `${c.code}: ${c.message}`).join('; ');
      continue;
    }
    for (const o of p.ops) push(o);
    Object.assign(generations, p.generations);
  }
  // fleet settings (alert routes, logTarget, ...) change without any decky changing
  for (const F of [...fleets.values()].sort((a, b) => cmp(a.name, b.name))) {
    if (!g.fleets.some((f) => f.name === F.name)) continue; // no network yet: a decky's plan creates both
    const p = makePlan(input.observed, { fleets: [F], deckies: [] }, { hostId: input.hostId });
    for (const o of p.ops) if (o.op === 'create-settings' || o.op === 'remove-settings') push(o);
  }
  const pruned = [...input.placed].filter((n) => !listed.has(n) && local.has(n)).sort(cmp);
  if (pruned.length > 0) {
    const p = makePlan(input.observed, { fleets: [], deckies: [] }, { hostId: input.hostId, deleteDeckies: pruned });
    const wanted = new Set(input.slice.deckies.map((d) => d.spec.fleet));
    for (const c of p.conflicts) refused[/decky (\S+):/.exec(c.message)?.[1] ?? '*'] = `${c.code}: ${c.message}`;
    const blocked = new Set(Object.keys(refused));
    for (const o of p.ops) {
      if (o.op === 'remove-lab') continue;
      if (o.op === 'remove-network' && wanted.has(o.fleet)) continue;
      if ('decky' in o && blocked.has(o.decky)) continue;
      push(o);
    }
  }
  ops.sort((a, b) => a.wave - b.wave);
  return { plan: { ops, conflicts: [], generations }, refused, pruned: pruned.filter((n) => !(n in refused)), adopted, inSync };
}

function snapshot(d: LocalDecky, name: string): ContainerSnapshot | undefined {
  const c = d.containers.find((x) => x.container.name === name)?.container;
  if (!c) return undefined;
  return {
    state: c.state,
    ...(c.exitCode !== undefined ? { exitCode: c.exitCode } : {}),
    ...(c.restartCount !== undefined ? { restartCount: c.restartCount } : {}),
    ...(c.startedAt !== undefined ? { startedAt: c.startedAt } : {}),
  };
}

/** Status of a local decky from its containers alone (before the controller has looked at it). */
export function containerStatus(d: LocalDecky, now: string): DeckyStatus {
  const services: Record<string, ContainerSnapshot | undefined> = {};
  for (const s of d.spec?.services ?? []) services[s.name] = snapshot(d, containerName(d.name, 'service', s.name));
  return computeDeckyStatus({
    generation: d.generation ?? 0,
    base: snapshot(d, containerName(d.name, 'base')),
    services,
    labelErrors: d.errors.map((e) => `${e.container}: ${e.message}`),
    engineReachable: true,
    now,
  });
}

export interface ObservedInput {
  slice: Pick<DesiredSlice, 'deckies'>;
  grouped: GroupedState;
  /** the controller's status of a decky (knows crash loops and heal failures), if any */
  statusOf?: (name: string) => DeckyStatus | undefined;
  refused?: Readonly<Record<string, string>>;
  /** false: the engine could not be read (every decky Unknown) */
  engineReachable?: boolean;
  now: string;
}

const summary = (s: DeckyStatus): ConditionSummary[] => s.conditions.map((c) => ({ type: c.type, status: c.status, reason: c.reason, ...(c.message ? { message: c.message } : {}) }));

/** The observed slice entries: one per listed decky, with its phase, conditions and spec hash. */
export function observedDeckies(input: ObservedInput): ObservedDecky[] {
  const local = new Map(input.grouped.deckies.map((d) => [d.name, d]));
  const out: ObservedDecky[] = [];
  for (const d of input.slice.deckies) {
    const name = d.spec.name;
    const base = { name, fleet: d.spec.fleet, updatedAt: input.now };
    if (input.engineReachable === false) {
      out.push({ ...base, phase: 'Unknown', conditions: [{ type: 'Ready', status: 'Unknown', reason: 'EngineUnavailable' }], message: 'container engine unreachable' });
      continue;
    }
    const O = local.get(name);
    const why = input.refused?.[name];
    if (!O) {
      const reason = why ? 'Refused' : 'NotCreated';
      out.push({ ...base, phase: why ? 'Failed' : 'Pending', conditions: [{ type: 'Ready', status: 'False', reason, message: why ?? 'no container yet' }], message: why ?? 'no container yet' });
      continue;
    }
    const fit = O.errors.length === 0 ? conforms(O.spec, d, O.hash) : false;
    const mine = input.statusOf?.(name);
    const st = mine && mine.observedGeneration === (O.generation ?? 0) ? mine : containerStatus(O, input.now);
    const entry: ObservedDecky = { ...base, phase: st.phase, conditions: summary(st), message: st.message };
    const hash = fit ? d.hash : O.hash;
    if (hash !== undefined) entry.hash = hash;
    if (fit) entry.observedGeneration = d.generation;
    else {
      entry.phase = why ? 'Failed' : st.phase === 'Running' ? 'Pending' : st.phase;
      entry.message = why ?? 'running an older spec; update pending';
    }
    if (fit === 'mutated') entry.message = `${st.message} (services rotated by mutation)`;
    out.push(entry);
  }
  return out;
}
