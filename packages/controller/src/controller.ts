/**
 * The per-host controller: a work queue of decky names fed by engine events and a
 * periodic full resync, drained by N workers that each run one Reconciler pass per key
 * (deduplicated, per-key exponential backoff, global rate limit). Status is kept in a
 * StatusStore and persisted for the CLI. Extensions (event collection, mutation) get
 * every full observation and are started/stopped with the controller.
 */
import { groupObserved, type GroupedState, type ObservedState } from '@decnet/api';
import type { Engine, EngineEvent } from '@decnet/engine';
import { realClock, type Clock } from './clock.js';
import { EngineWatch, deckyOfEvent } from './engine-watch.js';
import { silentLogger, type Logger } from './logger.js';
import type { ControllerMetrics } from './metrics.js';
import { controllerRateLimiter } from './rate-limit.js';
import { Reconciler, type LockFn, type ReconcileResult } from './reconciler.js';
import { CrashLoopDetector, computeDeckyStatus, type CrashLoopOptions } from './status.js';
import { StatusStore } from './status-store.js';
import { WorkQueue } from './work-queue.js';

export interface ControllerExtension {
  name: string;
  start?(): void | Promise<void>;
  stop?(): void | Promise<void>;
  /** every successful full observation */
  onResync?(observed: ObservedState, grouped: GroupedState): void | Promise<void>;
  /** every engine event of a managed container */
  onEvent?(e: EngineEvent): void;
}

export interface ControllerOptions {
  engine: Engine;
  hostId: string;
  /** default 4 */
  workers?: number;
  /** full resync period, default 30 s */
  resyncMs?: number;
  logger?: Logger;
  metrics?: ControllerMetrics;
  clock?: Clock;
  crash?: Omit<CrashLoopOptions, 'clock'>;
  lock?: LockFn;
  /** write <stateDir>/status/<hostId>.json (default true) */
  persistStatus?: boolean;
  /** follow engine events (default true) */
  watchEvents?: boolean;
  extensions?: ControllerExtension[];
  /** global rate limit of requeues (default 10 qps, burst 100) */
  qps?: number;
  burst?: number;
  /** observer of every reconcile (tests, reconcile --once) */
  onResult?: (r: ReconcileResult) => void;
}

export class Controller {
  readonly queue: WorkQueue;
  readonly status: StatusStore;
  readonly reconciler: Reconciler;
  readonly crash: CrashLoopDetector;
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly watch?: EngineWatch;
  private workers: Promise<void>[] = [];
  private resyncTimer?: unknown;
  private running = false;
  private rid = 0;
  private resyncing?: Promise<boolean>;
  /** keys queued by the current full resync and not yet reconciled, and when it began */
  private pass?: { pending: Set<string>; t0: number; end?: () => void };
  firstResyncDone = false;
  engineReachable = false;
  /** duration of the last full pass: from its observe until every decky it queued was reconciled */
  lastResyncMs?: number;

  constructor(private readonly opts: ControllerOptions) {
    this.clock = opts.clock ?? realClock;
    this.log = opts.logger ?? silentLogger();
    const resyncMs = opts.resyncMs ?? 30_000;
    this.queue = new WorkQueue({
      clock: this.clock,
      rateLimiter: controllerRateLimiter({ clock: this.clock, backoff: { baseMs: 500, maxMs: 5 * 60_000 }, qps: opts.qps ?? 10, burst: opts.burst ?? 100 }),
    });
    this.status = new StatusStore({ stateDir: opts.engine.stateDir, hostId: opts.hostId, resyncMs, persist: opts.persistStatus !== false, now: () => this.clock.now() });
    this.crash = new CrashLoopDetector({ clock: this.clock, maxRestarts: 5, ...opts.crash });
    this.reconciler = new Reconciler({
      engine: opts.engine,
      hostId: opts.hostId,
      status: this.status,
      crash: this.crash,
      clock: this.clock,
      logger: this.log,
      ...(opts.metrics ? { metrics: opts.metrics } : {}),
      ...(opts.lock ? { lock: opts.lock } : {}),
    });
    if (opts.watchEvents !== false) {
      this.watch = new EngineWatch({
        engine: opts.engine,
        hostId: opts.hostId,
        clock: this.clock,
        logger: this.log.child({ component: 'events' }),
        onEvent: (e) => this.onEvent(e),
        onReconnect: () => void this.resync(),
      });
    }
  }

  get resyncMs(): number {
    return this.opts.resyncMs ?? 30_000;
  }

  /** Starts workers, the event watch, extensions and the periodic resync (the first one right away). */
  async start(): Promise<void> {
    if (this.running) return;
    this.running = true;
    for (const x of this.opts.extensions ?? []) await x.start?.();
    const n = Math.max(1, this.opts.workers ?? 4);
    for (let i = 0; i < n; i++) this.workers.push(this.worker());
    this.watch?.start();
    await this.resync();
    this.scheduleResync();
  }

  /** Graceful stop: no new work, in-flight reconciles finish, status written. */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    if (this.resyncTimer !== undefined) this.clock.clearTimeout(this.resyncTimer);
    this.log.debug('stopping: engine event watch');
    await this.watch?.stop();
    this.log.debug({ inFlight: this.queue.inFlight() }, 'stopping: draining in-flight reconciles');
    await this.queue.shutdownWithDrain();
    await Promise.all(this.workers);
    for (const x of this.opts.extensions ?? []) {
      try {
        this.log.debug({ extension: x.name }, 'stopping: extension');
        await x.stop?.();
      } catch (err) {
        this.log.error({ err: (err as Error).message, extension: x.name }, 'extension stop failed');
      }
    }
    await this.status.flush().catch(() => undefined);
  }

  ready(): { ready: boolean; reason: string } {
    if (!this.engineReachable) return { ready: false, reason: 'container engine unreachable' };
    if (!this.firstResyncDone) return { ready: false, reason: 'first resync not done' };
    return { ready: true, reason: `${this.status.names().length} deckies watched` };
  }

  private scheduleResync(): void {
    if (!this.running) return;
    this.resyncTimer = this.clock.setTimeout(() => {
      void this.resync().finally(() => this.scheduleResync());
    }, this.resyncMs);
  }

  private onEvent(e: EngineEvent): void {
    for (const x of this.opts.extensions ?? []) x.onEvent?.(e);
    const decky = deckyOfEvent(e);
    if (decky !== undefined) this.queue.add(decky);
  }

  /** One observation; every decky seen (and every decky known before) is queued. False when the engine is unreachable. */
  resync(): Promise<boolean> {
    this.resyncing ??= this.doResync().finally(() => (this.resyncing = undefined));
    return this.resyncing;
  }

  private async doResync(): Promise<boolean> {
    const t0 = this.clock.now();
    const end = this.opts.metrics?.resyncDuration.startTimer();
    let observed: ObservedState;
    try {
      observed = await this.opts.engine.observe(this.opts.hostId);
    } catch (err) {
      this.markUnknown((err as Error).message);
      return false;
    }
    this.engineReachable = true;
    this.status.setEngineReachable(true);
    const grouped = groupObserved(observed);
    const names = new Set([...grouped.deckies.map((d) => d.name), ...this.status.names()]);
    if (!this.pass) this.pass = { pending: new Set(names), t0, ...(end ? { end } : {}) };
    for (const n of [...names].sort()) this.queue.add(n);
    if (names.size === 0) this.finishPass();
    for (const x of this.opts.extensions ?? []) {
      try {
        await x.onResync?.(observed, grouped);
      } catch (err) {
        this.log.error({ err: (err as Error).message, extension: x.name }, 'extension failed on resync');
      }
    }
    this.firstResyncDone = true;
    this.log.debug({ deckies: grouped.deckies.length }, 'resync queued');
    void this.status.flush().catch((err: Error) => this.log.error({ err: err.message }, 'cannot write the status file'));
    return true;
  }

  private finishPass(): void {
    const p = this.pass;
    if (!p || p.pending.size > 0) return;
    this.pass = undefined;
    this.lastResyncMs = this.clock.now() - p.t0;
    p.end?.();
    this.log.debug({ ms: this.lastResyncMs }, 'full resync done');
  }

  /** Engine unreachable: every decky's status becomes Unknown (nothing is changed). */
  private markUnknown(message: string): void {
    if (this.engineReachable || !this.firstResyncDone) this.log.warn({ err: message }, 'engine unreachable: all deckies Unknown, no action taken');
    this.engineReachable = false;
    this.status.setEngineReachable(false);
    const now = new Date(this.clock.now()).toISOString();
    for (const name of this.status.names()) {
      const prev = this.status.get(name)!;
      this.status.set(name, prev.fleet, computeDeckyStatus({ generation: prev.status.observedGeneration, services: {}, engineReachable: false, previous: prev.status, now }));
    }
    this.updateGauges();
    void this.status.flush().catch(() => undefined);
  }

  private updateGauges(): void {
    const m = this.opts.metrics;
    if (!m) return;
    for (const [phase, n] of Object.entries(this.status.countByPhase())) m.deckies.set({ phase }, n);
    m.queueDepth.set(this.queue.len() + this.queue.delayed());
  }

  private async worker(): Promise<void> {
    for (;;) {
      const key = await this.queue.get();
      if (key === undefined) return;
      const rid = ++this.rid;
      const log = this.log.child({ rid, decky: key });
      let r: ReconcileResult;
      try {
        r = await this.reconciler.reconcile(key, log);
      } catch (err) {
        log.error({ err: (err as Error).message }, 'reconcile threw');
        r = { decky: key, result: 'failed', ops: [], error: { code: 'InternalError', message: (err as Error).message } };
      }
      this.afterReconcile(key, r);
      this.queue.done(key);
    }
  }

  private afterReconcile(key: string, r: ReconcileResult): void {
    const m = this.opts.metrics;
    m?.reconciles.inc({ result: r.result });
    if (r.error && r.result !== 'locked') m?.errors.inc({ code: r.error.code });
    switch (r.result) {
      case 'unknown':
        if (this.engineReachable) this.markUnknown(r.error?.message ?? 'engine unreachable');
        this.queue.addRateLimited(key);
        break;
      case 'failed':
        this.queue.addRateLimited(key);
        break;
      case 'locked':
      case 'backoff':
        this.queue.addAfter(key, r.requeueAfterMs ?? 1_000);
        break;
      case 'healed':
        this.queue.forget(key);
        this.queue.addAfter(key, r.requeueAfterMs ?? 500);
        break;
      default:
        this.queue.forget(key);
        if (r.requeueAfterMs !== undefined) this.queue.addAfter(key, r.requeueAfterMs);
    }
    if (r.result !== 'unknown' && !this.engineReachable) {
      this.engineReachable = true;
      void this.resync();
    }
    if (this.pass?.pending.delete(key)) this.finishPass();
    this.updateGauges();
    try {
      this.opts.onResult?.(r);
    } catch {
      // an observer never breaks the loop
    }
    void this.status.flush().catch((err: Error) => this.log.error({ err: err.message }, 'cannot write the status file'));
  }

  /** One full pass without workers or events: observe, reconcile every decky once (sequentially). For `reconcile --once`. */
  async reconcileAll(): Promise<ReconcileResult[]> {
    let observed: ObservedState;
    try {
      observed = await this.opts.engine.observe(this.opts.hostId);
    } catch (err) {
      this.markUnknown((err as Error).message);
      return [{ decky: '*', result: 'unknown', ops: [], error: { code: (err as { code?: string }).code ?? 'EngineUnavailable', message: (err as Error).message } }];
    }
    this.engineReachable = true;
    const names = groupObserved(observed).deckies.map((d) => d.name);
    const out: ReconcileResult[] = [];
    for (const n of names) {
      const r = await this.reconciler.reconcile(n, this.log.child({ rid: ++this.rid, decky: n }));
      out.push(r);
      this.opts.metrics?.reconciles.inc({ result: r.result });
    }
    await this.status.flush().catch(() => undefined);
    return out;
  }
}
