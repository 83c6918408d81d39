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
  labelValue,
  type DecodedDeckyLabels,
  type DecodedFleetLabels,
  type LabelError,
} from './labels.js';
import type { ObservedContainer, ObservedNetwork, ObservedState, ResolvedDecky, ResolvedFleet } from './types.js';

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
  spec?: ResolvedFleet;
  hash?: string;
  error?: LabelError;
}

export interface GroupedState {
  hostId: string;
  /** sorted by name */
  deckies: ObservedDecky[];
  /** fleets with a managed network on this host, sorted by name */
  fleets: ObservedFleet[];
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

  return {
    hostId,
    deckies: [...deckies.values()].sort(byName),
    fleets: fleets.sort(byName),
    strays,
    foreign,
    labs: [...observed.labs].sort(),
  };
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
