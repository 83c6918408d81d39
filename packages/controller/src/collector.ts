/**
 * The event collector: follows the logs of every managed service container of this
 * host, parses attacker events (event-parse.ts), enriches them from labels, folds
 * connection floods (event-fold.ts) and hands them to sinks.
 *
 * No loss across restarts: a cursor per container (cursor-store.ts) is resumed with
 * Docker's `since`, repeats at the boundary are skipped. A cursor is only committed
 * when everything read up to it has left the folder, so a kill -9 may repeat a few
 * events (at-least-once) but never loses one. Events of a container removed while
 * the collector was not running are lost: its logs go with it.
 *
 * The collector owns the sinks it is given (stop() closes them) and writes
 * `<stateDir>/controller.pid` while it runs, so `decnetctl events` knows to read
 * the collected file.
 */
import { readFile, rm, writeFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import {
  groupObserved,
  isOwned,
  LABEL_DECKY,
  LABEL_FLEET,
  LABEL_ROLE,
  LABEL_SERVICE,
  labelValue,
  type AttackerEvent,
  type ObservedContainer,
  type ObservedNetwork,
  type ObservedVolume,
  type ResolvedFleet,
} from '@decnet/api';
import { pidAlive, type Engine, type EngineEvent } from '@decnet/engine';
import type { ControllerExtension } from './controller.js';
import { backoffDelay } from './backoff.js';
import { CursorStore, CursorTracker, sinceParam, type LogCursor } from './cursor-store.js';
import { EventFolder } from './event-fold.js';
import { parseEventLine, type EventSource } from './event-parse.js';
import { isFresh, readStatusFile } from './status-store.js';
import { fanOut, silentLog, type CollectorLog, type EventSink, type SinkStats } from './sinks.js';

export interface EventCollectorOptions {
  engine: Engine;
  hostId: string;
  stateDir: string;
  sinks: EventSink[];
  log?: CollectorLog;
  /** every event handed to the sinks (metrics, tests) */
  onEvent?: (ev: AttackerEvent) => void;
  /** how often dirty cursors are written, ms (default 1000) */
  flushIntervalMs?: number;
  /** folding window, ms (default 1000) */
  foldWindowMs?: number;
  /** write `<stateDir>/controller.pid` while running (default true) */
  pidFile?: boolean;
}

export interface CollectorStats {
  followers: number;
  lines: number;
  events: number;
  ignored: number;
  invalid: number;
  repeatsSkipped: number;
  sinks: Record<string, SinkStats>;
}

interface Follower {
  id: string;
  name: string;
  source: EventSource;
  state: string;
  /** state + start time, to notice a restart */
  runKey: string;
  folder: EventFolder;
  ac?: AbortController;
  done?: Promise<void>;
  cursor?: LogCursor;
  failures: number;
  retry?: NodeJS.Timeout;
  removed: boolean;
}

export const controllerPidPath = (stateDir: string): string => join(stateDir, 'controller.pid');
export const cursorsPath = (stateDir: string): string => join(stateDir, 'events', 'cursors.json');

export class EventCollector {
  private readonly store: CursorStore;
  private readonly followers = new Map<string, Follower>();
  private readonly log: CollectorLog;
  private readonly counters = { lines: 0, events: 0, ignored: 0, invalid: 0, repeatsSkipped: 0 };
  private flushTimer?: NodeJS.Timeout;
  private tickTimer?: NodeJS.Timeout;
  private running = false;
  private started?: Promise<void>;

  private readonly folded: EventSink[];
  private readonly unfolded: EventSink[];

  constructor(private readonly opts: EventCollectorOptions) {
    this.folded = opts.sinks.filter((s) => !s.unfolded);
    this.unfolded = opts.sinks.filter((s) => s.unfolded);
    this.store = new CursorStore(cursorsPath(opts.stateDir));
    this.log = opts.log ?? silentLog;
  }

  /** Loads cursors, writes the pid file, starts the timers. Idempotent. */
  start(): Promise<void> {
    return (this.started ??= this.doStart());
  }

  private async doStart(): Promise<void> {
    const n = await this.store.load();
    this.running = true;
    if (this.opts.pidFile !== false) {
      await mkdir(this.opts.stateDir, { recursive: true });
      await writeFile(controllerPidPath(this.opts.stateDir), `${JSON.stringify({ pid: process.pid, hostId: this.opts.hostId, started: new Date().toISOString() })}\n`);
    }
    this.flushTimer = setInterval(() => void this.saveCursors(), this.opts.flushIntervalMs ?? 1000);
    this.tickTimer = setInterval(() => this.tick(), 250);
    this.flushTimer.unref();
    this.tickTimer.unref();
    this.log.info({ cursors: n, sinks: this.opts.sinks.map((s) => s.name) }, 'event collector started');
  }

  /**
   * Called after every successful observe with the full container list (and the
   * networks, whose fleet specs carry the logTargets). Starts following new service
   * containers, restarts followers of restarted ones, drops the ones that are gone.
   */
  sync(containers: readonly ObservedContainer[], networks?: readonly ObservedNetwork[], volumes?: readonly ObservedVolume[]): void {
    if (!this.running) return;
    if (networks) {
      // the effective fleets: network part plus settings volume (logTarget, alert routes)
      const g = groupObserved({ hostId: this.opts.hostId, containers: [], networks: [...networks], labs: [], volumes: [...(volumes ?? [])] });
      const fleets: ResolvedFleet[] = g.fleets.flatMap((f) => (f.spec ? [f.spec] : []));
      for (const s of this.opts.sinks) s.setFleets?.(fleets);
    }
    const seen = new Set<string>();
    for (const c of containers) {
      if (!isOwned(c.labels, this.opts.hostId) || labelValue(c.labels, LABEL_ROLE) !== 'service' || c.state === 'removing') continue;
      seen.add(c.id);
      const runKey = `${c.state}|${c.startedAt ?? ''}`;
      const f = this.followers.get(c.id);
      if (!f) {
        this.follow(this.newFollower(c, runKey));
        continue;
      }
      const restarted = f.runKey !== runKey;
      f.state = c.state;
      f.runKey = runKey;
      if (!f.done && restarted) this.follow(f);
    }
    for (const [id, f] of this.followers) if (!seen.has(id)) this.drop(f);
    for (const id of this.store.ids()) if (!seen.has(id) && !this.followers.has(id)) this.store.delete(id);
  }

  /**
   * An engine event of a managed container (a hint, ahead of the next sync): a started
   * service container is followed at once, a destroyed one is dropped.
   */
  notice(e: Pick<EngineEvent, 'action' | 'id' | 'name' | 'labels'>): void {
    if (!this.running || !isOwned(e.labels, this.opts.hostId) || labelValue(e.labels, LABEL_ROLE) !== 'service') return;
    if (e.action === 'destroy') {
      const f = this.followers.get(e.id);
      if (f) this.drop(f);
      return;
    }
    if (e.action !== 'start' && e.action !== 'restart') return;
    const f = this.followers.get(e.id) ?? this.newFollower({ id: e.id, name: e.name ?? e.id.slice(0, 12), image: '', labels: e.labels, state: 'running' }, 'running|');
    f.state = 'running';
    if (!f.done) this.follow(f);
  }

  private newFollower(c: ObservedContainer, runKey: string): Follower {
    const source: EventSource = { host: this.opts.hostId };
    const fleet = labelValue(c.labels, LABEL_FLEET);
    const decky = labelValue(c.labels, LABEL_DECKY);
    const service = labelValue(c.labels, LABEL_SERVICE);
    if (fleet !== undefined) source.fleet = fleet;
    if (decky !== undefined) source.decky = decky;
    if (service !== undefined) source.service = service;
    const f: Follower = { id: c.id, name: c.name, source, state: c.state, runKey, folder: new EventFolder({ windowMs: this.opts.foldWindowMs ?? 1000 }), failures: 0, removed: false };
    this.followers.set(c.id, f);
    return f;
  }

  private follow(f: Follower): void {
    if (!this.running || f.removed || f.done) return;
    if (f.retry) clearTimeout(f.retry);
    f.retry = undefined;
    const ac = new AbortController();
    f.ac = ac;
    f.done = this.run(f, ac.signal).finally(() => {
      f.done = undefined;
      f.ac = undefined;
      if (!this.running || f.removed || ac.signal.aborted) return;
      // the stream ended by itself: the container stopped, or the engine dropped us
      if (f.state === 'running') {
        const delay = backoffDelay(f.failures++, { baseMs: 1000, maxMs: 60_000, jitter: 0 });
        f.retry = setTimeout(() => this.follow(f), delay);
        f.retry.unref();
      }
    });
  }

  private async run(f: Follower, signal: AbortSignal): Promise<void> {
    const start = this.store.get(f.id);
    const tracker = new CursorTracker(start);
    const since = start ? sinceParam(start.time) : undefined;
    try {
      for await (const l of this.opts.engine.logs(f.id, { follow: true, signal, ...(since !== undefined ? { since } : {}) })) {
        if (!tracker.accept(l.time)) {
          this.counters.repeatsSkipped++;
          continue;
        }
        this.counters.lines++;
        f.failures = 0;
        if (l.stream === 'stdout') {
          const r = parseEventLine(l.line, f.source);
          if (r.kind === 'event') {
            if (this.unfolded.length > 0) fanOut(this.unfolded, r.event, this.log);
            this.emitAll(f.folder.push(r.event));
          }
          else this.counters[r.kind === 'invalid' ? 'invalid' : 'ignored']++;
        }
        f.cursor = tracker.cursor;
        if (f.folder.pending() === 0) this.commit(f);
      }
    } catch (err) {
      if (!signal.aborted) this.log.warn({ container: f.name, err: (err as Error).message }, 'log stream failed');
    } finally {
      this.emitAll(f.folder.flush());
      this.commit(f);
    }
  }

  private commit(f: Follower): void {
    if (f.cursor && !f.removed) this.store.set(f.id, f.cursor, f.name);
  }

  private drop(f: Follower): void {
    f.removed = true;
    if (f.retry) clearTimeout(f.retry);
    f.ac?.abort();
    this.followers.delete(f.id);
    this.store.delete(f.id);
  }

  private tick(): void {
    const now = Date.now();
    for (const f of this.followers.values()) {
      if (f.folder.pending() === 0) continue;
      this.emitAll(f.folder.tick(now));
      if (f.folder.pending() === 0) this.commit(f);
    }
  }

  private emitAll(evs: AttackerEvent[]): void {
    for (const ev of evs) this.emitTo(this.folded, ev);
  }

  /** Hands one event the controller makes (e.g. decky_mutated) to every sink. */
  emit(ev: AttackerEvent): void {
    this.emitTo(this.opts.sinks, ev);
  }

  private emitTo(sinks: readonly EventSink[], ev: AttackerEvent): void {
    this.counters.events++;
    fanOut(sinks, ev, this.log);
    try {
      this.opts.onEvent?.(ev);
    } catch {
      // observers never break collection
    }
  }

  private async saveCursors(): Promise<void> {
    try {
      await this.store.save();
    } catch (err) {
      this.log.warn({ path: this.store.path, err: (err as Error).message }, 'cannot write event cursors');
    }
  }

  /** Stops following, flushes folded events and cursors, closes the sinks, removes the pid file. */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    clearInterval(this.flushTimer);
    clearInterval(this.tickTimer);
    const pending: Promise<void>[] = [];
    for (const f of this.followers.values()) {
      if (f.retry) clearTimeout(f.retry);
      f.ac?.abort();
      if (f.done) pending.push(f.done);
    }
    await Promise.allSettled(pending);
    await this.saveCursors();
    await Promise.allSettled(this.opts.sinks.map(async (s) => (await s.flush?.(), await s.close())));
    if (this.opts.pidFile !== false) await removePidFile(this.opts.stateDir);
    this.log.info(this.stats(), 'event collector stopped');
  }

  stats(): CollectorStats {
    return {
      followers: [...this.followers.values()].filter((f) => f.done).length,
      ...this.counters,
      sinks: Object.fromEntries(this.opts.sinks.map((s) => [s.name, s.stats()])),
    };
  }
}

async function removePidFile(stateDir: string): Promise<void> {
  const path = controllerPidPath(stateDir);
  const pid = await readPid(path);
  if (pid?.pid === process.pid) await rm(path, { force: true });
}

async function readPid(path: string): Promise<{ pid: number; hostId?: string } | undefined> {
  try {
    const text = (await readFile(path, 'utf8')).trim();
    if (/^\d+$/.test(text)) return { pid: Number(text) };
    const j = JSON.parse(text) as { pid?: unknown; hostId?: unknown };
    return typeof j.pid === 'number' ? { pid: j.pid, ...(typeof j.hostId === 'string' ? { hostId: j.hostId } : {}) } : undefined;
  } catch {
    return undefined;
  }
}


/**
 * Is a controller collecting events into `stateDir` for this host? Yes when its status
 * file (status-store.ts) is fresh or the collector's pid file names a live process of this host.
 */
export async function collectorRunning(stateDir: string, hostId: string, opts: { now?: number } = {}): Promise<{ running: boolean; via?: 'status' | 'pid' }> {
  const status = await readStatusFile(stateDir, hostId);
  if (status && isFresh(status, opts.now ?? Date.now())) return { running: true, via: 'status' };
  const p = await readPid(controllerPidPath(stateDir));
  if (p && pidAlive(p.pid) && (p.hostId === undefined || p.hostId === hostId)) return { running: true, via: 'pid' };
  return { running: false };
}

/** The collector as a controller extension: started/stopped with it, fed every observation and engine event. */
export function collectorExtension(collector: EventCollector): ControllerExtension {
  return {
    name: 'events',
    start: () => collector.start(),
    stop: () => collector.stop(),
    onResync: (observed) => collector.sync(observed.containers, observed.networks, observed.volumes),
    onEvent: (e) => collector.notice(e),
  };
}
