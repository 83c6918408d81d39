import { existsSync, readFileSync } from 'node:fs';
import { encodeFleetLabels, makeDecky, makeFleet, encodeDeckyLabels, type AttackerEvent, type ObservedContainer, type ObservedNetwork } from '@decnet/api';
import type { Engine, LogLine, LogOptions } from '@decnet/engine';
import { afterEach, describe, expect, it } from 'vitest';
import { EventCollector, collectorRunning, controllerPidPath, cursorsPath } from './collector.js';
import { dockerTimeNs } from './cursor-store.js';
import type { EventSink, SinkStats } from './sinks.js';
import { scratchDir } from '../../../test-scratch.js';



/** Container logs the way Docker serves them: `since` includes lines AT that time; follow waits for more. */
class FakeLogs {
  readonly lines = new Map<string, LogLine[]>();
  private waiters = new Set<() => void>();
  calls: Array<{ id: string; since?: string | number }> = [];

  append(id: string, time: string, line: string, stream: 'stdout' | 'stderr' = 'stdout'): void {
    (this.lines.get(id) ?? this.lines.set(id, []).get(id)!).push({ stream, time, line });
    for (const w of this.waiters) w();
  }

  engine(stateDir: string): Engine {
    const self = this;
    return {
      stateDir,
      async *logs(id: string, opts: LogOptions = {}): AsyncIterable<LogLine> {
        self.calls.push({ id, since: opts.since });
        const since = typeof opts.since === 'string' ? BigInt(opts.since.replace('.', '')) : opts.since !== undefined ? BigInt(opts.since) * 1_000_000_000n : -1n;
        let i = 0;
        for (;;) {
          const all = self.lines.get(id) ?? [];
          for (; i < all.length; i++) if (dockerTimeNs(all[i]!.time!)! >= since) yield all[i]!;
          if (!opts.follow || opts.signal?.aborted) return;
          await new Promise<void>((r) => {
            const w = () => (self.waiters.delete(w), r());
            self.waiters.add(w);
            opts.signal?.addEventListener('abort', w, { once: true });
          });
          if (opts.signal?.aborted) return;
        }
      },
    } as unknown as Engine;
  }
}

class MemorySink implements EventSink {
  readonly name = 'memory';
  events: AttackerEvent[] = [];
  closed = false;
  write(ev: AttackerEvent): void {
    this.events.push(ev);
  }
  async close(): Promise<void> {
    this.closed = true;
  }
  stats(): SinkStats {
    return { written: this.events.length, dropped: 0, errors: 0 };
  }
}

const HOST = 'h11-host';
const fleet = makeFleet('lab', { logTarget: 'udp://127.0.0.1:5514' });
const decky = makeDecky('web-01', 'lab', { services: ['ssh', 'http'] });
const svc = (id: string, service: string, state: ObservedContainer['state'] = 'running', host = HOST): ObservedContainer => ({
  id,
  name: `web-01-${service}`,
  image: 'x',
  state,
  labels: encodeDeckyLabels(decky, { hostId: host, role: 'service', service, generation: 1 }),
});
const base: ObservedContainer = { id: 'b0', name: 'web-01', image: 'x', state: 'running', labels: encodeDeckyLabels(decky, { hostId: HOST, role: 'base', generation: 1 }) };
const net: ObservedNetwork = { id: 'n1', name: 'decnet-lab', driver: 'macvlan', labels: encodeFleetLabels(fleet, HOST) };

const ts = (ms: number, extra = '') => `${new Date(1_714_557_600_000 + ms).toISOString().replace('Z', '')}${extra}Z`;
const line = (event: string, more: Record<string, unknown> = {}) => JSON.stringify({ time: new Date().toISOString(), decky: 'web-01', service: 'ssh', event, ...more });

async function until(fn: () => boolean, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!fn()) {
    if (Date.now() > end) throw new Error('timeout');
    await new Promise((r) => setTimeout(r, 10));
  }
}

const running: EventCollector[] = [];
afterEach(async () => {
  while (running.length) await running.pop()!.stop();
});

function setup() {
  const dir = scratchDir('decnet-h11-coll-');
  const logs = new FakeLogs();
  const make = (sink = new MemorySink()) => {
    const c = new EventCollector({ engine: logs.engine(dir), hostId: HOST, stateDir: dir, sinks: [sink], flushIntervalMs: 20 });
    running.push(c);
    return { c, sink };
  };
  return { dir, logs, make };
}

describe('EventCollector', () => {
  it('follows only this host’s service containers, parses stdout events and enriches them from labels', async () => {
    const { logs, make } = setup();
    logs.append('s1', ts(1), 'banner: not json');
    logs.append('s1', ts(2), line('auth_attempt', { src_ip: '10.0.0.5', principal: 'root', decky: undefined, service: undefined }));
    logs.append('s1', ts(3), line('command', { command: 'id' }), 'stderr');
    logs.append('other', ts(1), line('command', { command: 'nope' }));
    logs.append('b0', ts(1), line('command', { command: 'base' }));
    const { c, sink } = make();
    await c.start();
    c.sync([base, svc('s1', 'ssh'), svc('other', 'http', 'running', 'another-host')], [net]);
    await until(() => sink.events.length >= 1);
    logs.append('s1', ts(4), line('command', { command: 'uname -a' }));
    await until(() => sink.events.length >= 2);
    expect(sink.events.map((e) => [e.event, e['command'] ?? e.principal])).toEqual([['auth_attempt', 'root'], ['command', 'uname -a']]);
    expect(sink.events[0]).toMatchObject({ host: HOST, fleet: 'lab', decky: 'web-01', service: 'ssh', src_ip: '10.0.0.5' });
    expect(logs.calls.map((x) => x.id)).toEqual(['s1']);
    expect(c.stats()).toMatchObject({ followers: 1, events: 2, ignored: 1 });
  });

  it('resumes after a restart from the cursor: nothing lost, nothing repeated, also at a shared timestamp', async () => {
    const { dir, logs, make } = setup();
    logs.append('s1', ts(1), line('command', { command: 'a' }));
    logs.append('s1', ts(2), line('command', { command: 'b' }));
    logs.append('s1', ts(2), line('command', { command: 'c' })); // same docker timestamp as b
    const first = make();
    await first.c.start();
    first.c.sync([svc('s1', 'ssh')]);
    await until(() => first.sink.events.length === 3);
    await first.c.stop();
    running.pop();
    expect(first.sink.closed).toBe(true);
    const saved = JSON.parse(readFileSync(cursorsPath(dir), 'utf8'));
    expect(saved.containers.s1).toMatchObject({ time: ts(2), count: 2 });

    // while no collector runs the service logs more, one line again at the boundary time
    logs.append('s1', ts(2), line('command', { command: 'd' }));
    logs.append('s1', ts(3), line('command', { command: 'e' }));
    const second = make();
    await second.c.start();
    second.c.sync([svc('s1', 'ssh')]);
    await until(() => second.sink.events.length >= 2);
    await new Promise((r) => setTimeout(r, 50));
    expect(second.sink.events.map((e) => e['command'])).toEqual(['d', 'e']);
    expect(logs.calls.at(-1)?.since).toBe(`${(dockerTimeNs(ts(2))! / 1_000_000_000n).toString()}.${(dockerTimeNs(ts(2))! % 1_000_000_000n).toString().padStart(9, '0')}`);
    expect(second.c.stats().repeatsSkipped).toBe(2);
  });

  it('folds a connection flood into one event with a count', async () => {
    const { logs, make } = setup();
    const t = Date.now();
    for (let i = 0; i < 5; i++) logs.append('s1', ts(i), JSON.stringify({ time: new Date(t + i * 10).toISOString(), decky: 'web-01', service: 'ssh', event: 'connection', src_ip: '10.0.0.7' }));
    const { c, sink } = make();
    await c.start();
    c.sync([svc('s1', 'ssh')]);
    await until(() => sink.events.length >= 1, 4000);
    expect(sink.events).toHaveLength(1);
    expect(sink.events[0]).toMatchObject({ event: 'connection', count: 5, src_ip: '10.0.0.7' });
  });

  it('an unfolded sink (alerts) gets each event as it is read; folded sinks wait for the fold window', async () => {
    const dir = scratchDir('decnet-h11-coll-');
    const logs = new FakeLogs();
    const folded = new MemorySink();
    const raw = Object.assign(new MemorySink(), { name: 'raw', unfolded: true as const });
    const c = new EventCollector({ engine: logs.engine(dir), hostId: HOST, stateDir: dir, sinks: [folded, raw], flushIntervalMs: 20, foldWindowMs: 5000 });
    running.push(c);
    await c.start();
    c.sync([svc('s1', 'ssh')]);
    const t = Date.now();
    logs.append('s1', ts(0), JSON.stringify({ time: new Date(t).toISOString(), decky: 'web-01', service: 'ssh', event: 'connection', src_ip: '10.0.0.7' }));
    logs.append('s1', ts(1), JSON.stringify({ time: new Date(t + 5).toISOString(), decky: 'web-01', service: 'ssh', event: 'auth_attempt', src_ip: '10.0.0.7', principal: 'root' }));
    await until(() => raw.events.length === 2, 1000);
    expect(raw.events.map((e) => [e.event, e.severity])).toEqual([
      ['connection', 'low'],
      ['auth_attempt', 'medium'],
    ]);
    // the folded sink still waits behind the open connection group
    expect(folded.events).toEqual([]);
    await c.stop();
    expect(folded.events.map((e) => e.event)).toEqual(['connection', 'auth_attempt']);
  });

  it('drops the follower and the cursor of a container that is gone; follows a new one at once on an engine start event', async () => {
    const { dir, logs, make } = setup();
    logs.append('s1', ts(1), line('command', { command: 'a' }));
    const { c, sink } = make();
    await c.start();
    c.sync([svc('s1', 'ssh')]);
    await until(() => sink.events.length === 1);
    await until(() => existsSync(cursorsPath(dir)) && 's1' in JSON.parse(readFileSync(cursorsPath(dir), 'utf8')).containers);
    c.sync([]);
    expect(c.stats().followers).toBe(0);
    await until(() => !('s1' in JSON.parse(readFileSync(cursorsPath(dir), 'utf8')).containers));
    const s2 = svc('s2', 'http');
    logs.append('s2', ts(5), JSON.stringify({ time: new Date().toISOString(), decky: 'web-01', service: 'http', event: 'request', path: '/x' }));
    c.notice({ action: 'start', id: 's2', name: s2.name, labels: s2.labels });
    await until(() => sink.events.length === 2);
    expect(sink.events[1]).toMatchObject({ service: 'http', fleet: 'lab', host: HOST, path: '/x' });
  });

  it('writes the pid file while running so readers know a controller collects', async () => {
    const { dir, make } = setup();
    const { c } = make();
    expect((await collectorRunning(dir, HOST)).running).toBe(false);
    await c.start();
    expect(JSON.parse(readFileSync(controllerPidPath(dir), 'utf8'))).toMatchObject({ pid: process.pid, hostId: HOST });
    expect(await collectorRunning(dir, HOST)).toEqual({ running: true, via: 'pid' });
    expect((await collectorRunning(dir, 'someone-else')).running).toBe(false);
    await c.stop();
    expect(existsSync(controllerPidPath(dir))).toBe(false);
    expect((await collectorRunning(dir, HOST)).running).toBe(false);
  });
});
