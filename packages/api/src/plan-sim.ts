/**
 * An in-memory engine: applies a Plan's ops to an ObservedState (pure) the way
 * Docker would, refusing what Docker would refuse (name conflicts, removing a
 * network with endpoints, starting a missing container, ops out of wave order).
 * Used by property tests here and reusable by other packages' tests.
 */
import { sha256Hex } from './canonical.js';
import { LABEL_FLEET, labelValue } from './labels.js';
import { DecnetError, type ObservedContainer, type ObservedNetwork, type ObservedState, type ObservedVolume } from './types.js';
import type { Plan } from './plan-types.js';

export interface SimulateOptions {
  /** refuse a plan that has conflicts (default true) */
  refuseConflicts?: boolean;
}

export function observedFromPlan(observed: ObservedState, plan: Plan, opts: SimulateOptions = {}): ObservedState {
  if (opts.refuseConflicts !== false && plan.conflicts.length > 0) {
    throw new DecnetError('PlanHasConflicts', `plan has ${plan.conflicts.length} conflict(s): ${plan.conflicts.map((c) => c.code).join(', ')}`);
  }
  let containers: ObservedContainer[] = observed.containers.map((c) => ({ ...c }));
  let networks: ObservedNetwork[] = observed.networks.map((n) => ({ ...n }));
  let labs = [...observed.labs];
  let volumes: ObservedVolume[] = (observed.volumes ?? []).map((v) => ({ ...v }));
  const allNames = () => new Set([...containers.map((c) => c.name), ...(observed.foreignNames ?? [])]);
  const fail = (i: number, msg: string): never => {
    throw new DecnetError('SimulatedEngineError', `op ${i} (${plan.ops[i]?.op}): ${msg}`);
  };
  let lastWave = -1;

  plan.ops.forEach((op, i) => {
    if (op.wave < lastWave) fail(i, `wave ${op.wave} after wave ${lastWave}`);
    lastWave = op.wave;
    const id = sha256Hex(`${observed.hostId}:${i}:${op.op}:${'name' in op ? op.name : op.fleet}:${containers.length}:${networks.length}`).slice(0, 16);
    switch (op.op) {
      case 'ensure-lab':
        if (!labs.includes(op.fleet)) labs.push(op.fleet);
        break;
      case 'remove-lab':
        labs = labs.filter((l) => l !== op.fleet);
        break;
      case 'create-settings':
        if (volumes.some((v) => v.name === op.name)) fail(i, `volume ${op.name} already exists`);
        volumes.push({ name: op.name, labels: { ...op.labels }, createdAt: new Date(Date.UTC(2025, 0, 1) + i).toISOString() });
        break;
      case 'remove-settings':
        if (!volumes.some((v) => v.name === op.name)) fail(i, `no volume ${op.name}`);
        volumes = volumes.filter((v) => v.name !== op.name);
        break;
      case 'create-network': {
        if (networks.some((n) => n.name === op.name)) fail(i, `network ${op.name} already exists`);
        if (op.spec.lab && !labs.includes(op.fleet)) fail(i, `lab parent for ${op.fleet} missing`);
        const n: ObservedNetwork = { id, name: op.name, driver: op.spec.network.mode, labels: { ...op.labels }, subnet: op.spec.network.subnet, gateway: op.spec.network.gateway };
        const parent = op.spec.network.parent ?? (op.spec.lab ? `decnet-lab-${op.fleet}` : undefined);
        if (parent !== undefined) n.parent = parent;
        networks.push(n);
        break;
      }
      case 'remove-network': {
        const net = networks.find((n) => n.id === op.id) ?? fail(i, `no network ${op.id}`);
        const fleet = labelValue(net.labels, LABEL_FLEET);
        if (containers.some((c) => c.ip !== undefined && labelValue(c.labels, LABEL_FLEET) === fleet)) fail(i, `network ${net.name} has active endpoints`);
        networks = networks.filter((n) => n.id !== op.id);
        break;
      }
      case 'create-container': {
        if (allNames().has(op.name)) fail(i, `container name ${op.name} already in use`);
        const c: ObservedContainer = { id, name: op.name, image: op.container.image, labels: { ...op.labels }, state: 'created' };
        if (op.container.role === 'base') {
          const netName = op.container.network;
          if (!networks.some((n) => n.name === netName)) fail(i, `network ${netName} not found`);
          c.ip = op.container.ip;
        } else {
          const baseName = op.container.baseName;
          const base = containers.find((x) => x.name === baseName) ?? fail(i, `base container ${baseName} not found`);
          c.networkContainer = base.id;
        }
        containers.push(c);
        break;
      }
      case 'start-container': {
        const c = containers.find((x) => x.name === op.name) ?? fail(i, `no container ${op.name}`);
        if (c.networkContainer !== undefined) {
          const base = containers.find((x) => x.id === c.networkContainer);
          if (!base || base.state !== 'running') fail(i, `namespace container of ${op.name} is not running`);
        }
        containers = containers.map((x) => (x.name === op.name ? { ...x, state: 'running' } : x));
        break;
      }
      case 'stop-container':
        if (!containers.some((x) => x.id === op.id)) fail(i, `no container ${op.id}`);
        containers = containers.map((x) => (x.id === op.id ? { ...x, state: 'exited', exitCode: 0 } : x));
        break;
      case 'remove-container':
        if (!containers.some((x) => x.id === op.id)) fail(i, `no container ${op.id}`);
        containers = containers.filter((x) => x.id !== op.id);
        break;
    }
  });
  const out: ObservedState = { hostId: observed.hostId, containers, networks, labs };
  if (observed.volumes || volumes.length > 0) out.volumes = volumes;
  if (observed.foreignNames) out.foreignNames = [...observed.foreignNames];
  return out;
}
