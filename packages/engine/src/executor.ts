/**
 * Runs a Plan against an Engine following the wave contract of plan-types.ts, with no
 * decisions of its own: waves in ascending order; waves 0 and 3 sequential (whatever
 * they hold: a forced network recreate removes containers in wave 0); in waves 1 and 2
 * each decky's ops run in plan order and deckies run in parallel (bounded). A failed op
 * fails the rest of its decky or fleet, not the run; wave-2 ops of a decky whose fleet
 * failed its setup are skipped.
 * Only EngineUnavailable stops the run: with the engine unknown nothing more is started.
 */
import { DecnetError, type AlertSecretBundle, type Op, type OpKind, type Plan, type SecretBundle } from '@decnet/api';
import { writeAlertSecrets } from './alert-secrets.js';
import type { Engine } from './engine.js';
import { EngineUnavailableError } from './errors.js';
import { prepareServiceFiles } from './service-files.js';

export interface ErrorInfo {
  code: string;
  message: string;
  hint?: string;
}

export interface ProgressEvent {
  kind: 'start' | 'done' | 'failed' | 'skipped';
  /** index of the op in plan.ops */
  index: number;
  op: Op;
  error?: ErrorInfo;
  ms?: number;
}

export interface ExecuteOptions {
  parallelism?: number;
  secrets?: SecretBundle;
  /** secrets of alert routes (URLs, keys), written to the state dir by create-settings */
  alertSecrets?: AlertSecretBundle;
  onProgress?: (event: ProgressEvent) => void;
}

export interface OpFailure extends ErrorInfo {
  index: number;
  op: OpKind;
  target: string;
}

export interface GroupResult {
  status: 'ok' | 'failed';
  done: number;
  skipped: number;
  failure?: OpFailure;
}

export interface ExecutionSummary {
  ok: boolean;
  /** set when the run stopped early (engine unreachable) */
  aborted?: ErrorInfo;
  deckies: Record<string, GroupResult>;
  fleets: Record<string, GroupResult>;
  /** engine write calls made (one per op attempted) */
  writes: number;
  writesByKind: Partial<Record<OpKind, number>>;
  done: number;
  failed: number;
  skipped: number;
  durationMs: number;
}

/** The name an op acts on, for display. */
export function opTarget(op: Op): string {
  return 'name' in op ? op.name : op.fleet;
}

function errorInfo(err: unknown): ErrorInfo {
  if (err instanceof DecnetError) return { code: err.code, message: err.message, ...(err.hint ? { hint: err.hint } : {}) };
  return { code: 'InternalError', message: err instanceof Error ? err.message : String(err) };
}

type FleetOp = Extract<Op, { op: 'ensure-lab' | 'create-network' | 'remove-network' | 'remove-lab' | 'create-settings' | 'remove-settings' }>;
const FLEET_OPS = new Set(['ensure-lab', 'create-network', 'remove-network', 'remove-lab', 'create-settings', 'remove-settings']);
function isFleetOp(op: Op): op is FleetOp {
  return FLEET_OPS.has(op.op);
}

/** Refuses plans with conflicts and plans whose ops are not sorted by wave. */
export function validatePlan(plan: Plan): void {
  if (plan.conflicts.length > 0) {
    throw new DecnetError('PlanHasConflicts', `the plan has ${plan.conflicts.length} conflict(s); nothing is executed`, plan.conflicts[0]?.message);
  }
  let last = 0;
  plan.ops.forEach((op, i) => {
    if (op.wave < last) throw new DecnetError('InvalidPlan', `op ${i} (${op.op}) is in wave ${op.wave} after wave ${last}`);
    if (![0, 1, 2, 3].includes(op.wave)) throw new DecnetError('InvalidPlan', `op ${i} (${op.op}) has unknown wave ${String(op.wave)}`);
    last = op.wave;
  });
}

async function runOp(engine: Engine, op: Op, secrets: SecretBundle | undefined, alertSecrets?: AlertSecretBundle): Promise<void> {
  switch (op.op) {
    case 'create-settings':
      await writeAlertSecrets(engine.stateDir, op.settings, alertSecrets?.[op.fleet]);
      return engine.createVolume(op);
    case 'remove-settings':
      return engine.removeVolume(op.name);
    case 'ensure-lab':
      return engine.ensureLab(op.fleet, op.subnet, op.gateway);
    case 'create-network':
      await engine.createNetwork(op);
      return;
    case 'remove-network':
      return engine.removeNetwork(op.id);
    case 'remove-lab':
      return engine.removeLab(op.fleet);
    case 'create-container':
      if (op.container.role === 'service') await prepareServiceFiles(engine.stateDir, op, secrets);
      await engine.createContainer(op);
      return;
    case 'start-container':
      return engine.startContainer(op.name);
    case 'stop-container':
      return engine.stopContainer(op.id);
    case 'remove-container':
      return engine.removeContainer(op.id);
  }
}

export async function execute(plan: Plan, engine: Engine, opts: ExecuteOptions = {}): Promise<ExecutionSummary> {
  validatePlan(plan);
  const t0 = performance.now();
  const parallelism = Math.max(1, Math.floor(opts.parallelism ?? 8));
  const emit = (e: ProgressEvent) => {
    try {
      opts.onProgress?.(e);
    } catch {
      // a display callback never breaks a run
    }
  };
  const s: ExecutionSummary = { ok: true, deckies: {}, fleets: {}, writes: 0, writesByKind: {}, done: 0, failed: 0, skipped: 0, durationMs: 0 };
  const fleetOf = new Map<string, string>();
  for (const op of plan.ops) {
    if (op.op === 'create-container' || (!isFleetOp(op) && op.fleet !== undefined)) fleetOf.set(op.decky, op.fleet as string);
  }

  const group = (op: Op): GroupResult => {
    const table = isFleetOp(op) ? s.fleets : s.deckies;
    const key = isFleetOp(op) ? op.fleet : op.decky;
    return (table[key] ??= { status: 'ok', done: 0, skipped: 0 });
  };
  const skip = (index: number, op: Op, reason?: ErrorInfo) => {
    const g = group(op);
    g.skipped++;
    s.skipped++;
    if (reason && !g.failure) {
      g.status = 'failed';
      g.failure = { index, op: op.op, target: opTarget(op), ...reason };
    }
    emit({ kind: 'skipped', index, op, ...(reason ? { error: reason } : {}) });
  };

  /** Runs one op unless its group already failed or the run aborted. */
  const step = async (index: number, op: Op): Promise<void> => {
    const g = group(op);
    if (s.aborted || g.status === 'failed') return skip(index, op);
    if (!isFleetOp(op) && op.wave === 2) {
      const fleet = fleetOf.get(op.decky);
      if (fleet !== undefined && s.fleets[fleet]?.status === 'failed') {
        return skip(index, op, { code: 'FleetSetupFailed', message: `setup of fleet ${fleet} failed`, hint: s.fleets[fleet]?.failure?.message });
      }
    }
    emit({ kind: 'start', index, op });
    const started = performance.now();
    s.writes++;
    s.writesByKind[op.op] = (s.writesByKind[op.op] ?? 0) + 1;
    try {
      await runOp(engine, op, opts.secrets, opts.alertSecrets);
      g.done++;
      s.done++;
      emit({ kind: 'done', index, op, ms: performance.now() - started });
    } catch (err) {
      const info = errorInfo(err);
      g.status = 'failed';
      g.failure = { index, op: op.op, target: opTarget(op), ...info };
      s.failed++;
      // engine methods wrap transport failures; a raw ENOENT from the file system is not one
      if (err instanceof EngineUnavailableError || info.code === 'EngineUnavailable') s.aborted ??= info;
      emit({ kind: 'failed', index, op, error: info, ms: performance.now() - started });
    }
  };

  const indexed = plan.ops.map((op, index) => ({ op, index }));
  for (const wave of [0, 1, 2, 3] as const) {
    const ops = indexed.filter((x) => x.op.wave === wave);
    if (wave === 0 || wave === 3) {
      for (const { op, index } of ops) await step(index, op);
      continue;
    }
    const groups = new Map<string, typeof ops>();
    for (const x of ops) {
      const key = isFleetOp(x.op) ? x.op.fleet : x.op.decky;
      groups.set(key, [...(groups.get(key) ?? []), x]);
    }
    const queue = [...groups.values()];
    const worker = async () => {
      for (let g = queue.shift(); g; g = queue.shift()) {
        for (const { op, index } of g) await step(index, op);
      }
    };
    await Promise.all(Array.from({ length: Math.min(parallelism, queue.length) }, worker));
  }
  s.ok = s.failed === 0 && s.skipped === 0 && !s.aborted;
  s.durationMs = Math.round(performance.now() - t0);
  return s;
}
