/**
 * Running mutations (DOMAIN.md "Mutation") against an engine: which deckies are due,
 * and rotating one decky's services. The new spec keeps everything but the services
 * and records {lastMutated, previousServices}; the planner then recreates only the
 * service containers involved (kept services stay, unless the carrier rule needs one
 * to record the new generation) and the base is never touched.
 */
import {
  archetypeDef,
  buildService,
  canonicalHash,
  DecnetError,
  groupObserved,
  plan as makePlan,
  SERVICE_NAMES,
  servicePorts,
  type AttackerEvent,
  type CustomServiceDef,
  type GroupedState,
  type ObservedDecky,
  type Plan,
  type ResolvedDecky,
  type ResolvedFleet,
  type ResolvedService,
} from '@decnet/api';
import { execute, withHostLock, type Engine, type ExecutionSummary } from '@decnet/engine';
import type { Random } from './clock.js';
import { isMutationDue, mutationCandidates, nextMutationAt, pickMutation } from './mutation.js';
import { silentLog, type CollectorLog } from './sinks.js';
import type { ControllerExtension } from './controller.js';

export interface DueMutation {
  decky: string;
  fleet: string;
  /** seconds */
  interval: number;
  /** last mutation, else creation/start of the base container (RFC 3339) */
  since: string;
  /** RFC 3339 */
  dueAt: string;
}

const toMs = (t: number | Date | string): number => (t instanceof Date ? t.getTime() : typeof t === 'number' ? t : Date.parse(t));

/** When the decky's current service set came to be: its last mutation, else its base container's creation/start. */
export function mutationSince(d: ObservedDecky): string | undefined {
  if (d.spec?.mutation?.lastMutated) return d.spec.mutation.lastMutated;
  const base = d.containers.find((c) => c.role === 'base')?.container;
  return base?.createdAt ?? base?.startedAt;
}

/**
 * Deckies whose mutation interval (own, else their fleet's) has elapsed at `now`. Deckies with
 * broken labels are never due (nothing is planned on them); neither are deckies without a known start.
 */
export function dueMutations(grouped: GroupedState, fleets: readonly ResolvedFleet[] | undefined, now: number | Date | string): DueMutation[] {
  const fleetSpec = new Map<string, ResolvedFleet>();
  for (const f of grouped.fleets) if (f.spec) fleetSpec.set(f.name, f.spec);
  for (const f of fleets ?? []) fleetSpec.set(f.name, f);
  const out: DueMutation[] = [];
  for (const d of grouped.deckies) {
    if (!d.spec || d.errors.length > 0) continue;
    const interval = d.spec.mutateInterval ?? fleetSpec.get(d.spec.fleet)?.mutateInterval;
    const since = mutationSince(d);
    if (interval === undefined || since === undefined || !isMutationDue(since, interval, toMs(now))) continue;
    const at = nextMutationAt(since, interval)!;
    out.push({ decky: d.name, fleet: d.spec.fleet, interval, since, dueAt: new Date(Number.isFinite(at) ? at : toMs(now)).toISOString() });
  }
  return out;
}

export interface PickedServices {
  services: string[];
  /** where the candidates came from */
  pool: 'archetype' | 'catalogue';
}

/** The new service names of a decky: from its archetype's services, else (or when those allow no change) the whole catalogue. */
export function pickServices(spec: ResolvedDecky, random: Random, custom: Readonly<Record<string, CustomServiceDef>> = {}): PickedServices {
  const current = spec.services.map((s) => s.name);
  const portsOf = (s: string) => servicePorts(s, custom) ?? [];
  const arch = spec.archetype !== undefined ? archetypeDef(spec.archetype) : undefined;
  if (arch && mutationCandidates(current, arch.services, { portsOf }).length > 0) {
    return { services: pickMutation(current, arch.services, random, { portsOf }), pool: 'archetype' };
  }
  return { services: pickMutation(current, SERVICE_NAMES, random, { portsOf }), pool: 'catalogue' };
}

/** The mutated spec: kept services unchanged, new ones built like resolve builds catalogue services (config {}). */
export function mutatedSpec(spec: ResolvedDecky, services: readonly string[], opts: { now: number | Date | string; serviceImage: string; custom?: Readonly<Record<string, CustomServiceDef>> }): ResolvedDecky {
  const kept = new Map(spec.services.map((s) => [s.name, s]));
  const next: ResolvedService[] = [...new Set(services)].sort().map((name) => kept.get(name) ?? buildService(name, {}, { serviceImage: opts.serviceImage, custom: opts.custom ?? {} }).service);
  return {
    ...spec,
    services: next,
    mutation: {
      lastMutated: new Date(toMs(opts.now)).toISOString(),
      previousServices: spec.services.map((s) => s.name).sort(),
      // what the manifest declared: carried over from earlier rotations, else the set being replaced
      declaredHash: spec.mutation?.declaredHash ?? canonicalHash(spec.services),
    },
  };
}

export interface MutateOptions {
  engine: Engine;
  hostId: string;
  /** decky name */
  name: string;
  random: Random;
  now?: number | Date;
  log?: CollectorLog;
  /** image for new catalogue services (default: the image of a current catalogue service of the decky) */
  serviceImage?: string;
  /** runs the mutation under the host lock (default withHostLock on the engine's state dir); pass (fn) => fn() when already held */
  lock?: <T>(fn: () => Promise<T>) => Promise<T>;
  /** where the decky_mutated event goes (the collector's emit inside the controller) */
  emit?: (ev: AttackerEvent) => void;
  parallelism?: number;
}

export interface MutationResult {
  decky: string;
  fleet: string;
  previous: string[];
  services: string[];
  pool: PickedServices['pool'];
  event: AttackerEvent;
  plan: Plan;
  summary: ExecutionSummary;
}

/** Rotates one decky's services now: observe, pick, plan, execute, emit `decky_mutated`. */
export async function mutateDecky(opts: MutateOptions): Promise<MutationResult> {
  const lock = opts.lock ?? (<T>(fn: () => Promise<T>) => withHostLock(fn, { stateDir: opts.engine.stateDir }));
  const log = opts.log ?? silentLog;
  const result = await lock(async () => {
    const now = opts.now ?? Date.now();
    const observed = await opts.engine.observe(opts.hostId);
    const g = groupObserved(observed);
    const d = g.deckies.find((x) => x.name === opts.name);
    if (!d) throw new DecnetError('NotFound', `decky ${opts.name} not found on host ${opts.hostId}`, 'see `decnetctl get deckies`');
    if (!d.spec || d.errors.length > 0) {
      throw new DecnetError('InvalidLabels', `decky ${opts.name}: its labels are invalid (${d.errors[0]?.code ?? 'no spec'}), nothing to mutate from`, `inspect them with \`decnetctl labels ${opts.name}\``);
    }
    const spec = d.spec;
    const custom = g.fleets.find((f) => f.name === spec.fleet)?.spec?.customServices ?? {};
    const picked = pickServices(spec, opts.random, custom);
    const previous = spec.services.map((s) => s.name).sort();
    if (picked.services.join(',') === previous.join(',')) {
      throw new DecnetError('NoMutation', `decky ${opts.name}: no other service set is possible`, 'give it an archetype or services with a larger pool');
    }
    const serviceImage = opts.serviceImage ?? spec.services.find((s) => !Object.hasOwn(custom, s.name))?.image;
    if (serviceImage === undefined && picked.services.some((s) => !Object.hasOwn(custom, s) && !previous.includes(s))) {
      throw new DecnetError('NoServiceImage', `decky ${opts.name}: no honeypot image known for its new services`, 'pass serviceImage');
    }
    const next = mutatedSpec(spec, picked.services, { now, serviceImage: serviceImage ?? '', custom });
    const p = makePlan(observed, { fleets: [], deckies: [next] }, { hostId: opts.hostId });
    if (p.conflicts.length > 0) throw new DecnetError('PlanHasConflicts', `decky ${opts.name}: mutation refused: ${p.conflicts.map((c) => c.message).join('; ')}`);
    log.info({ decky: opts.name, previous, services: picked.services, ops: p.ops.length }, 'mutating decky');
    const summary = await execute(p, opts.engine, { parallelism: opts.parallelism ?? 4 });
    if (!summary.ok) {
      const f = Object.values(summary.deckies).find((x) => x.failure)?.failure;
      throw new DecnetError('MutationFailed', `decky ${opts.name}: mutation failed${f ? ` at ${f.op} ${f.target}: ${f.message}` : summary.aborted ? `: ${summary.aborted.message}` : ''}`, 'the controller heals it from its labels; or re-apply its manifest');
    }
    const event: AttackerEvent = {
      time: next.mutation!.lastMutated,
      host: opts.hostId,
      fleet: spec.fleet,
      decky: spec.name,
      service: 'decnet',
      event: 'decky_mutated',
      previous_services: previous,
      services: next.services.map((s) => s.name),
    };
    return { decky: spec.name, fleet: spec.fleet, previous, services: event.services as string[], pool: picked.pool, event, plan: p, summary };
  });
  try {
    opts.emit?.(result.event);
  } catch (err) {
    log.warn({ err: (err as Error).message }, 'decky_mutated event not delivered');
  }
  return result;
}

export interface MutationSchedulerOptions {
  engine: Engine;
  hostId: string;
  /** default Math.random */
  random?: Random;
  /** default Date.now */
  now?: () => number;
  log?: CollectorLog;
  serviceImage?: string;
  /** where decky_mutated events go (the collector's emit) */
  emit?: (ev: AttackerEvent) => void;
  onResult?: (r: MutationResult | { decky: string; error: DecnetError | Error }) => void;
}

/**
 * Controller extension: on every full resync, mutates the deckies that are due, one at a
 * time in the background (a resync never waits for a mutation; a decky already being
 * mutated is not queued twice). A failed mutation is retried at the next resync.
 */
export function mutationExtension(opts: MutationSchedulerOptions): ControllerExtension & { idle(): Promise<void> } {
  const log = opts.log ?? silentLog;
  const inFlight = new Set<string>();
  let chain: Promise<void> = Promise.resolve();
  let stopped = false;
  return {
    name: 'mutation',
    stop() {
      stopped = true;
      return chain;
    },
    onResync(_observed, grouped) {
      if (stopped) return;
      for (const due of dueMutations(grouped, undefined, (opts.now ?? Date.now)())) {
        if (inFlight.has(due.decky)) continue;
        inFlight.add(due.decky);
        chain = chain.then(async () => {
          if (stopped) return;
          try {
            const r = await mutateDecky({ engine: opts.engine, hostId: opts.hostId, name: due.decky, random: opts.random ?? Math.random, now: (opts.now ?? Date.now)(), log, ...(opts.serviceImage ? { serviceImage: opts.serviceImage } : {}), ...(opts.emit ? { emit: opts.emit } : {}) });
            log.info({ decky: r.decky, previous: r.previous, services: r.services }, 'decky mutated');
            opts.onResult?.(r);
          } catch (err) {
            log.warn({ decky: due.decky, err: (err as Error).message }, 'mutation failed');
            opts.onResult?.({ decky: due.decky, error: err as Error });
          } finally {
            inFlight.delete(due.decky);
          }
        });
      }
    },
    idle: () => chain,
  };
}
