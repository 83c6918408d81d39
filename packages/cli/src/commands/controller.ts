import { Command, Flags } from '@oclif/core';
import {
  AlertSink,
  Controller,
  EventCollector,
  JsonlFileSink,
  StreamSink,
  SYSLOG_FORMATS,
  SyslogSink,
  collectorExtension,
  createLogger,
  createMetrics,
  eventsFilePath,
  instrumentEngine,
  mutationExtension,
  startHealthServer,
  type ControllerExtension,
  type EventSink,
  type SyslogFormat,
} from '@decnet/controller';
import { hostContext, hostFlags } from '../lib/context.js';
import { durationMs, fail } from '../lib/errors.js';
import { clusterSinkFromFlags, registryControllerFlags, registrySyncFromFlags } from '../lib/registry-controller.js';

export default class ControllerCmd extends Command {
  static override description = 'Run the per-host controller in the foreground: heal deckies from their labels, keep their status, serve /healthz, /readyz and /metrics';
  static override examples = ['decnetctl controller', 'decnetctl controller --resync 1m --workers 8 --metrics-addr 127.0.0.1:9465'];
  static override flags = {
    ...hostFlags,
    resync: Flags.string({ description: 'period of the full resync', default: '30s' }),
    workers: Flags.integer({ description: 'deckies reconciled at once', default: 4, min: 1, max: 64 }),
    'metrics-addr': Flags.string({ description: 'host:port for /healthz, /readyz and /metrics ("off" to disable)', default: '127.0.0.1:9465' }),
    'log-level': Flags.string({ description: 'trace|debug|info|warn|error', default: 'info', env: 'DECNET_LOG_LEVEL' }),
    events: Flags.boolean({ description: 'collect attacker events from service containers (JSONL file, fleet logTarget)', default: true, allowNo: true }),
    'events-stdout': Flags.boolean({ description: 'also write collected events to stdout as JSON lines' }),
    'events-file': Flags.string({ description: 'JSONL file of collected events (default <state-dir>/events/events.jsonl)' }),
    'syslog-format': Flags.string({ description: 'JSON the syslog message carries: decnet (structured data), ocsf or ecs', options: [...SYSLOG_FORMATS], default: 'decnet' }),
    alerts: Flags.boolean({ description: "send the fleets' alert routes (spec.alerts) for this host's deckies", default: true, allowNo: true }),
    mutate: Flags.boolean({ description: 'rotate the services of deckies with a mutation interval', default: true, allowNo: true }),
    ...registryControllerFlags,
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(ControllerCmd);
    try {
      const resyncMs = durationMs(flags.resync, '--resync');
      const { hostId, engine } = await hostContext(flags);
      const logger = createLogger({ level: flags['log-level'] });
      const metrics = createMetrics();
      const timed = instrumentEngine(engine, metrics);
      const extensions: ControllerExtension[] = [];
      let collector: EventCollector | undefined;
      if (flags.events) {
        const log = logger.child({ component: 'events' });
        const sinks: EventSink[] = [new JsonlFileSink({ path: flags['events-file'] ?? eventsFilePath(engine.stateDir), onError: (e) => log.error({ err: e.message }, 'events file not writable') }), new SyslogSink({ log, format: flags['syslog-format'] as SyslogFormat })];
        if (flags['events-stdout']) sinks.push(new StreamSink(process.stdout));
        const clusterSink = await clusterSinkFromFlags(flags, { stateDir: engine.stateDir, hostId, log });
        if (clusterSink) sinks.push(clusterSink);
        if (flags.alerts) {
          const alerts: AlertSink = new AlertSink({
            stateDir: engine.stateDir,
            log: logger.child({ component: 'alerts' }),
            counters: {
              onQueued: (route) => (metrics.alerts.inc({ route, result: 'queued' }), metrics.alertsPending.set(alerts.pending() + 1)),
              onSent: (route, ms) => (metrics.alerts.inc({ route, result: 'sent' }), metrics.alertLatency.observe(ms / 1000), metrics.alertsPending.set(alerts.pending())),
              onFailed: (route) => (metrics.alerts.inc({ route, result: 'failed' }), metrics.alertsPending.set(alerts.pending())),
              onRetry: (route) => metrics.alerts.inc({ route, result: 'retried' }),
            },
          });
          await alerts.start();
          metrics.alertsPending.set(alerts.pending());
          sinks.push(alerts);
        }
        collector = new EventCollector({ engine, hostId, stateDir: engine.stateDir, sinks, log, onEvent: (ev) => metrics.eventsCollected.inc({ service: ev.service }) });
        extensions.push(collectorExtension(collector));
      }
      if (flags.mutate) {
        const c = collector;
        extensions.push(mutationExtension({ engine: timed, hostId, log: logger.child({ component: 'mutation' }), ...(c ? { emit: (ev) => c.emit(ev) } : {}) }));
      }
      const reg = await registrySyncFromFlags(flags, { engine: timed, hostId, logger });
      if (reg) extensions.push(reg.sync);
      const controller = new Controller({ engine: timed, hostId, workers: flags.workers, resyncMs, logger, metrics, extensions });
      reg?.sync.attach(controller);
      const health = flags['metrics-addr'] === 'off' ? undefined : await startHealthServer({ addr: flags['metrics-addr'], registry: metrics.registry, ready: () => controller.ready() });
      logger.info({ hostId, stateDir: engine.stateDir, resyncMs, workers: flags.workers, health: health?.address ?? 'off' }, 'controller starting');
      const stopped = new Promise<void>((resolve) => {
        const stop = (sig: string) => {
          logger.info({ signal: sig }, 'stopping: finishing in-flight reconciles');
          void controller.stop().then(() => reg?.close()).then(() => health?.close()).then(resolve);
        };
        process.once('SIGTERM', () => stop('SIGTERM'));
        process.once('SIGINT', () => stop('SIGINT'));
      });
      await controller.start();
      await stopped;
      logger.info('controller stopped');
    } catch (err) {
      fail(this, err);
    }
  }
}
