/**
 * Where collected events go. A sink takes events synchronously and must never block
 * or throw into the collector: slow or absent receivers are buffered (bounded) or
 * dropped with a counter inside the sink.
 */
import type { AttackerEvent, ResolvedFleet } from '@decnet/api';

export interface SinkStats {
  written: number;
  dropped: number;
  errors: number;
}

export interface EventSink {
  readonly name: string;
  /**
   * true: the sink gets each event as soon as it is parsed, before connection floods are
   * folded (alerts: a touch must not wait for the fold window; they group on their own)
   */
  readonly unfolded?: boolean;
  /** takes one event; never throws, never blocks on a remote receiver */
  write(ev: AttackerEvent): void;
  /** the fleets of this host changed (sinks routing by fleet, e.g. logTarget) */
  setFleets?(fleets: readonly ResolvedFleet[]): void;
  /** waits until what was written so far has been handed on (best effort, bounded) */
  flush?(): Promise<void>;
  close(): Promise<void>;
  stats(): SinkStats;
}

/** Minimal logger shape (pino's satisfies it). */
export interface CollectorLog {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export const silentLog: CollectorLog = { debug() {}, info() {}, warn() {}, error() {} };

/** JSON lines on a writable stream (stdout). Lines are dropped while the stream is backed up past `maxPending`. */
export class StreamSink implements EventSink {
  readonly name: string;
  private readonly counters: SinkStats = { written: 0, dropped: 0, errors: 0 };
  private backedUp = 0;

  constructor(
    private readonly stream: NodeJS.WritableStream & { writableLength?: number },
    opts: { name?: string; maxPendingBytes?: number } = {},
  ) {
    this.name = opts.name ?? 'stdout';
    this.backedUp = opts.maxPendingBytes ?? 8 * 1024 * 1024;
  }

  write(ev: AttackerEvent): void {
    if ((this.stream.writableLength ?? 0) > this.backedUp) {
      this.counters.dropped++;
      return;
    }
    try {
      this.stream.write(`${JSON.stringify(ev)}\n`);
      this.counters.written++;
    } catch {
      this.counters.errors++;
    }
  }

  async close(): Promise<void> {
    // stdout is not ours to end
  }

  stats(): SinkStats {
    return { ...this.counters };
  }
}

/** Hands an event to every sink, isolating failures (a throwing sink is counted and skipped). */
export function fanOut(sinks: readonly EventSink[], ev: AttackerEvent, log: CollectorLog = silentLog): void {
  for (const s of sinks) {
    try {
      s.write(ev);
    } catch (err) {
      log.warn({ sink: s.name, err: (err as Error).message }, 'event sink failed');
    }
  }
}
