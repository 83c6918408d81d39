/**
 * The controller's link to the shard registry (a ControllerExtension): registers the
 * host and keeps its heartbeat, pulls its desired slice (change messages + a poll),
 * materialises it as labelled containers (observe -> planRegistrySync -> execute under
 * the host lock, the slice's secrets feeding the executor), and publishes the observed
 * slice (phase, conditions, spec hash, generation per decky) after every pass and
 * whenever the controller's status of a decky changes.
 *
 * Redis is never on the local loop's path: while it is unreachable, the controller keeps
 * healing from labels (and this sync keeps using the last slice it read); when it comes
 * back, the host re-registers if needed and both directions are resynced. A registry
 * that lost its data (revision lower than the ledger's) gets this host's slice back
 * from the labels of the deckies it had placed here.
 */
import { canonicalHash, groupObserved, type GroupedState, type ObservedState } from '@decnet/api';
import { execute, withHostLock, type Engine } from '@decnet/engine';
import { RegistryError, RegistryUnavailable, StaleGeneration, type DesiredSlice, type ObservedDecky, type Registry, type RegistryWatcher, RECOVERY_TTL_FACTOR } from '@decnet/registry';
import type { ControllerExtension } from './controller.js';
import { silentLogger, type Logger } from './logger.js';
import type { LockFn } from './reconciler.js';
import { readLedger, writeLedger, type RegistryLedger } from './registry-ledger.js';
import { observedDeckies, planRegistrySync } from './registry-plan.js';
import type { DeckyStatus } from './status.js';

export interface RegistrySyncOptions {
  registry: Registry;
  engine: Engine;
  hostId: string;
  host?: { address?: string; labels?: Record<string, string>; capacity?: number; controllerVersion?: string };
  /** heartbeat TTL (default 10 s); the heartbeat is refreshed every TTL/3 */
  heartbeatTtlMs?: number;
  /** desired-slice poll period besides change messages (default 2 s) */
  pollMs?: number;
  /** how often status changes are looked for and published (default 1 s) */
  publishMs?: number;
  logger?: Logger;
  /** default: withHostLock on the engine's state dir (waits up to 60 s) */
  lock?: LockFn;
  parallelism?: number;
  /** make sure images exist before creating containers (the CLI builds decnet/honeypot) */
  ensureImages?: (images: string[]) => Promise<void>;
}

export interface SyncPassResult {
  /** where the slice came from: the registry, the last one read (registry down), or none */
  source: 'registry' | 'cache' | 'none';
  generation?: number;
  ops: number;
  pruned: string[];
  refused: Record<string, string>;
  reseeded?: boolean;
  engineReachable: boolean;
}

const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

export class RegistrySync implements ControllerExtension {
  readonly name = 'registry';
  private readonly log: Logger;
  private readonly ttl: number;
  private ledger?: RegistryLedger;
  private slice?: DesiredSlice;
  private grouped?: GroupedState;
  private refused: Record<string, string> = {};
  private engineReachable = true;
  private statusOf?: (name: string) => DeckyStatus | undefined;
  private enqueue?: (name: string) => void;
  private watcher?: RegistryWatcher;
  private timers: NodeJS.Timeout[] = [];
  private running?: Promise<SyncPassResult>;
  private again = false;
  private stopped = false;
  private up = true;
  private registered = false;
  private published = new Map<string, { fp: string; updatedAt: string }>();
  private lastPublish = 0;
  private publishedGen = -1;
  /** results of the last passes (tests, logs) */
  lastPass?: SyncPassResult;

  constructor(private readonly opts: RegistrySyncOptions) {
    this.log = (opts.logger ?? silentLogger()).child({ component: 'registry' });
    this.ttl = opts.heartbeatTtlMs ?? 10_000;
  }

  /** Give the sync the controller's status (for phases) and work queue (to look at touched deckies). */
  attach(c: { status: { get(name: string): { status: DeckyStatus } | undefined }; queue: { add(name: string): void } }): this {
    this.statusOf = (n) => c.status.get(n)?.status;
    this.enqueue = (n) => c.queue.add(n);
    return this;
  }

  get registryUp(): boolean {
    return this.up;
  }

  private get cluster(): string {
    return this.opts.registry.cluster;
  }

  async start(): Promise<void> {
    this.ledger = await readLedger(this.opts.engine.stateDir, this.cluster, this.opts.hostId);
    // the connection is made in the background: give it a moment, never block on it
    for (const end = Date.now() + 3_000; Date.now() < end; ) {
      if (await this.opts.registry.ping().then(() => true, () => false)) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    await this.beat();
    this.watch();
    const every = (ms: number, fn: () => unknown) => {
      const t = setInterval(() => void Promise.resolve(fn()).catch((err: Error) => this.log.error({ err: err.message }, 'registry loop failed')), ms);
      t.unref?.();
      this.timers.push(t);
    };
    every(Math.max(500, Math.floor(this.ttl / 3)), () => this.beat());
    every(this.opts.pollMs ?? 2_000, () => this.poll());
    every(this.opts.publishMs ?? 1_000, () => this.publish());
    void this.syncNow();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    await this.watcher?.close();
    await this.running?.catch(() => undefined);
  }

  /** A full observation of the controller: remember it and re-check the slice. */
  onResync(_observed: ObservedState, grouped: GroupedState): void {
    this.grouped = grouped;
    this.engineReachable = true;
    void this.syncNow();
  }

  private watch(): void {
    const me = this.opts.hostId;
    this.watcher = this.opts.registry.watch(
      (e) => {
        if (e.kind === 'observed' || (e.kind === 'desired' && e.hosts && !e.hosts.includes(me))) return;
        if (e.kind === 'host' && e.hosts && !e.hosts.includes(me)) return;
        void this.syncNow();
      },
      { pollMs: this.opts.pollMs ?? 2_000, logger: { info: (o, m) => this.log.info(o, m), warn: (o, m) => this.log.warn(o, m), debug: (o, m) => this.log.debug(o, m) } },
    );
  }

  private registryDown(err: unknown): void {
    if (this.up) this.log.warn({ err: (err as Error).message }, 'registry unreachable: healing from labels, slice changes wait');
    this.up = false;
  }

  private async registryBack(why: string): Promise<void> {
    if (this.up) return;
    this.up = true;
    this.log.info({ why }, 'registry reachable again: resyncing both ways');
    this.published.clear();
    this.lastPublish = 0;
    void this.syncNow();
  }

  /** Heartbeat; registers the host first (and again when the registry forgot it). */
  async beat(): Promise<void> {
    const { registry, hostId, host } = this.opts;
    try {
      if (!this.registered) {
        await registry.registerHost({ id: hostId, ...host });
        this.registered = true;
      }
      try {
        await registry.heartbeat(hostId, this.ttl);
      } catch (err) {
        if (!(err instanceof RegistryError && err.code === 'HostNotRegistered')) throw err;
        this.log.warn('the registry forgot this host (restarted or host deleted): registering again');
        // hold applies back while the other live hosts re-register and write their slices back
        await registry.markRecovering(Date.now() + RECOVERY_TTL_FACTOR * this.ttl);
        await registry.registerHost({ id: hostId, ...host });
        await registry.heartbeat(hostId, this.ttl);
        // a fresh watcher: the old one ignores revisions below the last one it saw
        await this.watcher?.close();
        if (!this.stopped) this.watch();
        this.up = false;
      }
      await this.registryBack('heartbeat');
    } catch (err) {
      if (err instanceof RegistryUnavailable) this.registryDown(err);
      else this.log.error({ err: (err as Error).message }, 'heartbeat failed');
    }
  }

  /** Cheap check: has the slice changed since the last pass? */
  private async poll(): Promise<void> {
    if (this.stopped || !this.up) return;
    try {
      const s = await this.opts.registry.readDesired(this.opts.hostId);
      if (s?.generation !== this.slice?.generation || s?.updatedAt !== this.slice?.updatedAt || Object.keys(this.refused).length > 0) void this.syncNow();
    } catch (err) {
      if (err instanceof RegistryUnavailable) this.registryDown(err);
    }
  }

  /** Run a pass now (coalesced: a request during a pass runs one more pass after it). */
  syncNow(): Promise<SyncPassResult> {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    const run = async (): Promise<SyncPassResult> => {
      let r: SyncPassResult;
      do {
        this.again = false;
        r = await this.pass().catch((err: Error): SyncPassResult => {
          this.log.error({ err: err.message }, 'registry sync pass failed');
          return { source: 'none', ops: 0, pruned: [], refused: {}, engineReachable: this.engineReachable };
        });
        this.lastPass = r;
        await this.publish(true);
      } while (this.again && !this.stopped);
      return r;
    };
    this.running = run().finally(() => (this.running = undefined));
    return this.running;
  }

  private async pass(): Promise<SyncPassResult> {
    const { registry, hostId, engine } = this.opts;
    const ledger = (this.ledger ??= await readLedger(engine.stateDir, this.cluster, hostId));
    let source: SyncPassResult['source'] = 'cache';
    let reseeded = false;
    try {
      let s = await registry.readDesired(hostId);
      if (!s && ledger.placed.length > 0) {
        reseeded = await this.maybeReseed(ledger);
        if (reseeded) s = await registry.readDesired(hostId);
      }
      this.slice = s;
      source = 'registry';
      await this.registryBack('read');
    } catch (err) {
      if (!(err instanceof RegistryUnavailable)) throw err;
      this.registryDown(err);
    }
    const slice = this.slice;
    if (!slice) return { source: source === 'registry' ? 'none' : 'cache', ops: 0, pruned: [], refused: {}, engineReachable: this.engineReachable, reseeded };
    const lock: LockFn = this.opts.lock ?? ((fn) => withHostLock(fn, { stateDir: engine.stateDir, timeoutMs: 60_000, pollMs: 100 }));
    const touched = new Set<string>();
    const result = await lock(async (): Promise<SyncPassResult> => {
      let observed: ObservedState;
      try {
        observed = await engine.observe(hostId);
      } catch (err) {
        this.engineReachable = false;
        this.log.warn({ err: (err as Error).message }, 'engine unreachable: slice not materialised, nothing done');
        return { source, generation: slice.generation, ops: 0, pruned: [], refused: {}, engineReachable: false };
      }
      this.engineReachable = true;
      const sp = planRegistrySync({ hostId, observed, slice, placed: new Set(ledger.placed) });
      const refused = { ...sp.refused };
      if (sp.plan.ops.length > 0) {
        const images = [...new Set(sp.plan.ops.flatMap((o) => (o.op === 'create-container' ? [o.container.image] : [])))].sort();
        if (images.length > 0) await this.opts.ensureImages?.(images);
        for (const o of sp.plan.ops) if ('decky' in o) touched.add(o.decky);
        this.log.info({ generation: slice.generation, ops: sp.plan.ops.length, pruned: sp.pruned, adopted: sp.adopted }, 'materialising desired slice');
        const summary = await execute(sp.plan, engine, { parallelism: this.opts.parallelism ?? 4, ...(slice.secrets ? { secrets: slice.secrets } : {}), ...(slice.alertSecrets ? { alertSecrets: slice.alertSecrets } : {}) });
        for (const [name, g] of Object.entries(summary.deckies)) if (g.status === 'failed' && g.failure) refused[name] = `${g.failure.op} ${g.failure.target}: ${g.failure.message}`;
        for (const [fleet, g] of Object.entries(summary.fleets)) {
          if (g.status !== 'failed' || !g.failure) continue;
          for (const d of slice.deckies) if (d.spec.fleet === fleet) refused[d.spec.name] ??= `fleet ${fleet}: ${g.failure.op} ${g.failure.target}: ${g.failure.message}`;
        }
        if (summary.aborted) this.log.warn({ err: summary.aborted.message }, 'slice pass aborted');
      }
      for (const [name, why] of Object.entries(refused)) this.log.warn({ decky: name, err: why }, 'decky of the desired slice not materialised');
      const after = sp.plan.ops.length > 0 ? await engine.observe(hostId) : observed;
      this.grouped = groupObserved(after);
      const local = new Set(this.grouped.deckies.map((d) => d.name));
      const listed = slice.deckies.map((d) => d.spec.name);
      const placed = [...new Set([...listed, ...ledger.placed.filter((n) => local.has(n))])].sort(cmp);
      const next: RegistryLedger = {
        ...ledger,
        placed,
        fleets: [...new Set(slice.deckies.map((d) => d.spec.fleet))].sort(cmp),
        generation: slice.generation,
        deckyGenerations: Object.fromEntries(slice.deckies.map((d) => [d.spec.name, d.generation])),
      };
      if (JSON.stringify({ ...next, updatedAt: '' }) !== JSON.stringify({ ...ledger, updatedAt: '' })) {
        await writeLedger(engine.stateDir, next);
        this.ledger = next;
      }
      return { source, generation: slice.generation, ops: sp.plan.ops.length, pruned: sp.pruned, refused, engineReachable: true, reseeded };
    });
    this.refused = result.refused;
    for (const n of touched) this.enqueue?.(n);
    return result;
  }

  /** The registry has no slice for this host although the ledger lists deckies: was Redis wiped? Then write them back. */
  private async maybeReseed(ledger: RegistryLedger): Promise<boolean> {
    const { registry, hostId, engine } = this.opts;
    const snap = await registry.readAll();
    if (snap.rev >= ledger.lastRev && ledger.lastRev > 0) {
      this.log.info({ rev: snap.rev }, 'no desired slice for this host (deleted from the registry): local deckies are left as they are');
      return false;
    }
    // the registry lost this host's slice (Redis restarted empty): hold applies back meanwhile
    await registry.markRecovering(Date.now() + RECOVERY_TTL_FACTOR * this.ttl);
    let observed: ObservedState;
    try {
      observed = await engine.observe(hostId);
    } catch {
      return false;
    }
    const g = groupObserved(observed);
    const deckies = g.deckies
      .filter((d) => ledger.placed.includes(d.name) && d.spec && d.errors.length === 0)
      .map((d) => ({ spec: d.spec!, generation: ledger.deckyGenerations[d.name] ?? 1, hash: d.hash ?? canonicalHash(d.spec!) }))
      .sort((a, b) => cmp(a.spec.name, b.spec.name));
    if (deckies.length === 0) return false;
    const names = new Set(deckies.map((d) => d.spec.fleet));
    const fleets = g.fleets.flatMap((f) => (f.spec && names.has(f.name) ? [f.spec] : [])).sort((a, b) => cmp(a.name, b.name));
    try {
      await registry.writeDesired(hostId, { fleets, deckies }, 0);
      this.log.warn({ deckies: deckies.length, rev: snap.rev, lastRev: ledger.lastRev }, 'registry lost its data: desired slice written back from labels (secrets stay in the local config files)');
      return true;
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'could not write the desired slice back');
      return false;
    }
  }

  /** Publish the observed slice when it changed (or force). Never throws. */
  async publish(force = false): Promise<void> {
    const slice = this.slice;
    const grouped = this.grouped;
    if (!slice || !grouped || this.stopped) return;
    const now = new Date().toISOString();
    const entries = observedDeckies({ slice, grouped, refused: this.refused, engineReachable: this.engineReachable, now, ...(this.statusOf ? { statusOf: this.statusOf } : {}) });
    let changed = this.publishedGen !== slice.generation;
    const deckies: ObservedDecky[] = entries.map((e) => {
      const { updatedAt: _u, ...rest } = e;
      const fp = JSON.stringify(rest);
      const prev = this.published.get(e.name);
      if (prev?.fp === fp) return { ...e, updatedAt: prev.updatedAt };
      changed = true;
      return e;
    });
    const refreshDue = Date.now() - this.lastPublish > this.ttl / 2;
    if (!changed && !force && !refreshDue) return;
    if (!this.up && !force) return;
    try {
      const r = await this.opts.registry.writeObserved(this.opts.hostId, { deckies }, slice.generation);
      this.published = new Map(deckies.map((d) => { const { updatedAt, ...rest } = d; return [d.name, { fp: JSON.stringify(rest), updatedAt }]; }));
      this.publishedGen = slice.generation;
      this.lastPublish = Date.now();
      if (this.ledger && r.rev > this.ledger.lastRev) {
        this.ledger = { ...this.ledger, lastRev: r.rev };
        await writeLedger(this.opts.engine.stateDir, this.ledger).catch(() => undefined);
      }
    } catch (err) {
      if (err instanceof RegistryUnavailable) this.registryDown(err);
      else if (err instanceof StaleGeneration) this.log.debug({ err: err.message }, 'observed slice not written: a newer one is stored');
      else this.log.error({ err: (err as Error).message }, 'cannot publish the observed slice');
    }
  }
}

/** The sync as a controller extension (start/stop with the controller, every full observation re-checks the slice). */
export function registryExtension(sync: RegistrySync): ControllerExtension {
  return sync;
}
