import type { AttackerEvent } from '@decnet/api';
import { ClusterEventStream, startRedisServer, type RedisServer } from '@decnet/registry';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { followClusterEvents, readClusterEvents } from './cluster-events.js';

let srv: RedisServer;
beforeAll(async () => {
  srv = await startRedisServer();
});
afterAll(async () => {
  await srv.dispose();
});
const ev = (o: Partial<AttackerEvent>): AttackerEvent => ({ time: new Date().toISOString(), host: 'h1', fleet: 'lab', decky: 'd1', service: 'ssh', event: 'connection', ...o });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('cluster events source', () => {
  it('reads and follows the cluster stream with the usual filters', async () => {
    const s = await ClusterEventStream.connect({ url: srv.url, cluster: 'lab' });
    await s.appendEvents([
      ev({ host: 'h2', time: '2026-01-01T00:00:02.000Z', decky: 'd2' }),
      ev({ host: 'h1', time: '2026-01-01T00:00:01.000Z' }),
      ev({ event: 'service_start' }),
      ev({ fleet: 'dmz', decky: 'x' }),
    ]);
    const flags = { registry: srv.url, cluster: 'lab' };
    expect((await readClusterEvents(flags, {})).map((e) => e.decky)).toEqual(['d1', 'd2', 'x']);
    expect((await readClusterEvents(flags, { fleet: 'lab' })).map((e) => e.host)).toEqual(['h1', 'h2']);
    expect((await readClusterEvents(flags, { since: Math.floor(Date.parse('2026-01-01T00:00:02Z') / 1000), fleet: 'lab' })).map((e) => e.host)).toEqual(['h2']);
    const got: string[] = [];
    const ac = new AbortController();
    const done = followClusterEvents(flags, { decky: 'live' }, (e) => got.push(e.service), ac.signal);
    await sleep(150);
    await s.appendEvents([ev({ decky: 'live', service: 'http' }), ev({ decky: 'other' })]);
    for (let i = 0; i < 100 && got.length < 1; i++) await sleep(20);
    ac.abort();
    await done;
    expect(got).toEqual(['http']);
    await s.close();
  });
});
