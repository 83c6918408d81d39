/**
 * The Engine port over dockerode. Honours DOCKER_HOST (docker-modem reads it); any
 * failure to reach Docker becomes EngineUnavailableError ("unknown"), never an empty view.
 */
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import Docker from 'dockerode';
import { DecnetError, type ObservedContainer, type ObservedNetwork, type ObservedState, type ObservedVolume } from '@decnet/api';
import type { CreateContainerOp, CreateNetworkOp, CreateSettingsOp, Engine, EngineEvent, EventsOptions, LogLine, LogOptions, PullOptions, PullResult } from './engine.js';
import { EngineError, EngineUnavailableError, toEngineError } from './errors.js';
import * as lab from './lab.js';
import { LogDemuxer } from './log-demux.js';
import {
  containerCreateBody,
  containerFromInspect,
  containerFromList,
  hostFilters,
  isManagedBy,
  networkCreateBody,
  networkFromInspect,
} from './mappers.js';
import { resolveStateDir } from './paths.js';

/** Docker's refusal to start a container whose containerd task outlived a daemon crash. */
const STALE_TASK = /task [0-9a-f]{64}: already exists/;

/**
 * A fresh connection for every non-streaming call (no keep-alive). On SIGTERM dockerd
 * closes its listener but goes on serving kept-alive connections while it stops the
 * containers: a start sent on one then races the shutdown and leaves a containerd task
 * behind, and after the restart Docker refuses every start of that container ("task ...
 * already exists"). With a new connection per call, writes fail as "engine unreachable"
 * as soon as the shutdown begins. A caller's own agent (dockerOptions.agent) is kept.
 */
export function oneConnectionPerCall(d: Docker): Docker {
  const m = d.modem as unknown as { agent?: unknown; protocol?: string };
  if (m.agent === undefined && m.protocol === 'http') m.agent = new HttpAgent({ keepAlive: false });
  if (m.agent === undefined && m.protocol === 'https') m.agent = new HttpsAgent({ keepAlive: false });
  return d;
}

export interface DockerEngineOptions {
  /** a ready client (tests); default: one built from DOCKER_HOST */
  docker?: Docker;
  /** client options merged over DOCKER_HOST's (e.g. socketPath) */
  dockerOptions?: Docker.DockerOptions;
  stateDir?: string;
  /** per-request timeout for non-streaming calls, default 60 s ($DECNET_DOCKER_TIMEOUT_MS) */
  timeoutMs?: number;
}

export class DockerEngine implements Engine {
  readonly stateDir: string;
  private client?: Docker;
  private streamClient?: Docker;
  private readonly timeoutMs: number;

  constructor(private readonly opts: DockerEngineOptions = {}) {
    this.stateDir = resolveStateDir(opts.stateDir);
    const envTimeout = Number(process.env['DECNET_DOCKER_TIMEOUT_MS']);
    this.timeoutMs = opts.timeoutMs ?? (envTimeout > 0 ? envTimeout : 60_000);
  }

  private docker(stream = false): Docker {
    if (this.opts.docker) return this.opts.docker;
    try {
      if (stream) return (this.streamClient ??= new Docker({ ...this.opts.dockerOptions }));
      return (this.client ??= oneConnectionPerCall(new Docker({ timeout: this.timeoutMs, ...this.opts.dockerOptions })));
    } catch (err) {
      throw new EngineUnavailableError(`cannot build a docker client: ${(err as Error).message}`, err);
    }
  }

  private async call<T>(what: string, fn: (d: Docker) => Promise<T>, stream = false): Promise<T> {
    const d = this.docker(stream);
    try {
      return await fn(d);
    } catch (err) {
      throw toEngineError(err, what);
    }
  }

  /** Like call, but a refusal with one of `okStatus` counts as success (idempotent writes). */
  private async write(what: string, okStatus: number[], fn: (d: Docker) => Promise<unknown>): Promise<void> {
    try {
      await this.call(what, fn);
    } catch (err) {
      if (err instanceof EngineError && err.statusCode !== undefined && okStatus.includes(err.statusCode)) return;
      throw err;
    }
  }

  async ping(): Promise<void> {
    await this.call('ping the engine', (d) => d.ping());
  }

  async observe(hostId: string): Promise<ObservedState> {
    const filters = hostFilters(hostId);
    const [owned, networks, all, labs, vols] = await Promise.all([
      this.call('list containers', (d) => d.listContainers({ all: true, filters })),
      this.call('list networks', (d) => d.listNetworks({ filters })),
      this.call('list container names', (d) => d.listContainers({ all: true })),
      lab.listLabs(),
      this.call('list volumes', (d) => d.listVolumes({ filters })),
    ]);
    const volumes: ObservedVolume[] = (vols.Volumes ?? [])
      .map((v) => ({ name: v.Name, labels: { ...(v.Labels ?? {}) }, ...((v as { CreatedAt?: string }).CreatedAt ? { createdAt: (v as { CreatedAt?: string }).CreatedAt! } : {}) }))
      .filter((v) => isManagedBy(v.labels, hostId))
      .sort((a, b) => a.name.localeCompare(b.name));
    const containers = owned.map(containerFromList).filter((c) => isManagedBy(c.labels, hostId));
    const ownedIds = new Set(containers.map((c) => c.id));
    const foreignNames = all
      .filter((c) => !ownedIds.has(c.Id))
      .map((c) => (c.Names?.[0] ?? '').replace(/^\//, ''))
      .filter((n) => n !== '')
      .sort();
    return {
      hostId,
      containers: containers.sort((a, b) => a.name.localeCompare(b.name)),
      networks: networks
        .map(networkFromInspect)
        .filter((n) => isManagedBy(n.labels, hostId))
        .sort((a, b) => a.name.localeCompare(b.name)),
      labs,
      foreignNames,
      volumes,
    };
  }

  async createVolume(op: CreateSettingsOp): Promise<void> {
    await this.call(`create volume ${op.name}`, (d) => d.createVolume({ Name: op.name, Labels: op.labels }));
  }

  async removeVolume(name: string): Promise<void> {
    await this.write(`remove volume ${name}`, [404], (d) => d.getVolume(name).remove());
  }

  async createNetwork(op: CreateNetworkOp): Promise<string> {
    const parent = op.spec.lab ? lab.labNames(op.fleet).parent : op.spec.network.parent;
    if (!parent) {
      throw new DecnetError('NoParent', `fleet ${op.fleet} has no network.parent and is not a lab fleet`, 'set spec.network.parent or spec.lab: true');
    }
    const body = networkCreateBody(op, parent);
    const net = await this.call(`create network ${op.name}`, (d) => d.createNetwork(body));
    return net.id;
  }

  async removeNetwork(idOrName: string): Promise<void> {
    await this.write(`remove network ${idOrName}`, [404], (d) => d.getNetwork(idOrName).remove());
  }

  async createContainer(op: CreateContainerOp): Promise<string> {
    const body = containerCreateBody(op, { stateDir: this.stateDir });
    const c = await this.call(`create container ${op.name}`, (d) => d.createContainer(body));
    return c.id;
  }

  async startContainer(idOrName: string): Promise<void> {
    try {
      await this.write(`start container ${idOrName}`, [304], (d) => d.getContainer(idOrName).start());
    } catch (err) {
      if (!(err instanceof EngineError) || !STALE_TASK.test(err.message)) throw err;
      // The engine crashed during an earlier start of this container: containerd still holds
      // its task and Docker refuses every start from now on. A never-started container has no
      // state worth keeping, so remove it: the next plan recreates it from the spec.
      const info = await this.call(`inspect container ${idOrName}`, (d) => d.getContainer(idOrName).inspect());
      if (info.State?.Status !== 'created') throw err;
      await this.removeContainer(idOrName);
      throw new EngineError('StaleTask', `${err.message}; it was left half-started by an engine crash and has been removed`, err.statusCode, 'plan again (apply retries once by itself; the controller recreates it on its next reconcile)');
    }
  }

  async stopContainer(idOrName: string): Promise<void> {
    await this.write(`stop container ${idOrName}`, [304, 404], (d) => d.getContainer(idOrName).stop());
  }

  async removeContainer(idOrName: string): Promise<void> {
    await this.write(`remove container ${idOrName}`, [404], (d) => d.getContainer(idOrName).remove({ force: true, v: true }));
  }

  async ensureLab(fleet: string, subnet: string, gateway: string): Promise<void> {
    await lab.ensureLab(fleet, subnet, gateway);
  }

  async removeLab(fleet: string): Promise<void> {
    await lab.removeLab(fleet);
  }

  async inspectContainer(idOrName: string): Promise<ObservedContainer | undefined> {
    try {
      return containerFromInspect(await this.call(`inspect container ${idOrName}`, (d) => d.getContainer(idOrName).inspect()));
    } catch (err) {
      if (err instanceof EngineError && err.statusCode === 404) return undefined;
      throw err;
    }
  }

  /** Raw inspect output (for `describe` and for tests checking hardening). */
  async inspectContainerRaw(idOrName: string): Promise<Docker.ContainerInspectInfo | undefined> {
    try {
      return await this.call(`inspect container ${idOrName}`, (d) => d.getContainer(idOrName).inspect());
    } catch (err) {
      if (err instanceof EngineError && err.statusCode === 404) return undefined;
      throw err;
    }
  }

  async inspectNetwork(idOrName: string): Promise<ObservedNetwork | undefined> {
    try {
      return networkFromInspect(await this.call(`inspect network ${idOrName}`, (d) => d.getNetwork(idOrName).inspect()));
    } catch (err) {
      if (err instanceof EngineError && err.statusCode === 404) return undefined;
      throw err;
    }
  }

  async listContainerNames(): Promise<string[]> {
    const all = await this.call('list container names', (d) => d.listContainers({ all: true }));
    return all.map((c) => (c.Names?.[0] ?? '').replace(/^\//, '')).filter((n) => n !== '').sort();
  }

  async imageExists(ref: string): Promise<boolean> {
    try {
      await this.call(`inspect image ${ref}`, (d) => d.getImage(ref).inspect());
      return true;
    } catch (err) {
      if (err instanceof EngineError && err.statusCode === 404) return false;
      throw err;
    }
  }

  async pullImage(ref: string, opts: PullOptions = {}): Promise<PullResult> {
    const secrets = opts.auth ? [opts.auth.password, opts.auth.username] : [];
    const what = `pull image ${ref}`;
    let stream: NodeJS.ReadableStream;
    try {
      stream = (await this.docker(true).pull(ref, opts.auth ? { authconfig: opts.auth } : {})) as NodeJS.ReadableStream;
    } catch (err) {
      throw pullError(err, ref, secrets);
    }
    const d = this.docker(true);
    let digest: string | undefined;
    const output = await new Promise<PullEvent[]>((resolve, reject) => {
      d.modem.followProgress(
        stream,
        (err: unknown, out: PullEvent[]) => (err ? reject(toEngineError(err, what)) : resolve(out ?? [])),
        (e: PullEvent) => {
          const m = /Digest: (sha256:[0-9a-f]{64})/.exec(e.status ?? '');
          if (m) digest = m[1];
          const line = progressLine(e);
          if (line && opts.onProgress) opts.onProgress(scrub(line, secrets));
        },
      );
    });
    const failed = output.find((e) => e.error !== undefined || e.errorDetail !== undefined);
    if (failed) throw pullError({ message: failed.errorDetail?.message ?? failed.error }, ref, secrets);
    return digest ? { digest } : {};
  }

  async *logs(idOrName: string, opts: LogOptions = {}): AsyncIterable<LogLine> {
    const info = await this.call(`inspect container ${idOrName}`, (d) => d.getContainer(idOrName).inspect());
    const tty = info.Config?.Tty === true;
    const base = {
      stdout: true,
      stderr: true,
      timestamps: true,
      ...(opts.since !== undefined ? { since: opts.since } : {}),
      ...(opts.tail !== undefined ? { tail: opts.tail } : {}),
      ...(opts.signal ? { abortSignal: opts.signal } : {}),
    };
    const demux = new LogDemuxer(true);
    if (tty) yield* rawLines(await this.rawLogs(idOrName, base, opts.follow === true));
    else if (!opts.follow) {
      const buf = await this.call(`read logs of ${idOrName}`, (d) => d.getContainer(idOrName).logs({ ...base, follow: false }));
      yield* demux.push(Buffer.isBuffer(buf) ? buf : Buffer.from(String(buf), 'binary'));
      yield* demux.flush();
    } else {
      const stream = await this.call(
        `follow logs of ${idOrName}`,
        (d) => d.getContainer(idOrName).logs({ ...base, follow: true }),
        true,
      );
      try {
        for await (const chunk of stream as AsyncIterable<Buffer | string>) {
          yield* demux.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk, 'binary'));
        }
      } catch (err) {
        if (!opts.signal?.aborted) throw toEngineError(err, `follow logs of ${idOrName}`);
      } finally {
        (stream as { destroy?: () => void }).destroy?.();
      }
      yield* demux.flush();
    }
  }

  /** Container events filtered server-side by this host's labels; newline-delimited JSON, drained as it arrives. */
  async *events(hostId: string, opts: EventsOptions = {}): AsyncIterable<EngineEvent> {
    const filters = { type: ['container' as const], label: hostFilters(hostId).label };
    const stream = await this.call(
      'follow engine events',
      (d) => d.getEvents({ filters, ...(opts.since !== undefined ? { since: opts.since } : {}), ...(opts.signal ? { abortSignal: opts.signal } : {}) } as Docker.GetEventsOptions),
      true,
    );
    let partial = '';
    try {
      for await (const chunk of stream as AsyncIterable<Buffer | string>) {
        const parts = (partial + chunk.toString()).split('\n');
        partial = parts.pop() ?? '';
        for (const p of parts) {
          const e = parseEngineEvent(p);
          if (e) yield e;
        }
      }
    } catch (err) {
      if (!opts.signal?.aborted) throw toEngineError(err, 'follow engine events');
    } finally {
      (stream as { destroy?: () => void }).destroy?.();
    }
    if (!opts.signal?.aborted) throw new EngineUnavailableError('the engine closed the event stream');
  }

  private async rawLogs(idOrName: string, base: Docker.ContainerLogsOptions, follow: boolean): Promise<AsyncIterable<Buffer | string> | Iterable<Buffer | string>> {
    if (follow) {
      const s = await this.call(`follow logs of ${idOrName}`, (d) => d.getContainer(idOrName).logs({ ...base, follow: true }), true);
      return s as AsyncIterable<Buffer | string>;
    }
    const buf = await this.call(`read logs of ${idOrName}`, (d) => d.getContainer(idOrName).logs({ ...base, follow: false }));
    return [buf];
  }
}

interface PullEvent {
  status?: string;
  id?: string;
  progress?: string;
  error?: string;
  errorDetail?: { message?: string };
}

function progressLine(e: PullEvent): string | undefined {
  if (!e.status) return undefined;
  return `${e.id ? `${e.id}: ` : ''}${e.status}${e.progress ? ` ${e.progress}` : ''}`;
}

/** Remove any credential that an engine or registry might echo back. */
function scrub(s: string, secrets: readonly string[]): string {
  let out = s;
  for (const x of secrets) if (x.length >= 3) out = out.split(x).join('***');
  return out;
}

/** A refused pull -> EngineError PullFailed carrying the registry's message (credentials scrubbed). */
export function pullError(err: unknown, ref: string, secrets: readonly string[] = []): DecnetError {
  const mapped = toEngineError(err, `pull image ${ref}`);
  if (mapped instanceof EngineUnavailableError) return mapped;
  const e = (err ?? {}) as { json?: { message?: string }; message?: string; statusCode?: number };
  const detail = scrub((e.json?.message ?? e.message ?? String(err)).trim().replace(/^\(HTTP code \d+\) [^-]*- /, ''), secrets);
  const auth = /unauthorized|authentication required|denied|no basic auth credentials/i.test(detail);
  return new EngineError(
    'PullFailed',
    `cannot pull ${ref}: ${detail}`,
    e.statusCode,
    auth ? 'log in with docker login (decnet reads $DOCKER_CONFIG/config.json or ~/.docker/config.json), or check the image name' : 'check the image name and that the registry is reachable from the engine; or load the image and use --pull never',
  );
}

async function* rawLines(chunks: AsyncIterable<Buffer | string> | Iterable<Buffer | string>): AsyncIterable<LogLine> {
  let partial = '';
  for await (const chunk of chunks) {
    const parts = (partial + chunk.toString()).split('\n');
    partial = parts.pop() ?? '';
    for (const p of parts) yield ttyLine(p.replace(/\r$/, ''));
  }
  if (partial !== '') yield ttyLine(partial);
}

function ttyLine(raw: string): LogLine {
  const m = /^(\S+Z) (.*)$/s.exec(raw);
  return m?.[1] !== undefined && m[2] !== undefined ? { stream: 'stdout', time: m[1], line: m[2] } : { stream: 'stdout', line: raw };
}

/** One line of Docker's /events stream -> EngineEvent (undefined for blank or unparsable lines, or non-container events). */
export function parseEngineEvent(line: string): EngineEvent | undefined {
  if (line.trim() === '') return undefined;
  let raw: { Type?: string; Action?: string; status?: string; id?: string; Actor?: { ID?: string; Attributes?: Record<string, string> }; timeNano?: number; time?: number };
  try {
    raw = JSON.parse(line) as typeof raw;
  } catch {
    return undefined;
  }
  if (raw === null || typeof raw !== 'object' || (raw.Type !== undefined && raw.Type !== 'container')) return undefined;
  const attrs = { ...(raw.Actor?.Attributes ?? {}) };
  const id = raw.Actor?.ID ?? raw.id;
  const action = raw.Action ?? raw.status;
  if (typeof id !== 'string' || typeof action !== 'string') return undefined;
  const { name, ...labels } = attrs;
  delete labels['image'];
  delete labels['exitCode'];
  delete labels['signal'];
  const timeNano = typeof raw.timeNano === 'number' ? raw.timeNano : typeof raw.time === 'number' ? raw.time * 1e9 : 0;
  return { action, id, ...(name !== undefined ? { name } : {}), labels, timeNano };
}
