/**
 * Follows the engine's container events (a hint, never the truth): each event of a
 * managed container names a decky to reconcile. The stream is drained as it arrives;
 * when it drops, the watch pings the engine with exponential backoff, reconnects with
 * `since` = the last event seen, and asks for a full resync (events may have been missed).
 */
import { LABEL_DECKY } from '@decnet/api';
import type { Engine, EngineEvent } from '@decnet/engine';
import { backoffDelay, type BackoffOptions } from './backoff.js';
import type { Clock } from './clock.js';
import type { Logger } from './logger.js';

/** Event actions that say nothing about a container's life (exec, attach, ...). */
const IGNORED = /^(exec_|attach|detach|resize|top|copy|archive-path|extract-to-dir|commit|export)/;

/** The decky an event is about, or undefined when it does not concern one. */
export function deckyOfEvent(e: EngineEvent): string | undefined {
  if (IGNORED.test(e.action)) return undefined;
  return e.labels[LABEL_DECKY];
}

export interface EngineWatchOptions {
  engine: Engine;
  hostId: string;
  clock: Clock;
  logger: Logger;
  onEvent: (e: EngineEvent) => void;
  /** the stream (re)connected: events may have been missed, resync everything */
  onReconnect: () => void;
  backoff?: BackoffOptions;
  /** a stream that lived this long resets the backoff (default 5 s) */
  stableMs?: number;
}

export class EngineWatch {
  private stopped = false;
  private abort?: AbortController;
  private loop?: Promise<void>;
  private wake?: () => void;
  /** reconnections so far (for tests and metrics) */
  reconnects = 0;
  connected = false;

  constructor(private readonly opts: EngineWatchOptions) {}

  start(): void {
    if (!this.opts.engine.events) {
      this.opts.logger.warn('engine has no event stream: relying on periodic resync only');
      return;
    }
    this.loop ??= this.run();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.abort?.abort();
    this.wake?.();
    await this.loop;
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const h = this.opts.clock.setTimeout(() => {
        this.wake = undefined;
        resolve();
      }, ms);
      this.wake = () => {
        this.opts.clock.clearTimeout(h);
        resolve();
      };
    });
  }

  private async run(): Promise<void> {
    const { engine, hostId, clock, logger } = this.opts;
    const policy: BackoffOptions = { baseMs: 500, factor: 2, maxMs: 30_000, jitter: 0, ...this.opts.backoff };
    let attempt = 0;
    let sinceSec: number | undefined;
    let first = true;
    while (!this.stopped) {
      try {
        await engine.ping();
      } catch (err) {
        this.connected = false;
        const d = backoffDelay(attempt++, policy);
        logger.warn({ err: (err as Error).message, retryInMs: d }, 'engine unreachable: event stream down');
        await this.sleep(d);
        continue;
      }
      // stop() may have come while the ping was in flight: it had no stream to abort yet
      if (this.stopped) break;
      const opened = clock.now();
      sinceSec ??= Math.floor(opened / 1000);
      this.abort = new AbortController();
      this.connected = true;
      if (!first) {
        this.reconnects++;
        logger.info({ since: sinceSec }, 'event stream reconnected: full resync');
        this.opts.onReconnect();
      }
      first = false;
      try {
        for await (const e of engine.events!(hostId, { since: sinceSec, signal: this.abort.signal })) {
          sinceSec = Math.floor(e.timeNano / 1e9);
          try {
            this.opts.onEvent(e);
          } catch (err) {
            logger.error({ err: (err as Error).message }, 'event handler failed');
          }
        }
      } catch (err) {
        if (!this.stopped) logger.warn({ err: (err as Error).message }, 'event stream dropped');
      }
      this.connected = false;
      if (this.stopped) break;
      if (clock.now() - opened >= (this.opts.stableMs ?? 5_000)) attempt = 0;
      await this.sleep(backoffDelay(attempt++, policy));
    }
  }
}
