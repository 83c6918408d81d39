import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { makeDecky, makeFleet, plan } from '@decnet/api';
import { execute, parseEngineEvent } from '@decnet/engine';
import { Controller } from './controller.js';
import { EngineWatch, deckyOfEvent } from './engine-watch.js';
import { realClock } from './clock.js';
import { silentLogger } from './logger.js';
import { FakeEngine } from './fake-engine.js';
import { startHealthServer } from './health.js';
import { createMetrics } from './metrics.js';
import { isFresh, readStatusFile } from './status-store.js';

const HOST = 'h1';
let dir: string;
let engine: FakeEngine;
let ctl: Controller | undefined;

async function until(fn: () => boolean | Promise<boolean>, ms = 5_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await fn())) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'decnet-ctl-'));
  engine = new FakeEngine(dir, HOST);
  const deckies = [makeDecky('web-01', 'lab', { ip: '10.213.0.10' }), makeDecky('web-02', 'lab', { ip: '10.213.0.11' })];
  const p = plan(await engine.observe(HOST), { fleets: [makeFleet('lab')], deckies }, { hostId: HOST });
  expect((await execute(p, engine)).ok).toBe(true);
  engine.writes = [];
});
afterEach(async () => {
  await ctl?.stop();
  ctl = undefined;
  rmSync(dir, { recursive: true, force: true });
});

describe('Controller', () => {
  it('heals on an engine event, without waiting for the resync, and persists status', async () => {
    const metrics = createMetrics();
    ctl = new Controller({ engine, hostId: HOST, resyncMs: 60_000, metrics, lock: (fn) => fn() });
    await ctl.start();
    await until(() => ctl!.status.get('web-02')?.status.phase === 'Running');
    engine.patch('web-02-ssh', { state: 'exited', exitCode: 137 });
    await until(() => engine.get('web-02-ssh')?.state === 'running', 2_000);
    expect(engine.writes).toEqual(['start-container web-02-ssh']);
    await until(() => ctl!.status.get('web-02')?.status.phase === 'Running');
    await ctl.status.flush();
    const file = await readStatusFile(dir, HOST);
    expect(file && isFresh(file)).toBe(true);
    expect(Object.keys(file!.deckies)).toEqual(['web-01', 'web-02']);
    const text = await metrics.registry.metrics();
    expect(text).toMatch(/decnet_heal_actions_total\{reason="exited"\} 1/);
    expect(text).toMatch(/decnet_deckies\{phase="Running"\} 2/);
  });

  it('goes Unknown without acting while the engine is down, and converges after it returns', async () => {
    ctl = new Controller({ engine, hostId: HOST, resyncMs: 60_000, lock: (fn) => fn() });
    await ctl.start();
    await until(() => ctl!.status.get('web-01')?.status.phase === 'Running');
    engine.reachable = false;
    engine.emit({ action: 'die', id: 'x', name: 'web-01-ssh', labels: { 'com.decnet.decky': 'web-01' }, timeNano: 0 });
    await until(() => ctl!.status.get('web-01')?.status.phase === 'Unknown');
    expect(ctl.ready().ready).toBe(false);
    // while "down", a container died; nothing may be written until the engine answers
    engine.state.containers = engine.state.containers.map((c) => (c.name === 'web-01-http' ? { ...c, state: 'exited' } : c));
    await new Promise((r) => setTimeout(r, 300));
    expect(engine.writes).toEqual([]);
    engine.reachable = true;
    await until(() => engine.get('web-01-http')?.state === 'running', 5_000);
    await until(() => ctl!.ready().ready);
    expect(engine.writes).toEqual(['start-container web-01-http']);
  });

  it('reconcileAll makes one pass over every decky', async () => {
    engine.remove('web-01-http');
    ctl = new Controller({ engine, hostId: HOST, watchEvents: false, persistStatus: false, lock: (fn) => fn() });
    const rs = await ctl.reconcileAll();
    expect(rs.map((r) => `${r.decky}:${r.result}`)).toEqual(['web-01:healed', 'web-02:noop']);
    expect(engine.writes).toEqual(['create-container web-01-http', 'start-container web-01-http']);
  });
});

describe('health server', () => {
  it('answers /healthz, /readyz and /metrics', async () => {
    const metrics = createMetrics();
    metrics.eventsCollected.inc({ service: 'ssh' });
    let ready = false;
    const h = await startHealthServer({ addr: '127.0.0.1:0', registry: metrics.registry, ready: () => ({ ready, reason: ready ? 'ok' : 'first resync not done' }) });
    try {
      const base = `http://${h.address}`;
      expect((await fetch(`${base}/healthz`)).status).toBe(200);
      expect((await fetch(`${base}/readyz`)).status).toBe(503);
      ready = true;
      expect((await fetch(`${base}/readyz`)).status).toBe(200);
      const m = await (await fetch(`${base}/metrics`)).text();
      expect(m).toContain('decnet_events_collected_total{service="ssh"} 1');
      expect((await fetch(`${base}/nope`)).status).toBe(404);
    } finally {
      await h.close();
    }
  });
});

describe('engine events', () => {
  it('parses Docker event lines and maps them to deckies', () => {
    const line = JSON.stringify({ Type: 'container', Action: 'die', Actor: { ID: 'abc', Attributes: { name: 'web-01-ssh', image: 'x', exitCode: '137', 'com.decnet.decky': 'web-01' } }, timeNano: 5 });
    const e = parseEngineEvent(line)!;
    expect(e).toEqual({ action: 'die', id: 'abc', name: 'web-01-ssh', labels: { 'com.decnet.decky': 'web-01' }, timeNano: 5 });
    expect(deckyOfEvent(e)).toBe('web-01');
    expect(deckyOfEvent({ ...e, action: 'exec_start: sh' })).toBeUndefined();
    expect(parseEngineEvent('')).toBeUndefined();
    expect(parseEngineEvent('{not json')).toBeUndefined();
    expect(parseEngineEvent(JSON.stringify({ Type: 'network', Action: 'connect', Actor: { ID: 'n' } }))).toBeUndefined();
  });
});

describe('engine watch', () => {
  it('stops when stop() comes while its first ping is still in flight (no stream is opened after stop)', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let opened = 0;
    const slow = Object.assign(Object.create(engine) as FakeEngine, {
      ping: async () => gate,
      events: (h: string, o: object) => {
        opened++;
        return engine.events(h, o);
      },
    });
    const w = new EngineWatch({ engine: slow, hostId: HOST, clock: realClock, logger: silentLogger(), onEvent: () => undefined, onReconnect: () => undefined });
    w.start();
    const stopped = w.stop();
    release();
    await expect(Promise.race([stopped.then(() => 'stopped'), new Promise((r) => setTimeout(() => r('hung'), 2_000))])).resolves.toBe('stopped');
    expect(opened).toBe(0);
  });
});
