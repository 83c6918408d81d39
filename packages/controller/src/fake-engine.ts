/**
 * An in-memory Engine for tests, built on api's plan simulator: every write is applied
 * as a one-op plan, so it refuses what Docker would refuse (duplicate names, a service
 * without a running base, ...). Adds what the simulator lacks: start times, restart
 * counts, an on/off switch for reachability, an event stream and a write log.
 */
import { observedFromPlan, type ObservedContainer, type ObservedNetwork, type ObservedState, type Op } from '@decnet/api';
import { EngineError, EngineUnavailableError, type CreateContainerOp, type CreateNetworkOp, type CreateSettingsOp, type Engine, type EngineEvent, type EventsOptions, type LogLine } from '@decnet/engine';

export class FakeEngine implements Engine {
  state: ObservedState;
  reachable = true;
  /** every write, in order: "op target" */
  writes: string[] = [];
  /** throw (simulating a crash of the writer) once this many more writes happened */
  crashAfterWrites?: number;
  private tick = 1;
  private listeners = new Set<(e: EngineEvent) => void>();

  constructor(
    readonly stateDir: string,
    hostId: string,
    init: Partial<ObservedState> = {},
  ) {
    this.state = { hostId, containers: [], networks: [], labs: [], foreignNames: [], ...init };
  }

  private now(): string {
    return new Date(Date.UTC(2026, 0, 1) + this.tick++ * 1000).toISOString();
  }

  private check(): void {
    if (!this.reachable) throw new EngineUnavailableError('fake engine is down');
  }

  private apply(op: Op): void {
    this.check();
    if (this.crashAfterWrites !== undefined) {
      if (this.crashAfterWrites <= 0) throw new Error('simulated crash of the writer');
      this.crashAfterWrites--;
    }
    this.writes.push(`${op.op} ${'name' in op ? op.name : op.fleet}`);
    const next = observedFromPlan(this.state, { ops: [op], conflicts: [], generations: {} });
    // keep ids stable for containers that survive, give new ones a unique id
    this.state = { ...next, foreignNames: this.state.foreignNames ?? [] };
  }

  /** Mutate one container in place (a test's `docker kill`, a restart policy, ...). */
  patch(name: string, change: Partial<ObservedContainer>): void {
    this.state.containers = this.state.containers.map((c) => (c.name === name ? { ...c, ...change } : c));
    const c = this.state.containers.find((x) => x.name === name);
    if (c) this.emit({ action: change.state === 'running' ? 'start' : 'die', id: c.id, name, labels: c.labels, timeNano: Date.now() * 1e6 });
  }

  remove(name: string): void {
    const c = this.state.containers.find((x) => x.name === name);
    this.state.containers = this.state.containers.filter((x) => x.name !== name);
    if (c) this.emit({ action: 'destroy', id: c.id, name, labels: c.labels, timeNano: Date.now() * 1e6 });
  }

  get(name: string): ObservedContainer | undefined {
    return this.state.containers.find((c) => c.name === name);
  }

  emit(e: EngineEvent): void {
    for (const l of this.listeners) l(e);
  }

  async ping(): Promise<void> {
    this.check();
  }
  async observe(hostId: string): Promise<ObservedState> {
    this.check();
    return structuredClone({ ...this.state, hostId });
  }
  async createNetwork(op: CreateNetworkOp): Promise<string> {
    this.apply(op);
    return this.state.networks.find((n) => n.name === op.name)!.id;
  }
  async removeNetwork(id: string): Promise<void> {
    const n = this.state.networks.find((x) => x.id === id || x.name === id);
    if (n) this.apply({ wave: 3, op: 'remove-network', fleet: '', name: n.name, id: n.id, cause: 'test' });
  }
  async createContainer(op: CreateContainerOp): Promise<string> {
    this.apply(op);
    const c = this.get(op.name)!;
    // the simulator derives ids from counts; make them unique
    const id = `c${this.tick++}`;
    this.state.containers = this.state.containers.map((x) => (x.name === op.name ? { ...x, id } : x));
    this.state.containers = this.state.containers.map((x) => (x.networkContainer === c.id ? { ...x, networkContainer: id } : x));
    return id;
  }
  async startContainer(name: string): Promise<void> {
    const c = this.get(name) ?? this.state.containers.find((x) => x.id === name);
    if (c?.state === 'running') return;
    this.apply({ wave: 2, op: 'start-container', decky: '', name: c?.name ?? name, cause: 'test' });
    this.state.containers = this.state.containers.map((x) => (x.name === c?.name ? { ...x, startedAt: this.now() } : x));
  }
  async stopContainer(id: string): Promise<void> {
    const c = this.state.containers.find((x) => x.id === id || x.name === id);
    if (!c || c.state !== 'running') return;
    this.apply({ wave: 2, op: 'stop-container', decky: '', name: c.name, id: c.id, cause: 'test' });
  }
  async removeContainer(id: string): Promise<void> {
    const c = this.state.containers.find((x) => x.id === id || x.name === id);
    if (!c) return;
    this.apply({ wave: 2, op: 'remove-container', decky: '', name: c.name, id: c.id, cause: 'test' });
  }
  async createVolume(op: CreateSettingsOp): Promise<void> {
    this.apply(op);
  }
  async removeVolume(name: string): Promise<void> {
    if ((this.state.volumes ?? []).some((v) => v.name === name)) this.apply({ wave: 3, op: 'remove-settings', fleet: '', name, cause: 'test' });
  }
  async ensureLab(fleet: string, subnet: string, gateway: string): Promise<void> {
    this.apply({ wave: 0, op: 'ensure-lab', fleet, subnet, gateway, cause: 'test' });
  }
  async removeLab(fleet: string): Promise<void> {
    this.apply({ wave: 3, op: 'remove-lab', fleet, cause: 'test' });
  }
  async inspectContainer(idOrName: string): Promise<ObservedContainer | undefined> {
    this.check();
    const c = this.state.containers.find((x) => x.id === idOrName || x.name === idOrName);
    return c ? structuredClone(c) : undefined;
  }
  async inspectNetwork(idOrName: string): Promise<ObservedNetwork | undefined> {
    this.check();
    return this.state.networks.find((n) => n.id === idOrName || n.name === idOrName);
  }
  async listContainerNames(): Promise<string[]> {
    this.check();
    return [...this.state.containers.map((c) => c.name), ...(this.state.foreignNames ?? [])].sort();
  }
  /** images pullImage was asked for, in order */
  pulled: string[] = [];
  /** refs the fake reports as absent until pulled */
  missingImages = new Set<string>();
  /** refs whose pull fails, with the registry's message */
  pullFailures = new Map<string, string>();
  async imageExists(ref?: string): Promise<boolean> {
    return ref === undefined || !this.missingImages.has(ref);
  }
  async pullImage(ref: string): Promise<{ digest?: string }> {
    this.check();
    this.pulled.push(ref);
    const msg = this.pullFailures.get(ref);
    if (msg !== undefined) throw new EngineError('PullFailed', `cannot pull ${ref}: ${msg}`);
    this.missingImages.delete(ref);
    return { digest: `sha256:${'0'.repeat(64)}` };
  }
  async *logs(): AsyncIterable<LogLine> {
    // no logs in the fake
  }
  async *events(_hostId: string, opts: EventsOptions = {}): AsyncIterable<EngineEvent> {
    this.check();
    const queue: EngineEvent[] = [];
    let wake: (() => void) | undefined;
    const l = (e: EngineEvent) => {
      queue.push(e);
      wake?.();
    };
    this.listeners.add(l);
    const aborted = new Promise<void>((r) => opts.signal?.addEventListener('abort', () => r(), { once: true }));
    try {
      while (!opts.signal?.aborted) {
        const e = queue.shift();
        if (e) {
          yield e;
          continue;
        }
        await Promise.race([new Promise<void>((r) => (wake = r)), aborted]);
        wake = undefined;
      }
    } finally {
      this.listeners.delete(l);
    }
  }
}
