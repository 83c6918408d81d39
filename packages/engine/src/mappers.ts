/**
 * PURE mappers between dockerode shapes and decnet's domain types: list/inspect
 * output -> ObservedContainer / ObservedNetwork, and plan ops -> create bodies.
 * No I/O here; every engine default and every hardening choice lives in this file.
 */
import type Dockerode from 'dockerode';
import {
  resolvePersona,
  SERVICE_CONFIG_PATH,
  type ContainerState,
  type Labels,
  type ObservedContainer,
  type ObservedNetwork,
  type ServiceRuntimeConfig,
} from '@decnet/api';
import type { CreateContainerOp, CreateNetworkOp } from './engine.js';
import { quarantinePath, serviceConfigPath } from './paths.js';

export const QUARANTINE_PATH = '/quarantine';
export const MiB = 1024 * 1024;

/** One CPU in Docker's NanoCpus unit (1e9 = one full core). */
export const CPU = 1_000_000_000;

/**
 * Per-container limits. base: a `sleep infinity` that only holds the namespace
 * (32 MiB, 16 pids, no CPU cap). service: one node honeypot process (128 MiB, 64 pids)
 * capped at half a core (NanoCpus 0.5e9) so a flood on one decky cannot starve the host
 * or the other deckies; plenty for protocol emulation, bursts are throttled, not killed.
 */
export const BASE_LIMITS = { memory: 32 * MiB, pids: 16, stopTimeout: 2 } as const;
export const SERVICE_LIMITS = { memory: 128 * MiB, pids: 64, nanoCpus: CPU / 2, stopTimeout: 5 } as const;

/**
 * The unprivileged user every honeypot process runs as (no passwd entry needed). The
 * host-side files a service reads or writes (its config file, its quarantine dir) are
 * given to this uid/gid by service-files.ts. Also set as USER in the honeypot Dockerfile.
 */
export const SERVICE_USER = { uid: 10001, gid: 10001 } as const;
export const SERVICE_USER_SPEC = `${SERVICE_USER.uid}:${SERVICE_USER.gid}`;

/**
 * Sysctls decnet adds to every base container, on top of the OS-fingerprint ones (and
 * winning over them). ip_unprivileged_port_start is per network namespace: at 0, the
 * capability-less service processes sharing the base's namespace can bind 22, 80, 445...
 * The same value is in every resolved spec (api os-profiles.ts), so bases made before it are
 * recreated by the next apply; here it also covers specs written before that.
 */
export const BASE_SYSCTLS = { 'net.ipv4.ip_unprivileged_port_start': '0' } as const;
export const LOG_CONFIG = { Type: 'json-file', Config: { 'max-size': '10m', 'max-file': '3' } } as const;

const STATES: readonly ContainerState[] = ['created', 'running', 'paused', 'restarting', 'removing', 'exited', 'dead'];

export function toContainerState(raw: string | undefined): ContainerState {
  const s = (raw ?? '').toLowerCase();
  return (STATES as readonly string[]).includes(s) ? (s as ContainerState) : 'dead';
}

function stripSlash(name: string | undefined): string {
  return (name ?? '').replace(/^\//, '');
}

function networkContainer(mode: string | undefined): string | undefined {
  return mode?.startsWith('container:') ? mode.slice('container:'.length) : undefined;
}

interface EndpointLike {
  IPAddress?: string;
  MacAddress?: string;
}

/** The first (by network name) endpoint with an IPv4 address. */
function primaryEndpoint(networks: Record<string, EndpointLike> | undefined): EndpointLike | undefined {
  if (!networks) return undefined;
  for (const name of Object.keys(networks).sort()) {
    const ep = networks[name];
    if (ep?.IPAddress) return ep;
  }
  return undefined;
}

function optional<T>(key: string, value: T | undefined | null | ''): Record<string, T> {
  return value === undefined || value === null || value === '' ? {} : { [key]: value };
}

/** `docker ps -a` entry -> ObservedContainer (list output carries no restart count or times). */
export function containerFromList(c: Dockerode.ContainerInfo): ObservedContainer {
  const ep = primaryEndpoint(c.NetworkSettings?.Networks as Record<string, EndpointLike> | undefined);
  const exit = /^Exited \((-?\d+)\)/.exec(c.Status ?? '');
  return {
    id: c.Id,
    name: stripSlash(c.Names?.[0]),
    image: c.Image,
    labels: { ...(c.Labels ?? {}) },
    state: toContainerState(c.State),
    ...optional('exitCode', exit?.[1] !== undefined ? Number(exit[1]) : undefined),
    ...optional('createdAt', typeof c.Created === 'number' && c.Created > 0 ? new Date(c.Created * 1000).toISOString() : undefined),
    ...optional('ip', ep?.IPAddress),
    ...optional('mac', ep?.MacAddress),
    ...optional('networkContainer', networkContainer(c.HostConfig?.NetworkMode)),
  };
}

const ZERO_TIME = '0001-01-01T00:00:00Z';
const time = (t: string | undefined): string | undefined => (t && t !== ZERO_TIME ? t : undefined);

/** `docker inspect` of a container -> ObservedContainer. */
export function containerFromInspect(c: Dockerode.ContainerInspectInfo): ObservedContainer {
  const ep = primaryEndpoint(c.NetworkSettings?.Networks);
  const state = toContainerState(c.State?.Status);
  return {
    id: c.Id,
    name: stripSlash(c.Name),
    image: c.Config?.Image ?? c.Image,
    labels: { ...(c.Config?.Labels ?? {}) },
    state,
    ...optional('exitCode', state === 'created' ? undefined : c.State?.ExitCode),
    ...optional('restartCount', c.RestartCount),
    ...optional('createdAt', time(c.Created)),
    ...optional('startedAt', time(c.State?.StartedAt)),
    ...optional('finishedAt', time(c.State?.FinishedAt)),
    ...optional('ip', ep?.IPAddress),
    ...optional('mac', ep?.MacAddress),
    ...optional('networkContainer', networkContainer(c.HostConfig?.NetworkMode)),
  };
}

/** Network list/inspect entry -> ObservedNetwork. */
export function networkFromInspect(n: Dockerode.NetworkInspectInfo): ObservedNetwork {
  const cfg = n.IPAM?.Config?.[0];
  return {
    id: n.Id,
    name: n.Name,
    driver: n.Driver,
    labels: { ...(n.Labels ?? {}) },
    ...optional('subnet', cfg?.Subnet),
    ...optional('gateway', cfg?.Gateway),
    ...optional('parent', n.Options?.['parent']),
  };
}

/** Create body of a fleet network. `parent` is the host NIC, or the lab veth in lab mode. */
export function networkCreateBody(op: CreateNetworkOp, parent: string): Dockerode.NetworkCreateOptions {
  const net = op.spec.network;
  const options: Record<string, string> = { parent };
  if (net.mode === 'ipvlan') options['ipvlan_mode'] = 'l2';
  else options['macvlan_mode'] = 'bridge';
  return {
    Name: op.name,
    CheckDuplicate: true,
    Driver: net.mode,
    EnableIPv6: false,
    Internal: false,
    Attachable: false,
    IPAM: { Driver: 'default', Config: [{ Subnet: net.subnet, Gateway: net.gateway, IPRange: net.subnet }] },
    Options: options,
    Labels: { ...op.labels },
  };
}

export interface CreateBodyOptions {
  stateDir: string;
}

/** Create body of a base or service container (see containerCreateBody for the split). */
export function containerCreateBody(op: CreateContainerOp, opts: CreateBodyOptions): Dockerode.ContainerCreateOptions {
  return op.container.role === 'base' ? baseCreateBody(op) : serviceCreateBody(op, opts);
}

const COMMON_SECURITY = {
  CapDrop: ['ALL'],
  SecurityOpt: ['no-new-privileges:true'],
  ReadonlyRootfs: true,
  Privileged: false,
  Init: true,
  RestartPolicy: { Name: 'unless-stopped', MaximumRetryCount: 0 },
  LogConfig: { Type: LOG_CONFIG.Type, Config: { ...LOG_CONFIG.Config } },
} as const;

/** Base container: owns the decky's IP (sent explicitly), hostname and OS-fingerprint sysctls. */
export function baseCreateBody(op: CreateContainerOp): Dockerode.ContainerCreateOptions {
  const c = op.container;
  if (c.role !== 'base') throw new Error(`baseCreateBody: ${op.name} is a ${c.role} container`);
  return {
    name: op.name,
    Image: c.image,
    Hostname: c.hostname,
    Cmd: ['sleep', 'infinity'],
    Labels: { ...op.labels },
    // API < 1.44 (Debian's docker.io 20.10) reads the container-level field, newer engines the endpoint's: both, equal
    ...(c.mac !== undefined ? { MacAddress: c.mac } : {}),
    StopTimeout: BASE_LIMITS.stopTimeout,
    HostConfig: {
      ...COMMON_SECURITY,
      CapDrop: [...COMMON_SECURITY.CapDrop],
      SecurityOpt: [...COMMON_SECURITY.SecurityOpt],
      RestartPolicy: { ...COMMON_SECURITY.RestartPolicy },
      NetworkMode: c.network,
      Sysctls: { ...c.sysctls, ...BASE_SYSCTLS },
      Tmpfs: { '/tmp': 'rw,noexec,nosuid,size=4m' },
      Memory: BASE_LIMITS.memory,
      PidsLimit: BASE_LIMITS.pids,
    },
    NetworkingConfig: {
      EndpointsConfig: { [c.network]: { IPAMConfig: { IPv4Address: c.ip }, ...(c.mac !== undefined ? { MacAddress: c.mac } : {}) } },
    },
  };
}

/**
 * Service container: joins the base's namespace; runs as SERVICE_USER with no capability
 * at all (low ports bind thanks to the base's BASE_SYSCTLS), default seccomp,
 * no-new-privileges, read-only root, memory/pids/CPU limits; config file read-only,
 * quarantine rw.
 */
export function serviceCreateBody(op: CreateContainerOp, opts: CreateBodyOptions): Dockerode.ContainerCreateOptions {
  const c = op.container;
  if (c.role !== 'service') throw new Error(`serviceCreateBody: ${op.name} is a ${c.role} container`);
  const service = c.service.name;
  return {
    name: op.name,
    Image: c.image,
    ...(c.service.command && c.service.command.length > 0 ? { Cmd: [...c.service.command] } : {}),
    Labels: { ...op.labels },
    // the honeypot runtime stores captured uploads and mail in the mounted quarantine dir
    Env: [`DECNET_QUARANTINE_DIR=${QUARANTINE_PATH}`],
    User: SERVICE_USER_SPEC,
    StopTimeout: SERVICE_LIMITS.stopTimeout,
    HostConfig: {
      ...COMMON_SECURITY,
      CapDrop: [...COMMON_SECURITY.CapDrop],
      SecurityOpt: [...COMMON_SECURITY.SecurityOpt],
      RestartPolicy: { ...COMMON_SECURITY.RestartPolicy },
      NetworkMode: `container:${c.baseName}`,
      Tmpfs: { '/tmp': 'rw,noexec,nosuid,size=16m' },
      Memory: SERVICE_LIMITS.memory,
      PidsLimit: SERVICE_LIMITS.pids,
      NanoCpus: SERVICE_LIMITS.nanoCpus,
      Mounts: [
        {
          Type: 'bind',
          Source: serviceConfigPath(opts.stateDir, op.fleet, op.decky, service),
          Target: SERVICE_CONFIG_PATH,
          ReadOnly: true,
        },
        {
          Type: 'bind',
          Source: quarantinePath(opts.stateDir, op.fleet, op.decky, service),
          Target: QUARANTINE_PATH,
          ReadOnly: false,
        },
      ],
    },
  };
}

/**
 * The content of a service's config file: the resolved persona config plus its secret
 * values (which live nowhere else). `secrets` maps secret key -> value.
 */
export function serviceRuntimeConfig(op: CreateContainerOp, secrets: Record<string, string> = {}): ServiceRuntimeConfig {
  const c = op.container;
  if (c.role !== 'service') throw new Error(`serviceRuntimeConfig: ${op.name} is a ${c.role} container`);
  return {
    decky: op.decky,
    fleet: op.fleet,
    service: c.service.name,
    hostname: op.spec.hostname,
    ports: c.service.ports.map((p) => ({ ...p })),
    config: { ...c.service.config, ...secrets },
    persona: resolvePersona(op.spec),
  };
}

/** Labels filter for `docker ps` / network list of what one host owns. */
export function hostFilters(hostId: string): { label: string[] } {
  return { label: ['com.decnet.managed=true', `com.decnet.host=${hostId}`] };
}

/** True for an object this host manages (same check as the list filter, for inspect results). */
export function isManagedBy(labels: Labels, hostId: string): boolean {
  return labels['com.decnet.managed'] === 'true' && labels['com.decnet.host'] === hostId;
}
