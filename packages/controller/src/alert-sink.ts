/**
 * The alerter, as an event sink of the collector: events of this host's deckies are
 * matched against their fleet's alert routes, grouped per source and decky within
 * each route's throttle window (alert-core.ts), queued on disk (alert-queue.ts) and
 * delivered by one worker per route: in order, retried with backoff while the target
 * fails, rate-limited to the route's maxPerMinute.
 *
 * Once per cluster: a decky runs on exactly one host, and only that host's controller
 * collects its events, so each touch is alerted by one controller.
 */
import { readAlertSecrets } from '@decnet/engine';
import { alertSecretMatches, type AttackerEvent, type ResolvedAlertRoute, type ResolvedFleet } from '@decnet/api';
import { AlertGrouper, routeTakes, type Alert } from './alert-core.js';
import { AlertQueueStore, type DeliveryRecord, type QueuedAlert } from './alert-queue.js';
import { DeliveryError, sendAlert } from './alert-targets.js';
import { backoffDelay } from './backoff.js';
import { silentLog, type CollectorLog, type EventSink, type SinkStats } from './sinks.js';

export interface AlertCounters {
  onQueued?(route: string): void;
  onSent?(route: string, latencyMs: number): void;
  onFailed?(route: string): void;
  onRetry?(route: string): void;
}

export interface AlertSinkOptions {
  stateDir: string;
  log?: CollectorLog;
  counters?: AlertCounters;
  /** the sender (tests may count calls); default sendAlert */
  send?: typeof sendAlert;
  now?: () => number;
  /** retry backoff (default 1 s doubling to 60 s) */
  retryBaseMs?: number;
  retryMaxMs?: number;
  /** an alert still undelivered after this long is given up and recorded failed (default 24 h) */
  giveUpAfterMs?: number;
  tickMs?: number;
}

interface RouteWorker {
  key: string;
  queue: QueuedAlert[];
  busy: boolean;
  /** token bucket of maxPerMinute */
  tokens: number;
  refilledAt: number;
}

export class AlertSink implements EventSink {
  readonly name = 'alerts';
  /** a touch is alerted as soon as it is read, not after the collector's 1 s fold window */
  readonly unfolded = true;
  private readonly store: AlertQueueStore;
  private readonly grouper = new AlertGrouper();
  private readonly routes = new Map<string, ResolvedAlertRoute[]>();
  private readonly workers = new Map<string, RouteWorker>();
  private readonly counters: SinkStats = { written: 0, dropped: 0, errors: 0 };
  private readonly log: CollectorLog;
  private readonly now: () => number;
  private timer?: NodeJS.Timeout;
  private writes: Promise<void> = Promise.resolve();
  private groupsDirty = false;
  private started?: Promise<void>;
  private closed = false;
  deliveries = { queued: 0, sent: 0, failed: 0, retries: 0 };

  constructor(private readonly opts: AlertSinkOptions) {
    this.store = new AlertQueueStore(opts.stateDir);
    this.log = opts.log ?? silentLog;
    this.now = opts.now ?? Date.now;
  }

  /** Loads the queue and the open throttle windows left by an earlier run; starts the workers. */
  start(): Promise<void> {
    return (this.started ??= (async () => {
      await this.store.init();
      this.grouper.restore(await this.store.loadGroups());
      for (const q of await this.store.load()) this.worker(q.alert).queue.push(q);
      this.timer = setInterval(() => this.tick(), this.opts.tickMs ?? 250);
      this.timer.unref();
      this.tick();
    })());
  }

  setFleets(fleets: readonly ResolvedFleet[]): void {
    this.routes.clear();
    for (const f of fleets) if (f.alerts?.length) this.routes.set(f.name, f.alerts);
  }

  write(ev: AttackerEvent): void {
    if (this.closed || ev.fleet === undefined) return;
    const routes = this.routes.get(ev.fleet);
    if (!routes) return;
    const now = this.now();
    for (const r of routes) {
      if (!routeTakes(r, ev)) continue;
      const out = this.grouper.push(r, ev, now);
      this.groupsDirty = true;
      for (const a of out) this.enqueue(a, now);
    }
  }

  private worker(a: Pick<Alert, 'fleet' | 'route'>): RouteWorker {
    const key = `${a.fleet}/${a.route}`;
    let w = this.workers.get(key);
    if (!w) this.workers.set(key, (w = { key, queue: [], busy: false, tokens: Number.POSITIVE_INFINITY, refilledAt: this.now() }));
    return w;
  }

  private enqueue(alert: Alert, now: number): void {
    const q: QueuedAlert = { alert, queuedAt: now, attempts: 0, nextAttempt: now };
    this.counters.written++;
    this.deliveries.queued++;
    this.opts.counters?.onQueued?.(`${alert.fleet}/${alert.route}`);
    // on disk before the first attempt: the worker only takes alerts whose write finished
    this.writes = this.writes.then(() =>
      this.start().then(() => this.store.put(q)).then(
        () => {
          this.worker(alert).queue.push(q);
          this.kick();
        },
        (err: Error) => {
          this.counters.errors++;
          this.log.error({ err: err.message }, 'cannot write the alert queue; alert kept in memory');
          this.worker(alert).queue.push(q);
          this.kick();
        },
      ),
    );
  }

  private tick(): void {
    const now = this.now();
    for (const a of this.grouper.due(now)) {
      this.groupsDirty = true;
      this.enqueue(a, now);
    }
    if (this.groupsDirty) {
      this.groupsDirty = false;
      const snap = this.grouper.snapshot();
      this.writes = this.writes.then(() => this.store.saveGroups(snap).catch((err: Error) => this.log.warn({ err: err.message }, 'cannot write alert groups')));
    }
    this.kick();
  }

  private kick(): void {
    if (this.closed) return;
    for (const w of this.workers.values()) if (!w.busy && w.queue.length > 0) void this.drain(w);
  }

  private route(a: Alert): ResolvedAlertRoute | undefined {
    return this.routes.get(a.fleet)?.find((r) => r.name === a.route);
  }

  private takeToken(w: RouteWorker, perMinute: number): boolean {
    const now = this.now();
    if (!Number.isFinite(w.tokens)) w.tokens = perMinute;
    w.tokens = Math.min(perMinute, w.tokens + ((now - w.refilledAt) / 60_000) * perMinute);
    w.refilledAt = now;
    if (w.tokens < 1) return false;
    w.tokens -= 1;
    return true;
  }

  private async drain(w: RouteWorker): Promise<void> {
    w.busy = true;
    try {
      while (!this.closed && w.queue.length > 0) {
        const q = w.queue[0]!;
        const now = this.now();
        if (q.nextAttempt > now) return; // the tick comes back for it
        const route = this.route(q.alert);
        if (!route) {
          // routes arrive with the first resync; a route removed from its fleet keeps its queue until given up
          if (now - q.queuedAt > (this.opts.giveUpAfterMs ?? 86_400_000)) await this.finish(w, q, 'failed', 'alert route no longer declared');
          return;
        }
        if (!this.takeToken(w, route.maxPerMinute)) return;
        const secrets = await readAlertSecrets(this.opts.stateDir, q.alert.fleet);
        const secret = secrets[route.name];
        if (!secret || !alertSecretMatches(route, secret)) {
          await this.retry(w, q, `no URL for route ${route.name} in the state dir (apply the Fleet manifest again)`);
          return;
        }
        try {
          q.attempts++;
          await (this.opts.send ?? sendAlert)(q.alert, route, secret);
          await this.finish(w, q, 'sent');
        } catch (err) {
          const e = err as Error;
          const permanent = err instanceof DeliveryError && err.permanent;
          if (permanent || this.now() - q.queuedAt > (this.opts.giveUpAfterMs ?? 86_400_000)) await this.finish(w, q, 'failed', e.message);
          else {
            await this.retry(w, q, e.message);
            return;
          }
        }
      }
    } catch (err) {
      this.counters.errors++;
      this.log.error({ err: (err as Error).message, route: w.key }, 'alert delivery failed');
    } finally {
      w.busy = false;
    }
  }

  private async retry(w: RouteWorker, q: QueuedAlert, error: string): Promise<void> {
    q.lastError = error;
    q.nextAttempt = this.now() + backoffDelay(Math.max(0, q.attempts - 1), { baseMs: this.opts.retryBaseMs ?? 1000, maxMs: this.opts.retryMaxMs ?? 60_000, jitter: 0 });
    this.deliveries.retries++;
    this.opts.counters?.onRetry?.(`${q.alert.fleet}/${q.alert.route}`);
    if (q.attempts <= 1 || q.attempts % 10 === 0) this.log.warn({ route: w.key, attempts: q.attempts, err: error }, 'alert not delivered yet; retrying');
    await this.store.put(q).catch(() => undefined);
  }

  private async finish(w: RouteWorker, q: QueuedAlert, state: 'sent' | 'failed', error?: string): Promise<void> {
    const a = q.alert;
    const at = this.now();
    const latencyMs = Math.max(0, at - Date.parse(a.first));
    const rec: DeliveryRecord = { id: a.id, state, route: a.route, type: a.type, fleet: a.fleet, decky: a.decky, severity: a.severity, count: a.count, attempts: q.attempts, queuedAt: new Date(q.queuedAt).toISOString(), at: new Date(at).toISOString() };
    if (a.src_ip !== undefined) rec.src_ip = a.src_ip;
    if (state === 'sent') rec.latencyMs = latencyMs;
    if (error !== undefined) rec.error = error;
    w.queue.shift();
    await this.store.done(q, rec).catch((err: Error) => this.log.error({ err: err.message }, 'cannot record an alert delivery'));
    if (state === 'sent') {
      this.deliveries.sent++;
      this.opts.counters?.onSent?.(`${a.fleet}/${a.route}`, latencyMs);
    } else {
      this.deliveries.failed++;
      this.opts.counters?.onFailed?.(`${a.fleet}/${a.route}`);
      this.log.error({ route: w.key, err: error }, 'alert given up');
    }
  }

  /** alerts waiting in the queue (all routes) */
  pending(): number {
    let n = 0;
    for (const w of this.workers.values()) n += w.queue.length;
    return n;
  }

  /** waits until queued writes are on disk and every deliverable alert had its attempt (bounded) */
  async flush(timeoutMs = 5_000): Promise<void> {
    const t0 = Date.now();
    await this.writes;
    while (Date.now() - t0 < timeoutMs && [...this.workers.values()].some((w) => w.busy)) await new Promise((r) => setTimeout(r, 20));
  }

  async close(): Promise<void> {
    this.tick();
    await this.writes;
    this.closed = true;
    clearInterval(this.timer);
    await this.store.saveGroups(this.grouper.snapshot()).catch(() => undefined);
  }

  stats(): SinkStats {
    return { ...this.counters };
  }
}
