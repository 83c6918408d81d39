import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LABEL_HOST, LABEL_SPEC, makeDecky, makeFleet, plan, type ResolvedDecky } from '@decnet/api';
import { execute, withHostLock } from '@decnet/engine';
import { FakeClock } from './clock.js';
import { FakeEngine } from './fake-engine.js';
import { silentLogger } from './logger.js';
import { Reconciler } from './reconciler.js';
import { CrashLoopDetector } from './status.js';
import { StatusStore } from './status-store.js';

const HOST = 'h1';
let dir: string;
let engine: FakeEngine;
let clock: FakeClock;
let store: StatusStore;
let crash: CrashLoopDetector;

const fleet = makeFleet('lab');
const web = makeDecky('web-01', 'lab', { ip: '10.213.0.10' });
const db = makeDecky('db-01', 'lab', { ip: '10.213.0.11', services: ['mysql'] });

async function deploy(...deckies: ResolvedDecky[]): Promise<void> {
  const p = plan(await engine.observe(HOST), { fleets: [fleet], deckies }, { hostId: HOST });
  expect(p.conflicts).toEqual([]);
  const s = await execute(p, engine);
  expect(s.ok).toBe(true);
  engine.writes = [];
}

function reconciler(over: Partial<ConstructorParameters<typeof Reconciler>[0]> = {}): Reconciler {
  return new Reconciler({ engine, hostId: HOST, status: store, crash, clock, logger: silentLogger(), lock: (fn) => fn(), ...over });
}

const names = () => engine.state.containers.map((c) => c.name).sort();
const state = (n: string) => engine.get(n)?.state;

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'decnet-rec-'));
  engine = new FakeEngine(dir, HOST);
  clock = new FakeClock(Date.UTC(2026, 0, 1));
  store = new StatusStore({ stateDir: dir, hostId: HOST, resyncMs: 30_000, now: () => clock.now() });
  crash = new CrashLoopDetector({ clock, maxRestarts: 3 });
  await deploy(web, db);
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('Reconciler heal rules', () => {
  it('does nothing to a converged decky and reports it Ready', async () => {
    const r = await reconciler().reconcile('web-01');
    expect(r.result).toBe('noop');
    expect(engine.writes).toEqual([]);
    expect(r.status?.phase).toBe('Running');
    expect(r.status?.conditions.find((c) => c.type === 'Ready')?.status).toBe('True');
  });

  it('starts an exited service container (and only that one)', async () => {
    engine.patch('web-01-ssh', { state: 'exited', exitCode: 137 });
    const r = await reconciler().reconcile('web-01');
    expect(r.result).toBe('healed');
    expect(engine.writes).toEqual(['start-container web-01-ssh']);
    expect(state('web-01-ssh')).toBe('running');
    expect(r.status?.phase).toBe('Degraded'); // computed from what was observed before the heal
    const again = await reconciler().reconcile('web-01');
    expect(again.result).toBe('noop');
    expect(again.status?.phase).toBe('Running');
  });

  it('recreates a missing service container from the spec on its base', async () => {
    engine.remove('web-01-http');
    const r = await reconciler().reconcile('web-01');
    expect(r.result).toBe('healed');
    expect(engine.writes).toEqual(['create-container web-01-http', 'start-container web-01-http']);
    expect(engine.get('web-01-http')?.labels[LABEL_SPEC]).toBe(engine.get('web-01')?.labels[LABEL_SPEC]);
  });

  it('recreates a missing base from a surviving service and recreates its services with it', async () => {
    engine.remove('web-01');
    const r = await reconciler().reconcile('web-01');
    expect(r.result).toBe('healed');
    // the base comes back before the old services (the spec carriers) are removed
    expect(engine.writes).toEqual([
      'create-container web-01',
      'start-container web-01',
      'remove-container web-01-http',
      'create-container web-01-http',
      'start-container web-01-http',
      'remove-container web-01-ssh',
      'create-container web-01-ssh',
      'start-container web-01-ssh',
    ]);
    expect(names()).toEqual(['db-01', 'db-01-mysql', 'web-01', 'web-01-http', 'web-01-ssh']);
    expect(['web-01', 'web-01-http', 'web-01-ssh'].map(state)).toEqual(['running', 'running', 'running']);
  });

  it('starts a fully stopped decky base first, then its services', async () => {
    for (const n of ['web-01-ssh', 'web-01-http', 'web-01']) engine.patch(n, { state: 'exited', exitCode: 0 });
    const r = await reconciler().reconcile('web-01');
    expect(r.result).toBe('healed');
    expect(engine.writes).toEqual(['start-container web-01', 'start-container web-01-http', 'start-container web-01-ssh']);
  });

  it('restarts services left in a stale namespace when their base restarted after them', async () => {
    const latest = Math.max(...['web-01-ssh', 'web-01-http'].map((n) => Date.parse(engine.get(n)!.startedAt!)));
    engine.patch('web-01', { startedAt: new Date(latest + 500).toISOString(), state: 'running' });
    const r = await reconciler().reconcile('web-01');
    expect(r.result).toBe('healed');
    expect(engine.writes).toEqual(['stop-container web-01-http', 'start-container web-01-http', 'stop-container web-01-ssh', 'start-container web-01-ssh']);
    expect((await reconciler().reconcile('web-01')).result).toBe('noop');
  });

  it('treats a decky without containers as gone and forgets its status', async () => {
    await reconciler().reconcile('web-01');
    expect(store.get('web-01')).toBeDefined();
    for (const n of ['web-01-ssh', 'web-01-http', 'web-01']) engine.remove(n);
    const r = await reconciler().reconcile('web-01');
    expect(r.result).toBe('gone');
    expect(engine.writes).toEqual([]);
    expect(store.get('web-01')).toBeUndefined();
  });
});

describe('Reconciler safety', () => {
  it('marks tampered labels Degraded/InvalidLabels and changes nothing, even with a container down', async () => {
    const ssh = engine.get('web-01-ssh')!;
    engine.patch('web-01-ssh', { labels: { ...ssh.labels, [LABEL_SPEC]: ssh.labels[LABEL_SPEC]!.replace('10.213.0.10', '10.213.0.99') } });
    engine.patch('web-01-http', { state: 'exited' });
    const r = await reconciler().reconcile('web-01');
    expect(r.result).toBe('invalid');
    expect(engine.writes).toEqual([]);
    expect(r.status?.phase).toBe('Degraded');
    expect(r.status?.conditions.find((c) => c.type === 'Degraded')?.reason).toBe('InvalidLabels');
  });

  it('does nothing when the engine is unreachable and reports Unknown', async () => {
    await reconciler().reconcile('web-01');
    engine.reachable = false;
    const r = await reconciler().reconcile('web-01');
    expect(r.result).toBe('unknown');
    expect(r.status?.phase).toBe('Unknown');
    engine.reachable = true;
    expect(engine.writes).toEqual([]);
    expect(store.snapshot().deckies['web-01']?.status.phase).toBe('Unknown');
  });

  it('never touches a foreign container or another host\'s container of the same decky name', async () => {
    const labels = engine.get('web-01-ssh')!.labels;
    engine.state.containers.push(
      { id: 'f1', name: 'web-01-ftp', image: 'x', labels: { 'com.decnet.decky': 'web-01' }, state: 'exited' },
      { id: 'o1', name: 'web-01-rdp', image: 'x', labels: { ...labels, [LABEL_HOST]: 'other-host', 'com.decnet.service': 'rdp' }, state: 'exited' },
    );
    engine.patch('web-01-ssh', { state: 'exited' });
    const r = await reconciler().reconcile('web-01');
    expect(r.result).toBe('healed');
    expect(engine.writes).toEqual(['start-container web-01-ssh']);
    expect(state('web-01-ftp')).toBe('exited');
    expect(state('web-01-rdp')).toBe('exited');
  });

  it('waits for the host lock and writes nothing while apply holds it', async () => {
    engine.patch('web-01-ssh', { state: 'exited' });
    const rec = reconciler({ lock: (fn) => withHostLock(fn, { stateDir: dir, timeoutMs: 200, pollMs: 20 }) });
    let release!: () => void;
    const held = withHostLock(() => new Promise<void>((r) => (release = r)), { stateDir: dir });
    await new Promise((r) => setTimeout(r, 50));
    const r = await rec.reconcile('web-01');
    expect(r.result).toBe('locked');
    expect(engine.writes).toEqual([]);
    release();
    await held;
    expect((await rec.reconcile('web-01')).result).toBe('healed');
  });

  it('converges with no duplicates after the writer dies at any point of a heal', async () => {
    for (let k = 0; k < 8; k++) {
      engine.remove('web-01'); // base gone: the longest heal (8 writes)
      engine.crashAfterWrites = k;
      const first = await reconciler().reconcile('web-01');
      expect(['failed', 'healed']).toContain(first.result);
      engine.crashAfterWrites = undefined;
      const fresh = new Reconciler({ engine, hostId: HOST, status: store, crash: new CrashLoopDetector({ clock }), clock, logger: silentLogger(), lock: (fn) => fn() });
      for (let i = 0; i < 3; i++) {
        const r = await fresh.reconcile('web-01');
        if (r.result === 'noop') break;
        if (r.result !== 'healed') throw new Error(`k=${k} try ${i}: ${r.result} ${r.error?.message} ${names().join(',')} ${engine.state.containers.map((c) => c.state).join(',')}`);
      }
      expect((await fresh.reconcile('web-01')).result).toBe('noop');
      expect(names()).toEqual(['db-01', 'db-01-mysql', 'web-01', 'web-01-http', 'web-01-ssh']);
      expect(['web-01', 'web-01-http', 'web-01-ssh'].map(state)).toEqual(['running', 'running', 'running']);
    }
  });
});

describe('Reconciler crash loops', () => {
  it('backs off with a growing delay instead of restarting in a tight loop', async () => {
    const rec = reconciler();
    const delays: number[] = [];
    for (let i = 0; i < 7; i++) {
      engine.patch('db-01-mysql', { state: 'exited', exitCode: 1 });
      const r = await rec.reconcile('db-01');
      if (r.result === 'backoff') {
        delays.push(r.requeueAfterMs!);
        expect(r.status?.conditions.find((c) => c.type === 'Ready')?.reason).toBe('CrashLoopBackOff');
        clock.advance(r.requeueAfterMs!);
        const after = await rec.reconcile('db-01');
        expect(after.result).toBe('healed');
      }
      clock.advance(1_000);
    }
    expect(delays.length).toBeGreaterThanOrEqual(2);
    expect(delays[1]!).toBeGreaterThan(delays[0]!);
    expect(engine.writes.every((w) => w === 'start-container db-01-mysql')).toBe(true);
  });

  it("counts Docker's own restarts (restartCount) towards a crash loop", async () => {
    const rec = reconciler();
    engine.patch('db-01-mysql', { restartCount: 0 });
    await rec.reconcile('db-01');
    engine.patch('db-01-mysql', { restartCount: 10, state: 'restarting' });
    const r = await rec.reconcile('db-01');
    expect(r.status?.phase).toBe('Degraded');
    expect(r.status?.conditions.find((c) => c.type === 'Degraded')?.reason).toBe('CrashLoopBackOff');
    expect(engine.writes).toEqual([]);
  });
});
