/**
 * Change notification: a subscriber connection (pub/sub on the cluster's change
 * channel, resubscribed by ioredis after a reconnect) plus a periodic poll of the
 * change revision and of which hosts have a live heartbeat. A message lost while
 * disconnected, or a heartbeat that expired (Redis sends nothing for that), is
 * seen by the next poll. Never throws: errors of onChange and of the poll are logged.
 */
import type { Redis } from 'ioredis';
import { scrub, silentRegistryLogger, type RegistryLogger } from './connection.js';
import type { ClusterKeys } from './keys.js';
import type { ChangeEvent, ChangeMessage } from './types.js';

export interface WatchOptions {
  /** poll period (default 2000 ms) */
  pollMs?: number;
  /** false: poll only (no subscriber connection) */
  subscribe?: boolean;
  logger?: RegistryLogger;
}

export class RegistryWatcher {
  private sub?: Redis;
  private timer?: NodeJS.Timeout;
  private lastRev = -1;
  private ready?: string;
  private polling = false;
  private closed = false;
  private readonly log: RegistryLogger;

  constructor(
    private readonly client: Redis,
    private readonly keys: ClusterKeys,
    private readonly onChange: (e: ChangeEvent) => void | Promise<void>,
    private readonly opts: WatchOptions & { target: string },
    private readonly onClose: () => void,
  ) {
    this.log = opts.logger ?? silentRegistryLogger;
  }

  start(): void {
    if (this.opts.subscribe !== false) {
      // its own connection: a subscribed connection cannot run other commands
      const sub = this.client.duplicate({ enableOfflineQueue: true, maxRetriesPerRequest: null, commandTimeout: undefined, lazyConnect: false });
      this.sub = sub;
      sub.on('error', (err: Error) => this.log.debug?.({ target: this.opts.target, err: scrub(err.message, [sub.options.password]) }, 'registry subscriber error'));
      sub.on('message', (_channel: string, text: string) => this.onMessage(text));
      sub.subscribe(this.keys.channel).catch((err: Error) => this.log.warn({ target: this.opts.target, err: err.message }, 'registry subscribe failed; polling only'));
    }
    void this.poll(true);
    const pollMs = this.opts.pollMs ?? 2000;
    this.timer = setInterval(() => void this.poll(false), pollMs);
    this.timer.unref?.();
  }

  /** The last revision this watcher has reported (or its baseline). */
  get revision(): number {
    return this.lastRev;
  }

  private onMessage(text: string): void {
    let m: ChangeMessage;
    try {
      m = JSON.parse(text) as ChangeMessage;
    } catch {
      return;
    }
    if (typeof m.rev !== 'number' || m.rev <= this.lastRev) return;
    this.lastRev = m.rev;
    const hosts = Array.isArray(m.hosts) ? m.hosts : [];
    this.emit({ source: 'message', rev: m.rev, kind: m.kind, hosts });
  }

  private async poll(baseline: boolean): Promise<void> {
    if (this.polling || this.closed) return;
    this.polling = true;
    try {
      const k = this.keys;
      const res = await this.client.multi().get(k.rev).smembers(k.hosts).exec();
      const rev = Number(res?.[0]?.[1] ?? 0);
      const ids = ((res?.[1]?.[1] as string[] | undefined) ?? []).sort();
      const beats = ids.length > 0 ? await this.client.mget(...ids.map((id) => k.heartbeat(id))) : [];
      const ready = ids.filter((_, i) => beats[i] !== null).join(',');
      if (this.closed) return;
      const revChanged = rev > this.lastRev;
      const readyChanged = this.ready !== undefined && ready !== this.ready;
      if (revChanged) this.lastRev = rev;
      const before = new Set((this.ready ?? '').split(',').filter(Boolean));
      const after = new Set(ready.split(',').filter(Boolean));
      this.ready = ready;
      if (baseline) return;
      if (readyChanged) {
        const flipped = [...new Set([...before, ...after])].filter((h) => before.has(h) !== after.has(h)).sort();
        this.emit({ source: 'poll', rev, kind: 'host', hosts: flipped });
      } else if (revChanged) this.emit({ source: 'poll', rev });
    } catch (err) {
      this.log.debug?.({ target: this.opts.target, err: (err as Error).message }, 'registry poll failed');
    } finally {
      this.polling = false;
    }
  }

  private emit(e: ChangeEvent): void {
    if (this.closed) return;
    try {
      const r = this.onChange(e);
      if (r && typeof (r as Promise<void>).catch === 'function') (r as Promise<void>).catch((err: Error) => this.log.warn({ err: err.message }, 'registry change handler failed'));
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'registry change handler failed');
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    const sub = this.sub;
    this.sub = undefined;
    if (sub) {
      if (sub.status === 'ready') await sub.quit().catch(() => sub.disconnect());
      else sub.disconnect();
    }
    this.onClose();
  }
}
