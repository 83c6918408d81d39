import { makeDecky, makeFleet } from '@decnet/api';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clusterDeckies, rolloutProgress } from './aggregate.js';
import { applyToRegistry, drainHost } from './apply.js';
import { HostNotEmpty, PlacementCollision, StaleGeneration } from './errors.js';
import { Registry } from './registry.js';
import { startRedisServer, type RedisServer } from './testing/redis-server.js';
import type { ChangeEvent } from './types.js';

let srv: RedisServer;
const open: Registry[] = [];
let n = 0;
async function registry(cluster = `t${++n}`): Promise<Registry> {
  const r = await Registry.connect({ url: srv.url, cluster });
  open.push(r);
  return r;
}
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function until(what: string, f: () => boolean | Promise<boolean>, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await f())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}
const lab = makeFleet('lab');
const slice = (...names: string[]) => ({ fleets: [lab], deckies: names.map((x, i) => ({ spec: makeDecky(x, 'lab', { ip: `10.213.0.${10 + i}` }), generation: 1, hash: `h-${x}` })) });

beforeAll(async () => {
  srv = await startRedisServer();
});
afterAll(async () => {
  await Promise.all(open.map((r) => r.close()));
  await srv?.dispose();
});

describe('Registry on a real redis-server', () => {
  it('registers hosts; a heartbeat makes a host Ready until its TTL expires', async () => {
    const r = await registry();
    const first = await r.registerHost({ id: 'h1', address: '10.0.0.1', labels: { zone: 'a' }, capacity: 7, controllerVersion: '0.1.0' });
    await sleep(5);
    const again = await r.registerHost({ id: 'h1', address: '10.0.0.9', capacity: 8 });
    expect(again.registeredAt).toBe(first.registeredAt);
    // no recovery window on a new cluster; a marked one only grows
    expect((await r.readAll()).recoveringUntil).toBeUndefined();
    await r.markRecovering(2_000_000_000_000);
    await r.markRecovering(1_000_000_000_000);
    expect((await r.readAll()).recoveringUntil).toBe(2_000_000_000_000);
    expect((await r.listHosts()).map((h) => [h.id, h.status, h.address, h.capacity])).toEqual([['h1', 'NotReady', '10.0.0.9', 8]]);
    expect(await r.heartbeat('h1', 200)).toEqual({ cameBack: true });
    expect(await r.heartbeat('h1', 200)).toEqual({ cameBack: false });
    const ready = await r.getHost('h1');
    expect(ready?.status).toBe('Ready');
    expect(ready?.heartbeatTtlMs).toBeGreaterThan(0);
    await until('NotReady', async () => (await r.getHost('h1'))?.status === 'NotReady', 3000);
    expect((await r.getHost('h1'))?.lastHeartbeat).toBeDefined();
    await expect(r.heartbeat('ghost', 1000)).rejects.toMatchObject({ code: 'HostNotRegistered' });
  });

  it('writes desired slices by compare-and-set and refuses a stale writer', async () => {
    const r = await registry();
    expect(await r.readDesired('h1')).toBeUndefined();
    const c1 = await r.writeDesired('h1', slice('a', 'b'), 0);
    expect(c1.generations).toEqual({ h1: 1 });
    const got = await r.readDesired('h1');
    expect(got?.generation).toBe(1);
    expect(got?.deckies.map((d) => d.spec.name)).toEqual(['a', 'b']);
    const err = await r.writeDesired('h1', slice('a'), 0).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StaleGeneration);
    expect(err).toMatchObject({ code: 'StaleGeneration', scope: 'desired', hostId: 'h1', expected: 0, actual: 1 });
    expect((await r.readDesired('h1'))?.deckies).toHaveLength(2);
    await r.writeDesired('h1', slice('a'), 1);
    expect((await r.readDesired('h1'))?.generation).toBe(2);
  });

  it('lets exactly one of many concurrent writers win each generation', async () => {
    const r = await registry();
    const others = await Promise.all([registry(r.cluster), registry(r.cluster), registry(r.cluster)]);
    const clients = [r, ...others];
    for (let gen = 0; gen < 5; gen++) {
      const results = await Promise.allSettled(Array.from({ length: 24 }, (_, i) => clients[i % clients.length]!.writeDesired('h1', slice(`w${gen}-${i}`), gen)));
      const won = results.filter((x) => x.status === 'fulfilled');
      expect(won).toHaveLength(1);
      for (const x of results) if (x.status === 'rejected') expect(x.reason).toBeInstanceOf(StaleGeneration);
      expect((await r.readDesired('h1'))?.generation).toBe(gen + 1);
    }
  });

  it('never places one decky (or one IP) twice, even for writers that skip the epoch check', async () => {
    const r = await registry();
    const results = await Promise.allSettled(['h1', 'h2', 'h3', 'h4'].map((h) => r.writeDesired(h, slice('same'), 0)));
    expect(results.filter((x) => x.status === 'fulfilled')).toHaveLength(1);
    for (const x of results) if (x.status === 'rejected') expect(x.reason).toBeInstanceOf(PlacementCollision);
    // another decky taking the same fleet IP is refused too
    const ip = await r.writeDesired('h9', { fleets: [lab], deckies: [{ spec: makeDecky('other', 'lab', { ip: '10.213.0.10' }), generation: 1, hash: 'x' }] }, 0).catch((e: unknown) => e);
    expect(ip).toMatchObject({ code: 'PlacementCollision', what: 'ip', holder: 'same' });
  });

  it('two applies racing from separate connections place a shared decky once', async () => {
    const a = await registry();
    const b = await registry(a.cluster);
    for (const h of ['h1', 'h2', 'h3']) {
      await a.registerHost({ id: h, capacity: 50 });
      await a.heartbeat(h, 60_000);
    }
    const mk = (names: string[], base: number) => names.map((x, i) => makeDecky(x, 'lab', { ip: `10.213.0.${base + i}` }));
    const [oa, ob] = await Promise.all([
      applyToRegistry(a, { fleets: [lab], deckies: [...mk(['a1', 'a2', 'a3'], 20), ...mk(['shared'], 99)] }),
      applyToRegistry(b, { fleets: [lab], deckies: [...mk(['b1', 'b2', 'b3'], 40), ...mk(['shared'], 99)] }),
    ]);
    expect(oa.result.conflicts).toEqual([]);
    expect(ob.result.conflicts).toEqual([]);
    const snap = await a.readAll();
    const rows = clusterDeckies(snap);
    expect(rows.map((x) => x.name)).toEqual(['a1', 'a2', 'a3', 'b1', 'b2', 'b3', 'shared']);
    // placement was spread and the epoch counted both commits
    expect(new Set(rows.map((x) => x.host)).size).toBe(3);
    expect(snap.epoch).toBe(2);
    // re-applying is a no-op
    const again = await applyToRegistry(a, { fleets: [lab], deckies: [...mk(['a1', 'a2', 'a3'], 20), ...mk(['shared'], 99)] });
    expect(again.commit).toBeUndefined();
    expect(again.result.changed).toEqual([]);
  });

  it('keeps observed slices monotonic and aggregates them with host readiness', async () => {
    const r = await registry();
    await r.registerHost({ id: 'h1' });
    await r.registerHost({ id: 'h2' });
    await r.heartbeat('h1', 60_000);
    const out = await applyToRegistry(r, { fleets: [lab], deckies: [makeDecky('x1', 'lab', { ip: '10.213.0.11', placement: { host: 'h1' } }), makeDecky('x2', 'lab', { ip: '10.213.0.12', placement: { host: 'h2' } })] });
    expect(out.result.warnings.join()).toContain('NotReady');
    const gens = out.commit!.generations;
    let snap = await r.readAll();
    expect(rolloutProgress(snap, gens).done).toBe(false);
    const d1 = snap.desired.h1!.deckies[0]!;
    const obs = { deckies: [{ name: 'x1', fleet: 'lab', hash: d1.hash, observedGeneration: d1.generation, phase: 'Running' as const, conditions: [{ type: 'Ready', status: 'True' as const, reason: 'AllRunning' }], updatedAt: 't' }] };
    expect((await r.writeObserved('h1', obs, gens.h1!)).written).toBe(true);
    expect((await r.writeObserved('h1', obs, gens.h1!)).written).toBe(false);
    await expect(r.writeObserved('h1', obs, gens.h1! - 1)).rejects.toMatchObject({ code: 'StaleGeneration', scope: 'observed' });
    expect((await r.readObserved('h1'))?.reportedAt).toBeDefined();
    snap = await r.readAll();
    const rows = clusterDeckies(snap);
    expect(rows.map((x) => [x.name, x.host, x.hostStatus, x.phase, x.upToDate])).toEqual([
      ['x1', 'h1', 'Ready', 'Running', true],
      ['x2', 'h2', 'NotReady', 'Unknown', false],
    ]);
    const p = rolloutProgress(snap, gens);
    expect(p.hostsBehind.map((h) => h.host)).toEqual(['h2']);
    expect(p.notReady.map((x) => x.name)).toEqual(['x2']);
  });

  it('deletes a host only when empty (or forced), releasing its deckies and IPs', async () => {
    const r = await registry();
    await r.registerHost({ id: 'h1' });
    await r.writeDesired('h1', slice('k1'), 0);
    await expect(r.deleteHost('h1')).rejects.toBeInstanceOf(HostNotEmpty);
    expect(await r.deleteHost('h1', { force: true })).toEqual({ deckies: ['k1'] });
    const snap = await r.readAll();
    expect(snap.hosts).toEqual([]);
    expect(snap.desired).toEqual({});
    await r.writeDesired('h2', slice('k1'), 0); // name and IP are free again
  });

  it('drains a host: its deckies move with their IPs, the host keeps an empty slice', async () => {
    const r = await registry();
    for (const h of ['h1', 'h2', 'h3']) {
      await r.registerHost({ id: h });
      await r.heartbeat(h, 60_000);
    }
    await applyToRegistry(r, { fleets: [lab], deckies: [1, 2, 3, 4, 5, 6].map((i) => makeDecky(`m${i}`, 'lab', { ip: `10.213.0.${i + 10}` })) });
    const before = clusterDeckies(await r.readAll());
    const out = await drainHost(r, 'h1');
    expect(out.result.conflicts).toEqual([]);
    expect(out.result.moves.length).toBe(before.filter((x) => x.host === 'h1').length);
    const after = clusterDeckies(await r.readAll());
    expect(after.filter((x) => x.host === 'h1')).toEqual([]);
    expect(after.map((x) => [x.name, x.ip, x.generation])).toEqual(before.map((x) => [x.name, x.ip, x.generation]));
    expect((await r.readDesired('h1'))?.deckies).toEqual([]);
  });

  it('notifies by pub/sub, and a watcher that missed the message sees the change at the next poll', async () => {
    const r = await registry();
    // one watcher that hears only messages (its poll is an hour away) and one that only polls:
    // with both on one watcher, a poll that runs first reports the change and the message is
    // (rightly) dropped as already seen, so which source wins would be a race
    const heard: ChangeEvent[] = [];
    const polled: ChangeEvent[] = [];
    const w = r.watch((e) => void heard.push(e), { pollMs: 3_600_000 });
    const p = r.watch((e) => void polled.push(e), { pollMs: 150, subscribe: false });
    await sleep(300); // subscribed and baselines taken
    await r.writeDesired('h1', slice('p1'), 0);
    await until('message', () => heard.some((e) => e.source === 'message' && e.kind === 'desired'));
    expect(heard.find((e) => e.source === 'message')?.hosts).toEqual(['h1']);
    expect(heard.filter((e) => e.source === 'poll')).toEqual([]);
    await until('poll of the same change', () => polled.some((e) => e.source === 'poll' && e.rev === w.revision));
    expect(polled.filter((e) => e.source === 'message')).toEqual([]);
    // a change whose message is lost: bump the revision behind the registry's back
    const raw = new Redis(srv.port, '127.0.0.1');
    const seen = polled.length;
    await raw.incr(r.keys.rev);
    await until('poll', () => polled.slice(seen).some((e) => e.source === 'poll' && e.rev === w.revision + 1));
    // heartbeat expiry is seen by the poll as a readiness change
    await r.registerHost({ id: 'hb' });
    await r.heartbeat('hb', 150);
    await until('NotReady seen', () => polled.some((e) => e.source === 'poll' && e.kind === 'host' && e.hosts?.includes('hb') === true));
    // a throwing handler does not break the watcher
    const bad = r.watch(() => {
      throw new Error('boom');
    }, { pollMs: 100 });
    await raw.incr(r.keys.rev);
    await sleep(250);
    await bad.close();
    await p.close();
    await w.close();
    await raw.quit();
  });
});
