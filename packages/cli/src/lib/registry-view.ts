/**
 * `get hosts|deckies --registry`: the cluster as every host last reported it. A host
 * whose heartbeat expired is NotReady and its deckies Unknown (nothing is rescheduled).
 * Also the text of `drain host` and `delete host`.
 */
import { DecnetError } from '@decnet/api';
import { clusterDeckies, drainHost, type ClusterDeckyRow, type ClusterSnapshot, type PlacementOutcome } from '@decnet/registry';
import { render, type Column } from './output.js';
import { connectRegistry } from './registry-apply.js';
import { age } from './view.js';

export interface HostRow {
  id: string;
  status: string;
  address: string;
  deckies: number;
  running: number;
  capacity: number;
  lastHeartbeat?: string;
  version: string;
  labels: Record<string, string>;
  observedGeneration?: number;
  desiredGeneration?: number;
}

export function hostRows(s: ClusterSnapshot): HostRow[] {
  const rows = clusterDeckies(s);
  return s.hosts.map((h) => {
    const mine = rows.filter((r) => r.host === h.id);
    const row: HostRow = {
      id: h.id,
      status: h.status,
      address: h.address,
      deckies: mine.length,
      running: mine.filter((r) => r.phase === 'Running').length,
      capacity: h.capacity,
      version: h.controllerVersion,
      labels: h.labels,
    };
    if (h.lastHeartbeat !== undefined) row.lastHeartbeat = h.lastHeartbeat;
    if (s.observed[h.id]) row.observedGeneration = s.observed[h.id]!.generation;
    if (s.desired[h.id]) row.desiredGeneration = s.desired[h.id]!.generation;
    return row;
  });
}

const hostColumns: Column<HostRow>[] = [
  { header: 'host', get: (h) => h.id },
  { header: 'status', get: (h) => h.status },
  { header: 'address', get: (h) => h.address || undefined },
  { header: 'deckies', get: (h) => `${h.running}/${h.deckies}` },
  { header: 'capacity', get: (h) => h.capacity },
  { header: 'heartbeat', get: (h) => (h.lastHeartbeat ? `${age(h.lastHeartbeat)} ago` : undefined) },
  { header: 'version', get: (h) => h.version || undefined },
  { header: 'slice', get: (h) => `${h.observedGeneration ?? '-'}/${h.desiredGeneration ?? '-'}`, wide: true },
  { header: 'labels', get: (h) => Object.entries(h.labels).map(([k, v]) => `${k}=${v}`).join(',') || undefined, wide: true },
];

const deckyColumns: Column<ClusterDeckyRow>[] = [
  { header: 'name', get: (d) => d.name },
  { header: 'fleet', get: (d) => d.fleet },
  { header: 'host', get: (d) => d.host },
  { header: 'ip', get: (d) => d.ip },
  { header: 'services', get: (d) => d.services.join(',') },
  { header: 'phase', get: (d) => d.phase },
  { header: 'gen', get: (d) => `${d.observedGeneration ?? '-'}/${d.generation}`, wide: true },
  { header: 'host-status', get: (d) => d.hostStatus, wide: true },
  { header: 'message', get: (d) => d.message, wide: true },
];

export async function getFromRegistry(kind: string, name: string | undefined, flags: { registry?: string; cluster?: string; fleet?: string; output: string }): Promise<string> {
  const registry = await connectRegistry(flags);
  try {
    const snap = await registry.readAll();
    if (kind.startsWith('host')) {
      const rows = hostRows(snap).filter((h) => !name || h.id === name);
      if (name && rows.length === 0) throw new DecnetError('NotFound', `host ${name} is not registered in cluster ${registry.cluster}`);
      return render(flags.output, rows, hostColumns);
    }
    if (kind.startsWith('fleet')) throw new DecnetError('Unsupported', 'get fleets --registry is not supported: use get deckies --registry --fleet NAME');
    const rows = clusterDeckies(snap).filter((d) => (!name || d.name === name) && (!flags.fleet || d.fleet === flags.fleet));
    if (name && rows.length === 0) throw new DecnetError('NotFound', `decky ${name} is not in cluster ${registry.cluster}`);
    return render(flags.output, rows, deckyColumns);
  } finally {
    await registry.close();
  }
}

export function formatDrain(hostId: string, o: PlacementOutcome): string {
  const lines = o.result.moves.map((m) => `decky ${m.decky}: ${m.from} -> ${m.to}${o.commit ? '' : ' (not done)'}`);
  for (const w of o.result.warnings) lines.push(`warning: ${w}`);
  if (o.result.moves.length === 0 && o.result.conflicts.length === 0) lines.push(`host ${hostId}: nothing to move`);
  else if (o.commit) lines.push(`Moved ${o.result.moves.length} decky(s) off ${hostId}; each keeps its IP. The controllers remove and create them.`);
  return `${lines.join('\n')}\n`;
}

export { drainHost };
