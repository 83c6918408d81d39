/**
 * Per-decky planning: which of a decky's containers to remove, recreate, create
 * or start so that its containers embody the desired spec (level-based).
 */
import { encodeDeckyLabels } from './labels.js';
import { baseContainerName, networkName, serviceContainerName } from './naming.js';
import { baseDiff, partUpToDate, serviceDiff, specDiff } from './parts.js';
import type { GroupedContainer, ObservedDecky } from './group.js';
import type { Op, Wave } from './plan-types.js';
import type { ContainerState, ResolvedDecky } from './types.js';

const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** Containers in these states are recreated rather than started. */
const BROKEN: ReadonlySet<ContainerState> = new Set(['dead', 'removing']);
/** Containers in these states are started. */
const STOPPED: ReadonlySet<ContainerState> = new Set(['created', 'exited']);

export interface DeckyPlanInput {
  desired: ResolvedDecky;
  /** what is observed of it (undefined: new decky) */
  observed?: ObservedDecky;
  generation: number;
  /** canonicalHash(desired), when the caller has it */
  desiredHash?: string;
  hostId: string;
  /** its containers are already gone (fleet network recreated in wave 0) */
  containersGone?: string;
  /** recreate containers whose labels do not decode (only with --force) */
  replaceBroken?: boolean;
}

/** Remove ops for a decky's containers: services first (by name), then the base. */
export function removalOps(d: ObservedDecky, wave: Wave, cause: string): Op[] {
  const ordered = [...d.containers].sort((a, b) => {
    const ab = isBase(a, d.name) ? 1 : 0;
    const bb = isBase(b, d.name) ? 1 : 0;
    return ab - bb || cmp(a.container.name, b.container.name);
  });
  return ordered.map((c) => removeOp(d.name, d.fleet, c, wave, cause));
}

function isBase(c: GroupedContainer, decky: string): boolean {
  return c.role === 'base' || (c.role === undefined && c.container.name === baseContainerName(decky));
}

function removeOp(decky: string, fleet: string | undefined, c: GroupedContainer, wave: Wave, cause: string): Op {
  const op: Op = { wave, op: 'remove-container', decky, name: c.container.name, id: c.container.id, cause };
  if (fleet !== undefined) op.fleet = fleet;
  return op;
}

export function planDecky(input: DeckyPlanInput): Op[] {
  const { desired: D, observed: O, generation } = input;
  const gone = input.containersGone;
  const containers = gone !== undefined ? [] : (O?.containers ?? []);
  const baseName = baseContainerName(D.name);
  const serviceNames = D.services.map((s) => s.name).sort(cmp);

  // match observed containers to desired slots by name and role
  const slots = new Map<string, GroupedContainer>();
  const extraneous: GroupedContainer[] = [];
  for (const c of containers) {
    const n = c.container.name;
    if (n === baseName && c.role === 'base' && !slots.has('base')) slots.set('base', c);
    else if (c.role === 'service' && c.service !== undefined && serviceNames.includes(c.service) && n === serviceContainerName(D.name, c.service) && !slots.has(c.service)) {
      slots.set(c.service, c);
    } else extraneous.push(c);
  }

  /** undefined: keep; otherwise the reason to (re)create */
  const reason = (c: GroupedContainer | undefined, role: 'base' | 'service', service?: string): string | undefined => {
    if (!c) return gone ?? (O ? 'container missing' : 'new decky');
    if (!c.decoded) return input.replaceBroken ? `labels invalid: ${c.error?.code ?? 'unknown'}, --force` : undefined;
    if (BROKEN.has(c.container.state)) return `container ${c.container.state}`;
    if (partUpToDate(c.decoded.spec, D, role, service)) return undefined;
    return role === 'base'
      ? `base changed: ${baseDiff(c.decoded.spec, D).join(', ')}`
      : `service ${service} changed: ${serviceDiff(c.decoded.spec, D, service ?? '').join(', ')}`;
  };

  const baseC = slots.get('base');
  const baseWhy = reason(baseC, 'base');
  const svcWhy = new Map<string, string | undefined>();
  for (const s of serviceNames) {
    svcWhy.set(s, baseWhy !== undefined ? (slots.get(s) ? 'base recreated' : reason(undefined, 'service', s)) : reason(slots.get(s), 'service', s));
  }

  // carrier rule: a changed spec must reach the labels of at least one container
  const creates = baseWhy !== undefined || [...svcWhy.values()].some((w) => w !== undefined);
  if (!creates && O?.spec && O.hash !== undefined && O.hash !== input.desiredHash && gone === undefined) {
    const first = serviceNames[0];
    const changed = specDiff(O.spec, D);
    if (first !== undefined && changed.length > 0) {
      svcWhy.set(first, `records generation ${generation}: spec changed in ${changed.join(', ')}, no container part did`);
    }
  }

  const ops: Op[] = [];
  const wave = 2 as const;
  for (const c of [...extraneous].sort((a, b) => Number(isBase(a, D.name)) - Number(isBase(b, D.name)) || cmp(a.container.name, b.container.name))) {
    const why = c.role === 'service' && c.service !== undefined && !serviceNames.includes(c.service)
      ? `service ${c.service} removed from spec`
      : 'not part of the desired decky';
    ops.push(removeOp(D.name, D.fleet, c, wave, why));
  }
  for (const s of serviceNames) {
    const c = slots.get(s);
    const why = svcWhy.get(s);
    if (c && why !== undefined) ops.push(removeOp(D.name, D.fleet, c, wave, why));
  }
  if (baseC && baseWhy !== undefined) ops.push(removeOp(D.name, D.fleet, baseC, wave, baseWhy));

  const start = (name: string, cause: string): Op => ({ wave, op: 'start-container', decky: D.name, fleet: D.fleet, name, cause });
  if (baseWhy !== undefined) {
    ops.push({
      wave,
      op: 'create-container',
      decky: D.name,
      fleet: D.fleet,
      role: 'base',
      name: baseName,
      labels: encodeDeckyLabels(D, { hostId: input.hostId, role: 'base', generation }),
      container: { role: 'base', image: D.baseImage, hostname: D.hostname, network: networkName(D.fleet), ip: D.ip, ...(D.mac !== undefined ? { mac: D.mac } : {}), sysctls: D.sysctls },
      spec: D,
      cause: baseWhy,
    });
    ops.push(start(baseName, baseWhy));
  } else if (baseC && STOPPED.has(baseC.container.state)) {
    ops.push(start(baseName, `container ${baseC.container.state}`));
  }
  for (const svc of D.services.slice().sort((a, b) => cmp(a.name, b.name))) {
    const name = serviceContainerName(D.name, svc.name);
    const why = svcWhy.get(svc.name);
    const c = slots.get(svc.name);
    if (why !== undefined) {
      ops.push({
        wave,
        op: 'create-container',
        decky: D.name,
        fleet: D.fleet,
        role: 'service',
        service: svc.name,
        name,
        labels: encodeDeckyLabels(D, { hostId: input.hostId, role: 'service', service: svc.name, generation }),
        container: { role: 'service', image: svc.image, baseName, service: svc, hasSecrets: svc.secretKeys.length > 0 },
        spec: D,
        cause: why,
      });
      ops.push(start(name, why));
    } else if (c && STOPPED.has(c.container.state)) {
      ops.push(start(name, `container ${c.container.state}`));
    }
  }
  return ops;
}
