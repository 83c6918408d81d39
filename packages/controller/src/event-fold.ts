/**
 * Folding of connection floods (DOMAIN.md "Attacker events"): connection/disconnect
 * events with the same (host, fleet, src_ip, decky, service, event type) whose times
 * lie within `windowMs` (1 s) of the first one become a single event carrying
 * `count` = number folded (input counts add up). The folded event keeps the first
 * event's fields. Single events pass unchanged (no count added).
 *
 * Order is preserved: a folded event takes its first event's position, so events
 * after an open group are held back until the group closes. A group closes when an
 * event at least `windowMs` later (by event time) is pushed, on `tick(now)`, or on
 * `flush()`. Events without src_ip or with an unparsable time are never folded.
 */
import type { AttackerEvent } from '@decnet/api';

export interface FoldOptions {
  /** default 1000 */
  windowMs?: number;
  /** event types folded (default connection, disconnect) */
  types?: readonly string[];
  /** most events held back before the oldest open group is force-closed (default 10000) */
  maxBuffered?: number;
}

interface Entry {
  event: AttackerEvent;
  count: number;
  start: number;
  open: boolean;
  key?: string;
}

export class EventFolder {
  private readonly windowMs: number;
  private readonly types: ReadonlySet<string>;
  private readonly maxBuffered: number;
  private readonly buffered: Entry[] = [];
  private readonly groups = new Map<string, Entry>();
  private watermark = Number.NEGATIVE_INFINITY;

  constructor(opts: FoldOptions = {}) {
    this.windowMs = opts.windowMs ?? 1000;
    this.types = new Set(opts.types ?? ['connection', 'disconnect']);
    this.maxBuffered = opts.maxBuffered ?? 10_000;
  }

  /** Adds one event; returns the events that are now final, in order. */
  push(ev: AttackerEvent): AttackerEvent[] {
    const t = Date.parse(ev.time);
    if (Number.isFinite(t)) {
      this.watermark = Math.max(this.watermark, t);
      this.closeOlderThan(this.watermark);
    }
    const n = ev.count !== undefined && ev.count > 0 ? ev.count : 1;
    if (this.types.has(ev.event) && ev.src_ip !== undefined && Number.isFinite(t)) {
      const key = JSON.stringify([ev.host, ev.fleet, ev.src_ip, ev.decky, ev.service, ev.event]);
      const g = this.groups.get(key);
      if (g && Math.abs(t - g.start) < this.windowMs) {
        g.count += n;
      } else {
        if (g) {
          // only reachable with times going backwards: the old group is done
          g.open = false;
          this.groups.delete(key);
        }
        const entry: Entry = { event: ev, count: n, start: t, open: true, key };
        this.groups.set(key, entry);
        this.buffered.push(entry);
      }
    } else {
      this.buffered.push({ event: ev, count: n, start: t, open: false });
    }
    while (this.buffered.length > this.maxBuffered && this.groups.size > 0) this.closeOldestGroup();
    return this.drain();
  }

  /** Closes groups whose window has passed at `nowMs` (call periodically on idle streams). */
  tick(nowMs: number): AttackerEvent[] {
    this.closeOlderThan(nowMs);
    return this.drain();
  }

  /** Closes every group and returns all held events. */
  flush(): AttackerEvent[] {
    for (const e of this.buffered) e.open = false;
    this.groups.clear();
    return this.drain();
  }

  /** events held back (open groups and what waits behind them) */
  pending(): number {
    return this.buffered.length;
  }

  /**
   * Groups are kept in creation order, which is start order unless event times go
   * backwards; stopping at the first group still open keeps this O(closed groups), and
   * an out-of-order group merely closes a little late (folding still checks its window).
   */
  private closeOlderThan(now: number): void {
    for (const [key, g] of this.groups) {
      if (now < g.start + this.windowMs) break;
      g.open = false;
      this.groups.delete(key);
    }
  }

  private closeOldestGroup(): void {
    const first = this.buffered.find((e) => e.open);
    if (!first) return;
    first.open = false;
    this.groups.delete(first.key!);
  }

  private drain(): AttackerEvent[] {
    const out: AttackerEvent[] = [];
    while (this.buffered.length > 0 && !this.buffered[0]!.open) {
      const e = this.buffered.shift()!;
      out.push(e.count > 1 || e.event.count !== undefined ? { ...e.event, count: e.count } : e.event);
    }
    return out;
  }
}

/** Folds a whole batch (in input order). */
export function foldEvents(events: Iterable<AttackerEvent>, opts: FoldOptions = {}): AttackerEvent[] {
  const f = new EventFolder(opts);
  const out: AttackerEvent[] = [];
  for (const ev of events) out.push(...f.push(ev));
  out.push(...f.flush());
  return out;
}
