/**
 * Reconcile one decky, level-triggered: observe -> desired spec from its own labels ->
 * plan ONLY that decky -> execute under the host lock. Heal rules (issue 5):
 *  - stopped/dead service or base: started (recreated when dead or its spec part changed);
 *  - missing service: recreated from the spec on its base; missing base: recreated from
 *    the spec on any surviving container, with its services (the planner cascades);
 *  - services left in a stale namespace (their base restarted after them): restarted;
 *  - no container left: the decky is gone; invalid labels: Degraded, nothing executed;
 *  - engine unreachable: nothing done, status Unknown;
 *  - a container restarting too often: CrashLoopBackOff, heals delayed with growing delay.
 * Writes happen only under the host lock, after a fresh observe taken inside it, so the
 * controller and `decnetctl apply` never act on the same host at once.
 */
import {
  baseContainerName,
  groupObserved,
  plan as makePlan,
  serviceContainerName,
  type ObservedContainer,
  type ObservedDecky,
  type ObservedState,
  type Op,
  type Plan,
} from '@decnet/api';
import { EngineUnavailableError, execute, withHostLock, type Engine, type ExecutionSummary } from '@decnet/engine';
import type { Clock } from './clock.js';
import type { Logger } from './logger.js';
import type { ControllerMetrics } from './metrics.js';
import { computeDeckyStatus, type ContainerSnapshot, type CrashLoopDetector, type DeckyStatus } from './status.js';
import type { StatusStore } from './status-store.js';

export type ReconcileOutcome = 'noop' | 'healed' | 'failed' | 'unknown' | 'invalid' | 'gone' | 'backoff' | 'locked';

export interface ReconcileResult {
  decky: string;
  result: ReconcileOutcome;
  /** ops attempted (empty unless healed/failed) */
  ops: Op[];
  status?: DeckyStatus;
  /** the caller should look again after this long (crash-loop delay, verification) */
  requeueAfterMs?: number;
  error?: { code: string; message: string };
  summary?: ExecutionSummary;
}

export type LockFn = <T>(fn: () => Promise<T>) => Promise<T>;

export interface ReconcilerOptions {
  engine: Engine;
  hostId: string;
  status: StatusStore;
  crash: CrashLoopDetector;
  clock: Clock;
  logger: Logger;
  metrics?: ControllerMetrics;
  /** default: withHostLock on the engine's state dir, waiting at most 2 s */
  lock?: LockFn;
  /** heal failures after which a decky is Failed (default 3) */
  healFailureThreshold?: number;
  /** delay before a healed decky is looked at again to confirm it (default 500 ms) */
  verifyAfterMs?: number;
}

/** Heal causes mapped to a small fixed set (metric label values). */
export function healReason(cause: string): string {
  if (/^container (exited|created|dead|removing)/.test(cause)) return cause.slice('container '.length).split(' ')[0]!;
  if (cause === 'container missing') return 'missing';
  if (cause === 'base recreated') return 'base-recreated';
  if (cause.startsWith('namespace')) return 'namespace-stale';
  if (/changed|records generation/.test(cause)) return 'spec-changed';
  if (cause.includes('removed from spec') || cause === 'not part of the desired decky') return 'extraneous';
  return 'other';
}

/**
 * Reorders one decky's heal so that at every moment some container still carries its
 * spec in its labels: the base first (remove, create, start), then each service
 * (remove, create, start) one after the other, removals of containers not recreated
 * last. The planner removes every service before recreating the base; a controller
 * killed in between would leave no container to rebuild the decky from.
 */
export function carrierSafeOrder(ops: Op[], decky: string): Op[] {
  const fleetOps = ops.filter((o) => !('decky' in o));
  const own = ops.filter((o): o is Extract<Op, { decky: string }> => 'decky' in o);
  const recreated = new Set(own.flatMap((o) => (o.op === 'create-container' || o.op === 'start-container' ? [o.name] : [])));
  const order: string[] = [];
  const base = baseContainerName(decky);
  if (own.some((o) => o.name === base)) order.push(base);
  for (const o of own) if (!order.includes(o.name) && recreated.has(o.name)) order.push(o.name);
  const out: Op[] = [...fleetOps];
  for (const n of order) out.push(...own.filter((o) => o.name === n));
  out.push(...own.filter((o) => !recreated.has(o.name) && o.name !== base));
  return out;
}

const slotOf = (decky: string, c: ObservedContainer, role?: string, service?: string): string =>
  role === 'base' || c.name === baseContainerName(decky) ? 'base' : (service ?? c.name);

interface Evaluation {
  kind: 'gone' | 'invalid' | 'conflict' | 'plan';
  O?: ObservedDecky;
  plan?: Plan;
  details: Map<string, ObservedContainer>;
  message?: string;
}

export class Reconciler {
  private readonly failures = new Map<string, Array<{ time: string; message: string }>>();
  private readonly lock: LockFn;

  constructor(private readonly opts: ReconcilerOptions) {
    this.lock = opts.lock ?? ((fn) => withHostLock(fn, { stateDir: opts.engine.stateDir, timeoutMs: 2_000, pollMs: 50 }));
  }

  async reconcile(name: string, log: Logger = this.opts.logger): Promise<ReconcileResult> {
    const { engine, hostId } = this.opts;
    let observed: ObservedState;
    try {
      observed = await engine.observe(hostId);
    } catch (err) {
      return this.unknown(name, err, log);
    }
    this.opts.status.setEngineReachable(true);
    const first = await this.evaluate(name, observed);
    if (first.kind !== 'plan' || first.plan!.ops.length === 0) return this.settle(name, first, 'noop', log);

    const blockedFor = this.crashBlock(name, first);
    if (blockedFor > 0) {
      log.warn({ retryInMs: blockedFor }, `crash loop: not healing ${name} for now`);
      return { ...this.settle(name, first, 'backoff', log), requeueAfterMs: blockedFor };
    }

    // write path: fresh observe and plan under the host lock, then execute
    let locked = false;
    try {
      return await this.lock(async () => {
        locked = true;
        let fresh: ObservedState;
        try {
          fresh = await engine.observe(hostId);
        } catch (err) {
          return this.unknown(name, err, log);
        }
        const ev = await this.evaluate(name, fresh);
        if (ev.kind !== 'plan' || ev.plan!.ops.length === 0) return this.settle(name, ev, 'noop', log);
        return this.run(name, ev, log);
      });
    } catch (err) {
      const e = err as { code?: string; message?: string };
      if (!locked && e.code === 'HostLocked') {
        log.info(`host lock busy (an apply is running?): ${name} retried later`);
        return { decky: name, result: 'locked', ops: [], requeueAfterMs: 2_000, error: { code: 'HostLocked', message: e.message ?? '' } };
      }
      const message = e.message ?? String(err);
      this.recordFailure(name, message);
      log.error({ err: message }, `reconcile of ${name} failed`);
      return { decky: name, result: 'failed', ops: [], error: { code: e.code ?? 'InternalError', message } };
    }
  }

  /** Status of a decky the engine could not be read for. */
  private unknown(name: string, err: unknown, log: Logger): ReconcileResult {
    const e = err as { code?: string; message?: string };
    this.opts.status.setEngineReachable(false);
    const prev = this.opts.status.get(name);
    const status = computeDeckyStatus({ generation: prev?.status.observedGeneration ?? 0, services: {}, engineReachable: false, now: this.nowIso(), ...(prev ? { previous: prev.status } : {}) });
    this.opts.status.set(name, prev?.fleet, status);
    log.warn({ err: e.message }, 'engine unreachable: state unknown, nothing done');
    return { decky: name, result: 'unknown', ops: [], status, error: { code: e.code ?? 'EngineUnavailable', message: e.message ?? String(err) } };
  }

  private async evaluate(name: string, observed: ObservedState): Promise<Evaluation> {
    const g = groupObserved(observed);
    const O = g.deckies.find((d) => d.name === name);
    if (!O) return { kind: 'gone', details: new Map() };
    const details = await this.inspect(O);
    for (const c of O.containers) {
      const rc = details.get(c.container.name)?.restartCount;
      if (rc !== undefined) this.opts.crash.observeRestartCount(`${name}/${slotOf(name, c.container, c.role, c.service)}`, rc, this.opts.clock.now());
    }
    if (O.errors.length > 0 || !O.spec) {
      const message = O.errors.length > 0 ? O.errors.map((e) => `${e.container}: ${e.code} (${e.message})`).join('; ') : 'no container carries a readable spec';
      return { kind: 'invalid', O, details, message };
    }
    const F = g.fleets.find((f) => f.name === O.spec!.fleet)?.spec;
    // services joined to a base that no longer exists (it was replaced, e.g. by a heal cut
    // short) cannot be started again: Docker pinned the old base's id. Plan them as missing.
    const baseC = O.containers.find((c) => c.container.name === baseContainerName(name));
    const orphans = baseC
      ? O.containers.filter((c) => c.role === 'service' && c.container.networkContainer !== undefined && ![baseC.container.id, baseC.container.name].includes(c.container.networkContainer))
      : [];
    const view = orphans.length === 0 ? observed : { ...observed, containers: observed.containers.filter((c) => !orphans.some((o) => o.container.id === c.id)) };
    const p = makePlan(view, { fleets: F ? [F] : [], deckies: [O.spec] }, { hostId: this.opts.hostId });
    p.ops.unshift(
      ...orphans.map((o): Op => ({ wave: 2, op: 'remove-container', decky: name, fleet: O.spec!.fleet, name: o.container.name, id: o.container.id, cause: 'namespace gone: its base was replaced' })),
    );
    if (p.conflicts.length > 0) {
      const kind = p.conflicts.some((c) => c.code === 'InvalidLabels') ? 'invalid' : 'conflict';
      return { kind, O, details, plan: p, message: p.conflicts.map((c) => `${c.code}: ${c.message}`).join('; ') };
    }
    p.ops.push(...this.staleNamespaceOps(O, p, details));
    p.ops = carrierSafeOrder(p.ops, name);
    return { kind: 'plan', O, plan: p, details };
  }

  /** Inspect the decky's containers for restart counts and start times (a vanished one is skipped). */
  private async inspect(O: ObservedDecky): Promise<Map<string, ObservedContainer>> {
    const out = new Map<string, ObservedContainer>();
    await Promise.all(
      O.containers.map(async (c) => {
        try {
          const d = await this.opts.engine.inspectContainer(c.container.id);
          if (d) out.set(c.container.name, d);
        } catch (err) {
          if (err instanceof EngineUnavailableError) throw err;
        }
      }),
    );
    return out;
  }

  /**
   * Service containers share their base's network namespace. When the base starts after
   * them (it was restarted, or is about to be), they hold a dead namespace: restart them.
   */
  private staleNamespaceOps(O: ObservedDecky, p: Plan, details: Map<string, ObservedContainer>): Op[] {
    const baseName = baseContainerName(O.name);
    const touched = new Set(p.ops.flatMap((op) => ('name' in op && op.op !== 'create-network' && op.op !== 'remove-network' ? [op.name] : [])));
    if (p.ops.some((op) => op.op === 'create-container' && op.role === 'base')) return [];
    const baseStarting = p.ops.some((op) => op.op === 'start-container' && op.name === baseName);
    const baseStarted = Date.parse(details.get(baseName)?.startedAt ?? '');
    const ops: Op[] = [];
    for (const s of O.spec?.services ?? []) {
      const name = serviceContainerName(O.name, s.name);
      const c = O.containers.find((x) => x.container.name === name);
      if (!c || touched.has(name) || c.container.state !== 'running') continue;
      const started = Date.parse(details.get(name)?.startedAt ?? '');
      const stale = baseStarting || (Number.isFinite(baseStarted) && Number.isFinite(started) && started < baseStarted);
      if (!stale) continue;
      const cause = `namespace stale: ${baseName} ${baseStarting ? 'is restarting' : 'restarted after it'}`;
      ops.push({ wave: 2, op: 'stop-container', decky: O.name, fleet: O.spec!.fleet, name, id: c.container.id, cause });
      ops.push({ wave: 2, op: 'start-container', decky: O.name, fleet: O.spec!.fleet, name, cause });
    }
    return ops;
  }

  /** Slots this plan would restart; ms to wait while any of them is in crash-loop back-off (0 = go). */
  private crashBlock(name: string, ev: Evaluation): number {
    const now = this.opts.clock.now();
    let wait = 0;
    for (const slot of this.restartedSlots(name, ev)) {
      const key = `${name}/${slot}`;
      if (!this.opts.crash.mayHeal(key, now)) wait = Math.max(wait, (this.opts.crash.verdict(key, now).retryAt ?? now) - now);
    }
    return wait;
  }

  /** Slots of containers that existed and are started again (not new containers). */
  private restartedSlots(name: string, ev: Evaluation): string[] {
    const created = new Set(ev.plan!.ops.flatMap((o) => (o.op === 'create-container' ? [o.name] : [])));
    const out: string[] = [];
    for (const op of ev.plan!.ops) {
      if (op.op !== 'start-container' || created.has(op.name) || op.cause.startsWith('namespace stale')) continue;
      const c = ev.O?.containers.find((x) => x.container.name === op.name);
      if (c) out.push(slotOf(name, c.container, c.role, c.service));
    }
    return out;
  }

  private async run(name: string, ev: Evaluation, log: Logger): Promise<ReconcileResult> {
    const now = this.opts.clock.now();
    for (const slot of this.restartedSlots(name, ev)) this.opts.crash.recordRestart(`${name}/${slot}`, now);
    const p = ev.plan!;
    for (const op of p.ops) log.info({ op: op.op, target: 'name' in op ? op.name : op.fleet, cause: op.cause }, `heal ${name}: ${op.op} (${op.cause})`);
    const summary = await execute(p, this.opts.engine, { parallelism: 1 });
    for (const op of p.ops) this.opts.metrics?.healActions.inc({ reason: healReason(op.cause) });
    if (summary.aborted) return { ...this.unknown(name, summary.aborted, log), ops: p.ops, summary };
    if (!summary.ok) {
      const f = summary.deckies[name]?.failure ?? Object.values(summary.fleets).find((x) => x.failure)?.failure;
      const message = f ? `${f.op} ${f.target}: ${f.message}` : 'heal failed';
      this.recordFailure(name, message);
      log.error({ err: message }, `heal of ${name} failed`);
      const r = this.settle(name, ev, 'failed', log);
      return { ...r, ops: p.ops, summary, error: { code: f?.code ?? 'HealFailed', message } };
    }
    log.info({ writes: summary.writes, ms: summary.durationMs }, `healed ${name}`);
    const r = this.settle(name, ev, 'healed', log);
    return { ...r, ops: p.ops, summary, requeueAfterMs: this.opts.verifyAfterMs ?? 500 };
  }

  private recordFailure(name: string, message: string): void {
    const list = [...(this.failures.get(name) ?? []), { time: this.nowIso(), message }].slice(-10);
    this.failures.set(name, list);
  }

  /** Computes and stores the decky's status from an evaluation. */
  private settle(name: string, ev: Evaluation, result: ReconcileOutcome, log: Logger): ReconcileResult {
    const { status: store, crash } = this.opts;
    if (ev.kind === 'gone') {
      store.delete(name);
      for (const k of crash.looping(this.opts.clock.now())) if (k.startsWith(`${name}/`)) crash.forget(k);
      this.failures.delete(name);
      log.debug(`${name} has no containers left: gone`);
      return { decky: name, result: 'gone', ops: [] };
    }
    const O = ev.O!;
    if (ev.kind === 'conflict') this.recordFailure(name, ev.message ?? 'plan refused');
    // a converged decky has no heal failures any more
    if (ev.kind === 'plan' && ev.plan!.ops.length === 0) this.failures.delete(name);
    const snap = (cname: string): ContainerSnapshot | undefined => {
      const g = O.containers.find((c) => c.container.name === cname);
      if (!g) return undefined;
      const d = ev.details.get(cname);
      const c = d ?? g.container;
      return {
        state: g.container.state,
        ...(c.exitCode !== undefined ? { exitCode: c.exitCode } : {}),
        ...(c.restartCount !== undefined ? { restartCount: c.restartCount } : {}),
        ...(c.startedAt !== undefined ? { startedAt: c.startedAt } : {}),
        ...(g.decoded ? { generation: g.decoded.generation } : {}),
      };
    };
    const services: Record<string, ContainerSnapshot | undefined> = {};
    const wanted = O.spec?.services.map((s) => s.name) ?? O.containers.flatMap((c) => (c.role === 'service' && c.service ? [c.service] : []));
    for (const s of wanted) services[s] = snap(serviceContainerName(name, s));
    const prefix = `${name}/`;
    const looping = crash.looping(this.opts.clock.now()).filter((k) => k.startsWith(prefix)).map((k) => k.slice(prefix.length));
    const prev = store.get(name)?.status;
    const labelErrors = ev.kind === 'invalid' ? [ev.message ?? 'invalid labels'] : [];
    const failures = this.failures.get(name);
    const status = computeDeckyStatus({
      generation: O.generation ?? 0,
      base: snap(baseContainerName(name)),
      services,
      labelErrors,
      engineReachable: true,
      ...(failures ? { healFailures: failures } : {}),
      crashLooping: looping,
      ...(prev ? { previous: prev } : {}),
      now: this.nowIso(),
      ...(this.opts.healFailureThreshold !== undefined ? { healFailureThreshold: this.opts.healFailureThreshold } : {}),
    });
    store.set(name, O.fleet, status);
    const outcome: ReconcileOutcome = ev.kind === 'invalid' ? 'invalid' : ev.kind === 'conflict' ? 'failed' : result;
    if (outcome === 'invalid') log.warn({ reason: 'InvalidLabels' }, `${name}: labels invalid, nothing changed: ${ev.message ?? ''}`);
    if (ev.kind === 'conflict') log.error({ err: ev.message }, `${name}: plan refused`);
    return { decky: name, result: outcome, ops: [], status, ...(ev.kind === 'conflict' ? { error: { code: 'PlanConflict', message: ev.message ?? '' } } : {}) };
  }

  private nowIso(): string {
    return new Date(this.opts.clock.now()).toISOString();
  }
}
