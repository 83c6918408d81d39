/**
 * Executor scheduling against an in-memory implementation of the Engine *port* (it
 * records calls; it does not imitate Docker). Real-engine runs are in docker-engine.test.ts.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DecnetError, makeDecky, makeFleet, type Op, type Plan } from '@decnet/api';
import type { CreateContainerOp, Engine } from './engine.js';
import { EngineUnavailableError } from './errors.js';
import { execute, validatePlan, type ProgressEvent } from './executor.js';

let stateDir: string;
beforeAll(async () => {
  stateDir = await mkdtemp(join(tmpdir(), 't4-exec-'));
});
afterAll(async () => {
  await rm(stateDir, { recursive: true, force: true });
});

class RecordingEngine implements Partial<Engine> {
  readonly calls: string[] = [];
  active = 0;
  maxActive = 0;
  failOn = new Map<string, Error>();
  constructor(readonly stateDir: string, private readonly delayMs = 5) {}
  private async rec(what: string): Promise<void> {
    this.calls.push(`${what}:start`);
    this.active++;
    this.maxActive = Math.max(this.maxActive, this.active);
    await new Promise((r) => setTimeout(r, this.delayMs));
    this.active--;
    this.calls.push(`${what}:end`);
    const err = this.failOn.get(what);
    if (err) throw err;
  }
  ensureLab = (f: string) => this.rec(`ensure-lab ${f}`);
  removeLab = (f: string) => this.rec(`remove-lab ${f}`);
  createNetwork = async (op: { name: string }) => (await this.rec(`create-network ${op.name}`), 'id');
  removeNetwork = (id: string) => this.rec(`remove-network ${id}`);
  createContainer = async (op: CreateContainerOp) => (await this.rec(`create ${op.name}`), 'id');
  startContainer = (n: string) => this.rec(`start ${n}`);
  stopContainer = (n: string) => this.rec(`stop ${n}`);
  removeContainer = (n: string) => this.rec(`remove ${n}`);
}

const asEngine = (e: RecordingEngine) => e as unknown as Engine;

function deckyOps(decky: string, fleet = 'f1'): Op[] {
  const spec = makeDecky(decky, fleet, { services: [] });
  const base: Op = {
    op: 'create-container', wave: 2, cause: 'new', decky, fleet, role: 'base', name: decky, labels: {}, spec,
    container: { role: 'base', image: 'i', hostname: 'h', network: `net-${fleet}`, ip: spec.ip, sysctls: {} },
  };
  return [base, { op: 'start-container', wave: 2, cause: 'new', decky, name: decky }];
}

function plan(ops: Op[]): Plan {
  return { ops, conflicts: [], generations: {} };
}

const fleetSetup = (fleet: string): Op[] => [
  { op: 'ensure-lab', wave: 0, cause: 'lab', fleet, subnet: '10.240.0.0/24', gateway: '10.240.0.1' },
  { op: 'create-network', wave: 0, cause: 'net', fleet, name: `net-${fleet}`, spec: makeFleet(fleet), labels: {} },
];

describe('execute', () => {
  it('runs waves in order, each decky in plan order, deckies in parallel up to the bound', async () => {
    const e = new RecordingEngine(stateDir, 10);
    const deckies = ['d1', 'd2', 'd3', 'd4', 'd5'];
    const teardown: Op[] = [
      { op: 'stop-container', wave: 1, cause: 'gone', decky: 'old', name: 'old', id: 'old-id' },
      { op: 'remove-container', wave: 1, cause: 'gone', decky: 'old', name: 'old', id: 'old-id' },
    ];
    const p = plan([
      ...fleetSetup('f1'),
      ...teardown,
      ...deckies.flatMap((d) => deckyOps(d)),
      { op: 'remove-network', wave: 3, cause: 'x', fleet: 'f0', name: 'n0', id: 'n0-id' },
      { op: 'remove-lab', wave: 3, cause: 'x', fleet: 'f0' },
    ]);
    const events: ProgressEvent[] = [];
    const s = await execute(p, asEngine(e), { parallelism: 2, onProgress: (ev) => events.push(ev) });
    expect(s.ok).toBe(true);
    expect(s.writes).toBe(p.ops.length);
    expect(s.done).toBe(p.ops.length);
    expect(s.writesByKind['create-container']).toBe(5);
    expect(e.maxActive).toBe(2);
    const at = (x: string) => e.calls.indexOf(x);
    expect(at('ensure-lab f1:end')).toBeLessThan(at('create-network net-f1:start'));
    expect(at('create-network net-f1:end')).toBeLessThan(at('stop old-id:start'));
    expect(at('remove old-id:end')).toBeLessThan(at('create d1:start'));
    for (const d of deckies) {
      expect(at(`create ${d}:end`)).toBeLessThan(at(`start ${d}:start`));
      expect(at(`start ${d}:end`)).toBeLessThan(at('remove-network n0-id:start'));
    }
    expect(at('remove-network n0-id:end')).toBeLessThan(at('remove-lab f0:start'));
    expect(events.filter((ev) => ev.kind === 'start')).toHaveLength(p.ops.length);
    expect(events.filter((ev) => ev.kind === 'done')).toHaveLength(p.ops.length);
    expect(s.deckies['d3']).toEqual({ status: 'ok', done: 2, skipped: 0 });
  });

  it('a failed op fails the rest of its decky only', async () => {
    const e = new RecordingEngine(stateDir);
    e.failOn.set('create bad', new DecnetError('ImageNotFound', 'no such image', 'build it'));
    const s = await execute(plan([...deckyOps('bad'), ...deckyOps('good')]), asEngine(e));
    expect(s.ok).toBe(false);
    expect(s.deckies['bad']).toMatchObject({
      status: 'failed',
      skipped: 1,
      failure: { op: 'create-container', target: 'bad', code: 'ImageNotFound', message: 'no such image', hint: 'build it' },
    });
    expect(s.deckies['good']).toMatchObject({ status: 'ok', done: 2 });
    expect(e.calls).not.toContain('start bad:start');
    expect(s.failed).toBe(1);
    expect(s.skipped).toBe(1);
  });

  it('runs container removals placed in wave 0 (forced network recreate) sequentially before the new network', async () => {
    const e = new RecordingEngine(stateDir);
    const ops: Op[] = [
      { op: 'stop-container', wave: 0, cause: 'force', decky: 'd1', name: 'd1', id: 'd1' },
      { op: 'remove-container', wave: 0, cause: 'force', decky: 'd1', name: 'd1', id: 'd1' },
      { op: 'remove-network', wave: 0, cause: 'force', fleet: 'f1', name: 'net-f1', id: 'old-net' },
      { op: 'create-network', wave: 0, cause: 'force', fleet: 'f1', name: 'net-f1', spec: makeFleet('f1'), labels: {} },
      ...deckyOps('d1'),
    ];
    const s = await execute(plan(ops), asEngine(e), { parallelism: 4 });
    expect(s.ok).toBe(true);
    expect(e.calls.filter((c) => c.endsWith(':start'))).toEqual([
      'stop d1:start', 'remove d1:start', 'remove-network old-net:start', 'create-network net-f1:start', 'create d1:start', 'start d1:start',
    ]);
    expect(e.maxActive).toBe(1);
  });

  it('a failed fleet setup skips that fleet only', async () => {
    const e = new RecordingEngine(stateDir);
    e.failOn.set('ensure-lab f1', new DecnetError('LabError', 'no veth'));
    const s = await execute(plan([...fleetSetup('f1'), ...fleetSetup('f2'), ...deckyOps('a', 'f1'), ...deckyOps('b', 'f2')]), asEngine(e));
    expect(s.fleets['f1']).toMatchObject({ status: 'failed', skipped: 1, failure: { code: 'LabError' } });
    expect(s.fleets['f2']).toMatchObject({ status: 'ok', done: 2 });
    expect(s.deckies['a']).toMatchObject({ status: 'failed', skipped: 2, failure: { code: 'FleetSetupFailed' } });
    expect(s.deckies['b']).toMatchObject({ status: 'ok', done: 2 });
    expect(e.calls.some((c) => c.startsWith('create a'))).toBe(false);
  });

  it('stops starting ops once the engine is unreachable', async () => {
    const e = new RecordingEngine(stateDir);
    e.failOn.set('create d1', new EngineUnavailableError('connect ECONNREFUSED'));
    const s = await execute(plan([...deckyOps('d1'), ...deckyOps('d2'), ...deckyOps('d3')]), asEngine(e), { parallelism: 1 });
    expect(s.aborted?.code).toBe('EngineUnavailable');
    expect(s.writes).toBe(1);
    expect(s.skipped).toBe(5);
    expect(s.ok).toBe(false);
  });

  it('a file-system error is a failed op, not an unreachable engine', async () => {
    const blocker = join(stateDir, 'a-file');
    await writeFile(blocker, 'x');
    const e = new RecordingEngine(join(blocker, 'state'));
    const svcOp = deckyOps('s1')[0] as CreateContainerOp;
    const svc = { ...svcOp, role: 'service' as const, name: 's1-x', container: { role: 'service' as const, image: 'i', baseName: 's1', hasSecrets: false, service: { name: 'x', image: 'i', ports: [], config: {}, secretKeys: [] } } };
    const s = await execute(plan([svc, ...deckyOps('s2')]), asEngine(e));
    expect(s.aborted).toBeUndefined();
    expect(s.deckies['s1']).toMatchObject({ status: 'failed', failure: { code: 'StateDirError' } });
    expect(s.deckies['s2']).toMatchObject({ status: 'ok', done: 2 });
  });

  it('refuses plans with conflicts or broken wave order, before any call', async () => {
    const e = new RecordingEngine(stateDir);
    const conflicted = { ...plan(deckyOps('d1')), conflicts: [{ code: 'NameTaken', message: 'x' }] };
    await expect(execute(conflicted, asEngine(e))).rejects.toMatchObject({ code: 'PlanHasConflicts' });
    expect(() => validatePlan(plan([...deckyOps('d1'), ...fleetSetup('f1')]))).toThrow(/wave/);
    const wrongWave = { ...deckyOps('d1')[0]!, wave: 7 } as unknown as Op;
    expect(() => validatePlan(plan([wrongWave]))).toThrow(/unknown wave 7/);
    expect(e.calls).toEqual([]);
  });

  it('a throwing progress callback does not break the run', async () => {
    const e = new RecordingEngine(stateDir);
    const s = await execute(plan(deckyOps('d1')), asEngine(e), {
      onProgress: () => {
        throw new Error('display broke');
      },
    });
    expect(s.ok).toBe(true);
  });
});
