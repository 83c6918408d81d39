import type { AttackerEvent } from '@decnet/api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClusterEventStream, eventId, type ClusterEvent } from './event-stream.js';
import { startRedisServer, type RedisServer } from './testing/redis-server.js';

let srv: RedisServer;
const open: ClusterEventStream[] = [];
let n = 0;
async function stream(o: { maxLen?: number; maxAgeMs?: number } = {}): Promise<ClusterEventStream> {
  const s = await ClusterEventStream.connect({ url: srv.url, cluster: `e${++n}`, ...o });
  open.push(s);
  return s;
}
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function until(what: string, f: () => boolean | Promise<boolean>, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await f())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}
let seq = 0;
const ev = (o: Partial<AttackerEvent> = {}): AttackerEvent => ({
  time: new Date().toISOString(),
  host: 'h1',
  fleet: 'lab',
  decky: 'web-01',
  service: 'ssh',
  event: 'connection',
  src_ip: '203.0.113.7',
  src_port: 40000 + (seq++ % 20000),
  ...o,
});

beforeAll(async () => {
  srv = await startRedisServer();
});
afterAll(async () => {
  await Promise.all(open.map((s) => s.close()));
  await srv.dispose();
});

describe('cluster event stream', () => {
  it('uses the cluster key and the canonical hash as id', async () => {
    const s = await stream();
    expect(s.keys.events).toBe(`decnet:{e${n}}:events`);
    const e = ev();
    expect(eventId(e)).toBe(eventId({ ...Object.fromEntries(Object.entries(e).reverse()) } as AttackerEvent));
    expect(eventId(e)).toMatch(/^[0-9a-f]{64}$/);
  });

  it('appends, reads in order and filters', async () => {
    const s = await stream();
    const evs = [ev({ host: 'h1', decky: 'a' }), ev({ host: 'h2', decky: 'b', service: 'http', fleet: 'dmz' }), ev({ host: 'h1', decky: 'a', service: 'ftp' })];
    expect(await s.appendEvents(evs)).toEqual({ added: 3, duplicates: 0 });
    const all = await s.readEvents();
    expect(all.map((e) => e.event)).toEqual(evs);
    expect(all[0]!.id).toBe(eventId(evs[0]!));
    expect((await s.readEvents({ host: 'h2' })).map((e) => e.event.decky)).toEqual(['b']);
    expect((await s.readEvents({ fleet: 'lab', decky: 'a' })).map((e) => e.event.service)).toEqual(['ssh', 'ftp']);
    expect((await s.readEvents({ service: 'http' })).length).toBe(1);
    expect((await s.readEvents({ limit: 2 })).map((e) => e.event)).toEqual(evs.slice(1));
    expect(await s.readEvents({ since: Date.now() + 60_000 })).toEqual([]);
    const old = ev({ time: '2020-01-01T00:00:00.000Z' });
    await s.appendEvents([old]);
    // appended now, but its own time is before since: filtered out
    expect((await s.readEvents({ since: Date.now() - 60_000 })).map((e) => e.event)).toEqual(evs);
  });

  it('pages through more than one page', async () => {
    const s = await stream();
    const evs = Array.from({ length: 2500 }, () => ev());
    for (let i = 0; i < evs.length; i += 500) await s.appendEvents(evs.slice(i, i + 500));
    const all = await s.readEvents();
    expect(all.length).toBe(2500);
    expect(all.map((e) => e.event.src_port)).toEqual(evs.map((e) => e.src_port));
    expect((await s.readEvents({ limit: 1500 })).map((e) => e.event.src_port)).toEqual(evs.slice(1000).map((e) => e.src_port));
  });

  it('skips duplicates, within a batch and across re-sent batches', async () => {
    const s = await stream();
    const a = ev();
    const b = ev();
    expect(await s.appendEvents([a, b, a])).toEqual({ added: 2, duplicates: 1 });
    expect(await s.appendEvents([a, b])).toEqual({ added: 0, duplicates: 2 });
    expect(await s.appendEvents([{ ...b }, ev()])).toEqual({ added: 1, duplicates: 1 });
    expect(await s.length()).toBe(3);
  });

  it('trims by length (approximately)', async () => {
    const s = await stream({ maxLen: 10 });
    for (let i = 0; i < 6; i++) await s.appendEvents(Array.from({ length: 100 }, () => ev()));
    const len = await s.length();
    expect(len).toBeLessThanOrEqual(210);
    expect(len).toBeGreaterThanOrEqual(10);
    // the newest are kept
    const all = await s.readEvents();
    expect(all.length).toBe(len);
  });

  it('trims by age (approximately) and expires the dedupe markers', async () => {
    const s = await stream({ maxAgeMs: 300 });
    const first = Array.from({ length: 250 }, () => ev());
    await s.appendEvents(first.slice(0, 125));
    await s.appendEvents(first.slice(125));
    await sleep(400);
    await s.appendEvents([ev()]);
    const len = await s.length();
    expect(len).toBeLessThan(100);
    // the markers expired with the age: an old event may be appended again
    expect((await s.appendEvents([first[0]!])).added).toBe(1);
  });

  it('follows new events with filters and stops on abort', async () => {
    const s = await stream();
    await s.appendEvents([ev({ decky: 'old' })]);
    const got: ClusterEvent[] = [];
    const ac = new AbortController();
    const done = s.followEvents({ decky: 'x' }, (e) => got.push(e), ac.signal, { blockMs: 200 });
    await sleep(100);
    await s.appendEvents([ev({ decky: 'x' }), ev({ decky: 'y' })]);
    await s.appendEvents([ev({ decky: 'x', service: 'ftp' })]);
    await until('two followed events', () => got.length === 2);
    expect(got.map((e) => e.event.service)).toEqual(['ssh', 'ftp']);
    const t = Date.now();
    ac.abort();
    await done;
    expect(Date.now() - t).toBeLessThan(1000);
  });

  it('follow with since replays the past first, then continues', async () => {
    const s = await stream();
    await s.appendEvents([ev({ decky: 'p1' }), ev({ decky: 'p2', time: '2020-01-01T00:00:00.000Z' })]);
    const got: string[] = [];
    const ac = new AbortController();
    const done = s.followEvents({ since: Date.now() - 60_000 }, (e) => got.push(e.event.decky), ac.signal, { blockMs: 200 });
    await until('past event', () => got.length === 1);
    await s.appendEvents([ev({ decky: 'n1' })]);
    await until('new event', () => got.length === 2);
    expect(got).toEqual(['p1', 'n1']);
    ac.abort();
    await done;
  });

  it('follow rides out a registry restart', async () => {
    const s = await stream();
    const got: string[] = [];
    const ac = new AbortController();
    const done = s.followEvents({}, (e) => got.push(e.event.decky), ac.signal, { blockMs: 200 });
    await sleep(100);
    await s.appendEvents([ev({ decky: 'before' })]);
    await until('before', () => got.length === 1);
    await srv.stop();
    await sleep(200);
    await srv.start();
    await until('reconnected', () => s.connected, 10_000);
    await s.appendEvents([ev({ decky: 'after' })]);
    await until('after', () => got.length === 2, 10_000);
    expect(got).toEqual(['before', 'after']);
    ac.abort();
    await done;
  }, 20_000);
});
