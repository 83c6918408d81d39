/**
 * The fleets' `logTarget`s as RFC 5424 syslog (syslog.ts renders the lines): one
 * sender per target, shared by every fleet naming it. UDP sends one datagram per
 * line; TCP uses octet counting, connects lazily, reconnects with exponential
 * backoff and keeps a bounded queue meanwhile (oldest lines dropped, counted).
 * Nothing here ever blocks or throws into the collector.
 */
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { createConnection, isIP, type Socket } from 'node:net';
import type { AttackerEvent, ResolvedFleet } from '@decnet/api';
import { backoffDelay } from './backoff.js';
import { silentLog, type CollectorLog, type EventSink, type SinkStats } from './sinks.js';
import { toEcs, toOcsf } from './siem.js';
import { formatSyslog, formatSyslogJson, frameSyslog, parseLogTarget, type SyslogTarget } from './syslog.js';

export const SYSLOG_FORMATS = ['decnet', 'ocsf', 'ecs'] as const;
export type SyslogFormat = (typeof SYSLOG_FORMATS)[number];

/** The syslog line of an event: decnet's structured data and summary, or an OCSF/ECS JSON document as MSG. */
export function syslogLine(ev: AttackerEvent, format: SyslogFormat = 'decnet'): string {
  if (format === 'ocsf') return formatSyslogJson(ev, toOcsf(ev));
  if (format === 'ecs') return formatSyslogJson(ev, toEcs(ev));
  return formatSyslog(ev);
}

export interface SyslogSenderOptions {
  /** lines held while a TCP target is unreachable (default 10000) */
  maxQueue?: number;
  /** reconnect backoff (defaults: 200 ms doubling up to 30 s) */
  reconnectBaseMs?: number;
  reconnectMaxMs?: number;
  log?: CollectorLog;
  /** the JSON the message carries: decnet (default: structured data + summary), ocsf or ecs */
  format?: SyslogFormat;
}

/** UDP datagrams larger than this are truncated (IPv4 payload ceiling is 65507). */
const MAX_DATAGRAM = 60_000;

export class SyslogSender {
  readonly key: string;
  private readonly counters: SinkStats = { written: 0, dropped: 0, errors: 0 };
  private readonly queue: Buffer[] = [];
  private readonly maxQueue: number;
  private readonly log: CollectorLog;
  private udp?: UdpSocket;
  private udpInFlight = 0;
  private tcp?: Socket;
  private connected = false;
  private blocked = false;
  private attempt = 0;
  private timer?: NodeJS.Timeout;
  private closed = false;
  private lastError?: string;

  constructor(
    readonly target: SyslogTarget,
    private readonly opts: SyslogSenderOptions = {},
  ) {
    this.key = `${target.proto}://${target.host}:${target.port}`;
    this.maxQueue = Math.max(1, opts.maxQueue ?? 10_000);
    this.log = opts.log ?? silentLog;
  }

  send(line: string): void {
    if (this.closed) return void this.counters.dropped++;
    if (this.target.proto === 'udp') return this.sendUdp(line);
    if (this.queue.length >= this.maxQueue) {
      this.queue.shift();
      this.counters.dropped++;
    }
    this.queue.push(frameSyslog(line, 'tcp'));
    if (!this.tcp && this.timer === undefined) this.connect();
    else this.pump();
  }

  private sendUdp(line: string): void {
    if (this.udpInFlight >= this.maxQueue) return void this.counters.dropped++;
    if (!this.udp) {
      this.udp = createSocket(isIP(this.target.host) === 6 ? 'udp6' : 'udp4');
      this.udp.on('error', (err) => this.fail(err));
      this.udp.unref();
    }
    let buf = frameSyslog(line, 'udp');
    if (buf.length > MAX_DATAGRAM) buf = buf.subarray(0, MAX_DATAGRAM);
    this.udpInFlight++;
    this.udp.send(buf, this.target.port, this.target.host, (err) => {
      this.udpInFlight--;
      if (err) this.fail(err);
      else this.counters.written++;
    });
  }

  private fail(err: Error): void {
    this.counters.errors++;
    if (this.lastError !== err.message) this.log.warn({ target: this.key, err: err.message }, 'syslog target failed');
    this.lastError = err.message;
  }

  private connect(): void {
    this.timer = undefined;
    if (this.closed) return;
    const sock = createConnection({ host: this.target.host, port: this.target.port });
    this.tcp = sock;
    sock.setNoDelay(true);
    sock.setKeepAlive(true, 30_000);
    sock.on('connect', () => {
      this.connected = true;
      this.attempt = 0;
      if (this.lastError !== undefined) this.log.info({ target: this.key }, 'syslog target reachable again');
      this.lastError = undefined;
      this.pump();
    });
    sock.on('drain', () => {
      this.blocked = false;
      this.pump();
    });
    sock.on('error', (err) => this.fail(err));
    sock.on('close', () => {
      this.tcp = undefined;
      this.connected = false;
      this.blocked = false;
      if (this.closed) return;
      const delay = backoffDelay(this.attempt++, { baseMs: this.opts.reconnectBaseMs ?? 200, maxMs: this.opts.reconnectMaxMs ?? 30_000, jitter: 0 });
      this.timer = setTimeout(() => this.connect(), delay);
      this.timer.unref();
    });
  }

  private pump(): void {
    if (!this.connected || this.blocked || !this.tcp) return;
    while (this.queue.length > 0) {
      const frame = this.queue.shift()!;
      this.counters.written++;
      if (!this.tcp.write(frame)) {
        this.blocked = true;
        return;
      }
    }
  }

  /** lines waiting for a TCP connection */
  pending(): number {
    return this.queue.length + this.udpInFlight;
  }

  /** Waits (up to timeoutMs) until the queue is handed to the kernel. */
  async flush(timeoutMs = 2000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while ((this.pending() > 0 || (this.tcp?.writableLength ?? 0) > 0) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  async close(timeoutMs = 1000): Promise<void> {
    if (this.connected) await this.flush(timeoutMs);
    this.closed = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.counters.dropped += this.queue.length;
    this.queue.length = 0;
    this.tcp?.end();
    this.udp?.close();
    this.udp = undefined;
  }

  stats(): SinkStats {
    return { ...this.counters };
  }
}

/** Routes each event to its fleet's logTarget (events of fleets without one are skipped). */
export class SyslogSink implements EventSink {
  readonly name = 'syslog';
  private readonly senders = new Map<string, SyslogSender>();
  private readonly byFleet = new Map<string, SyslogSender>();
  private readonly warned = new Set<string>();
  private readonly log: CollectorLog;
  private retired: SinkStats = { written: 0, dropped: 0, errors: 0 };

  constructor(private readonly opts: SyslogSenderOptions = {}) {
    this.log = opts.log ?? silentLog;
  }

  setFleets(fleets: readonly ResolvedFleet[]): void {
    this.byFleet.clear();
    for (const f of fleets) {
      if (!f.logTarget) continue;
      let target: SyslogTarget;
      try {
        target = parseLogTarget(f.logTarget);
      } catch (err) {
        if (!this.warned.has(f.logTarget)) this.log.warn({ fleet: f.name, logTarget: f.logTarget, err: (err as Error).message }, 'invalid logTarget ignored');
        this.warned.add(f.logTarget);
        continue;
      }
      const key = `${target.proto}://${target.host}:${target.port}`;
      let s = this.senders.get(key);
      if (!s) this.senders.set(key, (s = new SyslogSender(target, this.opts)));
      this.byFleet.set(f.name, s);
    }
    const used = new Set(this.byFleet.values());
    for (const [key, s] of this.senders) {
      if (used.has(s)) continue;
      this.senders.delete(key);
      void s.close().then(() => this.retire(s.stats()));
    }
  }

  private retire(st: SinkStats): void {
    this.retired = { written: this.retired.written + st.written, dropped: this.retired.dropped + st.dropped, errors: this.retired.errors + st.errors };
  }

  /** the targets in use, e.g. ["udp://127.0.0.1:5514"] */
  targets(): string[] {
    return [...this.senders.keys()].sort();
  }

  write(ev: AttackerEvent): void {
    if (ev.fleet === undefined) return;
    this.byFleet.get(ev.fleet)?.send(syslogLine(ev, this.opts.format));
  }

  async flush(): Promise<void> {
    await Promise.all([...this.senders.values()].map((s) => s.flush()));
  }

  async close(): Promise<void> {
    const all = [...this.senders.values()];
    this.senders.clear();
    this.byFleet.clear();
    await Promise.all(all.map(async (s) => (await s.close(), this.retire(s.stats()))));
  }

  stats(): SinkStats {
    const st = { ...this.retired };
    for (const s of this.senders.values()) {
      const x = s.stats();
      st.written += x.written;
      st.dropped += x.dropped;
      st.errors += x.errors;
    }
    return st;
  }
}
