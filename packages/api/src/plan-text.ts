/**
 * The deterministic text form of a Plan: what `decnetctl diff`, `--dry-run` and
 * golden tests print. Conflicts first, then one line per op
 * `[wave] fleet/decky: verb object (cause)` with a blank line between groups,
 * then a summary line.
 */
import type { Op, Plan } from './plan-types.js';

export interface PlanSummary {
  create: number;
  recreate: number;
  remove: number;
  start: number;
  stop: number;
}

export function summarizePlan(plan: Plan): PlanSummary {
  const removed = new Set<string>();
  const created = new Set<string>();
  for (const op of plan.ops) {
    if (op.op === 'remove-container') removed.add(`c:${op.name}`);
    if (op.op === 'remove-network') removed.add(`n:${op.name}`);
    if (op.op === 'create-container') created.add(`c:${op.name}`);
    if (op.op === 'create-network') created.add(`n:${op.name}`);
  }
  const s: PlanSummary = { create: 0, recreate: 0, remove: 0, start: 0, stop: 0 };
  for (const op of plan.ops) {
    switch (op.op) {
      case 'create-container':
      case 'create-network': {
        const key = `${op.op === 'create-network' ? 'n' : 'c'}:${op.name}`;
        if (removed.has(key)) s.recreate++;
        else s.create++;
        break;
      }
      case 'remove-container':
      case 'remove-network': {
        const key = `${op.op === 'remove-network' ? 'n' : 'c'}:${op.name}`;
        if (!created.has(key)) s.remove++;
        break;
      }
      case 'ensure-lab':
      case 'create-settings':
        s.create++;
        break;
      case 'remove-settings':
        s.remove++;
        break;
      case 'remove-lab':
        s.remove++;
        break;
      case 'start-container':
        if (!created.has(`c:${op.name}`)) s.start++;
        break;
      case 'stop-container':
        s.stop++;
        break;
    }
  }
  return s;
}

function subject(op: Op): string {
  switch (op.op) {
    case 'ensure-lab':
    case 'remove-lab':
    case 'create-network':
    case 'remove-network':
    case 'create-settings':
    case 'remove-settings':
      return op.fleet;
    default:
      return `${op.fleet ?? '?'}/${op.decky}`;
  }
}

function action(op: Op): string {
  switch (op.op) {
    case 'ensure-lab':
      return `ensure lab plumbing ${op.subnet} gw ${op.gateway}`;
    case 'remove-lab':
      return 'remove lab plumbing';
    case 'create-network':
      return `create network ${op.name} (${op.spec.network.mode} ${op.spec.network.subnet}${op.spec.network.parent ? ` on ${op.spec.network.parent}` : ''})`;
    case 'remove-network':
      return `remove network ${op.name}`;
    case 'create-settings': {
      const routes = op.settings.alerts?.map((r) => `${r.name}:${r.type}`).join(',');
      return `create settings ${op.name}${routes ? ` (alerts ${routes})` : ''}`;
    }
    case 'remove-settings':
      return `remove settings ${op.name}`;
    case 'create-container': {
      const gen = op.labels['com.decnet.generation'] ?? '?';
      return op.container.role === 'base'
        ? `create base ${op.name} (${op.container.image}, ip ${op.container.ip}, gen ${gen})`
        : `create service ${op.name} (${op.container.image}, gen ${gen}${op.container.hasSecrets ? ', secrets' : ''})`;
    }
    case 'start-container':
      return `start ${op.name}`;
    case 'stop-container':
      return `stop ${op.name}`;
    case 'remove-container':
      return `remove ${op.name}`;
  }
}

export function formatSummary(plan: Plan): string {
  const s = summarizePlan(plan);
  const lines: string[] = [];
  if (plan.ops.length === 0) lines.push('No changes.');
  else {
    lines.push(`Plan: ${s.create} to create, ${s.recreate} to recreate, ${s.remove} to remove, ${s.start} to start${s.stop ? `, ${s.stop} to stop` : ''}.`);
  }
  if (plan.conflicts.length > 0) lines.push(`Refused: ${plan.conflicts.length} conflict(s); nothing will be applied.`);
  return lines.join('\n');
}

export function formatPlan(plan: Plan): string {
  const out: string[] = [];
  if (plan.conflicts.length > 0) {
    out.push(`Conflicts (${plan.conflicts.length}):`);
    for (const c of plan.conflicts) {
      out.push(`  ! ${c.code}: ${c.message}`);
      if (c.hint) out.push(`    hint: ${c.hint}`);
    }
    out.push('');
  }
  let group = '';
  for (const op of plan.ops) {
    const key = `${op.wave}|${subject(op)}`;
    if (group !== '' && key !== group) out.push('');
    group = key;
    out.push(`[${op.wave}] ${subject(op)}: ${action(op)} (${op.cause})`);
  }
  if (plan.ops.length > 0) out.push('');
  out.push(formatSummary(plan));
  return out.join('\n') + '\n';
}
