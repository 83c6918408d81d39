/**
 * What the registry stores: host registrations, desired slices (what apply wants
 * on a host) and observed slices (what that host's controller reports).
 */
import type { AlertSecretBundle, ResolvedDecky, ResolvedFleet, SecretBundle } from '@decnet/api';

/** Default capacity (deckies) of a host that does not declare one. */
export const DEFAULT_HOST_CAPACITY = 100;

/**
 * Host label listing the fleets (LANs) a host can serve, comma separated, e.g.
 * `decnet.io/fleets: "lab,corp"`. A host without it can serve any fleet.
 */
export const FLEETS_LABEL = 'decnet.io/fleets';

export interface HostRegistration {
  id: string;
  /** how to reach the host (informational), e.g. its management IP */
  address: string;
  /** matched by `placement.hostSelector` */
  labels: Record<string, string>;
  /** most deckies it should run */
  capacity: number;
  controllerVersion: string;
  /** RFC 3339, first registration (kept on re-registration) */
  registeredAt: string;
}

export type HostReadiness = 'Ready' | 'NotReady';

export interface HostInfo extends HostRegistration {
  status: HostReadiness;
  /** RFC 3339 time of the last heartbeat, if any was ever sent */
  lastHeartbeat?: string;
  /** ms left before the heartbeat expires (Ready hosts) */
  heartbeatTtlMs?: number;
}

/** One decky of a desired slice. */
export interface DesiredDecky {
  spec: ResolvedDecky;
  /** +1 whenever this decky's spec hash changes (starts at 1) */
  generation: number;
  /** canonicalHash(spec) */
  hash: string;
}

/** Everything one host should run. */
export interface DesiredSlice {
  hostId: string;
  /** +1 on every write of this slice (0 = never written) */
  generation: number;
  /** every fleet with a decky on this host (a fleet spans hosts: each gets the fleet spec), sorted by name */
  fleets: ResolvedFleet[];
  /** sorted by name */
  deckies: DesiredDecky[];
  /** secret values of its deckies' services (decky -> service -> key -> value); never logged */
  secrets?: SecretBundle;
  /** secrets of its fleets' alert routes (fleet -> route -> url, key); never logged */
  alertSecrets?: AlertSecretBundle;
  /** RFC 3339 time of the write */
  updatedAt: string;
}

export type ObservedPhase = 'Pending' | 'Running' | 'Degraded' | 'Failed' | 'Unknown';

export interface ConditionSummary {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  reason: string;
  message?: string;
}

/** What a controller reports about one decky of its slice. */
export interface ObservedDecky {
  name: string;
  fleet: string;
  /** spec hash found on its containers' labels */
  hash?: string;
  /** the desired decky generation this status is about (the registry's, when `hash` matches the desired hash) */
  observedGeneration?: number;
  phase: ObservedPhase;
  conditions: ConditionSummary[];
  message?: string;
  /** RFC 3339, when this decky's status last changed */
  updatedAt: string;
}

export interface ObservedSlice {
  hostId: string;
  /** the desired slice generation the controller has materialised */
  generation: number;
  /** sorted by name */
  deckies: ObservedDecky[];
  /** RFC 3339 time of the report (set by the registry on every write) */
  reportedAt?: string;
}

/** Everything in the registry of one cluster, read in one MULTI (consistent). */
export interface ClusterSnapshot {
  cluster: string;
  /** placement epoch: pass it back to commit so a concurrent apply makes the commit stale */
  epoch: number;
  rev: number;
  /** registered hosts, sorted by id */
  hosts: HostInfo[];
  /** host id -> desired slice (hosts with a slice, registered or not) */
  desired: Record<string, DesiredSlice>;
  /** host id -> observed slice */
  observed: Record<string, ObservedSlice>;
  /** epoch ms until which hosts are re-registering after the registry forgot them (see Registry.markRecovering) */
  recoveringUntil?: number;
}

export type ChangeKind = 'desired' | 'observed' | 'host';

/** Published on the change channel after every write. */
export interface ChangeMessage {
  kind: ChangeKind;
  hosts: string[];
  rev: number;
}

export interface ChangeEvent {
  /** 'message': pub/sub; 'poll': the periodic revision check found a change */
  source: 'message' | 'poll';
  rev: number;
  kind?: ChangeKind;
  hosts?: string[];
}
