/**
 * One attacker-event stream for the whole cluster: the Redis stream `<prefix>events`
 * (`decnet:{<cluster>}:events`), fed by every controller (ClusterStreamSink) and read
 * by `decnetctl events|attackers --registry`.
 *
 * - Entries have two fields: `id` (sha256 hex of the event's canonical JSON) and `ev`
 *   (the event's JSON). Stream ids are the append time (server clock), so a time-based
 *   read starts at `<since ms>` and then filters on the event's own time.
 * - No duplicates: the append is one Lua script that skips an event whose id was already
 *   appended (a `<prefix>events:seen:<id>` marker set NX with a TTL of the max age), so
 *   re-sending a batch after an unclear failure (timeout, lost reply) is harmless.
 * - Trimming is approximate (whole stream nodes): MAXLEN ~ maxLen on every XADD and
 *   MINID ~ (now - maxAge) after every batch.
 */
import { canonicalHash, type AttackerEvent } from '@decnet/api';
import { Redis } from 'ioredis';
import { clientOptions, openClient, mapError, silentRegistryLogger, waitReady, type ClientOptions, type RegistryLogger } from './connection.js';
import { clusterKeys, type ClusterKeys } from './keys.js';
import { APPEND_EVENTS_LUA } from './scripts.js';
import type { ParsedRegistryUrl } from './url.js';

export const DEFAULT_EVENTS_MAX_LEN = 1_000_000;
export const DEFAULT_EVENTS_MAX_AGE_MS = 7 * 24 * 3600 * 1000;

export interface EventStreamOptions extends ClientOptions {
  url: string;
  cluster: string;
  logger?: RegistryLogger;
  /** approximate maximum number of entries (default 1,000,000) */
  maxLen?: number;
  /** approximate maximum age of entries, and TTL of the dedupe markers (default 7 days) */
  maxAgeMs?: number;
  /** true (default): connect() waits until Redis answers; false: connect in the background */
  waitReady?: boolean;
  readyTimeoutMs?: number;
}

export interface EventFilter {
  /** unix ms: only events at or after this time */
  since?: number;
  fleet?: string;
  decky?: string;
  service?: string;
  host?: string;
  /** at most this many events (the newest matching ones) */
  limit?: number;
}

export interface ClusterEvent {
  /** sha256 hex of the canonical JSON of the event */
  id: string;
  /** the Redis stream entry id (append time in ms, sequence) */
  streamId: string;
  event: AttackerEvent;
}

export interface AppendResult {
  added: number;
  duplicates: number;
}

/** The dedupe id of an event: sha256 of its canonical JSON. */
export const eventId = (ev: AttackerEvent): string => canonicalHash(ev);

export function eventMatches(ev: AttackerEvent, f: EventFilter): boolean {
  if (f.fleet !== undefined && ev.fleet !== f.fleet) return false;
  if (f.decky !== undefined && ev.decky !== f.decky) return false;
  if (f.service !== undefined && ev.service !== f.service) return false;
  if (f.host !== undefined && ev.host !== f.host) return false;
  if (f.since !== undefined && !(Date.parse(ev.time) >= f.since)) return false;
  return true;
}

type Entry = [string, string[]];

function decodeEntry([streamId, fields]: Entry): ClusterEvent | undefined {
  let id: string | undefined;
  let json: string | undefined;
  for (let i = 0; i + 1 < fields.length; i += 2) {
    if (fields[i] === 'id') id = fields[i + 1];
    else if (fields[i] === 'ev') json = fields[i + 1];
  }
  if (json === undefined) return undefined;
  try {
    const event = JSON.parse(json) as AttackerEvent;
    if (typeof event !== 'object' || event === null || typeof event.time !== 'string') return undefined;
    return { id: id ?? '', streamId, event };
  } catch {
    return undefined;
  }
}

const PAGE = 1000;
const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((r) => {
    const t = setTimeout(r, ms);
    signal?.addEventListener('abort', () => (clearTimeout(t), r()), { once: true });
  });

interface AppendClient {
  decnetAppendEvents(numKeys: number, ...args: string[]): Promise<[number, number]>;
}

export class ClusterEventStream {
  readonly keys: ClusterKeys;
  readonly target: string;
  readonly maxLen: number;
  readonly maxAgeMs: number;
  private readonly secrets: Array<string | undefined>;
  private readonly followers = new Set<Redis>();
  private closed = false;

  private constructor(
    private readonly client: Redis,
    private readonly parsed: ParsedRegistryUrl,
    private readonly opts: EventStreamOptions,
  ) {
    this.keys = clusterKeys(opts.cluster);
    this.target = parsed.redacted;
    this.secrets = [parsed.password];
    this.maxLen = Math.max(1, Math.floor(opts.maxLen ?? DEFAULT_EVENTS_MAX_LEN));
    this.maxAgeMs = Math.max(1, Math.floor(opts.maxAgeMs ?? DEFAULT_EVENTS_MAX_AGE_MS));
    client.defineCommand('decnetAppendEvents', { lua: APPEND_EVENTS_LUA });
  }

  static async connect(opts: EventStreamOptions): Promise<ClusterEventStream> {
    clusterKeys(opts.cluster);
    const { client, parsed } = await openClient({ ...opts, connectionName: opts.connectionName ?? 'decnet-events' }, opts.logger ?? silentRegistryLogger);
    return new ClusterEventStream(client, parsed, opts);
  }

  get connected(): boolean {
    return this.client.status === 'ready';
  }

  private async run<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (e) {
      throw mapError(e, this.target, this.secrets);
    }
  }

  /**
   * Append events in order, skipping any whose id was appended before (within the max
   * age). Throws RegistryUnavailable / RegistryError; retrying the same batch is safe.
   */
  async appendEvents(events: readonly AttackerEvent[], ids?: readonly string[]): Promise<AppendResult> {
    if (events.length === 0) return { added: 0, duplicates: 0 };
    const keys: string[] = [this.keys.events];
    const args: string[] = [String(this.maxLen), String(this.maxAgeMs), String(this.maxAgeMs)];
    events.forEach((ev, i) => {
      const id = ids?.[i] ?? eventId(ev);
      keys.push(this.keys.eventSeen(id));
      args.push(id, JSON.stringify(ev));
    });
    const [added, duplicates] = await this.run(() => (this.client as unknown as AppendClient).decnetAppendEvents(keys.length, ...keys, ...args));
    return { added: Number(added), duplicates: Number(duplicates) };
  }

  /** Number of entries in the stream. */
  async length(): Promise<number> {
    return this.run(() => this.client.xlen(this.keys.events));
  }

  /** Matching events, oldest first (append order). With a limit: the newest `limit` of them. */
  async readEvents(f: EventFilter = {}): Promise<ClusterEvent[]> {
    const start = f.since !== undefined ? String(Math.max(0, Math.floor(f.since))) : '-';
    const out: ClusterEvent[] = [];
    if (f.limit !== undefined) {
      if (f.limit <= 0) return [];
      let end = '+';
      for (;;) {
        const page = (await this.run(() => this.client.xrevrange(this.keys.events, end, start, 'COUNT', PAGE))) as Entry[];
        for (const e of page) {
          const ce = decodeEntry(e);
          if (ce && eventMatches(ce.event, f)) out.push(ce);
          if (out.length >= f.limit) return out.reverse();
        }
        if (page.length < PAGE) return out.reverse();
        end = `(${page[page.length - 1]![0]}`;
      }
    }
    let from = start;
    for (;;) {
      const page = (await this.run(() => this.client.xrange(this.keys.events, from, '+', 'COUNT', PAGE))) as Entry[];
      for (const e of page) {
        const ce = decodeEntry(e);
        if (ce && eventMatches(ce.event, f)) out.push(ce);
      }
      if (page.length < PAGE) return out;
      from = `(${page[page.length - 1]![0]}`;
    }
  }

  /**
   * Call onEvent for every matching event appended from now on (after the events since
   * `f.since` when given), until the signal aborts. Uses a dedicated connection (XREAD
   * BLOCK); rides out registry outages by retrying from the last entry seen.
   * `onError` hears about outages (default: silent).
   */
  async followEvents(f: Omit<EventFilter, 'limit'>, onEvent: (ev: ClusterEvent) => void, signal: AbortSignal, opts: { blockMs?: number; onError?: (err: Error) => void } = {}): Promise<void> {
    if (signal.aborted) return;
    const blockMs = opts.blockMs ?? 2000;
    // from just before `since` (XREAD pages through the past too), else from the newest entry
    let last: string;
    if (f.since !== undefined) last = f.since >= 1 ? `${Math.floor(f.since) - 1}-18446744073709551615` : '0-0';
    else {
      const top = (await this.run(() => this.client.xrevrange(this.keys.events, '+', '-', 'COUNT', 1))) as Entry[];
      last = top[0]?.[0] ?? '0-0';
    }
    const o = clientOptions(this.parsed, { ...this.opts, connectionName: `${this.opts.connectionName ?? 'decnet-events'}-follow` });
    delete o.commandTimeout;
    const sub = new Redis({ ...o, lazyConnect: false });
    sub.on('error', () => {});
    this.followers.add(sub);
    const onAbort = () => sub.disconnect();
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      while (!signal.aborted && !this.closed) {
        try {
          if (sub.status !== 'ready') await waitReady(sub, this.target, 5000, this.secrets);
          const res = (await sub.xread('COUNT', PAGE, 'BLOCK', blockMs, 'STREAMS', this.keys.events, last)) as Array<[string, Entry[]]> | null;
          for (const [, entries] of res ?? []) {
            for (const e of entries) {
              last = e[0];
              const ce = decodeEntry(e);
              if (ce && eventMatches(ce.event, f)) onEvent(ce);
            }
          }
        } catch (err) {
          if (signal.aborted || this.closed) break;
          opts.onError?.(mapError(err, this.target, this.secrets));
          await sleep(500, signal);
        }
      }
    } finally {
      signal.removeEventListener('abort', onAbort);
      this.followers.delete(sub);
      sub.disconnect();
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const s of this.followers) s.disconnect();
    this.followers.clear();
    if (this.client.status === 'ready') await this.client.quit().catch(() => this.client.disconnect());
    else this.client.disconnect();
  }
}
