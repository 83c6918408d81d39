/**
 * Prometheus metrics of the controller (prom-client, own registry). The event
 * collector increments `eventsCollected`; everything else is fed by the controller.
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Engine } from '@decnet/engine';

export interface ControllerMetrics {
  registry: Registry;
  /** labels: result = noop | healed | failed | unknown | invalid | gone | backoff | locked */
  reconciles: Counter<'result'>;
  /** labels: code (error code) */
  errors: Counter<'code'>;
  /** labels: reason (e.g. container exited, container missing, base recreated, namespace stale) */
  healActions: Counter<'reason'>;
  /** labels: phase */
  deckies: Gauge<'phase'>;
  queueDepth: Gauge;
  /** incremented by the event collector; labels: service */
  eventsCollected: Counter<'service'>;
  /** labels: call (engine method) */
  engineLatency: Histogram<'call'>;
  resyncDuration: Histogram;
  /** labels: route (fleet/route), result = queued | sent | failed | retried */
  alerts: Counter<'route' | 'result'>;
  alertsPending: Gauge;
  /** first event of an alert -> its delivery */
  alertLatency: Histogram;
}

export function createMetrics(): ControllerMetrics {
  const registry = new Registry();
  const registers = [registry];
  return {
    registry,
    reconciles: new Counter({ name: 'decnet_reconciles_total', help: 'Reconciles by result', labelNames: ['result'], registers }),
    errors: new Counter({ name: 'decnet_reconcile_errors_total', help: 'Reconcile errors by code', labelNames: ['code'], registers }),
    healActions: new Counter({ name: 'decnet_heal_actions_total', help: 'Engine write operations done to heal, by reason', labelNames: ['reason'], registers }),
    deckies: new Gauge({ name: 'decnet_deckies', help: 'Deckies of this host by phase', labelNames: ['phase'], registers }),
    queueDepth: new Gauge({ name: 'decnet_workqueue_depth', help: 'Keys waiting in the work queue (ready + delayed)', registers }),
    eventsCollected: new Counter({ name: 'decnet_events_collected_total', help: 'Attacker events collected from service containers', labelNames: ['service'], registers }),
    engineLatency: new Histogram({
      name: 'decnet_engine_call_duration_seconds',
      help: 'Latency of container engine calls',
      labelNames: ['call'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    }),
    alerts: new Counter({ name: 'decnet_alerts_total', help: 'Alert deliveries by route and result (queued, sent, failed, retried)', labelNames: ['route', 'result'], registers }),
    alertsPending: new Gauge({ name: 'decnet_alerts_pending', help: 'Alerts queued on disk and not delivered yet', registers }),
    alertLatency: new Histogram({ name: 'decnet_alert_latency_seconds', help: 'From the first event of an alert to its delivery', buckets: [0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300], registers }),
    resyncDuration: new Histogram({ name: 'decnet_resync_duration_seconds', help: 'Duration of a full resync pass', buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30], registers }),
  };
}

const TIMED = new Set(['ping', 'observe', 'createNetwork', 'removeNetwork', 'createContainer', 'startContainer', 'stopContainer', 'removeContainer', 'inspectContainer', 'ensureLab', 'removeLab']);

/** The same engine, with the latency of every non-streaming call recorded. */
export function instrumentEngine(engine: Engine, metrics: ControllerMetrics): Engine {
  return new Proxy(engine, {
    get(target, prop, receiver) {
      const v = Reflect.get(target, prop, receiver) as unknown;
      if (typeof prop !== 'string' || typeof v !== 'function') return v;
      if (!TIMED.has(prop)) return (v as (...a: unknown[]) => unknown).bind(target);
      return async (...args: unknown[]) => {
        const end = metrics.engineLatency.startTimer({ call: prop });
        try {
          return await (v as (...a: unknown[]) => Promise<unknown>).apply(target, args);
        } finally {
          end();
        }
      };
    },
  });
}
