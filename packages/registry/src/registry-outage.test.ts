import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RegistryUnavailable } from './errors.js';
import { Registry } from './registry.js';
import { startRedisServer, type RedisServer } from './testing/redis-server.js';
import type { ChangeEvent } from './types.js';

let srv: RedisServer;
beforeAll(async () => {
  srv = await startRedisServer();
});
afterAll(async () => {
  await srv?.dispose();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function until(what: string, f: () => boolean | Promise<boolean>, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await f())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

describe('registry while Redis is stopped and restarted', () => {
  it('fails fast with RegistryUnavailable meanwhile, reconnects by itself, and watchers resume', async () => {
    const r = await Registry.connect({ url: srv.url, cluster: 'outage' });
    const events: ChangeEvent[] = [];
    const w = r.watch((e) => void events.push(e), { pollMs: 100 });
    await r.registerHost({ id: 'h1' });
    await r.writeDesired('h1', { fleets: [], deckies: [] }, 0);
    await srv.stop();
    await until('disconnect noticed', () => !r.connected);
    const ops: Array<[string, () => Promise<unknown>]> = [
      ['readAll', () => r.readAll()],
      ['readDesired', () => r.readDesired('h1')],
      ['writeDesired', () => r.writeDesired('h1', { fleets: [], deckies: [] }, 1)],
      ['writeObserved', () => r.writeObserved('h1', { deckies: [] }, 1)],
      ['heartbeat', () => r.heartbeat('h1', 1000)],
      ['registerHost', () => r.registerHost({ id: 'h2' })],
      ['ping', () => r.ping()],
    ];
    for (const [name, op] of ops) {
      const t = Date.now();
      const e = await op().then(
        () => undefined,
        (err: unknown) => err,
      );
      expect(e, name).toBeInstanceOf(RegistryUnavailable);
      expect(Date.now() - t, `${name} fails fast`).toBeLessThan(1000);
    }
    await sleep(400); // the poller and the subscriber keep failing quietly (no unhandled errors)
    await srv.start();
    await until('reconnected', () => r.connected);
    // an empty server (no persistence): the host registers again, writes work
    expect((await r.readAll()).hosts).toEqual([]);
    await r.registerHost({ id: 'h1' });
    const before = events.length;
    await r.writeDesired('h1', { fleets: [], deckies: [] }, 0);
    await until('change seen after restart', () => events.length > before);
    await w.close();
    await r.close();
  });

  it('can start while Redis is down (waitReady: false) and work once it is up', async () => {
    await srv.stop();
    const r = await Registry.connect({ url: srv.url, cluster: 'late', waitReady: false });
    await expect(r.readAll()).rejects.toBeInstanceOf(RegistryUnavailable);
    await expect(Registry.connect({ url: srv.url, cluster: 'late', readyTimeoutMs: 300 })).rejects.toMatchObject({ code: 'RegistryUnavailable' });
    await srv.start();
    await until('connected', () => r.connected);
    await r.registerHost({ id: 'h1' });
    expect((await r.listHosts()).map((h) => h.id)).toEqual(['h1']);
    await r.close();
  });
});
