/**
 * The cluster event stream as a sink: events go, in batches (every `batchMs` or
 * `batchSize` events), to the registry's stream (`decnet:{<cluster>}:events`, see
 * @decnet/registry ClusterEventStream).
 *
 * While the registry is unreachable, events are spooled in order to
 * `<stateDir>/events/cluster-spool.jsonl` (bounded: beyond `maxSpoolBytes` they are
 * dropped and counted). Once it answers again the spool is drained first, oldest
 * first, then new events follow; a fully drained spool is truncated. A controller
 * restart picks a non-empty spool up. A batch whose outcome is unclear (timeout, lost
 * reply) is simply sent again: the stream's append script skips event ids it has seen,
 * so there is no loss and no duplicate.
 */
import { closeSync, fstatSync, ftruncateSync, mkdirSync, openSync, readSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { AttackerEvent } from '@decnet/api';
import type { AppendResult } from '@decnet/registry';
import { silentLog, type CollectorLog, type EventSink, type SinkStats } from './sinks.js';

export const DEFAULT_CLUSTER_SPOOL_MAX_BYTES = 512 * 1024 * 1024;

/** `<stateDir>/events/cluster-spool.jsonl` */
export function clusterSpoolPath(stateDir: string): string {
  return join(stateDir, 'events', 'cluster-spool.jsonl');
}

/** What the sink needs of a ClusterEventStream. */
export interface EventAppender {
  appendEvents(events: readonly AttackerEvent[]): Promise<AppendResult>;
  close?(): Promise<void>;
}

export interface ClusterStreamSinkOptions {
  stream: EventAppender;
  /** spool at `<stateDir>/events/cluster-spool.jsonl` ... */
  stateDir?: string;
  /** ... or here */
  spoolPath?: string;
  /** send at least this often (default 200 ms) */
  batchMs?: number;
  /** send as soon as this many events wait, and at most this many per append (default 500) */
  batchSize?: number;
  /** spool bound; events beyond it are dropped (default 512 MiB) */
  maxSpoolBytes?: number;
  /** events kept in memory before they go to the spool even while connected (default 10,000) */
  maxPendingEvents?: number;
  /** retry backoff after a failed append (default 200 ms doubling up to 5 s) */
  retryMinMs?: number;
  retryMaxMs?: number;
  /** close() bound for the last send (default 5 s); what is left is spooled */
  closeTimeoutMs?: number;
  /** close the stream on close() (default false) */
  ownsStream?: boolean;
  log?: CollectorLog;
}

export interface ClusterSinkStats extends SinkStats {
  /** events in the spool file, not yet sent */
  spooled: number;
  /** events in memory, not yet sent */
  pending: number;
  /** events the stream had already (re-sent after an unclear failure) */
  duplicates: number;
}

const CHUNK = 4 * 1024 * 1024;
const NL = 10;

export class ClusterStreamSink implements EventSink {
  readonly name = 'cluster';
  readonly spoolPath: string;
  private readonly stream: EventAppender;
  private readonly batchMs: number;
  private readonly batchSize: number;
  private readonly maxSpoolBytes: number;
  private readonly maxPending: number;
  private readonly retryMinMs: number;
  private readonly retryMaxMs: number;
  private readonly log: CollectorLog;
  private readonly counters = { written: 0, dropped: 0, errors: 0, duplicates: 0 };

  private pending: AttackerEvent[] = [];
  private fd: number | undefined;
  private loaded = false;
  /** size of the spool file */
  private spoolBytes = 0;
  /** bytes of the spool already sent (a prefix) */
  private readOffset = 0;
  private spooled = 0;
  private running: Promise<void> | undefined;
  private again = false;
  private batchTimer: NodeJS.Timeout | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private failures = 0;
  private closed = false;

  constructor(private readonly opts: ClusterStreamSinkOptions) {
    if (!opts.spoolPath && !opts.stateDir) throw new Error('ClusterStreamSink needs stateDir or spoolPath');
    this.stream = opts.stream;
    this.spoolPath = opts.spoolPath ?? clusterSpoolPath(opts.stateDir!);
    this.batchMs = Math.max(1, opts.batchMs ?? 200);
    this.batchSize = Math.max(1, opts.batchSize ?? 500);
    this.maxSpoolBytes = opts.maxSpoolBytes ?? DEFAULT_CLUSTER_SPOOL_MAX_BYTES;
    this.maxPending = Math.max(this.batchSize, opts.maxPendingEvents ?? 10_000);
    this.retryMinMs = Math.max(1, opts.retryMinMs ?? 200);
    this.retryMaxMs = Math.max(this.retryMinMs, opts.retryMaxMs ?? 5000);
    this.log = opts.log ?? silentLog;
    // a spool left by an earlier run is sent as soon as possible
    this.batchTimer = setTimeout(() => this.tick(), 0);
    this.batchTimer.unref?.();
  }

  write(ev: AttackerEvent): void {
    if (this.closed) {
      this.counters.dropped++;
      return;
    }
    this.pending.push(ev);
    if (this.pending.length > this.maxPending) {
      this.spoolPending();
      return;
    }
    // (while a retry waits, the tick moves them to the spool)
    if (this.pending.length >= this.batchSize) this.kick(0);
    else this.kick(this.batchMs);
  }

  private kick(ms: number): void {
    if (this.closed) return;
    if (this.batchTimer && ms > 0) return;
    if (this.batchTimer) clearTimeout(this.batchTimer);
    this.batchTimer = setTimeout(() => this.tick(), ms);
    this.batchTimer.unref?.();
  }

  private tick(): void {
    this.batchTimer = undefined;
    if (this.closed) return;
    // while waiting for a retry, keep new events on disk rather than in memory
    if (this.retryTimer) this.spoolPending();
    else void this.pump();
  }

  /** One sender at a time: spool first (oldest), then memory. */
  private pump(): Promise<void> {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = (async () => {
      do {
        this.again = false;
        if (!(await this.sendAll())) {
          this.spoolPending();
          this.scheduleRetry();
          return;
        }
        this.failures = 0;
      } while (this.again && !this.closed);
    })()
      .catch((err: unknown) => {
        this.counters.errors++;
        this.log.warn({ sink: this.name, err: (err as Error).message }, 'cluster event sink failed');
      })
      .finally(() => {
        this.running = undefined;
      });
    return this.running;
  }

  private scheduleRetry(): void {
    if (this.closed || this.retryTimer) return;
    this.failures++;
    const ms = Math.min(this.retryMaxMs, this.retryMinMs * 2 ** Math.min(this.failures - 1, 20));
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      void this.pump();
    }, ms);
    this.retryTimer.unref?.();
  }

  /** false when an append failed (what was not acknowledged is still in the spool or in memory) */
  private async sendAll(): Promise<boolean> {
    this.load();
    if (this.spooled > 0 || this.spoolBytes > 0) {
      if (!(await this.drainSpool())) return false;
    }
    while (this.pending.length > 0 && !this.closed) {
      const batch = this.pending.slice(0, this.batchSize);
      if (!(await this.append(batch))) return false;
      this.pending.splice(0, batch.length);
    }
    return true;
  }

  private async append(batch: AttackerEvent[]): Promise<boolean> {
    if (batch.length === 0) return true;
    try {
      const r = await this.stream.appendEvents(batch);
      this.counters.written += r.added + r.duplicates;
      this.counters.duplicates += r.duplicates;
      return true;
    } catch (err) {
      this.counters.errors++;
      if (this.failures === 0) this.log.warn({ sink: this.name, err: (err as Error).message, spool: this.spoolPath }, 'cluster event stream unreachable; spooling events');
      return false;
    }
  }

  private openSpool(): number {
    if (this.fd === undefined) {
      mkdirSync(dirname(this.spoolPath), { recursive: true, mode: 0o750 });
      this.fd = openSync(this.spoolPath, 'a+', 0o640);
    }
    return this.fd;
  }

  /** Pick up a spool left by an earlier run (once): count its lines, end it with a newline. */
  private load(): void {
    if (this.loaded) return;
    this.loaded = true;
    try {
      const fd = this.openSpool();
      const size = fstatSync(fd).size;
      if (size === 0) return;
      const buf = Buffer.alloc(Math.min(CHUNK, size));
      let lines = 0;
      let last = NL;
      for (let pos = 0; pos < size; ) {
        const n = readSync(fd, buf, 0, Math.min(buf.length, size - pos), pos);
        if (n <= 0) break;
        for (let i = 0; i < n; i++) if (buf[i] === NL) lines++;
        last = buf[n - 1]!;
        pos += n;
      }
      let total = size;
      if (last !== NL) {
        // a crash in the middle of a line: end it (it will be counted as an error when read)
        writeSync(fd, '\n');
        lines++;
        total++;
      }
      this.spoolBytes = total;
      this.spooled = lines;
      this.log.info({ sink: this.name, spool: this.spoolPath, events: lines }, 'cluster event spool found; sending it first');
    } catch (err) {
      this.counters.errors++;
      this.log.warn({ sink: this.name, err: (err as Error).message }, 'cluster event spool not readable');
    }
  }

  /** Append every pending event to the spool (in order); beyond the bound they are dropped. */
  private spoolPending(): void {
    if (this.pending.length === 0) return;
    const evs = this.pending;
    this.pending = [];
    this.load();
    let fd: number;
    try {
      fd = this.openSpool();
    } catch (err) {
      this.counters.dropped += evs.length;
      this.log.error({ sink: this.name, err: (err as Error).message }, 'cluster event spool not writable');
      return;
    }
    const parts: Buffer[] = [];
    let bytes = 0;
    let dropped = 0;
    for (const ev of evs) {
      const line = Buffer.from(`${JSON.stringify(ev)}\n`, 'utf8');
      if (this.spoolBytes + bytes + line.length > this.maxSpoolBytes) {
        dropped++;
        continue;
      }
      parts.push(line);
      bytes += line.length;
    }
    if (dropped > 0) {
      this.counters.dropped += dropped;
      this.log.warn({ sink: this.name, dropped, maxBytes: this.maxSpoolBytes }, 'cluster event spool full; events dropped');
    }
    if (parts.length === 0) return;
    const data = Buffer.concat(parts);
    try {
      let off = 0;
      while (off < data.length) off += writeSync(fd, data, off, data.length - off);
      this.spoolBytes += data.length;
      this.spooled += parts.length;
    } catch (err) {
      this.counters.errors++;
      this.counters.dropped += parts.length;
      this.log.error({ sink: this.name, err: (err as Error).message }, 'cluster event spool not writable');
    }
  }

  /** Send the spool from the last acknowledged line to its end, then truncate it. */
  private async drainSpool(): Promise<boolean> {
    const fd = this.openSpool();
    while (!this.closed) {
      const size = fstatSync(fd).size;
      if (this.readOffset >= size) {
        // everything acknowledged (checked and truncated in one tick: no write in between)
        ftruncateSync(fd, 0);
        this.readOffset = 0;
        this.spoolBytes = 0;
        this.spooled = 0;
        return true;
      }
      const len = Math.min(CHUNK, size - this.readOffset);
      const buf = Buffer.alloc(len);
      const n = readSync(fd, buf, 0, len, this.readOffset);
      const end = buf.subarray(0, n).lastIndexOf(NL);
      if (end < 0) {
        // no line end in a whole chunk (or a torn tail): not an event
        this.counters.errors++;
        this.readOffset += n;
        continue;
      }
      const lines = buf.subarray(0, end).toString('utf8').split('\n');
      for (let i = 0; i < lines.length && !this.closed; i += this.batchSize) {
        const chunk = lines.slice(i, i + this.batchSize);
        const evs: AttackerEvent[] = [];
        let bytes = 0;
        for (const line of chunk) {
          bytes += Buffer.byteLength(line, 'utf8') + 1;
          const ev = parseSpoolLine(line);
          if (ev) evs.push(ev);
          else if (line !== '') this.counters.errors++;
        }
        if (!(await this.append(evs))) return false;
        this.readOffset += bytes;
        this.spooled = Math.max(0, this.spooled - chunk.length);
      }
    }
    return false;
  }

  async flush(): Promise<void> {
    if (this.closed) return;
    if (this.batchTimer) {
      clearTimeout(this.batchTimer);
      this.batchTimer = undefined;
    }
    if (this.retryTimer) {
      this.spoolPending();
      return;
    }
    await this.pump();
    if (this.pending.length > 0 && !this.retryTimer) await this.pump();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    const timeoutMs = this.opts.closeTimeoutMs ?? 5000;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.flush(), new Promise<void>((r) => (timer = setTimeout(r, timeoutMs)))]);
    clearTimeout(timer);
    this.closed = true;
    if (this.batchTimer) clearTimeout(this.batchTimer);
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.batchTimer = this.retryTimer = undefined;
    // an append still in flight ends within the stream's command timeout; wait a bit for it
    if (this.running) await Promise.race([this.running, new Promise<void>((r) => (timer = setTimeout(r, 1000)))]);
    clearTimeout(timer);
    this.spoolPending();
    if (this.fd !== undefined) {
      try {
        closeSync(this.fd);
      } catch {
        // already closed
      }
      this.fd = undefined;
    }
    if (this.opts.ownsStream) await this.stream.close?.().catch(() => undefined);
  }

  stats(): ClusterSinkStats {
    return { ...this.counters, spooled: this.spooled, pending: this.pending.length };
  }
}

function parseSpoolLine(line: string): AttackerEvent | undefined {
  if (!line.startsWith('{')) return undefined;
  try {
    const v = JSON.parse(line) as AttackerEvent;
    return typeof v === 'object' && v !== null && typeof v.time === 'string' && typeof v.event === 'string' ? v : undefined;
  } catch {
    return undefined;
  }
}
