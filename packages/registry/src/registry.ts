/**
 * The shard registry of one cluster on Redis (ioredis). Every method either does
 * what it says or throws a typed RegistryError: RegistryUnavailable while Redis
 * cannot be reached (the client keeps reconnecting in the background),
 * StaleGeneration when a compare-and-set lost, PlacementCollision when the commit
 * script finds a decky or IP already held. Nothing secret is logged.
 *
 * No two applies can place one decky twice: every desired-slice write goes through
 * one Lua script (atomic) that checks the expected generation of every slice it
 * writes and, for a placement, the cluster epoch read with the snapshot it was
 * computed from (any desired commit bumps the epoch); the same script keeps the
 * decky -> host and fleet/ip -> decky indexes and refuses claims on entries held
 * elsewhere, so even writers that skip the epoch check cannot duplicate a decky or
 * an IP. A loser gets StaleGeneration/PlacementCollision, re-reads and re-places.
 */
import type { Redis } from 'ioredis';
import { sliceIndex, decodeDesired, decodeHost, decodeObserved, encodeHost, encodeSlice } from './codec.js';
import { mapError, openClient, silentRegistryLogger, type ClientOptions, type RegistryLogger } from './connection.js';
import { HostNotEmpty, PlacementCollision, RegistryError, StaleGeneration } from './errors.js';
import { clusterKeys, validateHostId, type ClusterKeys } from './keys.js';
import { COMMIT_LUA, HEARTBEAT_LUA, OBSERVED_LUA } from './scripts.js';
import { RegistryWatcher, type WatchOptions } from './watch.js';
import {
  DEFAULT_HOST_CAPACITY,
  type ChangeEvent,
  type ClusterSnapshot,
  type DesiredSlice,
  type HostInfo,
  type HostRegistration,
  type ObservedSlice,
} from './types.js';

export interface RegistryOptions extends ClientOptions {
  /** redis://[user[:password]@]host[:port][/db] or rediss://... */
  url: string;
  /** cluster name: namespaces every key (`decnet:{<cluster>}:...`) */
  cluster: string;
  logger?: RegistryLogger;
  /**
   * true (default): connect() waits until Redis answers (throws RegistryUnavailable /
   * RegistryAuth). false: connect() returns at once and the client connects in the
   * background (a controller that must keep healing while Redis is down).
   */
  waitReady?: boolean;
  /** how long connect() waits (default 5000 ms) */
  readyTimeoutMs?: number;
}

/** What a host should run, without the fields the registry sets (host, generation, time). */
export type SliceContent = Pick<DesiredSlice, 'fleets' | 'deckies' | 'secrets' | 'alertSecrets'>;

export interface CommitEntry {
  hostId: string;
  /** the slice generation this write was computed from (0 = no slice yet) */
  expectedGeneration: number;
  /** null deletes the slice */
  slice: SliceContent | null;
}

export interface CommitResult {
  epoch: number;
  rev: number;
  /** host id -> new slice generation (0 for deleted slices) */
  generations: Record<string, number>;
}

export type HostInput = Omit<HostRegistration, 'registeredAt' | 'capacity' | 'labels' | 'address' | 'controllerVersion'> &
  Partial<Pick<HostRegistration, 'capacity' | 'labels' | 'address' | 'controllerVersion'>>;

type ScriptReply = Array<string | number>;
interface ScriptClient {
  decnetCommit(numKeys: number, ...args: string[]): Promise<ScriptReply>;
  decnetObserved(...args: string[]): Promise<ScriptReply>;
  decnetHeartbeat(...args: string[]): Promise<ScriptReply>;
}

const str = (v: unknown) => String(v);

export class Registry {
  readonly keys: ClusterKeys;
  /** the URL without its password: safe to print */
  readonly target: string;
  private readonly secrets: Array<string | undefined>;
  private readonly log: RegistryLogger;
  private readonly watchers = new Set<RegistryWatcher>();

  private constructor(
    private readonly client: Redis,
    keys: ClusterKeys,
    target: string,
    password: string | undefined,
    log: RegistryLogger,
  ) {
    this.keys = keys;
    this.target = target;
    this.secrets = [password];
    this.log = log;
    client.defineCommand('decnetCommit', { lua: COMMIT_LUA });
    client.defineCommand('decnetObserved', { lua: OBSERVED_LUA, numberOfKeys: 2 });
    client.defineCommand('decnetHeartbeat', { lua: HEARTBEAT_LUA, numberOfKeys: 3 });
  }

  static async connect(opts: RegistryOptions): Promise<Registry> {
    const keys = clusterKeys(opts.cluster);
    const log = opts.logger ?? silentRegistryLogger;
    const { client, parsed } = await openClient(opts, log);
    return new Registry(client, keys, parsed.redacted, parsed.password, log);
  }

  get cluster(): string {
    return this.keys.cluster;
  }

  /** true while the connection is up */
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

  private get scripts(): ScriptClient {
    return this.client as unknown as ScriptClient;
  }

  /** Round-trip time in ms (throws RegistryUnavailable when down). */
  async ping(): Promise<number> {
    const t = performance.now();
    await this.run(() => this.client.ping());
    return performance.now() - t;
  }

  private async publish(kind: ChangeEvent['kind'], hosts: string[], rev: number): Promise<void> {
    await this.client.publish(this.keys.channel, JSON.stringify({ kind, hosts, rev }));
  }

  /* ---------------------------- hosts ---------------------------- */

  /**
   * A controller found the registry had forgotten its host (Redis restarted empty): until
   * `untilMs`, apply waits so that every live host can re-register and write its slice back
   * (placing earlier would see their deckies as unplaced and place them twice). Only grows.
   */
  async markRecovering(untilMs: number): Promise<void> {
    await this.run(() =>
      this.client.eval(
        "local cur = tonumber(redis.call('HGET', KEYS[1], 'recoveringUntil') or '0') if tonumber(ARGV[1]) > cur then redis.call('HSET', KEYS[1], 'recoveringUntil', ARGV[1]) end return 1",
        1,
        this.keys.meta,
        String(Math.floor(untilMs)),
      ),
    );
  }

  /** Register (or update) a host; registeredAt is kept from the first registration. */
  async registerHost(h: HostInput, now = new Date().toISOString()): Promise<HostRegistration> {
    validateHostId(h.id);
    const reg: HostRegistration = {
      id: h.id,
      address: h.address ?? '',
      labels: { ...(h.labels ?? {}) },
      capacity: h.capacity ?? DEFAULT_HOST_CAPACITY,
      controllerVersion: h.controllerVersion ?? '',
      registeredAt: now,
    };
    if (!Number.isInteger(reg.capacity) || reg.capacity < 0) throw new RegistryError('InvalidCapacity', `host ${h.id}: capacity must be a whole number >= 0 (got ${reg.capacity})`);
    const { registeredAt, ...fields } = encodeHost(reg);
    const key = this.keys.host(h.id);
    return this.run(async () => {
      const res = await this.client.multi().hsetnx(key, 'registeredAt', registeredAt!).hset(key, fields).sadd(this.keys.hosts, h.id).incr(this.keys.rev).hget(key, 'registeredAt').exec();
      const rev = Number(res?.[3]?.[1] ?? 0);
      await this.publish('host', [h.id], rev);
      return { ...reg, registeredAt: str(res?.[4]?.[1] ?? now) };
    });
  }

  /** Refresh a host's heartbeat (it is Ready while the key lives). Returns whether it was NotReady before. */
  async heartbeat(hostId: string, ttlMs: number, now = new Date().toISOString()): Promise<{ cameBack: boolean }> {
    if (!Number.isInteger(ttlMs) || ttlMs <= 0) throw new RegistryError('InvalidTtl', `heartbeat TTL must be a positive number of ms (got ${ttlMs})`);
    const k = this.keys;
    const r = await this.run(() => this.scripts.decnetHeartbeat(k.heartbeat(hostId), k.host(hostId), k.rev, now, String(ttlMs), k.channel, hostId));
    if (r[0] === 'unregistered') throw new RegistryError('HostNotRegistered', `host ${hostId} is not registered in cluster ${this.cluster}`, 'register it first (the controller does at start)');
    return { cameBack: Number(r[1]) === 1 };
  }

  async listHosts(): Promise<HostInfo[]> {
    return (await this.readAll()).hosts;
  }

  async getHost(hostId: string): Promise<HostInfo | undefined> {
    const k = this.keys;
    return this.run(async () => {
      const res = await this.client.multi().hgetall(k.host(hostId)).pttl(k.heartbeat(hostId)).exec();
      return hostInfo(k.host(hostId), res?.[0]?.[1] as Record<string, string>, Number(res?.[1]?.[1]));
    });
  }

  /**
   * Remove a host: its desired slice (releasing its deckies and IPs), observed
   * slice, registration and heartbeat. Refuses (HostNotEmpty) while its desired
   * slice has deckies, unless force.
   */
  async deleteHost(hostId: string, opts: { force?: boolean } = {}): Promise<{ deckies: string[] }> {
    const desired = await this.readDesired(hostId);
    const deckies = desired?.deckies.map((d) => d.spec.name) ?? [];
    if (deckies.length > 0 && !opts.force) throw new HostNotEmpty(hostId, deckies);
    if (desired) await this.commit([{ hostId, expectedGeneration: desired.generation, slice: null }]);
    const k = this.keys;
    await this.run(async () => {
      const res = await this.client.multi().del(k.host(hostId), k.heartbeat(hostId), k.observed(hostId)).srem(k.hosts, hostId).incr(k.rev).exec();
      await this.publish('host', [hostId], Number(res?.[2]?.[1] ?? 0));
    });
    return { deckies };
  }

  /* ---------------------------- slices ---------------------------- */

  async readDesired(hostId: string): Promise<DesiredSlice | undefined> {
    const key = this.keys.desired(hostId);
    const [gen, doc] = await this.run(() => this.client.hmget(key, 'gen', 'doc'));
    return decodeDesired(key, hostId, gen ?? null, doc ?? null);
  }

  /** Compare-and-set one host's desired slice: it must be at expectedGeneration; it becomes expectedGeneration + 1. */
  async writeDesired(hostId: string, slice: SliceContent, expectedGeneration: number): Promise<CommitResult> {
    return this.commit([{ hostId, expectedGeneration, slice }]);
  }

  /**
   * Atomically write (or delete) the desired slices of several hosts. With
   * expectedEpoch (the snapshot's epoch), any desired commit since that snapshot
   * makes this one stale. Throws StaleGeneration or PlacementCollision; nothing is
   * written then.
   */
  async commit(entries: readonly CommitEntry[], opts: { expectedEpoch?: number; now?: string } = {}): Promise<CommitResult> {
    if (entries.length === 0) throw new RegistryError('EmptyCommit', 'nothing to commit');
    const seen = new Set<string>();
    for (const e of entries) {
      validateHostId(e.hostId);
      if (seen.has(e.hostId)) throw new RegistryError('DuplicateCommitEntry', `host ${e.hostId} appears twice in one commit`);
      seen.add(e.hostId);
    }
    const now = opts.now ?? new Date().toISOString();
    const docs: string[] = [];
    const meta = {
      epoch: opts.expectedEpoch ?? -1,
      channel: this.keys.channel,
      entries: entries.map((e) => {
        if (e.slice === null) {
          docs.push('');
          return { host: e.hostId, expect: e.expectedGeneration, del: true, idx: [] };
        }
        const slice: DesiredSlice = { hostId: e.hostId, generation: e.expectedGeneration + 1, fleets: e.slice.fleets, deckies: e.slice.deckies, updatedAt: now };
        if (e.slice.secrets !== undefined && Object.keys(e.slice.secrets).length > 0) slice.secrets = e.slice.secrets;
        if (e.slice.alertSecrets !== undefined && Object.keys(e.slice.alertSecrets).length > 0) slice.alertSecrets = e.slice.alertSecrets;
        docs.push(encodeSlice(slice));
        return { host: e.hostId, expect: e.expectedGeneration, del: false, idx: sliceIndex(slice) };
      }),
    };
    const k = this.keys;
    const keys = [k.epoch, k.rev, k.deckyIndex, k.ipIndex, k.sliced, ...entries.map((e) => k.desired(e.hostId))];
    const r = await this.run(() => this.scripts.decnetCommit(keys.length, ...keys, JSON.stringify(meta), ...docs));
    if (r[0] === 'stale') {
      const scope = r[1] === 'epoch' ? 'epoch' : 'desired';
      throw new StaleGeneration(scope, scope === 'epoch' ? undefined : str(r[2]), Number(r[3]), Number(r[4]));
    }
    if (r[0] === 'collision') throw new PlacementCollision(r[1] === 'ip' ? 'ip' : 'decky', str(r[2]), str(r[3]));
    const generations: Record<string, number> = {};
    for (const e of entries) generations[e.hostId] = e.slice === null ? 0 : e.expectedGeneration + 1;
    this.log.debug?.({ cluster: this.cluster, hosts: Object.keys(generations), epoch: Number(r[1]) }, 'desired slices committed');
    return { epoch: Number(r[1]), rev: Number(r[2]), generations };
  }

  async readObserved(hostId: string): Promise<ObservedSlice | undefined> {
    const key = this.keys.observed(hostId);
    const [gen, doc, at] = await this.run(() => this.client.hmget(key, 'gen', 'doc', 'at'));
    return decodeObserved(key, hostId, gen ?? null, doc ?? null, at ?? null);
  }

  /**
   * Publish a host's observed slice for desired generation `generation`. Monotonic:
   * an older generation than the stored one is refused (StaleGeneration); the same
   * content only refreshes reportedAt (written: false, no change message).
   */
  async writeObserved(hostId: string, observed: Pick<ObservedSlice, 'deckies'>, generation: number, now = new Date().toISOString()): Promise<{ written: boolean; rev: number }> {
    if (!Number.isInteger(generation) || generation < 0) throw new RegistryError('InvalidGeneration', `observed generation must be a whole number >= 0 (got ${generation})`);
    const doc = encodeSlice({ hostId, generation, deckies: [...observed.deckies].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)) });
    const k = this.keys;
    const r = await this.run(() => this.scripts.decnetObserved(k.observed(hostId), k.rev, String(generation), doc, now, k.channel, hostId));
    if (r[0] === 'stale') throw new StaleGeneration('observed', hostId, generation, Number(r[1]));
    return { written: r[0] === 'ok', rev: Number(r[1]) };
  }

  /**
   * Everything of the cluster in one consistent MULTI (after one small read of the
   * host sets): hosts with readiness, all desired and observed slices, epoch, rev.
   */
  async readAll(): Promise<ClusterSnapshot> {
    const k = this.keys;
    return this.run(async () => {
      for (let attempt = 0; ; attempt++) {
        const ids = (await this.client.sunion(k.hosts, k.sliced)).sort();
        const m = this.client.multi().get(k.epoch).get(k.rev).smembers(k.hosts).smembers(k.sliced);
        for (const id of ids) m.hgetall(k.host(id)).pttl(k.heartbeat(id)).hmget(k.desired(id), 'gen', 'doc').hmget(k.observed(id), 'gen', 'doc', 'at');
        m.hget(k.meta, 'recoveringUntil');
        const res = (await m.exec()) ?? [];
        const val = (i: number): unknown => {
          const [err, v] = res[i] ?? [];
          if (err) throw err;
          return v;
        };
        const registered = new Set(val(2) as string[]);
        const sliced = new Set(val(3) as string[]);
        const now = new Set([...registered, ...sliced]);
        if ((now.size !== ids.length || ids.some((id) => !now.has(id))) && attempt < 3) continue; // membership moved: read again
        const snap: ClusterSnapshot = { cluster: this.cluster, epoch: Number(val(0) ?? 0), rev: Number(val(1) ?? 0), hosts: [], desired: {}, observed: {} };
        const recovering = Number(val(4 + ids.length * 4) ?? 0);
        if (recovering > 0) snap.recoveringUntil = recovering;
        ids.forEach((id, j) => {
          const b = 4 + j * 4;
          const info = hostInfo(k.host(id), val(b) as Record<string, string>, Number(val(b + 1)));
          if (info && registered.has(id)) snap.hosts.push(info);
          const [dg, dd] = val(b + 2) as Array<string | null>;
          const desired = decodeDesired(k.desired(id), id, dg ?? null, dd ?? null);
          if (desired) snap.desired[id] = desired;
          const [og, od, oa] = val(b + 3) as Array<string | null>;
          const observed = decodeObserved(k.observed(id), id, og ?? null, od ?? null, oa ?? null);
          if (observed) snap.observed[id] = observed;
        });
        return snap;
      }
    });
  }

  /* ---------------------------- changes ---------------------------- */

  /**
   * Call onChange after every change of the cluster: pub/sub on a separate
   * connection, backed by a poll of the revision and host readiness every pollMs
   * (a missed message only delays a change). onChange errors are caught and logged.
   */
  watch(onChange: (e: ChangeEvent) => void | Promise<void>, opts: WatchOptions = {}): RegistryWatcher {
    const w = new RegistryWatcher(this.client, this.keys, onChange, { ...opts, logger: opts.logger ?? this.log, target: this.target }, () => this.watchers.delete(w));
    this.watchers.add(w);
    w.start();
    return w;
  }

  /** Close watchers and the connection. */
  async close(): Promise<void> {
    await Promise.all([...this.watchers].map((w) => w.close()));
    if (this.client.status === 'ready') await this.client.quit().catch(() => this.client.disconnect());
    else this.client.disconnect();
  }
}

function hostInfo(key: string, fields: Record<string, string> | undefined, pttl: number): HostInfo | undefined {
  if (!fields || Object.keys(fields).length === 0) return undefined;
  const h = decodeHost(key, fields);
  const ready = pttl > 0 || pttl === -1;
  const info: HostInfo = { ...h, status: ready ? 'Ready' : 'NotReady' };
  if (pttl > 0) info.heartbeatTtlMs = pttl;
  return info;
}
