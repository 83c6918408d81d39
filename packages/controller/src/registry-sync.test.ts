/** RegistrySync against a real redis-server and the in-memory engine, inside a real Controller. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { canonicalHash, groupObserved, makeDecky, makeFleet, plan, type ResolvedDecky } from '@decnet/api';
import { execute } from '@decnet/engine';
import { Registry, rolloutProgress, startRedisServer, type RedisServer } from '@decnet/registry';
import { Controller } from './controller.js';
import { FakeEngine } from './fake-engine.js';
import { readLedger } from './registry-ledger.js';
import { RegistrySync } from './registry-sync.js';

const HOST = 'h1';
const fleet = makeFleet('lab');
const entry = (spec: ResolvedDecky, generation = 1) => ({ spec, generation, hash: canonicalHash(spec) });
let redis: RedisServer;
let reg: Registry;
let dir: string;
let engine: FakeEngine;
let ctl: Controller | undefined;
let sync: RegistrySync | undefined;
let cluster = 0;

async function until(fn: () => boolean | Promise<boolean>, ms = 8_000): Promise<void> {
  const end = Date.now() + ms;
  for (;;) {
    try {
      if (await fn()) return;
    } catch {
      // not yet
    }
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 25));
  }
}

beforeAll(async () => {
  redis = await startRedisServer();
});
afterAll(async () => {
  await redis.dispose();
});
beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'decnet-regsync-'));
  engine = new FakeEngine(dir, HOST);
  reg = await Registry.connect({ url: redis.url, cluster: `sync${++cluster}` });
});
afterEach(async () => {
  await ctl?.stop();
  ctl = undefined;
  sync = undefined;
  await reg.close();
  rmSync(dir, { recursive: true, force: true });
});

async function startController(): Promise<void> {
  const own = await Registry.connect({ url: redis.url, cluster: reg.cluster, waitReady: false });
  sync = new RegistrySync({ registry: own, engine, hostId: HOST, host: { labels: { zone: 'a' }, capacity: 7 }, heartbeatTtlMs: 1_500, pollMs: 200, publishMs: 100, lock: (fn) => fn() });
  ctl = new Controller({ engine, hostId: HOST, resyncMs: 1_000, lock: (fn) => fn(), extensions: [sync], persistStatus: false });
  sync.attach(ctl);
  const stop = ctl.stop.bind(ctl);
  ctl.stop = async () => {
    await stop();
    await own.close();
  };
  await ctl.start();
}

describe('RegistrySync', () => {
  it('registers, materialises its slice, publishes Running at the slice generation, prunes only what it placed', async () => {
    // a decky applied locally without a registry
    const local = makeDecky('local', 'lab', { ip: '10.213.0.40' });
    const p = plan(await engine.observe(HOST), { fleets: [fleet], deckies: [local] }, { hostId: HOST });
    expect((await execute(p, engine)).ok).toBe(true);
    engine.writes = [];
    await startController();
    await until(async () => (await reg.listHosts()).some((h) => h.id === HOST && h.status === 'Ready'));
    const host = (await reg.listHosts())[0]!;
    expect([host.capacity, host.labels]).toEqual([7, { zone: 'a' }]);

    const a = makeDecky('a', 'lab', { ip: '10.213.0.10' });
    const b = makeDecky('b', 'lab', { ip: '10.213.0.11' });
    const c1 = await reg.writeDesired(HOST, { fleets: [fleet], deckies: [entry(a), entry(b)] }, 0);
    await until(async () => rolloutProgress(await reg.readAll(), c1.generations).done);
    const obs = await reg.readObserved(HOST);
    expect(obs?.generation).toBe(1);
    expect(obs?.deckies.map((d) => [d.name, d.phase, d.observedGeneration])).toEqual([
      ['a', 'Running', 1],
      ['b', 'Running', 1],
    ]);
    expect((await readLedger(dir, reg.cluster, HOST)).placed).toEqual(['a', 'b']);

    // b leaves the slice: removed; the local decky is never touched
    const c2 = await reg.writeDesired(HOST, { fleets: [fleet], deckies: [entry(a)] }, 1);
    await until(async () => rolloutProgress(await reg.readAll(), c2.generations).done && !groupObserved(await engine.observe(HOST)).deckies.some((d) => d.name === 'b'));
    expect(groupObserved(await engine.observe(HOST)).deckies.map((d) => d.name)).toEqual(['a', 'local']);
    expect(engine.writes.some((w) => w.includes('local'))).toBe(false);
    expect((await reg.readObserved(HOST))?.deckies.map((d) => d.name)).toEqual(['a']);
  });

  it('keeps healing while Redis is down, then re-registers and writes its slice back when Redis returns empty', async () => {
    await startController();
    const a = makeDecky('a', 'lab', { ip: '10.213.0.10' });
    const c = await reg.writeDesired(HOST, { fleets: [fleet], deckies: [entry(a)] }, 0);
    await until(async () => rolloutProgress(await reg.readAll(), c.generations).done);
    // give the ledger a revision above what a fresh Redis will have
    await until(async () => (await readLedger(dir, reg.cluster, HOST)).lastRev > 0);
    for (let i = 0; i < 20; i++) await reg.registerHost({ id: `other-${i}` });
    await sync!.publish(true);
    await redis.stop();
    await until(() => sync!.registryUp === false);
    engine.patch('a-ssh', { state: 'exited', exitCode: 137 });
    await until(() => engine.get('a-ssh')?.state === 'running');
    await redis.start(); // no persistence: an empty registry
    await until(async () => (await reg.listHosts()).some((h) => h.id === HOST && h.status === 'Ready'), 15_000);
    await until(async () => (await reg.readDesired(HOST))?.deckies.map((d) => d.spec.name).join() === 'a', 15_000);
    await until(async () => (await reg.readObserved(HOST))?.deckies[0]?.phase === 'Running', 15_000);
    expect(groupObserved(await engine.observe(HOST)).deckies.map((d) => d.name)).toEqual(['a']);
  });
});
