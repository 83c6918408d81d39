/**
 * The Engine port: every read and write decnet does against a container engine.
 * The executor and the controller depend on this interface only; docker-engine.ts
 * implements it with dockerode, lab plumbing with `ip` (lab.ts).
 */
import type { ObservedContainer, ObservedNetwork, ObservedState, Op } from '@decnet/api';

export type CreateNetworkOp = Extract<Op, { op: 'create-network' }>;
export type CreateContainerOp = Extract<Op, { op: 'create-container' }>;
export type CreateSettingsOp = Extract<Op, { op: 'create-settings' }>;

export interface LogOptions {
  follow?: boolean;
  /** unix seconds or an RFC 3339 time */
  since?: number | string;
  /** number of lines from the end (default: all) */
  tail?: number;
  /** aborts a following stream */
  signal?: AbortSignal;
}

export interface LogLine {
  stream: 'stdout' | 'stderr';
  /** RFC 3339 time Docker recorded for the line */
  time?: string;
  line: string;
}

/** One container event from the engine's event stream (a hint that something changed). */
export interface EngineEvent {
  /** e.g. start, die, stop, kill, destroy, create, restart, oom, health_status */
  action: string;
  /** container id */
  id: string;
  /** container name, when the engine said */
  name?: string;
  labels: Record<string, string>;
  /** event time, unix nanoseconds (for resuming with `since`) */
  timeNano: number;
}

export interface EventsOptions {
  /** resume from this time, unix seconds (may be fractional) */
  since?: number;
  /** ends the stream */
  signal?: AbortSignal;
}

export interface PullOptions {
  /** one human-readable line per progress message of the engine (layer status) */
  onProgress?(line: string): void;
  /** registry credentials (see registry-auth.ts); never logged */
  auth?: { username: string; password: string; serveraddress: string };
}

export interface PullResult {
  /** the registry digest the engine reported (sha256:...), when it did */
  digest?: string;
}

export interface Engine {
  /** directory holding the files decnet mounts into service containers */
  readonly stateDir: string;

  /** Throws EngineUnavailableError when the engine cannot be reached. */
  ping(): Promise<void>;

  /**
   * Everything decnet owns on this host: containers and networks labelled
   * managed=true and host=<hostId>, the lab plumbing present, and the names of all
   * other containers. Throws EngineUnavailableError rather than return a partial view.
   */
  observe(hostId: string): Promise<ObservedState>;

  createNetwork(op: CreateNetworkOp): Promise<string>;
  /** idempotent: a network already gone is not an error */
  removeNetwork(idOrName: string): Promise<void>;

  /** creates (does not start) the container; returns its id */
  createContainer(op: CreateContainerOp): Promise<string>;
  /** idempotent: an already running container is not an error */
  startContainer(idOrName: string): Promise<void>;
  /** idempotent: an already stopped container is not an error */
  stopContainer(idOrName: string): Promise<void>;
  /** idempotent: a container already gone is not an error */
  removeContainer(idOrName: string): Promise<void>;

  /** creates a fleet's settings volume (labels only, never mounted) */
  createVolume(op: CreateSettingsOp): Promise<void>;
  /** idempotent: a volume already gone is not an error */
  removeVolume(name: string): Promise<void>;

  /** creates the fleet's lab plumbing (veth pair + attacker netns) if missing */
  ensureLab(fleet: string, subnet: string, gateway: string): Promise<void>;
  removeLab(fleet: string): Promise<void>;

  /** any container by name or id, managed or not; undefined when it does not exist */
  inspectContainer(idOrName: string): Promise<ObservedContainer | undefined>;
  inspectNetwork(idOrName: string): Promise<ObservedNetwork | undefined>;
  /** names of every container on the engine (all states) */
  listContainerNames(): Promise<string[]>;
  imageExists(ref: string): Promise<boolean>;
  /**
   * Pull an image from its registry (tag or digest ref). Throws an EngineError with the
   * registry's message (code PullFailed) on refusal; never puts credentials in a message.
   */
  pullImage(ref: string, opts?: PullOptions): Promise<PullResult>;
  /** log lines of a container (stdout and stderr, demultiplexed) */
  logs(idOrName: string, opts?: LogOptions): AsyncIterable<LogLine>;
  /**
   * Container events of this host's managed containers, filtered by the engine
   * (label com.decnet.managed=true and com.decnet.host=<hostId>). Ends or throws when the
   * connection drops; callers reconnect with `since`. Optional: engines without a
   * stream are resynced periodically only.
   */
  events?(hostId: string, opts?: EventsOptions): AsyncIterable<EngineEvent>;
}
