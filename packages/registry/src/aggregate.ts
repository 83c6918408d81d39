/**
 * Cluster views (pure) over a snapshot: one row per desired decky with its host,
 * the host's readiness and what the host last reported; and rollout progress
 * (has every written slice been observed, and are its deckies Running).
 * A decky of a NotReady host is Unknown, whatever it last reported.
 */
import type { ClusterSnapshot, ConditionSummary, HostReadiness, ObservedPhase } from './types.js';

export interface ClusterDeckyRow {
  name: string;
  fleet: string;
  host: string;
  hostStatus: HostReadiness | 'Unregistered';
  ip: string;
  services: string[];
  /** desired decky generation */
  generation: number;
  /** decky generation the host last reported for it */
  observedGeneration?: number;
  phase: ObservedPhase;
  conditions: ConditionSummary[];
  message?: string;
  /** the host reports the desired spec (hash and generation match) */
  upToDate: boolean;
}

const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

export function clusterDeckies(s: ClusterSnapshot): ClusterDeckyRow[] {
  const status = new Map(s.hosts.map((h) => [h.id, h.status]));
  const rows: ClusterDeckyRow[] = [];
  for (const [host, slice] of Object.entries(s.desired)) {
    const hostStatus = status.get(host) ?? 'Unregistered';
    const obs = new Map((s.observed[host]?.deckies ?? []).map((d) => [d.name, d]));
    for (const d of slice.deckies) {
      const o = obs.get(d.spec.name);
      const upToDate = o !== undefined && o.hash === d.hash && o.observedGeneration === d.generation;
      const row: ClusterDeckyRow = {
        name: d.spec.name,
        fleet: d.spec.fleet,
        host,
        hostStatus,
        ip: d.spec.ip,
        services: d.spec.services.map((x) => x.name),
        generation: d.generation,
        phase: hostStatus !== 'Ready' ? 'Unknown' : (o?.phase ?? 'Pending'),
        conditions: hostStatus !== 'Ready' ? [] : (o?.conditions ?? []),
        upToDate,
      };
      if (o?.observedGeneration !== undefined) row.observedGeneration = o.observedGeneration;
      const message = hostStatus !== 'Ready' ? `host ${host} is ${hostStatus}` : o?.message;
      if (message !== undefined) row.message = message;
      rows.push(row);
    }
  }
  return rows.sort((a, b) => cmp(a.name, b.name));
}

export interface RolloutProgress {
  done: boolean;
  /** hosts that have not yet reported the written generation */
  hostsBehind: Array<{ host: string; want: number; have?: number; status: HostReadiness | 'Unregistered' }>;
  /** deckies (of `deckies`, or of the written slices) not yet Running at their desired generation */
  notReady: Array<{ name: string; host: string; phase: ObservedPhase; reason: string }>;
}

/** Has every host in `generations` observed (at least) that slice generation, and are the deckies Running and up to date? */
export function rolloutProgress(s: ClusterSnapshot, generations: Readonly<Record<string, number>>, deckies?: readonly string[]): RolloutProgress {
  const status = new Map(s.hosts.map((h) => [h.id, h.status]));
  const hostsBehind: RolloutProgress['hostsBehind'] = [];
  for (const [host, want] of Object.entries(generations).sort(([a], [b]) => cmp(a, b))) {
    const have = s.observed[host]?.generation;
    if (have === undefined || have < want) hostsBehind.push(have === undefined ? { host, want, status: status.get(host) ?? 'Unregistered' } : { host, want, have, status: status.get(host) ?? 'Unregistered' });
  }
  const only = deckies ? new Set(deckies) : undefined;
  const notReady: RolloutProgress['notReady'] = [];
  for (const r of clusterDeckies(s)) {
    if (only ? !only.has(r.name) : generations[r.host] === undefined) continue;
    if (r.phase === 'Running' && r.upToDate) continue;
    notReady.push({ name: r.name, host: r.host, phase: r.phase, reason: r.message ?? (r.upToDate ? r.phase : 'spec not yet observed') });
  }
  return { done: hostsBehind.length === 0 && notReady.length === 0, hostsBehind, notReady };
}
