import { existsSync, readFileSync, statSync, writeFileSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { AttackerEvent } from '@decnet/api';
import { ClusterEventStream, startRedisServer, type RedisServer } from '@decnet/registry';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClusterStreamSink, clusterSpoolPath } from './sink-cluster.js';
import { scratchDir } from '../../../test-scratch.js';

let srv: RedisServer;
const streams: ClusterEventStream[] = [];
let n = 0;
async function stream(cluster = `c${++n}`): Promise<ClusterEventStream> {
  const s = await ClusterEventStream.connect({ url: srv.url, cluster, waitReady: false, connectTimeoutMs: 500, commandTimeoutMs: 1000 });
  streams.push(s);
  return s;
}
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function until(what: string, f: () => boolean | Promise<boolean>, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await f())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}
const ev = (i: number): AttackerEvent => ({ time: new Date(Date.now()).toISOString(), host: 'h1', fleet: 'lab', decky: 'd1', service: 'ssh', event: 'command', command: `cmd-${i}` });
const commands = async (s: ClusterEventStream) => (await s.readEvents()).map((e) => e.event['command'] as string);
const range = (a: number, b: number) => Array.from({ length: b - a }, (_, i) => `cmd-${a + i}`);

beforeAll(async () => {
  srv = await startRedisServer();
});
afterAll(async () => {
  await Promise.all(streams.map((s) => s.close()));
  await srv.dispose();
});

describe('ClusterStreamSink', () => {
  it('batches events to the stream', async () => {
    const s = await stream();
    await until('connected', () => s.connected);
    const sink = new ClusterStreamSink({ stream: s, stateDir: scratchDir('decnet-cs-a-'), batchMs: 50, batchSize: 100 });
    for (let i = 0; i < 250; i++) sink.write(ev(i));
    await until('all sent', async () => (await s.length()) === 250);
    expect(await commands(s)).toEqual(range(0, 250));
    await sink.close();
    expect(sink.stats()).toMatchObject({ written: 250, dropped: 0, errors: 0, spooled: 0, pending: 0 });
  });

  it('spools while the registry is down and delivers everything exactly once, in order, after it comes back', async () => {
    const dir = scratchDir('decnet-cs-b-');
    const s = await stream();
    await until('connected', () => s.connected);
    const sink = new ClusterStreamSink({ stream: s, stateDir: dir, batchMs: 20, batchSize: 50, retryMinMs: 50, retryMaxMs: 300 });
    for (let i = 0; i < 30; i++) sink.write(ev(i));
    await until('first sent', async () => (await s.length()) === 30);
    await srv.stop();
    for (let i = 30; i < 330; i++) {
      sink.write(ev(i));
      if (i % 50 === 0) await sleep(30);
    }
    await until('spooled', () => sink.stats().spooled === 300 && sink.stats().pending === 0);
    const spool = clusterSpoolPath(dir);
    expect(readFileSync(spool, 'utf8').split('\n').filter(Boolean).length).toBe(300);
    await srv.start(); // empty again (no persistence): the registry lost the first 30
    const s2 = s;
    await until('reconnected', () => s2.connected);
    for (let i = 330; i < 340; i++) sink.write(ev(i));
    await until('drained', async () => (await s.length()) === 310, 15_000);
    expect(await commands(s)).toEqual(range(30, 340));
    expect(statSync(spool).size).toBe(0);
    await sink.close();
    const st = sink.stats();
    expect(st).toMatchObject({ written: 340, dropped: 0, spooled: 0, pending: 0 });
    expect(st.errors).toBeGreaterThan(0);
  }, 30_000);

  it('a new sink drains a spool left by an earlier run, skipping events already in the stream', async () => {
    const dir = scratchDir('decnet-cs-c-');
    const cluster = `c${++n}`;
    const s = await stream(cluster);
    await until('connected', () => s.connected);
    // earlier run: 0..9 were appended, then the reply was lost (still in the spool), then 10..19
    await s.appendEvents(range(0, 10).map((_, i) => ev(i)).map((e, i) => ({ ...e, time: `2026-01-01T00:00:0${i}.000Z` })));
    const spool = clusterSpoolPath(dir);
    mkdirSync(dirname(spool), { recursive: true });
    const lines = range(0, 20).map((_, i) => JSON.stringify({ ...ev(i), time: `2026-01-01T00:00:${String(i).padStart(2, '0')}.000Z` }));
    // the last line torn by a crash
    writeFileSync(spool, `${lines.join('\n')}\n{"time":"2026-01-01T00:00:2`);
    const sink = new ClusterStreamSink({ stream: s, stateDir: dir, batchMs: 20, batchSize: 7 });
    await until('drained', async () => (await s.length()) === 20);
    await until('truncated', () => statSync(spool).size === 0);
    expect(await commands(s)).toEqual(range(0, 20));
    sink.write(ev(20));
    await until('new one', async () => (await s.length()) === 21);
    await sink.close();
    expect(sink.stats()).toMatchObject({ written: 21, duplicates: 10, errors: 1, spooled: 0 });
  });

  it('close() while the registry is down keeps the events in the spool for the next run', async () => {
    const dir = scratchDir('decnet-cs-d-');
    const cluster = `c${++n}`;
    await srv.stop();
    const s = await stream(cluster);
    const sink = new ClusterStreamSink({ stream: s, stateDir: dir, batchMs: 20, retryMinMs: 50, closeTimeoutMs: 500 });
    for (let i = 0; i < 40; i++) sink.write(ev(i));
    await sink.close();
    expect(sink.stats()).toMatchObject({ spooled: 40, pending: 0, dropped: 0 });
    expect(existsSync(clusterSpoolPath(dir))).toBe(true);
    await srv.start();
    const s2 = await stream(cluster);
    await until('connected', () => s2.connected);
    const sink2 = new ClusterStreamSink({ stream: s2, stateDir: dir, batchMs: 20 });
    await until('drained', async () => (await s2.length()) === 40);
    expect(await commands(s2)).toEqual(range(0, 40));
    await sink2.close();
    expect(sink2.stats()).toMatchObject({ written: 40, spooled: 0 });
  }, 30_000);

  it('re-sends a batch whose reply was lost without duplicating it', async () => {
    const s = await stream();
    await until('connected', () => s.connected);
    let lose = 1;
    const flaky = {
      appendEvents: async (evs: readonly AttackerEvent[]) => {
        const r = await s.appendEvents(evs);
        if (lose-- > 0) throw new Error('reply lost');
        return r;
      },
    };
    const sink = new ClusterStreamSink({ stream: flaky, stateDir: scratchDir('decnet-cs-f-'), batchMs: 10, retryMinMs: 20 });
    for (let i = 0; i < 60; i++) sink.write(ev(i));
    await until('delivered', () => sink.stats().written === 60 && sink.stats().spooled === 0);
    expect(await commands(s)).toEqual(range(0, 60));
    await sink.close();
    expect(sink.stats()).toMatchObject({ written: 60, duplicates: 60, errors: 1 });
  });

  it('bounds the spool and counts what it drops', async () => {
    const dir = scratchDir('decnet-cs-e-');
    await srv.stop();
    const s = await stream();
    const lineBytes = Buffer.byteLength(JSON.stringify(ev(0))) + 1;
    const sink = new ClusterStreamSink({ stream: s, stateDir: dir, batchMs: 10, retryMinMs: 1000, maxSpoolBytes: lineBytes * 10 + 5, closeTimeoutMs: 200 });
    for (let i = 0; i < 25; i++) sink.write(ev(i));
    await sink.close();
    expect(sink.stats()).toMatchObject({ spooled: 10, dropped: 15 });
    await srv.start();
  }, 30_000);
});
