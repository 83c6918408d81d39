/**
 * Core domain types shared by every package. These are the *resolved* forms:
 * what a manifest means once archetypes, defaults, distros, hostnames, IPs and
 * sysctls are filled in. Labels carry exactly these shapes (minus secrets).
 */

import type { Persona } from './persona.js';

export const API_VERSION = 'decnet.io/v1alpha1' as const;

export type NetworkMode = 'macvlan' | 'ipvlan';
export type OsProfileName = 'linux' | 'windows' | 'windows_server' | 'bsd' | 'embedded' | 'cisco';
export type PortProto = 'tcp' | 'udp';
export type ConfigValue = string | number | boolean | string[];
export type Labels = Record<string, string>;

export interface FleetNetwork {
  mode: NetworkMode;
  /** host NIC; absent in lab mode (the lab veth is the parent). */
  parent?: string;
  subnet: string;
  gateway: string;
}

/** A bring-your-own-service defined on a fleet (the original's [custom-*]). */
export interface CustomServiceDef {
  image: string;
  command?: string[];
  ports: ServicePort[];
}

export interface ResolvedFleet {
  name: string;
  labels: Labels;
  network: FleetNetwork;
  lab: boolean;
  /** default mutation interval for its deckies, seconds */
  mutateInterval?: number;
  /** syslog sink, e.g. udp://127.0.0.1:5514 */
  logTarget?: string;
  customServices?: Record<string, CustomServiceDef>;
  /** alert routes (their URLs and keys are in Resolution.alertSecrets, never here) */
  alerts?: ResolvedAlertRoute[];
}

export type AlertType = 'webhook' | 'slack' | 'teams' | 'email';

/** An alert route without its secrets: what labels carry. */
export interface ResolvedAlertRoute {
  name: string;
  type: AlertType;
  minSeverity: 'low' | 'medium' | 'high';
  events?: string[];
  services?: string[];
  deckies?: string[];
  throttleMs: number;
  maxPerMinute: number;
  to?: string[];
  from?: string;
  tlsVerify: boolean;
  /** sha256 of the route's secrets: a changed URL or key changes the spec */
  secretsDigest: string;
}

/** The secret part of an alert route. */
export interface AlertSecret {
  url: string;
  secret?: string;
}

/** fleet -> route -> secrets */
export type AlertSecretBundle = Record<string, Record<string, AlertSecret>>;

export interface ServicePort {
  port: number;
  proto: PortProto;
}

export interface ResolvedService {
  name: string;
  image: string;
  ports: ServicePort[];
  /** coerced persona config WITHOUT secret values */
  config: Record<string, ConfigValue>;
  /** names of secret keys that were given (their values live only in the config file decnet writes) */
  secretKeys: string[];
  /** sha256 over the canonical secret values, so a changed secret changes the spec (labels are readable only with engine access, which already reads the file) */
  secretsDigest?: string;
  /** command override (custom services) */
  command?: string[];
}

export interface MutationRecord {
  /** RFC 3339 time of the last mutation */
  lastMutated: string;
  previousServices: string[];
  /**
   * canonicalHash of the services the manifest declared when the rotations began: while a
   * re-apply declares the same services, the rotated set is kept; a changed declaration wins.
   */
  declaredHash?: string;
}

export interface Placement {
  host?: string;
  hostSelector?: Record<string, string>;
}

export interface ResolvedDecky {
  name: string;
  fleet: string;
  labels: Labels;
  ip: string;
  /** MAC on the fleet's LAN (lower-case); absent only in specs written before decnet derived MACs */
  mac?: string;
  hostname: string;
  distro: string;
  baseImage: string;
  archetype?: string;
  nmapOS: OsProfileName;
  /** full sysctl names -> values, e.g. "net.ipv4.ip_default_ttl": "128" */
  sysctls: Record<string, string>;
  /** sorted by name */
  services: ResolvedService[];
  /** seconds; own or inherited from the fleet */
  mutateInterval?: number;
  placement?: Placement;
  mutation?: MutationRecord;
}

/** Secret config values, kept out of specs and labels: decky -> service -> key -> value. */
export type SecretBundle = Record<string, Record<string, Record<string, string>>>;

export interface Resolution {
  fleets: ResolvedFleet[];
  deckies: ResolvedDecky[];
  secrets: SecretBundle;
  /** secrets of the fleets' alert routes (absent when none) */
  alertSecrets?: AlertSecretBundle;
}

/* ------------------------------------------------------------------ */
/* Observed state: what the engine says, mapped to plain data.        */
/* ------------------------------------------------------------------ */

export type ContainerState = 'created' | 'running' | 'paused' | 'restarting' | 'removing' | 'exited' | 'dead';

export interface ObservedContainer {
  id: string;
  name: string;
  image: string;
  labels: Labels;
  state: ContainerState;
  exitCode?: number;
  restartCount?: number;
  /** RFC 3339 creation time */
  createdAt?: string;
  startedAt?: string;
  finishedAt?: string;
  /** IPv4 on the fleet network (base containers) */
  ip?: string;
  mac?: string;
  /** id of the container whose network namespace it joins (service containers) */
  networkContainer?: string;
}

export interface ObservedNetwork {
  id: string;
  name: string;
  driver: string;
  labels: Labels;
  subnet?: string;
  gateway?: string;
  parent?: string;
}

/** A managed docker volume (a fleet's settings, fleet-settings.ts). */
export interface ObservedVolume {
  name: string;
  labels: Labels;
  createdAt?: string;
}

export interface ObservedState {
  hostId: string;
  containers: ObservedContainer[];
  networks: ObservedNetwork[];
  /** this host's managed volumes; absent when the engine did not list them */
  volumes?: ObservedVolume[];
  /** fleets whose lab plumbing (netns decnet-lab-<fleet> + veth) exists on this host */
  labs: string[];
  /**
   * names of every other container on the engine (unmanaged, or another host's), so the
   * planner can refuse a name that is already taken; absent when the engine did not list them
   */
  foreignNames?: string[];
}

/* ------------------------------------------------------------------ */
/* Typed errors                                                        */
/* ------------------------------------------------------------------ */

export class DecnetError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly hint?: string,
  ) {
    super(message);
    this.name = 'DecnetError';
  }
}

/* ------------------------------------------------------------------ */
/* The file a service container reads (mounted read-only).            */
/* ------------------------------------------------------------------ */

/** Path inside a service container where decnet mounts its config file. */
export const SERVICE_CONFIG_PATH = '/etc/decnet/service.json';

/** Content of the service config file: the only place secret values are written. */
export interface ServiceRuntimeConfig {
  decky: string;
  fleet: string;
  service: string;
  hostname: string;
  ports: ServicePort[];
  /** persona config including secret values */
  config: Record<string, ConfigValue>;
  /** the decky's persona (packages/api persona.ts), the same for every service of the decky */
  persona?: Persona;
  /**
   * TLS identities made for the decky at apply time, by certificate style (PEM; kept in
   * the state dir so a decky shows the same certificate across restarts)
   */
  tls?: Record<string, { cert: string; key: string }>;
  /** ssh host keys made for the decky at apply time (OpenSSH private key format), kept in the state dir */
  sshHostKeys?: string[];
}
