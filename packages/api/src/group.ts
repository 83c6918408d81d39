/**
 * Group an ObservedState by decky and fleet, decoding labels once. Only this
 * host's managed objects are grouped; everything else is counted as foreign.
 * A decky whose labels are broken is reported with its errors, never dropped.
 */
import {
  decodeLabels,
  LABEL_DECKY,
  LABEL_FLEET,
  LABEL_HOST,
  LABEL_MANAGED,
  LABEL_ROLE,
  LABEL_SERVICE,
  LABEL_SETTINGS,
  labelValue,
  type DecodedDeckyLabels,
  type DecodedFleetLabels,
  type LabelError,
} from './labels.js';
import { withSettings, type FleetSettings } from './fleet-settings.js';
import type { ObservedContainer, ObservedNetwork, ObservedState, ObservedVolume, ResolvedDecky, ResolvedFleet } from './types.js';

export interface GroupedContainer {
  container: ObservedContainer;
  /** from the decoded labels, else from the raw role label */
  role?: 'base' | 'service';
  service?: string;
  decoded?: DecodedDeckyLabels;
  error?: LabelError;
}

export interface DeckyLabelIssue {
  /** container name, or the decky name for decky-level issues */
  container: string;
  code: string;
  message: string;
}

export interface ObservedDecky {
  name: string;
  /** fleet of the desired spec, else the fleet label of any of its containers */
  fleet?: string;
  containers: GroupedContainer[];
  /** the spec with the highest generation among its containers' labels */
  spec?: ResolvedDecky;
  hash?: string;
  generation?: number;
  errors: DeckyLabelIssue[];
}

export interface ObservedFleet {
  name: string;
  network: ObservedNetwork;
  /** the effective fleet: its network's spec with its current settings (fleet-settings.ts) */
  spec?: ResolvedFleet;
  /** the network label's spec-hash */
  hash?: string;
  error?: LabelError;
  /** the settings in force (from the newest valid settings volume), if any */
  settings?: ObservedSettings;
}

/** A fleet settings volume of this host. */
export interface ObservedSettings {
  fleet: string;
  volume: ObservedVolume;
  spec?: FleetSettings;
  hash?: string;
  error?: LabelError;
}

export interface GroupedState {
  hostId: string;
  /** sorted by name */
  deckies: ObservedDecky[];
  /** fleets with a managed network on this host, sorted by name */
  fleets: ObservedFleet[];
  /** every settings volume of this host (several for one fleet only after an interrupted change) */
  settings: ObservedSettings[];
  /** managed containers of this host without a decky label (reported, never planned on) */
  strays: GroupedContainer[];
  foreign: { containers: ObservedContainer[]; networks: ObservedNetwork[] };
  labs: string[];
}

const byName = <T extends { name: string }>(a: T, b: T) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);

/** Is this object decnet's and owned by this host? */
export function isOwned(labels: unknown, hostId: string): boolean {
  return labelValue(labels, LABEL_MANAGED) === 'true' && labelValue(labels, LABEL_HOST) === hostId;
}

export function groupObserved(observed: ObservedState): GroupedState {
  const hostId = observed.hostId;
  const deckies = new Map<string, ObservedDecky>();
  const strays: GroupedContainer[] = [];
  const foreign: GroupedState['foreign'] = { containers: [], networks: [] };

  for (const c of observed.containers) {
    if (!isOwned(c.labels, hostId)) {
      foreign.containers.push(c);
      continue;
    }
    const g = groupContainer(c);
    const name = g.decoded?.decky ?? labelValue(c.labels, LABEL_DECKY);
    if (name === undefined) {
      strays.push(g);
      continue;
    }
    let d = deckies.get(name);
    if (!d) deckies.set(name, (d = { name, containers: [], errors: [] }));
    d.containers.push(g);
    if (g.error) d.errors.push({ container: c.name, code: g.error.code, message: g.error.message });
  }
  for (const d of deckies.values()) settleDecky(d);

  const fleets: ObservedFleet[] = [];
  for (const n of observed.networks) {
    if (!isOwned(n.labels, hostId)) {
      foreign.networks.push(n);
      continue;
    }
    const r = decodeLabels(n.labels);
    const name = r.ok ? r.value.fleet : (labelValue(n.labels, LABEL_FLEET) ?? n.name);
    if (r.ok && r.value.kind === 'fleet') {
      const v: DecodedFleetLabels = r.value;
      fleets.push({ name, network: n, spec: v.spec, hash: v.hash });
    } else {
      const error: LabelError = r.ok ? { code: 'InvalidSpec', message: 'network carries container labels' } : r.error;
      fleets.push({ name, network: n, error });
    }
  }

  const settings = groupSettings(observed.volumes ?? [], hostId);
  for (const f of fleets) {
    const current = currentSettings(settings, f.name);
    if (!current?.spec) continue;
    f.settings = current;
    if (f.spec) f.spec = withSettings(f.spec, current.spec);
  }

  return {
    hostId,
    deckies: [...deckies.values()].sort(byName),
    fleets: fleets.sort(byName),
    settings,
    strays,
    foreign,
    labs: [...observed.labs].sort(),
  };
}

function groupSettings(volumes: readonly ObservedVolume[], hostId: string): ObservedSettings[] {
  const out: ObservedSettings[] = [];
  for (const v of volumes) {
    if (!isOwned(v.labels, hostId) || labelValue(v.labels, LABEL_SETTINGS) !== 'true') continue;
    const r = decodeLabels(v.labels);
    const fleet = r.ok ? r.value.fleet : (labelValue(v.labels, LABEL_FLEET) ?? v.name);
    if (r.ok && r.value.kind === 'settings') out.push({ fleet, volume: v, spec: r.value.spec, hash: r.value.hash });
    else out.push({ fleet, volume: v, error: r.ok ? { code: 'InvalidSpec', message: 'volume carries no fleet settings' } : r.error });
  }
  return out.sort((a, b) => (a.volume.name < b.volume.name ? -1 : a.volume.name > b.volume.name ? 1 : 0));
}

/** The settings in force for a fleet: its newest valid settings volume (ties: by name). */
export function currentSettings(settings: readonly ObservedSettings[], fleet: string): ObservedSettings | undefined {
  let best: ObservedSettings | undefined;
  for (const s of settings) {
    if (s.fleet !== fleet || !s.spec) continue;
    if (!best || (s.volume.createdAt ?? '') > (best.volume.createdAt ?? '') || ((s.volume.createdAt ?? '') === (best.volume.createdAt ?? '') && s.volume.name > best.volume.name)) best = s;
  }
  return best;
}

function groupContainer(c: ObservedContainer): GroupedContainer {
  const r = decodeLabels(c.labels);
  if (r.ok && r.value.kind === 'decky') {
    const d = r.value;
    return d.service === undefined ? { container: c, role: d.role, decoded: d } : { container: c, role: d.role, service: d.service, decoded: d };
  }
  const g: GroupedContainer = {
    container: c,
    error: r.ok ? { code: 'MissingLabel', message: `label ${LABEL_DECKY} is missing` } : r.error,
  };
  const role = labelValue(c.labels, LABEL_ROLE);
  if (role === 'base' || role === 'service') g.role = role;
  const service = labelValue(c.labels, LABEL_SERVICE);
  if (service !== undefined) g.service = service;
  return g;
}

/** Pick the desired spec (highest generation) and flag generation ties with different specs. */
function settleDecky(d: ObservedDecky): void {
  d.containers.sort((a, b) => byName(a.container, b.container));
  let best: DecodedDeckyLabels | undefined;
  for (const { decoded } of d.containers) {
    if (decoded && (!best || decoded.generation > best.generation)) best = decoded;
  }
  if (best) {
    const top = best;
    const rivals = d.containers.filter((c) => c.decoded && c.decoded.generation === top.generation && c.decoded.hash !== top.hash);
    if (rivals.length > 0) {
      d.errors.push({
        container: d.name,
        code: 'GenerationConflict',
        message: `containers ${rivals.map((r) => r.container.name).join(', ')} carry a different spec at generation ${top.generation}`,
      });
    }
    d.spec = top.spec;
    d.hash = top.hash;
    d.generation = top.generation;
    d.fleet = top.spec.fleet;
  } else {
    const fleets = d.containers.map((c) => labelValue(c.container.labels, LABEL_FLEET)).filter((f) => f !== undefined);
    if (fleets[0] !== undefined) d.fleet = fleets[0];
  }
  const seen = new Map<string, string>();
  for (const c of d.containers) {
    if (!c.role) continue;
    const slot = c.role === 'base' ? 'base' : `service ${c.service ?? '?'}`;
    const prev = seen.get(slot);
    if (prev !== undefined) {
      d.errors.push({ container: c.container.name, code: 'DuplicateContainer', message: `${c.container.name} and ${prev} both claim the ${slot} of ${d.name}` });
    } else seen.set(slot, c.container.name);
  }
}
